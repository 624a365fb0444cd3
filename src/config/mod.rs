//! Configuration: TOML types, built-in defaults (documents, regions), validation with
//! file/line/field in every error, and the device-string grammar.
//!
//! The file is read-only at run time; it is merged *onto* the built-in defaults, so a
//! file only needs the values it changes. Runtime state (PIN hash, counters, journals,
//! outbox) lives in the data directory, never here.

mod checks;
mod device;
mod documents;
mod load;
mod regions;
mod validate;

use load::deep_merge;

pub use checks::CheckLimits;
pub use device::*;
pub use documents::{builtin_documents, default_limits};
pub use load::{default_data_dir, ConfigError};
pub use regions::{builtin_regions, province_name};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the config comes from when `--config` is not given.
pub const ENV_CONFIG: &str = "KIOSK_CONFIG";
pub const SYSTEM_CONFIG: &str = "/etc/kiosk/kiosk.toml";

// ---------------------------------------------------------------------------------------
// Small value types

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentId {
    IdCard,
    SocialSecurity,
    DrivingLicence,
    ExitEntry,
    ResidencePermit,
}

impl DocumentId {
    pub const ALL: [DocumentId; 5] = [
        DocumentId::IdCard,
        DocumentId::SocialSecurity,
        DocumentId::DrivingLicence,
        DocumentId::ExitEntry,
        DocumentId::ResidencePermit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentId::IdCard => "id-card",
            DocumentId::SocialSecurity => "social-security",
            DocumentId::DrivingLicence => "driving-licence",
            DocumentId::ExitEntry => "exit-entry",
            DocumentId::ResidencePermit => "residence-permit",
        }
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DocumentId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DocumentId::ALL.into_iter().find(|d| d.as_str() == s).ok_or_else(|| {
            format!(
                "unknown document `{s}`; allowed: {}",
                DocumentId::ALL.map(|d| d.as_str()).join(", ")
            )
        })
    }
}

// Deserialised through a string (not serde's enum path) so that error paths name the key,
// e.g. `documents.id-card.file_kb`, and the message lists the allowed ids.
impl<'de> Deserialize<'de> for DocumentId {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let s = String::deserialize(de)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A GB/T 2260 administrative-division code: six digits, validated once here.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RegionCode(String);

impl RegionCode {
    pub fn new(s: &str) -> Result<Self, String> {
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0') {
            Ok(RegionCode(s.to_string()))
        } else {
            Err(format!("`{s}` is not a six-digit GB/T 2260 region code (e.g. 440100)"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The province a city belongs to (`440100` → `440000`); `None` for a province.
    pub fn province(&self) -> Option<RegionCode> {
        (!self.0.ends_with("0000")).then(|| RegionCode(format!("{}0000", &self.0[..2])))
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for RegionCode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        RegionCode::new(s)
    }
}

impl<'de> Deserialize<'de> for RegionCode {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let s = String::deserialize(de)?;
        RegionCode::new(&s).map_err(serde::de::Error::custom)
    }
}

/// Inclusive integer range written `[min, max]` in TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "[u32; 2]", into = "[u32; 2]")]
pub struct SpanU {
    pub min: u32,
    pub max: u32,
}

impl SpanU {
    pub const fn new(min: u32, max: u32) -> Self {
        SpanU { min, max }
    }
    pub fn contains(&self, v: u32) -> bool {
        (self.min..=self.max).contains(&v)
    }
}
impl TryFrom<[u32; 2]> for SpanU {
    type Error = String;
    fn try_from(a: [u32; 2]) -> Result<Self, String> {
        if a[0] <= a[1] {
            Ok(SpanU::new(a[0], a[1]))
        } else {
            Err(format!("range [{}, {}] has min > max", a[0], a[1]))
        }
    }
}
impl From<SpanU> for [u32; 2] {
    fn from(s: SpanU) -> Self {
        [s.min, s.max]
    }
}

/// Inclusive float range written `[min, max]` in TOML.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "[f64; 2]", into = "[f64; 2]")]
pub struct SpanF {
    pub min: f64,
    pub max: f64,
}
impl SpanF {
    pub const fn new(min: f64, max: f64) -> Self {
        SpanF { min, max }
    }
    pub fn contains(&self, v: f64) -> bool {
        v >= self.min && v <= self.max
    }
}
impl TryFrom<[f64; 2]> for SpanF {
    type Error = String;
    fn try_from(a: [f64; 2]) -> Result<Self, String> {
        if a[0].is_finite() && a[1].is_finite() && a[0] <= a[1] {
            Ok(SpanF::new(a[0], a[1]))
        } else {
            Err(format!("range [{}, {}] must be finite with min <= max", a[0], a[1]))
        }
    }
}
impl From<SpanF> for [f64; 2] {
    fn from(s: SpanF) -> Self {
        [s.min, s.max]
    }
}

/// An sRGB colour written `"#RRGGBB"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rgb(pub [u8; 3]);
impl TryFrom<String> for Rgb {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let h = s.strip_prefix('#').unwrap_or("");
        if h.len() != 6 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("colour `{s}` must be written #RRGGBB"));
        }
        let p = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).unwrap_or(0);
        Ok(Rgb([p(0), p(2), p(4)]))
    }
}
impl From<Rgb> for String {
    fn from(c: Rgb) -> String {
        format!("#{:02X}{:02X}{:02X}", c.0[0], c.0[1], c.0[2])
    }
}

/// A personal-data field a document may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    Name,
    IdNumber,
    /// Only allowed where a decision notifier is configured (collect nothing that nothing uses).
    Mobile,
}

// ---------------------------------------------------------------------------------------
// Documents and regions

/// Capture-check thresholds (photo-standards §2, §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// `face_size` fails below this face width in the camera frame.
    pub min_face_px: u32,
    /// ICAO inter-eye rule: reported, never failed on.
    pub advisory_eye_distance_px: u32,
    pub max_yaw_deg: f64,
    pub max_pitch_deg: f64,
    pub max_roll_deg: f64,
    /// `face_position`: the face centre must lie in this central share of the frame width.
    pub centre_band: f64,
    pub background_min_lightness: f64,
    pub background_max_delta_e: f64,
    pub background_min_share: f64,
    /// Expression checks, off by default (the standards accept a natural expression).
    pub mouth_closed: bool,
    pub expression_neutral: bool,
    /// Auto-capture after the shot has been compliant and steady this long.
    pub hold_still_s: f64,
    /// Kiosk thresholds of the check measures (`[documents.ID.limits.checks]`).
    #[serde(default)]
    pub checks: CheckLimits,
}

/// One document profile. Every field may be overridden in `[documents.ID]` and per region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSpec {
    pub id: DocumentId,
    pub name_zh: String,
    pub name_en: String,
    /// Output size in pixels.
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
    /// Output face width (cheek to cheek) in px, where the standard gives one.
    pub face_width: Option<SpanU>,
    pub head_width: Option<SpanU>,
    pub head_length: Option<SpanU>,
    pub head_length_ratio: Option<SpanF>,
    pub eye_distance_ratio: Option<SpanF>,
    /// Hair top, px below the top edge.
    pub hair_top: Option<SpanU>,
    /// The eye line must be at least this many px above the bottom edge.
    pub eye_line_min_from_bottom: Option<u32>,
    pub eye_mid_x: Option<SpanU>,
    pub face_centre_x_ratio: SpanF,
    /// Allowed background colours; make-photo uses the first.
    pub backgrounds: Vec<Rgb>,
    pub jpeg_quality_min: u8,
    /// File size bounds, KB = 1024 bytes.
    pub file_kb: SpanU,
    pub validity_days: u32,
    /// Details the receipt needs.
    pub fields: Vec<Field>,
    pub limits: Limits,
}

/// A region where receipts are accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    /// Documents for which this region accepts a photo receipt.
    pub documents: Vec<DocumentId>,
    /// Validity overrides in days, per document.
    #[serde(default)]
    pub validity_days: BTreeMap<DocumentId, u32>,
    /// Any document field, overridden for this region (e.g. `file_kb = [14, 30]`).
    #[serde(default)]
    pub overrides: BTreeMap<DocumentId, toml::Table>,
    /// Print the (masked) name on the slip; off by default (receipt.md §6.8).
    #[serde(default)]
    pub print_name: bool,
    /// Receipt layout per document for this region (a province's apply to its cities,
    /// a city's own win): `[regions.440300.receipt.id-card] title = …, notes = […]`.
    #[serde(default)]
    pub receipt: BTreeMap<DocumentId, ReceiptLayout>,
    /// The consent screen's wording (`{region}` and `{days}` are filled in); a province's
    /// applies to its cities, a city's own wins; none → the built-in wording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentText>,
    /// The review centre named on the receipt (审核单位); a province's applies to its
    /// cities. Default `{region}证件照片审核中心`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_centre: Option<String>,
    /// The enquiry number on the receipt (咨询电话); a province's applies to its
    /// cities. Default 12345, the government service hotline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enquiry_phone: Option<String>,
}

/// The consent screen's text in both languages (issue #14 §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentText {
    pub zh: String,
    pub en: String,
}

/// The receipt template's region-specific parts (receipt.md §5 rows 1 and 9); what is
/// left out keeps the document's default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptLayout {
    /// The title line; `{region}` and `{document}` are replaced by their Chinese names.
    /// Default `{region}{document}数字相片采集回执`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The 使用说明 lines, replacing the default notice (请在有效期内到…办证窗口使用本回执)
    /// and the document's own notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<Vec<String>>,
    /// What to bring to the counter with the slip (请携带：…); default per document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bring: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Sections

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Zh,
    En,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KioskSection {
    pub id: String,
    pub site_zh: String,
    pub site_en: String,
    /// Runtime state: PIN hash, counters, journals, outbox. Must be writable.
    pub data_dir: PathBuf,
    pub language: Language,
    /// Seconds without a touch before the "still there?" countdown starts.
    pub inactivity_timeout_s: u32,
    /// Length of the "还在吗？/ Still there?" countdown.
    pub still_there_s: u32,
    /// Seconds without a touch after which the admin and operator screens close by
    /// themselves (nobody leaves them open for the next person).
    pub admin_idle_s: u32,
    /// Minutes a setup code from `kiosk diag --setup-code` stays valid for setting the
    /// first admin PIN on the touchscreen.
    pub setup_code_valid_min: u32,
    /// Seconds the done (and declined) screen stays before the kiosk clears it for the
    /// next person; a touch restarts it.
    pub done_clear_s: u32,
    /// Retakes allowed on the review screen per session.
    pub retake_limit: u32,
    /// Rejections by the review centre before the person is sent to a counter.
    pub reject_limit: u32,
    /// Failed captures plus review rejections after which posing stops and the person
    /// is handed over to a counter (hand-off slip, staff alert).
    pub posing_fail_limit: u32,
    /// Seconds in posing without a passing capture before the same hand-off.
    pub posing_time_limit_s: u32,
    /// How long to wait for the review decision before printing a claim slip.
    pub decision_deadline_s: u32,
    /// Public base URL of the review service's receipt pages (for the QR), if any.
    pub public_receipt_url: Option<String>,
    /// The hall's own region: offered first on the region screen, ready to confirm
    /// (most people apply where they live); the rest follow grouped by province.
    pub home_region: Option<RegionCode>,
    /// A notifier for the review decision (e.g. SMS gateway URL). Only with one set may a
    /// document ask for a mobile number.
    pub decision_notifier: Option<String>,
    /// Where this hall's people go when the kiosk cannot help (out of service), e.g.
    /// 请到一楼3号服务台办理; none → 请到人工窗口办理.
    pub help_desk_zh: Option<String>,
    pub help_desk_en: Option<String>,
    /// Demonstration mode: the embedded review centre approves every photo by itself and
    /// keeps personal data on the kiosk, so receipts are worthless. On by default only
    /// without a config file (README's first command); a config file that uses the
    /// embedded centre must say `demo = true`. Announced on screen and in the log.
    pub demo: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicesSection {
    pub camera: CameraSpec,
    pub printer: PrinterSpec,
    pub review: ReviewSpec,
    /// File holding this kiosk's API key for an `http(s)://` review service.
    pub review_key_file: Option<PathBuf>,
    /// The resident ID-card reader: `serial:PATH[,BAUD]` or `none` (the default: typed).
    pub idcard: IdCardSpec,
}

/// The ID-card reader's timing (docs/idcard.md). Every wait is bounded by these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdCardSection {
    /// How long the reader may take to start answering a command, in ms (the line time
    /// of the answer at the configured baud is added). A silent reader is a fault after it.
    pub reply_timeout_ms: u32,
    /// How often the details screen asks the reader for a card, in ms.
    pub poll_interval_ms: u32,
    /// The same reader fault is logged at most once in this many seconds.
    pub log_interval_s: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSection {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub lock_exposure: bool,
    pub lock_white_balance: bool,
    /// Mirror the preview (people expect a mirror); hints are phrased for the mirrored view.
    pub mirror_preview: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dither {
    FloydSteinberg,
    Bayer4,
    Threshold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlowControl {
    None,
    Software,
    Hardware,
}

/// ESC/POS settings (escpos.md §6.7), all logged at start-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterSection {
    /// Hex bytes of the cut command, default `GS V 66 0`.
    pub cut_command: String,
    pub strip_rows: u32,
    pub job_timeout_s: u32,
    pub status_timeout_ms: u32,
    pub dither: Dither,
    pub threshold: u8,
    pub gamma: f64,
    pub use_asb: bool,
    pub flow_control: FlowControl,
    /// Receive buffer assumed when pacing without flow control.
    pub buffer_bytes: u32,
    /// Paper roll length, for the estimate of paper left.
    pub roll_length_mm: u32,
    /// QR content: the receipt URL with its token (`url`, the default: the person opens
    /// their receipt on a phone, issue #6), or the number only. `url` falls back to the
    /// number where there is no URL (embedded review service) or no token.
    pub qr_content: QrContent,
    /// Status poll of an idle printer (DLE EOT), in ms; 0 = off (faults then show only
    /// at the next print).
    pub idle_poll_ms: u32,
    /// Bytes from the printer that fit no reply (noise, a wrong baud rate) are counted and
    /// logged at most once per this many ms, with the count (≥ 1000).
    pub noise_log_interval_ms: u32,
    /// Replies and status frames kept unread between prints; the oldest are dropped
    /// beyond it (8–65536).
    pub max_queued_replies: u32,
    /// English after the Chinese labels on slips (回执号 Receipt No.); off by default:
    /// the counter and most people read Chinese, and shorter lines print larger.
    pub english_labels: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QrContent {
    Number,
    Url,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioSection {
    pub mute: bool,
    /// 0–100.
    pub volume: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// `127.0.0.1:9184` to serve Prometheus text; off when absent.
    pub listen: Option<String>,
}

/// The hall console this kiosk reports to (issue #16); none when `url` is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSection {
    /// `https://hall-console:8800` (`http://` only on loopback).
    pub url: Option<String>,
    /// This kiosk's key for the console (0600), `KIOSK_ID KEY` line in the console's keys.
    pub key_file: Option<PathBuf>,
    pub heartbeat_s: u32,
    /// One request's timeout.
    pub timeout_ms: u32,
    /// Wait between tries while the console cannot be reached.
    pub retry_s: u32,
    /// How long 呼叫工作人员 waits for the console to confirm before the screen sends the
    /// person to the service desk (the alert is still delivered later).
    pub alert_wait_ms: u32,
    /// Events kept while the console is unreachable; the oldest go first beyond this.
    pub queue_max: u32,
}

/// The whole configuration after merging the file onto the defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub kiosk: KioskSection,
    pub devices: DevicesSection,
    pub camera: CameraSection,
    pub printer: PrinterSection,
    pub idcard: IdCardSection,
    pub audio: AudioSection,
    pub metrics: MetricsSection,
    pub console: ConsoleSection,
    pub documents: BTreeMap<DocumentId, DocumentSpec>,
    pub regions: BTreeMap<RegionCode, Region>,
}

impl Config {
    /// The document spec built from the global `[documents.DOC]` profile with `overs`
    /// merged onto it in order.
    fn spec_with(&self, doc: DocumentId, overs: &[&toml::Table]) -> Result<DocumentSpec, String> {
        let mut base = toml::Table::try_from(&self.documents[&doc]).map_err(|e| e.to_string())?;
        for over in overs {
            deep_merge(&mut base, (*over).clone());
        }
        toml::Value::Table(base)
            .try_into()
            .map_err(|e: toml::de::Error| e.message().trim().to_string())
    }

    /// The `overrides.DOC` tables that apply in `region`: the province's first, then the
    /// city's own (docs/configuration.md: "province first, then city").
    fn override_chain(&self, doc: DocumentId, region: Option<&RegionCode>) -> Vec<&toml::Table> {
        region_chain(region)
            .iter()
            .filter_map(|code| self.regions.get(code).and_then(|r| r.overrides.get(&doc)))
            .collect()
    }

    /// The document profile as it applies in `region`: built-in → global
    /// `[documents.DOC]` → the province's overrides → the city's overrides, then the
    /// region's validity rule.
    pub fn spec_for(&self, doc: DocumentId, region: Option<&RegionCode>) -> DocumentSpec {
        let chain = self.override_chain(doc, region);
        let mut spec = if chain.is_empty() {
            self.documents[&doc].clone()
        } else {
            // Validated at load time (the combined result, per region), so this cannot
            // fail for a loaded config; a hand-built one falls back to the global profile.
            self.spec_with(doc, &chain)
                .unwrap_or_else(|_| self.documents[&doc].clone())
        };
        if let Some(days) = self.validity_days_override(doc, region) {
            spec.validity_days = days;
        }
        spec
    }

    fn validity_days_override(&self, doc: DocumentId, region: Option<&RegionCode>) -> Option<u32> {
        // The city's own rule wins over its province's.
        region_chain(region)
            .into_iter()
            .rev()
            .find_map(|c| self.regions.get(&c).and_then(|r| r.validity_days.get(&doc)).copied())
    }

    /// Receipt validity in days for (document, region).
    pub fn validity_days(&self, doc: DocumentId, region: &RegionCode) -> u32 {
        self.spec_for(doc, Some(region)).validity_days
    }

    /// Regions offering `doc`, in code order.
    pub fn regions_for(&self, doc: DocumentId) -> Vec<(&RegionCode, &Region)> {
        self.regions
            .iter()
            .filter(|(_, r)| r.documents.contains(&doc))
            .collect()
    }

    /// The region screen for `doc`: the hall's home region apart (when it offers `doc`),
    /// then every other region grouped under its province, provinces and their cities in
    /// code order (a province's own entry first in its group).
    pub fn region_groups(&self, doc: DocumentId) -> (Option<&RegionCode>, Vec<(RegionCode, Vec<&RegionCode>)>) {
        let home = self
            .kiosk
            .home_region
            .as_ref()
            .filter(|h| self.regions.get(*h).is_some_and(|r| r.documents.contains(&doc)));
        let mut groups: Vec<(RegionCode, Vec<&RegionCode>)> = Vec::new();
        for (code, _) in self.regions_for(doc) {
            if Some(code) == home {
                continue;
            }
            let province = code.province().unwrap_or_else(|| code.clone());
            match groups.iter_mut().find(|(p, _)| *p == province) {
                Some((_, members)) => members.push(code),
                None => groups.push((province, vec![code])),
            }
        }
        (home, groups)
    }

    /// Documents offered in at least one region.
    pub fn offered_documents(&self) -> Vec<DocumentId> {
        DocumentId::ALL
            .into_iter()
            .filter(|d| !self.regions_for(*d).is_empty())
            .collect()
    }

    /// Receipt title, e.g. 广东省居民身份证数字相片采集回执 (receipt.md §5), or the
    /// region's `receipt.DOC.title`.
    pub fn receipt_title(&self, doc: DocumentId, region: &RegionCode) -> String {
        let region_name = self.regions.get(region).map(|r| r.name_zh.as_str()).unwrap_or("");
        let doc_name = &self.documents[&doc].name_zh;
        match self.receipt_layout(doc, region, |l| l.title.clone()) {
            Some(t) => t.replace("{region}", region_name).replace("{document}", doc_name),
            None => format!("{region_name}{doc_name}数字相片采集回执"),
        }
    }

    /// The consent screen's (Chinese, English) text for `region`, placeholders filled.
    pub fn consent_text(&self, doc: DocumentId, region: &RegionCode) -> (String, String) {
        let own = |c: &RegionCode| self.regions.get(c).and_then(|r| r.consent.clone());
        let text = own(region)
            .or_else(|| region.province().and_then(|p| own(&p)))
            .unwrap_or_else(default_consent);
        let r = self.regions.get(region);
        let days = self.validity_days(doc, region).to_string();
        let fill = |s: &str, name: &str| s.replace("{region}", name).replace("{days}", &days);
        (
            fill(&text.zh, r.map_or("", |r| r.name_zh.as_str())),
            fill(&text.en, r.map_or("", |r| r.name_en.as_str())),
        )
    }

    /// The region's 使用说明 lines for `doc`, when its config replaces the defaults.
    pub fn receipt_notes(&self, doc: DocumentId, region: &RegionCode) -> Option<Vec<String>> {
        self.receipt_layout(doc, region, |l| l.notes.clone())
    }

    /// What to bring to the counter with a receipt for `doc` in `region` (请携带).
    pub fn receipt_bring(&self, doc: DocumentId, region: &RegionCode) -> String {
        self.receipt_layout(doc, region, |l| l.bring.clone())
            .unwrap_or_else(|| default_bring(doc).to_string())
    }

    /// The review centre named on `region`'s receipts (审核单位).
    pub fn review_centre(&self, region: &RegionCode) -> String {
        let name = self.regions.get(region).map_or("", |r| r.name_zh.as_str());
        self.region_value(region, |r| r.review_centre.clone())
            .unwrap_or_else(|| "{region}证件照片审核中心".into())
            .replace("{region}", name)
    }

    /// The enquiry telephone number on `region`'s receipts (咨询电话).
    pub fn enquiry_phone(&self, region: &RegionCode) -> String {
        self.region_value(region, |r| r.enquiry_phone.clone())
            .unwrap_or_else(|| "12345".into())
    }

    /// A region setting: the city's own, else its province's.
    fn region_value<T>(&self, region: &RegionCode, part: impl Fn(&Region) -> Option<T>) -> Option<T> {
        region_chain(Some(region))
            .into_iter()
            .rev()
            .find_map(|c| self.regions.get(&c).and_then(&part))
    }

    /// One part of the receipt layout: the city's own, else its province's.
    fn receipt_layout<T>(
        &self,
        doc: DocumentId,
        region: &RegionCode,
        part: impl Fn(&ReceiptLayout) -> Option<T>,
    ) -> Option<T> {
        region_chain(Some(region))
            .into_iter()
            .rev()
            .find_map(|c| self.regions.get(&c).and_then(|r| r.receipt.get(&doc)).and_then(&part))
    }
}

/// Province first, then the city itself.
fn region_chain(region: Option<&RegionCode>) -> Vec<RegionCode> {
    let Some(r) = region else { return vec![] };
    let mut v: Vec<RegionCode> = r.province().into_iter().collect();
    v.push(r.clone());
    v
}

/// Parses `"1D 56 42 00"` into bytes.
pub fn parse_hex_bytes(s: &str) -> Result<Vec<u8>, String> {
    let v: Result<Vec<u8>, _> = s.split_whitespace().map(|b| u8::from_str_radix(b, 16)).collect();
    match v {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(format!(
            "`{s}` must be hex bytes separated by spaces, e.g. \"1D 56 42 00\""
        )),
    }
}

#[cfg(test)]
mod tests;

/// The built-in consent wording: what is collected, why, who receives it, how long it is
/// kept, the wipe at the kiosk, and that saying no is fine (PIPL art. 29: separate consent
/// for sensitive personal information).
/// What to bring with the slip when the region does not say (请携带).
fn default_bring(doc: DocumentId) -> &'static str {
    match doc {
        DocumentId::IdCard => "本回执，以及户口簿或旧身份证",
        DocumentId::ExitEntry
        | DocumentId::ResidencePermit
        | DocumentId::SocialSecurity
        | DocumentId::DrivingLicence => "本回执和居民身份证",
    }
}

fn default_consent() -> ConsentText {
    ConsentText {
        zh: "办理照片回执需要采集您的人脸照片和身份证号码。这是敏感个人信息，需要您单独同意。\n\
             · 用途：只用于照片审核和出具回执。\n\
             · 接收方：只发送给{region}照片审核中心。\n\
             · 保存多久：审核中心保存到回执到期（{days}天）。\n\
             · 本机：打印回执后立即删除您的照片和信息。\n\
             不同意也没关系，可以到人工窗口办理。"
            .into(),
        en: "To make your photo receipt, this kiosk takes a photo of your face and your ID number. \
             These are sensitive personal information, so we ask for your separate consent.\n\
             · Use: only to review the photo and issue the receipt.\n\
             · Sent to: only the {region} photo review centre.\n\
             · Kept: by the review centre until the receipt expires ({days} days).\n\
             · This kiosk: deletes your photo and details right after printing.\n\
             If you do not agree, a staffed counter can help you instead."
            .into(),
    }
}
