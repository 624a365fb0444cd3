//! Configuration: TOML types, built-in defaults (documents, regions), validation with
//! file/line/field in every error, and the device-string grammar.
//!
//! The file is read-only at run time; it is merged *onto* the built-in defaults, so a
//! file only needs the values it changes. Runtime state (PIN hash, counters, journals,
//! outbox) lives in the data directory, never here.

mod checks;
mod device;
mod documents;
mod regions;

pub use checks::CheckLimits;
pub use device::*;
pub use documents::{builtin_documents, default_limits};
pub use regions::builtin_regions;

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
    /// Retakes allowed on the review screen per session.
    pub retake_limit: u32,
    /// Rejections by the review centre before the person is sent to a counter.
    pub reject_limit: u32,
    /// How long to wait for the review decision before printing a claim slip.
    pub decision_deadline_s: u32,
    /// Public base URL of the review service's receipt pages (for the QR), if any.
    pub public_receipt_url: Option<String>,
    /// A notifier for the review decision (e.g. SMS gateway URL). Only with one set may a
    /// document ask for a mobile number.
    pub decision_notifier: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicesSection {
    pub camera: CameraSpec,
    pub printer: PrinterSpec,
    pub review: ReviewSpec,
    /// File holding this kiosk's API key for an `http(s)://` review service.
    pub review_key_file: Option<PathBuf>,
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

/// The whole configuration after merging the file onto the defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub kiosk: KioskSection,
    pub devices: DevicesSection,
    pub camera: CameraSection,
    pub printer: PrinterSection,
    pub audio: AudioSection,
    pub metrics: MetricsSection,
    pub documents: BTreeMap<DocumentId, DocumentSpec>,
    pub regions: BTreeMap<RegionCode, Region>,
}

// ---------------------------------------------------------------------------------------
// Errors

/// A config problem, naming the file, the line (when known), the field and what is allowed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}. Fix: check the path given by --config or ${ENV_CONFIG}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}{}: {field}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        field: String,
        message: String,
    },
}

impl ConfigError {
    fn invalid(origin: &Origin, field: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            path: origin.path.clone(),
            line: origin.text.as_deref().and_then(|t| find_line(t, field)),
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Where a config came from: the file's path and text (for line numbers), or the defaults.
struct Origin {
    path: PathBuf,
    text: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Loading

impl Config {
    /// The built-in defaults: they run with no hardware at all.
    pub fn builtin() -> Config {
        let data_dir = default_data_dir();
        Config {
            kiosk: KioskSection {
                id: "KIOSK-DEV-0001".into(),
                site_zh: "开发测试点".into(),
                site_en: "Development site".into(),
                data_dir: data_dir.clone(),
                language: Language::Zh,
                inactivity_timeout_s: 60,
                still_there_s: 10,
                retake_limit: 3,
                reject_limit: 2,
                decision_deadline_s: 120,
                public_receipt_url: None,
                decision_notifier: None,
            },
            devices: DevicesSection {
                camera: "replay:builtin@15".parse().expect("valid default"),
                printer: format!("pdf:{}", data_dir.join("receipts").display())
                    .parse()
                    .expect("valid default"),
                review: "embedded".parse().expect("valid default"),
                review_key_file: None,
            },
            camera: CameraSection {
                width: 1280,
                height: 720,
                fps: 30,
                lock_exposure: false,
                lock_white_balance: false,
                mirror_preview: true,
            },
            printer: PrinterSection {
                cut_command: "1D 56 42 00".into(),
                strip_rows: 24,
                job_timeout_s: 60,
                status_timeout_ms: 500,
                dither: Dither::FloydSteinberg,
                threshold: 128,
                gamma: 1.8,
                use_asb: true,
                flow_control: FlowControl::Software,
                buffer_bytes: 4096,
                roll_length_mm: 50_000,
                qr_content: QrContent::Url,
                idle_poll_ms: 2000,
            },
            audio: AudioSection {
                mute: false,
                volume: 80,
            },
            metrics: MetricsSection { listen: None },
            documents: builtin_documents().into_iter().map(|d| (d.id, d)).collect(),
            regions: builtin_regions(),
        }
    }

    /// Resolves the config path: `--config`, else `$KIOSK_CONFIG`, else `/etc/kiosk/kiosk.toml`
    /// if it exists, else the built-in defaults (`None`).
    pub fn locate(flag: Option<&Path>) -> Option<PathBuf> {
        if let Some(p) = flag {
            return Some(p.to_path_buf());
        }
        if let Some(p) = std::env::var_os(ENV_CONFIG).filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(p));
        }
        let sys = Path::new(SYSTEM_CONFIG);
        sys.exists().then(|| sys.to_path_buf())
    }

    /// Loads the config the way every subcommand does.
    pub fn load(flag: Option<&Path>) -> Result<Config, ConfigError> {
        match Config::locate(flag) {
            Some(path) => Config::from_file(&path),
            None => {
                let c = Config::builtin();
                c.validate(&Origin {
                    path: "<built-in defaults>".into(),
                    text: None,
                })?;
                Ok(c)
            }
        }
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml_str(&text, path)
    }

    /// Parses `text` (named `path` in errors) and merges it onto the defaults.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let origin = Origin {
            path: path.to_path_buf(),
            text: Some(text.to_string()),
        };
        let user: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            line: e.span().map(|s| line_of(text, s.start)),
            field: "syntax".into(),
            message: e.message().trim().to_string(),
        })?;
        let mut merged = toml::Table::try_from(Config::builtin()).expect("defaults serialise");
        // Regions in the file replace the built-in list as a whole when `[regions]` is
        // given with `replace_builtin = true`; otherwise they add to / override it.
        let mut user = user;
        if let Some(toml::Value::Table(regions)) = user.get_mut("regions") {
            match regions.remove("replace_builtin") {
                Some(toml::Value::Boolean(true)) => {
                    merged.insert("regions".into(), toml::Value::Table(toml::Table::new()));
                }
                Some(toml::Value::Boolean(false)) | None => {}
                // A typo such as `replace_builtin = "yes"` must not silently keep the
                // built-in regions the operator meant to drop.
                Some(other) => {
                    return Err(ConfigError::invalid(
                        &origin,
                        "regions.replace_builtin",
                        format!(
                            "must be true or false, found {} `{other}` (true: the file's regions replace the built-in list)",
                            other.type_str()
                        ),
                    ));
                }
            }
        }
        // The default printer writes PDFs under the data directory: follow a data_dir
        // the file moves, unless the file names its own printer.
        let sets_printer = user.get("devices").and_then(|d| d.get("printer")).is_some();
        deep_merge(&mut merged, user);
        let de = toml::Value::Table(merged);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let message = e.into_inner().message().trim().to_string();
            ConfigError::invalid(&origin, &field, message)
        })?;
        let mut config = config;
        if !sets_printer {
            let spec = format!("pdf:{}", config.kiosk.data_dir.join("receipts").display());
            config.devices.printer = spec
                .parse()
                .map_err(|e: DeviceError| ConfigError::invalid(&origin, "kiosk.data_dir", e.to_string()))?;
        }
        config.validate(&origin)?;
        Ok(config)
    }

    /// Checks what serde cannot: consistency between sections.
    fn validate(&self, o: &Origin) -> Result<(), ConfigError> {
        let k = &self.kiosk;
        if k.id.is_empty()
            || !k
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ConfigError::invalid(
                o,
                "kiosk.id",
                "must be non-empty ASCII letters, digits, - or _",
            ));
        }
        if k.inactivity_timeout_s < 15 {
            return Err(ConfigError::invalid(
                o,
                "kiosk.inactivity_timeout_s",
                "must be at least 15 seconds",
            ));
        }
        if k.still_there_s == 0 || k.still_there_s > 60 {
            return Err(ConfigError::invalid(o, "kiosk.still_there_s", "must be 1–60 seconds"));
        }
        if k.decision_deadline_s == 0 {
            return Err(ConfigError::invalid(
                o,
                "kiosk.decision_deadline_s",
                "must be at least 1 second",
            ));
        }
        if self.audio.volume > 100 {
            return Err(ConfigError::invalid(o, "audio.volume", "must be 0–100"));
        }
        if matches!(self.devices.review.device(), Device::Http { .. }) && self.devices.review_key_file.is_none() {
            return Err(ConfigError::invalid(
                o,
                "devices.review_key_file",
                "an http(s) review service needs the kiosk's key file (e.g. /var/lib/kiosk/review.key)",
            ));
        }
        parse_hex_bytes(&self.printer.cut_command).map_err(|m| ConfigError::invalid(o, "printer.cut_command", m))?;
        if !(1..=255).contains(&self.printer.strip_rows) {
            return Err(ConfigError::invalid(o, "printer.strip_rows", "must be 1–255"));
        }
        if self.printer.idle_poll_ms != 0 && self.printer.idle_poll_ms < 100 {
            return Err(ConfigError::invalid(
                o,
                "printer.idle_poll_ms",
                "must be 0 (off) or at least 100 ms",
            ));
        }
        if !(self.printer.gamma > 0.1 && self.printer.gamma < 5.0) {
            return Err(ConfigError::invalid(o, "printer.gamma", "must be between 0.1 and 5"));
        }
        for (id, d) in &self.documents {
            let f = |name: &str| format!("documents.{id}.{name}");
            if d.id != *id {
                return Err(ConfigError::invalid(
                    o,
                    &f("id"),
                    format!("must be `{id}` (the table's key)"),
                ));
            }
            self.validate_document(o, d, &f)?;
        }
        for id in DocumentId::ALL {
            if !self.documents.contains_key(&id) {
                return Err(ConfigError::invalid(o, &format!("documents.{id}"), "profile missing"));
            }
        }
        // Regions in code order: a province (`440000`) comes before its cities (`4401xx`),
        // so a bad province override is reported at the province, not at each city.
        for (code, r) in &self.regions {
            for doc in r.overrides.keys() {
                let field = format!("regions.{code}.overrides.{doc}");
                // What applies in this region: its province's overrides, then its own.
                let chain = self.override_chain(*doc, Some(code));
                let stacked = match code.province() {
                    Some(p) if chain.len() > 1 => format!(" (with province {p}'s overrides.{doc} applied first)"),
                    _ => String::new(),
                };
                let spec = self
                    .spec_with(*doc, &chain)
                    .map_err(|m| ConfigError::invalid(o, &field, format!("{m}{stacked}")))?;
                self.validate_document(o, &spec, &|n| format!("{field}.{n}"))
                    .map_err(|e| match e {
                        ConfigError::Invalid {
                            path,
                            line,
                            field,
                            message,
                        } => ConfigError::Invalid {
                            path,
                            line,
                            field,
                            message: format!("{message}{stacked}"),
                        },
                        e => e,
                    })?;
            }
            if r.documents.is_empty() {
                return Err(ConfigError::invalid(
                    o,
                    &format!("regions.{code}.documents"),
                    "list at least one document",
                ));
            }
            for (doc, layout) in &r.receipt {
                let field = format!("regions.{code}.receipt.{doc}");
                if layout
                    .title
                    .as_ref()
                    .is_some_and(|t| t.trim().is_empty() || t.chars().count() > 64)
                {
                    return Err(ConfigError::invalid(
                        o,
                        &format!("{field}.title"),
                        "must be 1–64 characters (leave it out for the default title)",
                    ));
                }
                if layout
                    .notes
                    .as_ref()
                    .is_some_and(|n| n.is_empty() || n.iter().any(|l| l.trim().is_empty()))
                {
                    return Err(ConfigError::invalid(
                        o,
                        &format!("{field}.notes"),
                        "list at least one non-empty line (leave it out for the default notes)",
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_document(&self, o: &Origin, d: &DocumentSpec, f: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
        if !(100..=2000).contains(&d.width) || !(100..=2000).contains(&d.height) {
            return Err(ConfigError::invalid(
                o,
                &f("width"),
                "width and height must be 100–2000 px",
            ));
        }
        if !(72..=1200).contains(&d.dpi) {
            return Err(ConfigError::invalid(o, &f("dpi"), "must be 72–1200"));
        }
        if d.backgrounds.is_empty() {
            return Err(ConfigError::invalid(
                o,
                &f("backgrounds"),
                "list at least one colour, e.g. [\"#FFFFFF\"]",
            ));
        }
        if !(1..=100).contains(&d.jpeg_quality_min) {
            return Err(ConfigError::invalid(o, &f("jpeg_quality_min"), "must be 1–100"));
        }
        if d.file_kb.min == 0 {
            return Err(ConfigError::invalid(o, &f("file_kb"), "minimum must be at least 1 KB"));
        }
        if d.validity_days == 0 {
            return Err(ConfigError::invalid(o, &f("validity_days"), "must be at least 1 day"));
        }
        if let Some((name, allowed)) = d.limits.checks.invalid() {
            return Err(ConfigError::invalid(o, &f(&format!("limits.checks.{name}")), allowed));
        }
        if d.fields.contains(&Field::Mobile) && self.kiosk.decision_notifier.is_none() {
            return Err(ConfigError::invalid(
                o,
                &f("fields"),
                "`mobile` is collected only where kiosk.decision_notifier is configured",
            ));
        }
        Ok(())
    }

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

    /// The region's 使用说明 lines for `doc`, when its config replaces the defaults.
    pub fn receipt_notes(&self, doc: DocumentId, region: &RegionCode) -> Option<Vec<String>> {
        self.receipt_layout(doc, region, |l| l.notes.clone())
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

    /// The config as commented-free TOML (for `diag --print-config`).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
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

fn deep_merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => deep_merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// The default data directory: `/var/lib/kiosk` when writable (the installed kiosk),
/// else `$XDG_STATE_HOME/kiosk` or `~/.local/state/kiosk` (a developer's machine).
pub fn default_data_dir() -> PathBuf {
    let sys = Path::new("/var/lib/kiosk");
    if sys.is_dir() && nix::unistd::access(sys, nix::unistd::AccessFlags::W_OK).is_ok() {
        return sys.to_path_buf();
    }
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("kiosk");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/state/kiosk"),
        None => std::env::temp_dir().join("kiosk"),
    }
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

/// Finds the line where the dotted `field` path (as serde reports it) is written in
/// `text`, matching the longest prefix: a table header `[a.b]`, `[a."b"]`, or a key.
fn find_line(text: &str, field: &str) -> Option<usize> {
    let want: Vec<String> = field
        .split('.')
        .map(|s| s.split('[').next().unwrap_or(s).trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let norm = |s: &str| -> Vec<String> {
        s.split('.')
            .map(|p| p.trim().trim_matches('"').trim_matches('\'').to_string())
            .collect()
    };
    let mut table: Vec<String> = vec![];
    let mut best: Option<(usize, usize)> = None; // (matched segments, line)
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        let path = if let Some(h) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            table = norm(h);
            table.clone()
        } else if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            table = norm(h);
            table.clone()
        } else if let Some((k, _)) = line.split_once('=') {
            let mut p = table.clone();
            p.extend(norm(k));
            p
        } else {
            continue;
        };
        let matched = path.iter().zip(&want).take_while(|(a, b)| a == b).count();
        if matched == path.len() && matched > 0 && best.is_none_or(|(m, _)| matched > m) {
            best = Some((matched, i + 1));
        }
    }
    best.map(|(_, l)| l)
}

#[cfg(test)]
mod tests;
