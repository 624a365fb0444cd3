//! Pure conversions from runtime values to what the screens show: mirrored preview
//! frames, the receipt QR code, and bilingual text picked by the current language.

use super::generated::{CardState, Page, RegionChoice, StaffCall};
use crate::config::{Config, DocumentId};
use crate::domain::Prompt;
use crate::domain::Slip;
use crate::ports::AlertOutcome;
use crate::session::{CardStatus, Device, State};
use slint::{Image, Rgb8Pixel, SharedPixelBuffer};

/// The camera frame as a Slint image, mirrored left↔right when `mirror` (people expect
/// a mirror; the hints are phrased for the mirrored view).
pub fn preview_image(img: &image::RgbImage, mirror: bool) -> Image {
    let (w, h) = img.dimensions();
    let mut buf = SharedPixelBuffer::<Rgb8Pixel>::new(w, h);
    let dst = buf.make_mut_bytes();
    let src = img.as_raw();
    let row = w as usize * 3;
    if mirror {
        for (d, s) in dst.chunks_exact_mut(row).zip(src.chunks_exact(row)) {
            for (dp, sp) in d.chunks_exact_mut(3).zip(s.chunks_exact(3).rev()) {
                dp.copy_from_slice(sp);
            }
        }
    } else {
        dst.copy_from_slice(&src[..dst.len()]);
    }
    Image::from_rgb8(buf)
}

/// The made photo, unmirrored (it is what the review centre receives).
pub fn photo_image(img: &image::RgbImage) -> Image {
    preview_image(img, false)
}

/// A QR code image (8 px modules, 4-module quiet zone), black on white.
pub fn qr_image(text: &str) -> Option<Image> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).ok()?;
    let n = code.width();
    let colors = code.to_colors();
    let (scale, quiet) = (8usize, 4usize);
    let side = (n + 2 * quiet) * scale;
    let mut buf = SharedPixelBuffer::<Rgb8Pixel>::new(side as u32, side as u32);
    let px = buf.make_mut_slice();
    for (i, p) in px.iter_mut().enumerate() {
        let (x, y) = ((i % side) / scale, (i / side) / scale);
        let dark = x >= quiet
            && y >= quiet
            && x < n + quiet
            && y < n + quiet
            && colors[(y - quiet) * n + (x - quiet)] == qrcode::Color::Dark;
        let v = if dark { 0 } else { 255 };
        *p = Rgb8Pixel { r: v, g: v, b: v };
    }
    Some(Image::from_rgb8(buf))
}

/// The posing guide's oval (issue #15): where the validator wants the face, as shares of
/// the camera frame (x, y, width, height). The document window (the crop `vision::geometry`
/// cuts) is made [`GUIDE_WINDOW_FILL`] of the largest window of the document's aspect that
/// fits the frame, centred (so `face_position` and `face_size`'s too-close rule both pass
/// with room to spare); inside it the face sits where the spec puts it: face width (else head
/// width, else the maker's 0.55 of the width), hair top (else the head centred), head length
/// (else the length ratio, else [`HEAD_SHARE`] of the height), centred horizontally.
pub fn guide_box(spec: &crate::config::DocumentSpec, frame_w: u32, frame_h: u32) -> [f32; 4] {
    let (w_out, h_out) = (spec.width as f32, spec.height as f32);
    let mid = |s: crate::config::SpanU| (s.min + s.max) as f32 / 2.0;
    let face_w = spec.face_width.or(spec.head_width).map(mid).unwrap_or(0.55 * w_out);
    let head_l = match (spec.head_length, spec.head_length_ratio) {
        (Some(l), _) => mid(l),
        (None, Some(r)) => h_out * ((r.min + r.max) / 2.0) as f32,
        (None, None) => h_out * HEAD_SHARE,
    };
    let hair = spec.hair_top.map(mid).unwrap_or((h_out - head_l) / 2.0);
    let (fw, fh) = (frame_w.max(1) as f32, frame_h.max(1) as f32);
    // Frame px per output px of the window.
    let scale = (fw / w_out).min(fh / h_out) * GUIDE_WINDOW_FILL;
    let (left, top) = ((fw - w_out * scale) / 2.0, (fh - h_out * scale) / 2.0);
    [
        (left + (w_out - face_w) / 2.0 * scale) / fw,
        (top + hair * scale) / fh,
        face_w * scale / fw,
        head_l * scale / fh,
    ]
}

/// Share of the largest fitting document window that the guide aims for.
pub const GUIDE_WINDOW_FILL: f32 = 0.9;
/// Head length (hair top to chin) as a share of the photo height where the spec gives none
/// (photo-standards, ID card: "head ≈ 2/3 of photo").
pub const HEAD_SHARE: f32 = 2.0 / 3.0;

/// Picks the Chinese or English text.
pub fn pick<'a>(english: bool, zh: &'a str, en: &'a str) -> &'a str {
    if english {
        en
    } else {
        zh
    }
}

pub fn prompt(english: bool, p: &Prompt) -> String {
    pick(english, &p.zh, &p.en).to_string()
}

pub fn prompts(english: bool, ps: &[Prompt]) -> String {
    ps.iter()
        .map(|p| prompt(english, p))
        .collect::<Vec<_>>()
        .join(if english { "; " } else { "；" })
}

/// The region screen's model: the home region (id "" when it does not offer `doc`), then
/// the others grouped by province, the home region's province first; a city's note names
/// its province.
pub fn region_choices(cfg: &Config, doc: DocumentId, en: bool) -> (RegionChoice, Vec<RegionChoice>) {
    let name = |c: &crate::config::RegionCode| -> slint::SharedString {
        match (cfg.regions.get(c), crate::config::province_name(c)) {
            (Some(r), _) => pick(en, &r.name_zh, &r.name_en).into(),
            (None, Some((zh, e))) => pick(en, zh, e).into(),
            (None, None) => c.as_str().into(),
        }
    };
    let choice = |c: &crate::config::RegionCode| RegionChoice {
        id: c.as_str().into(),
        label: name(c),
        note: c.province().map(|p| name(&p)).unwrap_or_default(),
    };
    let (home, mut groups) = cfg.region_groups(doc);
    let home_province = home.map(|h| h.province().unwrap_or_else(|| h.clone()));
    // Stable: the home province's group moves to the front, the rest keep code order.
    groups.sort_by_key(|(p, _)| Some(p) != home_province.as_ref());
    let others = groups.iter().flat_map(|(_, m)| m.iter().map(|c| choice(c))).collect();
    let home = home.map(choice).unwrap_or(RegionChoice {
        id: Default::default(),
        label: Default::default(),
        note: Default::default(),
    });
    (home, others)
}

/// An ID number as people read it off the card: 6-8-4 (area, birth date, the rest),
/// grouped as far as it is typed.
pub fn group_id(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for (i, c) in s.chars().enumerate() {
        if i == 6 || i == 14 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

pub fn document_name(cfg: &Config, english: bool, doc: DocumentId) -> String {
    cfg.documents
        .get(&doc)
        .map(|d| pick(english, &d.name_zh, &d.name_en).to_string())
        .unwrap_or_else(|| doc.to_string())
}

/// What the out-of-service screen says is wrong.
pub fn device_name(english: bool, d: Device) -> &'static str {
    match d {
        Device::Camera => pick(english, "摄像头故障", "camera fault"),
        Device::Printer => pick(english, "打印机故障或缺纸", "printer fault or paper out"),
        Device::ReviewService => pick(english, "审核服务暂不可用", "review service unavailable"),
        Device::Storage => pick(english, "存储故障", "storage fault"),
    }
}

/// (number shown, valid until, is a claim slip) for a slip.
pub fn slip_text(slip: &Slip) -> (String, String, bool) {
    match slip {
        Slip::Receipt {
            number, valid_until, ..
        } => (number.to_string(), valid_until.format("%Y-%m-%d").to_string(), false),
        Slip::Claim { code, .. } => (code.to_string(), String::new(), true),
        Slip::HandOff { code, .. } => (code.to_string(), String::new(), true),
    }
}

/// The done screen's next steps (issue #15): what to bring and where, from the same
/// config as the slip's 请携带 line; a claim slip's are on the slip itself.
pub fn next_steps(cfg: &crate::config::Config, slip: &Slip, en: bool) -> String {
    let Slip::Receipt { doc, region, .. } = slip else {
        return String::new();
    };
    if en {
        return "Next: take this slip and your ID card (or household register) to the counter before the date above."
            .into();
    }
    let place = cfg.regions.get(region).map_or("", |r| r.name_zh.as_str());
    format!(
        "下一步：请在有效期内，带上{}，到{place}办证窗口办理。",
        cfg.receipt_bring(*doc, region)
    )
}

/// The top bar's call-staff label: only a console that took the alert is "reached".
pub fn staff_call(outcome: Option<&AlertOutcome>) -> StaffCall {
    match outcome {
        None => StaffCall::None,
        Some(o) if o.reached_staff() => StaffCall::Reached,
        Some(_) => StaffCall::NotReached,
    }
}

/// The details screen's card banner, and the fault's message in the chosen language.
pub fn card_state(english: bool, status: &CardStatus) -> (CardState, String) {
    match status {
        CardStatus::NoReader => (CardState::NoReader, String::new()),
        CardStatus::Waiting => (CardState::Waiting, String::new()),
        CardStatus::Filled => (CardState::Filled, String::new()),
        CardStatus::Fault(p) => (CardState::Fault, prompt(english, p)),
    }
}

/// The screen that shows `state`.
pub fn page(state: &State) -> Page {
    match state {
        State::Attract => Page::Attract,
        State::ChooseDocument => Page::ChooseDocument,
        State::ChooseRegion { .. } => Page::ChooseRegion,
        State::Consent { .. } => Page::Consent,
        State::Declined => Page::Declined,
        State::Details { .. } => Page::Details,
        State::Posing { .. } => Page::Posing,
        State::ReviewPhoto { .. } => Page::ReviewPhoto,
        State::Uploading { .. } => Page::Uploading,
        State::Printing { .. } => Page::Printing,
        State::WaitingForPrinter { .. } => Page::WaitingForPrinter,
        State::Done { .. } => Page::Done,
        State::SeeStaff { .. } => Page::SeeStaff,
        State::OutOfService { .. } => Page::OutOfService,
    }
}

/// The voice prompt of the screen `state` shows (a clip id in `audio::CLIP_IDS`): every
/// screen speaks, so a person who cannot read the screen still knows what to do.
pub fn screen_prompt(state: &State, card_reader: bool) -> &'static str {
    match state {
        // The welcome also says the 拍照须知 pictured on the attract screen.
        State::Attract => "welcome",
        State::ChooseDocument => "choose_document",
        State::ChooseRegion { .. } => "choose_region",
        State::Consent { .. } => "consent",
        State::Declined => "declined",
        State::Details { .. } if card_reader => "card",
        State::Details { .. } => "details",
        State::Posing { .. } => "posing",
        State::ReviewPhoto { .. } => "review_photo",
        State::Uploading { .. } => "uploading",
        State::Printing { .. } => "printing",
        State::WaitingForPrinter { .. } => "waiting",
        State::Done {
            slip: Some(Slip::Claim { .. }),
        } => "take_claim",
        State::Done {
            slip: Some(Slip::HandOff { .. }),
        } => "see_staff",
        State::Done { .. } => "take_receipt",
        State::SeeStaff { .. } => "see_staff",
        State::OutOfService { .. } => "out_of_service",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of every screen state (and every variant that changes the prompt).
    fn every_state() -> Vec<State> {
        use crate::domain::{ClaimCode, HandOffCode, PrinterFault, ReceiptNumber};
        use crate::session::{CardStatus, Device};
        let doc: crate::config::DocumentId = "id-card".parse().unwrap();
        let region = crate::config::RegionCode::new("440100").unwrap();
        let receipt = Slip::Receipt {
            number: ReceiptNumber::new("440100261126000011").unwrap(),
            valid_until: chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            doc,
            region: region.clone(),
        };
        let claim = Slip::Claim {
            code: ClaimCode("abc".into()),
            doc,
            region: region.clone(),
        };
        let hand_off = Slip::HandOff {
            code: HandOffCode::new("042917").unwrap(),
            doc,
            region: region.clone(),
            reasons: vec![],
        };
        let (d, r) = (doc, region.clone());
        let states = vec![
            State::Attract,
            State::ChooseDocument,
            State::ChooseRegion { doc: d },
            State::Consent {
                doc: d,
                region: r.clone(),
            },
            State::Declined,
            State::Details {
                doc: d,
                region: r.clone(),
                errors: vec![],
                card: CardStatus::Waiting,
            },
            State::Posing {
                doc: d,
                region: r.clone(),
                hint: None,
                reasons: vec![],
            },
            State::ReviewPhoto {
                doc: d,
                region: r.clone(),
                retakes_left: 1,
            },
            State::Uploading {
                doc: d,
                region: r,
                since: 0,
                claim: None,
            },
            State::Printing { slip: receipt.clone() },
            State::WaitingForPrinter {
                slip: receipt.clone(),
                fault: PrinterFault::PaperOut,
            },
            State::Done { slip: Some(receipt) },
            State::Done { slip: Some(claim) },
            State::Done { slip: Some(hand_off) },
            State::Done { slip: None },
            State::SeeStaff { reasons: vec![] },
            State::OutOfService {
                faults: [Device::Camera].into(),
            },
        ];
        // Fails to compile when a screen state is added without a case above.
        for s in &states {
            match s {
                State::Attract
                | State::ChooseDocument
                | State::ChooseRegion { .. }
                | State::Consent { .. }
                | State::Declined
                | State::Details { .. }
                | State::Posing { .. }
                | State::ReviewPhoto { .. }
                | State::Uploading { .. }
                | State::Printing { .. }
                | State::WaitingForPrinter { .. }
                | State::Done { .. }
                | State::SeeStaff { .. }
                | State::OutOfService { .. } => {}
            }
        }
        states
    }

    #[test]
    fn every_screen_state_speaks_in_both_languages() {
        use crate::config::Language;
        use crate::ui::audio::{clip, parse_wav};
        let mut names = std::collections::BTreeSet::new();
        for state in every_state() {
            names.insert(state.name());
            for card_reader in [false, true] {
                let id = screen_prompt(&state, card_reader);
                for lang in [Language::Zh, Language::En] {
                    let bytes = clip(lang, id).unwrap_or_else(|| panic!("{}: no {lang:?} clip {id}", state.name()));
                    let secs = parse_wav(bytes).unwrap().seconds();
                    assert!(secs > 0.3, "{}: {lang:?} clip {id} lasts {secs:.2} s", state.name());
                }
            }
        }
        assert_eq!(names.len(), 14, "every screen state was tried: {names:?}");
        // The card reader and the slip kind change what is said.
        let details = &every_state()[5];
        assert_ne!(screen_prompt(details, true), screen_prompt(details, false));
        let done: Vec<&str> = every_state()[11..15].iter().map(|s| screen_prompt(s, false)).collect();
        assert_eq!(done, ["take_receipt", "take_claim", "see_staff", "take_receipt"]);
    }

    #[test]
    fn the_guide_oval_is_where_the_validator_wants_the_face() {
        let cfg = Config::builtin();
        for &doc in cfg.documents.keys() {
            let spec = cfg.spec_for(doc, None);
            for (w, h) in [(1280, 720), (640, 480), (720, 1280)] {
                let [x, y, bw, bh] = guide_box(&spec, w, h);
                // Centred within face_position's band, inside the frame, below the top edge.
                let cx = x + bw / 2.0;
                assert!((cx - 0.5).abs() < 1e-4, "{doc} {w}×{h}: centre {cx}");
                assert!(x > 0.0 && y > 0.0 && x + bw < 1.0 && y + bh < 1.0, "{doc} {w}×{h}");
                // face_size: wide enough in camera pixels.
                let face_px = bw * w as f32;
                assert!(face_px >= spec.limits.min_face_px as f32, "{doc} {w}×{h}: {face_px} px");
                // The document window this face implies fits the frame (not "too close").
                let scale = face_px
                    / spec
                        .face_width
                        .or(spec.head_width)
                        .map_or(0.55 * spec.width as f32, |s| (s.min + s.max) as f32 / 2.0);
                assert!(spec.width as f32 * scale <= w as f32 && spec.height as f32 * scale <= h as f32);
            }
        }
    }

    #[test]
    fn id_numbers_read_6_8_4() {
        assert_eq!(group_id("44010419800101001X"), "440104 19800101 001X");
        assert_eq!(group_id("4401041"), "440104 1");
        assert_eq!(group_id("440104"), "440104");
        assert_eq!(group_id(""), "");
    }

    #[test]
    fn mirror_swaps_left_and_right() {
        let mut img = image::RgbImage::new(3, 2);
        img.put_pixel(0, 0, image::Rgb([255, 0, 0]));
        img.put_pixel(2, 1, image::Rgb([0, 0, 255]));
        let m = preview_image(&img, true).to_rgb8().unwrap();
        let px = m.as_slice();
        assert_eq!(px[2], Rgb8Pixel { r: 255, g: 0, b: 0 });
        assert_eq!(px[3], Rgb8Pixel { r: 0, g: 0, b: 255 });
        let same = preview_image(&img, false).to_rgb8().unwrap();
        assert_eq!(same.as_slice()[0], Rgb8Pixel { r: 255, g: 0, b: 0 });
    }

    #[test]
    fn qr_has_quiet_zone_and_dark_modules() {
        let img =
            qr_image("https://r.example/v1/receipts/440100261126000017.pdf?token=0123456789abcdef0123456789abcdef")
                .unwrap();
        let b = img.to_rgb8().unwrap();
        assert_eq!(b.width(), b.height());
        assert!(b.as_slice()[..b.width() as usize * 32].iter().all(|p| p.r == 255));
        assert!(b.as_slice().iter().any(|p| p.r == 0));
    }
}
