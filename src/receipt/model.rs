//! The receipt layout, described once: a list of [`Element`]s built from a
//! [`SlipJob`] and the config. The ESC/POS encoder, the PNG raster and the PDF renderer
//! all walk the same list, so the three outputs cannot drift apart.

use crate::config::{Config, DocumentId, QrContent, RegionCode};
use crate::domain::ReceiptToken;
use crate::domain::Slip;
use crate::domain::SlipJob;
use chrono::{DateTime, FixedOffset};
use zeroize::Zeroize;

/// Thumbnail box at 203 dpi: 26 × 32 mm (receipt.md §5 row 6).
pub const THUMB_W: u32 = 208;
pub const THUMB_H: u32 = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Centre,
}

/// Normal = ESC/POS font A (12 × 24 dots); Double = GS ! 0x11 (24 × 48).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Normal,
    Double,
}

impl Size {
    /// Width in dots of one half-width (ASCII) column.
    pub fn column_dots(self) -> u32 {
        match self {
            Size::Normal => 12,
            Size::Double => 24,
        }
    }
    pub fn line_dots(self) -> u32 {
        match self {
            Size::Normal => 30,
            Size::Double => 60,
        }
    }
}

/// One thing on the slip, top to bottom.
#[derive(Clone, PartialEq)]
pub enum Element {
    Text {
        text: String,
        align: Align,
        size: Size,
        bold: bool,
    },
    /// Code128 of an ASCII string (set C when even digits, else set B).
    Barcode(String),
    /// QR (model 2, EC level M) of an ASCII string.
    Qr(String),
    /// The approved photo, already scaled to its size in dots (personal data).
    Photo(image::RgbImage),
    /// Blank feed in dots.
    Feed(u32),
}

impl std::fmt::Debug for Element {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Element::Text { text, .. } => write!(f, "Text({text:?})"),
            Element::Barcode(s) => write!(f, "Barcode({s})"),
            Element::Qr(s) => write!(f, "Qr({s})"),
            // Never print the pixels: they are a face.
            Element::Photo(p) => write!(f, "Photo({}x{})", p.width(), p.height()),
            Element::Feed(d) => write!(f, "Feed({d})"),
        }
    }
}

/// A laid-out slip, ready for any renderer.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The receipt number or claim code the slip carries (for file names and logs).
    pub key: String,
    /// The receipt title (first line), for PDF metadata and tests.
    pub title: String,
    pub elements: Vec<Element>,
}

impl Drop for Receipt {
    fn drop(&mut self) {
        for e in &mut self.elements {
            if let Element::Photo(p) = e {
                // `RgbImage` derefs to its pixel buffer: wipe the face.
                let buf: &mut [u8] = p;
                buf.zeroize();
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("the photo for the receipt thumbnail is not a readable JPEG/PNG: {0}")]
    Photo(#[from] image::ImageError),
    #[error("unknown region `{0}`: it is not in the config's [regions]")]
    UnknownRegion(RegionCode),
}

fn text(s: impl Into<String>, align: Align, size: Size, bold: bool) -> Element {
    Element::Text {
        text: s.into(),
        align,
        size,
        bold,
    }
}
fn left(s: impl Into<String>) -> Element {
    text(s, Align::Left, Size::Normal, false)
}
fn centre(s: impl Into<String>) -> Element {
    text(s, Align::Centre, Size::Normal, false)
}
fn bold_centre(s: impl Into<String>) -> Element {
    text(s, Align::Centre, Size::Normal, true)
}

/// Slip labels: Chinese, with the English after it when `[printer] english_labels` is on.
#[derive(Clone, Copy)]
struct Labels(bool);

impl Labels {
    fn l(self, zh: &str, en: &str) -> String {
        if self.0 {
            format!("{zh} {en}")
        } else {
            zh.to_string()
        }
    }
    /// A whole English sentence under its Chinese one: only with English labels.
    fn en(self, e: &mut Vec<Element>, line: &str) {
        if self.0 {
            e.push(left(line));
        }
    }
}

/// Document-specific lines of the 使用说明 (the template per document).
fn document_notes(doc: DocumentId) -> &'static [&'static str] {
    match doc {
        DocumentId::IdCard => &["办理居民身份证时向窗口出示本回执，无需另交照片。"],
        DocumentId::ExitEntry => &["办理出入境证件时出示本回执，回执号即图像号。"],
        DocumentId::ResidencePermit => &["办理居住证时向窗口出示本回执。"],
        DocumentId::SocialSecurity => &["可在银行网点或粤省事/广东人社办理社保卡时使用。"],
        DocumentId::DrivingLicence => &["办理驾驶证业务时向车管所窗口出示本回执。"],
    }
}

fn fmt_time(t: &DateTime<FixedOffset>) -> String {
    t.with_timezone(&crate::domain::china_time())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Decodes the photo and scales it into the thumbnail box keeping its aspect
/// (ID-card photos fill 208 × 256; other documents keep their own aspect at 256 high).
pub fn thumbnail(jpeg: &[u8]) -> Result<image::RgbImage, ReceiptError> {
    let img = image::load_from_memory(jpeg)?.to_rgb8();
    let (w, h) = (img.width().max(1), img.height().max(1));
    let scale = (THUMB_W as f32 / w as f32).min(THUMB_H as f32 / h as f32);
    let tw = ((w as f32 * scale).round() as u32).clamp(1, THUMB_W);
    let th = ((h as f32 * scale).round() as u32).clamp(1, THUMB_H);
    let out = image::imageops::resize(&img, tw, th, image::imageops::FilterType::Triangle);
    let mut img = img;
    let buf: &mut [u8] = &mut img;
    buf.zeroize();
    Ok(out)
}

/// The base URL a phone can open for this kiosk's receipts and claims:
/// `kiosk.public_receipt_url`, else the `http(s)://` review service the kiosk itself uses
/// (the reference service serves the public routes there). `None` for the embedded
/// service: its loopback address means nothing to a phone.
pub fn public_base(cfg: &Config) -> Option<String> {
    let base = match (&cfg.kiosk.public_receipt_url, cfg.devices.review.device()) {
        (Some(url), _) => url.clone(),
        (None, crate::config::Device::Http { url }) => url.to_string(),
        _ => return None,
    };
    let base = base.trim_end_matches('/').to_string();
    (!base.is_empty()).then_some(base)
}

/// The electronic receipt (PDF) of `number`, opened by its token: what a phone gets when
/// it scans the slip's QR. The route is the review service's `GET /v1/receipts/{n}.pdf`.
pub fn receipt_url(base: &str, number: &str, token: &ReceiptToken) -> String {
    format!(
        "{}/v1/receipts/{number}.pdf?token={}",
        base.trim_end_matches('/'),
        token.expose()
    )
}

/// The claim page of a late decision: `GET /v1/claims/{code}` (an HTML page for a browser,
/// linking to the receipt PDF once approved).
pub fn claim_url(base: &str, code: &str) -> String {
    format!("{}/v1/claims/{code}", base.trim_end_matches('/'))
}

/// What the slip's QR carries.
///
/// * Receipt, `printer.qr_content = "url"`, a public base and the token known: the
///   receipt URL ([`receipt_url`]). Otherwise the bare number (`qr_content = "number"`:
///   counters that scan the QR for the number; or no URL a phone could open; or a slip
///   without token — a test print, `kiosk receipt` by hand).
/// * Claim slip: the claim URL when there is a public base, else the bare code (staff
///   look it up on the service). `qr_content` does not apply: nobody scans a claim code
///   at a counter.
pub fn slip_qr(cfg: &Config, slip: &Slip, token: Option<&ReceiptToken>) -> String {
    match slip {
        Slip::Receipt { number, .. } => match (cfg.printer.qr_content, public_base(cfg), token) {
            (QrContent::Url, Some(base), Some(t)) => receipt_url(&base, number.as_str(), t),
            _ => number.as_str().to_string(),
        },
        Slip::Claim { code, .. } => match public_base(cfg) {
            Some(base) => claim_url(&base, &code.0),
            None => code.0.clone(),
        },
        Slip::HandOff { code, .. } => code.to_string(),
    }
}

/// The QR on the kiosk's screen: only a URL a phone can open (the receipt or the claim
/// page), whatever `qr_content` says — a screen is not scanned at the counter.
pub fn screen_qr(cfg: &Config, slip: &Slip, token: Option<&ReceiptToken>) -> Option<String> {
    let base = public_base(cfg)?;
    match slip {
        Slip::Receipt { number, .. } => token.map(|t| receipt_url(&base, number.as_str(), t)),
        Slip::Claim { code, .. } => Some(claim_url(&base, &code.0)),
        Slip::HandOff { .. } => None,
    }
}

impl Receipt {
    /// Lays out the slip for `job`. `reprinted_at` marks a reprint (补打).
    pub fn build(
        job: &SlipJob,
        cfg: &Config,
        reprinted_at: Option<DateTime<FixedOffset>>,
    ) -> Result<Receipt, ReceiptError> {
        match &job.slip {
            Slip::Receipt {
                number,
                valid_until,
                doc,
                region,
            } => {
                let reg = cfg
                    .regions
                    .get(region)
                    .ok_or_else(|| ReceiptError::UnknownRegion(region.clone()))?;
                let title = cfg.receipt_title(*doc, region);
                let spec = &cfg.documents[doc];
                let l = Labels(cfg.printer.english_labels);
                let mut e = vec![text(&title, Align::Centre, Size::Double, true)];
                if let Some(t) = reprinted_at {
                    e.push(bold_centre(format!("【{}】{}", l.l("补打", "REPRINT"), fmt_time(&t))));
                }
                if number.is_test_print() {
                    e.push(bold_centre(l.l("【测试打印，不能使用】", "TEST PRINT, NOT VALID")));
                }
                e.push(centre(format!("{} · {}", spec.name_zh, reg.name_zh)));
                e.push(Element::Feed(8));
                e.push(centre(l.l("回执号（图像号）", "Receipt No.")));
                e.push(text(number.as_str(), Align::Centre, Size::Double, true));
                e.push(Element::Feed(8));
                e.push(Element::Barcode(number.as_str().to_string()));
                e.push(Element::Feed(16));
                e.push(Element::Qr(slip_qr(cfg, &job.slip, job.token.as_ref())));
                e.push(Element::Feed(16));
                if let Some(photo) = &job.photo {
                    e.push(Element::Photo(thumbnail(&photo.0)?));
                    e.push(Element::Feed(16));
                }
                e.push(left(format!("{}：{}", l.l("证件", "Document"), spec.name_zh)));
                e.push(left(format!("{}：{}", l.l("地区", "Region"), reg.name_zh)));
                e.push(left(format!(
                    "{}：{}",
                    l.l("采集时间", "Issued"),
                    fmt_time(&job.issued_at)
                )));
                e.push(text(
                    format!("{}：{}", l.l("有效期至", "Valid until"), valid_until.format("%Y-%m-%d")),
                    Align::Left,
                    Size::Normal,
                    true,
                ));
                if reg.print_name {
                    if let Some(name) = &job.masked_name {
                        e.push(left(format!("{}：{name}", l.l("姓名", "Name"))));
                    }
                }
                e.push(left(format!("{}：{}", l.l("自助机", "Kiosk"), cfg.kiosk.id)));
                e.push(left(format!("{}：{}", l.l("地点", "Site"), cfg.kiosk.site_zh)));
                e.push(Element::Feed(8));
                e.push(text(l.l("使用说明", "Instructions"), Align::Left, Size::Normal, true));
                match cfg.receipt_notes(*doc, region) {
                    Some(lines) => e.extend(lines.into_iter().map(left)),
                    None => {
                        e.push(left(format!("请在有效期内到{}办证窗口使用本回执。", reg.name_zh)));
                        for n in document_notes(*doc) {
                            e.push(left(*n));
                        }
                    }
                }
                e.push(text("回执号（图像号）仅限使用一次。", Align::Left, Size::Normal, true));
                e.push(left(format!("请携带：{}", cfg.receipt_bring(*doc, region))));
                e.push(left(format!(
                    "{}：{}",
                    l.l("审核单位", "Review centre"),
                    cfg.review_centre(region)
                )));
                e.push(left(format!(
                    "{}：{}",
                    l.l("咨询电话", "Enquiries"),
                    cfg.enquiry_phone(region)
                )));
                Ok(Receipt {
                    key: number.as_str().to_string(),
                    title,
                    elements: e,
                })
            }
            Slip::Claim { code, doc, region } => {
                let reg = cfg
                    .regions
                    .get(region)
                    .ok_or_else(|| ReceiptError::UnknownRegion(region.clone()))?;
                let spec = &cfg.documents[doc];
                let l = Labels(cfg.printer.english_labels);
                let title = "照片受理凭条".to_string();
                let mut e = vec![text(&title, Align::Centre, Size::Double, true)];
                if let Some(t) = reprinted_at {
                    e.push(bold_centre(format!("【{}】{}", l.l("补打", "REPRINT"), fmt_time(&t))));
                }
                if l.0 {
                    e.push(centre("Photo submission slip"));
                }
                e.push(centre(format!("{} · {}", spec.name_zh, reg.name_zh)));
                e.push(Element::Feed(8));
                e.push(left("审核结果尚未返回，照片已安全保存。"));
                l.en(&mut e, "The review is not finished; your photo is saved.");
                e.push(Element::Feed(8));
                e.push(centre(l.l("取件码", "Claim code")));
                e.push(text(code.0.as_str(), Align::Centre, Size::Normal, true));
                e.push(Element::Feed(16));
                e.push(Element::Qr(slip_qr(cfg, &job.slip, None)));
                e.push(Element::Feed(16));
                e.push(text(
                    l.l("如何取回执", "How to get the receipt"),
                    Align::Left,
                    Size::Normal,
                    true,
                ));
                // Only what is true: with a public address the QR opens the claim page
                // (the result, and the PDF receipt once approved); without one the code is
                // looked up by staff on the review service.
                if public_base(cfg).is_some() {
                    e.push(left(
                        "稍后用手机扫描此码查看审核结果；审核通过后可下载电子照片回执（PDF）。",
                    ));
                    l.en(
                        &mut e,
                        "Later, scan this code with a phone to see the result; once approved, download the photo receipt (PDF).",
                    );
                } else {
                    e.push(left("审核结果请凭取件码向工作人员查询。"));
                    l.en(&mut e, "Ask staff with this claim code for the result.");
                }
                e.push(left(format!(
                    "{}：{}",
                    l.l("受理时间", "Time"),
                    fmt_time(&job.issued_at)
                )));
                e.push(left(format!("{}：{}", l.l("自助机", "Kiosk"), cfg.kiosk.id)));
                e.push(left(format!("{}：{}", l.l("地点", "Site"), cfg.kiosk.site_zh)));
                e.push(left(format!(
                    "{}：{}",
                    l.l("咨询电话", "Enquiries"),
                    cfg.enquiry_phone(region)
                )));
                Ok(Receipt {
                    key: code.0.clone(),
                    title,
                    elements: e,
                })
            }
            Slip::HandOff {
                code,
                doc,
                region,
                reasons,
            } => Ok(hand_off(cfg, job, code, *doc, region, reasons, reprinted_at)),
        }
    }
}

/// 转人工凭条: what the counter needs to take over (time, kiosk, what kept failing, the
/// code of the staff alert) and no personal data: no name, no number, no photo.
fn hand_off(
    cfg: &Config,
    job: &SlipJob,
    code: &crate::domain::HandOffCode,
    doc: DocumentId,
    region: &RegionCode,
    reasons: &[crate::domain::Prompt],
    reprinted_at: Option<DateTime<FixedOffset>>,
) -> Receipt {
    let title = "转人工凭条".to_string();
    let l = Labels(cfg.printer.english_labels);
    let mut e = vec![text(&title, Align::Centre, Size::Double, true)];
    if let Some(t) = reprinted_at {
        e.push(bold_centre(format!("【{}】{}", l.l("补打", "REPRINT"), fmt_time(&t))));
    }
    if l.0 {
        e.push(centre("Please go to a service counter"));
    }
    let doc_name = cfg.documents.get(&doc).map_or(doc.to_string(), |s| s.name_zh.clone());
    let region_name = cfg
        .regions
        .get(region)
        .map_or(region.to_string(), |r| r.name_zh.clone());
    e.push(centre(format!("{doc_name} · {region_name}")));
    e.push(Element::Feed(8));
    e.push(centre(l.l("转人工号", "Hand-off code")));
    e.push(text(code.as_str(), Align::Centre, Size::Double, true));
    e.push(Element::Barcode(code.as_str().to_string()));
    e.push(Element::Feed(8));
    e.push(left("请持本凭条到人工窗口办理，工作人员会帮您拍照。"));
    l.en(&mut e, "Take this slip to a counter: staff will take your photo.");
    if !reasons.is_empty() {
        e.push(Element::Feed(8));
        e.push(text(
            l.l("未通过的原因", "What did not pass"),
            Align::Left,
            Size::Normal,
            true,
        ));
        for r in reasons {
            e.push(left(format!("· {}", r.zh)));
            l.en(&mut e, &format!("  {}", r.en));
        }
    }
    e.push(Element::Feed(8));
    e.push(left(format!("{}：{}", l.l("时间", "Time"), fmt_time(&job.issued_at))));
    e.push(left(format!("{}：{}", l.l("自助机", "Kiosk"), cfg.kiosk.id)));
    e.push(left(format!("{}：{}", l.l("地点", "Site"), cfg.kiosk.site_zh)));
    Receipt {
        key: code.to_string(),
        title,
        elements: e,
    }
}

/// Display columns of a char on a thermal printer: ASCII is half width, the rest full.
pub fn columns(c: char) -> u32 {
    if c.is_ascii() {
        1
    } else {
        2
    }
}

/// Breaks `text` into lines of at most `cols` columns, preferring spaces for ASCII
/// words. Every renderer uses this, so all agree on where lines break.
pub fn wrap(text: &str, cols: u32) -> Vec<String> {
    let cols = cols.max(2);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in split_words(text) {
        let w: u32 = word.chars().map(columns).sum();
        if used + w > cols && used > 0 {
            lines.push(std::mem::take(&mut line).trim_end().to_string());
            used = 0;
            if word == " " {
                continue;
            }
        }
        if w > cols {
            // A word longer than the line: break it anywhere.
            for c in word.chars() {
                if used + columns(c) > cols {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(c);
                used += columns(c);
            }
        } else {
            line.push_str(word);
            used += w;
        }
    }
    if !line.trim().is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// ASCII words and single spaces stay whole; every other char is its own "word".
fn split_words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let wordy = c.is_ascii() && c != ' ';
        match (wordy, start) {
            (true, None) => start = Some(i),
            (true, Some(_)) => {}
            (false, s) => {
                if let Some(s) = s {
                    out.push(&text[s..i]);
                }
                start = None;
                out.push(&text[i..i + c.len_utf8()]);
            }
        }
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_cjk_by_columns() {
        let l = wrap("广东省居民身份证数字相片采集回执", 24);
        assert_eq!(l, vec!["广东省居民身份证数字相片", "采集回执"]);
        let l = wrap("Valid until: 2027-01-01", 12);
        assert_eq!(l, vec!["Valid until:", "2027-01-01"]);
        assert_eq!(wrap("", 10), vec![""]);
        for line in wrap("有效期至 Valid until: 2027-05-25 the end", 16) {
            assert!(line.chars().map(columns).sum::<u32>() <= 16, "{line}");
        }
    }

    #[test]
    fn the_hand_off_slip_says_what_failed_and_names_nobody() {
        let cfg = Config::builtin();
        let code = crate::domain::HandOffCode::new("042917").unwrap();
        let job = SlipJob {
            slip: Slip::HandOff {
                code: code.clone(),
                doc: DocumentId::IdCard,
                region: RegionCode::new("440100").unwrap(),
                reasons: vec![crate::domain::Prompt::new(
                    "eyes_visible",
                    "请睁开眼睛",
                    "Keep your eyes open",
                )],
            },
            // Even if a caller handed these over, the hand-off slip prints neither.
            photo: Some(crate::domain::PhotoJpeg(vec![1, 2, 3])),
            masked_name: Some("张*".into()),
            issued_at: chrono::DateTime::parse_from_rfc3339("2026-12-06T09:30:00+08:00").unwrap(),
            token: None,
        };
        let r = Receipt::build(&job, &cfg, None).unwrap();
        assert_eq!((r.title.as_str(), r.key.as_str()), ("转人工凭条", "042917"));
        let text: Vec<String> = r
            .elements
            .iter()
            .filter_map(|e| match e {
                Element::Text { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect();
        let all = text.join("\n");
        for want in [
            "042917",
            "请睁开眼睛",
            "2026-12-06 09:30",
            &cfg.kiosk.id,
            "居民身份证 · 广州市",
        ] {
            assert!(all.contains(want), "{want} missing:\n{all}");
        }
        assert!(!all.contains("张"), "no name on a hand-off slip:\n{all}");
        assert!(r.elements.iter().all(|e| !matches!(e, Element::Photo(_))), "no photo");
        assert!(r.elements.contains(&Element::Barcode("042917".into())));
    }
}
