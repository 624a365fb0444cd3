//! `kiosk check-photo` and `kiosk make-photo`.

use super::{Report, Validator, VisionError};
use crate::config::{Config, DocumentId};
use crate::Verdict;
use anyhow::Context;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct CheckPhotoArgs {
    /// Document whose standard applies: id-card, social-security, driving-licence, exit-entry, residence-permit.
    #[arg(long, value_name = "DOC")]
    pub doc: DocumentId,
    /// One JSON object per image per line instead of readable lines.
    #[arg(long)]
    pub json: bool,
    /// Captures to check (JPEG or PNG).
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct MakePhotoArgs {
    /// Document whose standard applies.
    #[arg(long, value_name = "DOC")]
    pub doc: DocumentId,
    /// Region whose overrides apply (GB/T 2260 code, e.g. 440100).
    #[arg(long, value_name = "CODE")]
    pub region: Option<crate::config::RegionCode>,
    /// Print the output-check report as JSON.
    #[arg(long)]
    pub json: bool,
    /// The capture to turn into the document photo.
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    /// Where to write the compliant JPEG (never half-written).
    #[arg(short = 'o', long = "output", value_name = "OUTPUT.jpg")]
    pub output: PathBuf,
}

#[derive(serde::Serialize)]
struct CheckJson {
    name: &'static str,
    pass: bool,
    value: f64,
    limit: String,
    hint_zh: Option<&'static str>,
    hint_en: Option<&'static str>,
}

#[derive(serde::Serialize)]
struct FaceJson {
    #[serde(rename = "box")]
    bbox: [f64; 4],
    roll: f64,
    yaw: f64,
    pitch: f64,
}

/// One image's JSON line, keys in the order of the CLI contract (issue #4).
#[derive(serde::Serialize)]
struct ImageJson {
    image: String,
    doc: &'static str,
    pass: bool,
    failed: Vec<&'static str>,
    checks: Vec<CheckJson>,
    face: Option<FaceJson>,
    ms: f64,
}

fn report_json(path: &Path, doc: DocumentId, r: &Report, ms: f64) -> String {
    let checks = r
        .checks
        .iter()
        .map(|c| CheckJson {
            name: c.name,
            pass: c.pass,
            value: round3(c.value),
            limit: c.limit.clone(),
            hint_zh: c.hint.map(|h| h.text().0),
            hint_en: c.hint.map(|h| h.text().1),
        })
        .collect();
    let face = match (r.face_box, r.pose) {
        (Some(b), Some(p)) => Some(FaceJson {
            bbox: b.map(|v| round3(v as f64)),
            roll: round3(p.roll as f64),
            yaw: round3(p.yaw as f64),
            pitch: round3(p.pitch as f64),
        }),
        _ => None,
    };
    serde_json::to_string(&ImageJson {
        image: path.display().to_string(),
        doc: doc.as_str(),
        pass: r.pass(),
        failed: r.failed(),
        checks,
        face,
        ms: round3(ms),
    })
    .unwrap_or_default()
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn report_text(path: &Path, r: &Report) -> String {
    if r.pass() {
        return format!("{}: 通过 / PASS", path.display());
    }
    let reasons: Vec<String> = r
        .checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| match c.hint {
            Some(h) => {
                let (zh, en) = h.text();
                format!("{} ({zh} / {en})", c.name)
            }
            None => c.name.to_string(),
        })
        .collect();
    format!("{}: 不通过 / FAIL — {}", path.display(), reasons.join("; "))
}

/// Reads an image; the error names the file.
pub fn read_image(path: &Path) -> Result<image::RgbImage, VisionError> {
    image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| VisionError::Image { path: path.display().to_string(), reason: e.to_string() })?
        .decode()
        .map(|i| i.to_rgb8())
        .map_err(|e| VisionError::Image { path: path.display().to_string(), reason: e.to_string() })
}

pub fn check_photo(cfg: &Config, args: &CheckPhotoArgs) -> anyhow::Result<Verdict> {
    let spec = cfg.spec_for(args.doc, None);
    let mut validator = Validator::new().context("loading the embedded face models")?;
    let (mut any_fail, mut unreadable) = (false, 0usize);
    let stdout = std::io::stdout();
    for path in &args.images {
        let t0 = Instant::now();
        let result = read_image(path).and_then(|img| validator.check(&img, &spec));
        let line = match result {
            Ok(r) => {
                any_fail |= !r.pass();
                let ms = t0.elapsed().as_secs_f64() * 1e3;
                if args.json {
                    report_json(path, args.doc, &r, ms)
                } else {
                    report_text(path, &r)
                }
            }
            Err(e) => {
                unreadable += 1;
                if args.json {
                    json!({"image": path.display().to_string(), "error": e.to_string()}).to_string()
                } else {
                    format!("{}: 无法读取 / UNREADABLE — {e}", path.display())
                }
            }
        };
        let mut out = stdout.lock();
        writeln!(out, "{line}").context("writing to stdout")?;
        out.flush().ok();
    }
    if unreadable > 0 {
        anyhow::bail!("{unreadable} of {} image(s) could not be read (see the lines above)", args.images.len());
    }
    Ok(if any_fail { Verdict::Negative } else { Verdict::Ok })
}

pub fn make_photo(_cfg: &Config, _args: &MakePhotoArgs) -> anyhow::Result<Verdict> {
    crate::cli::not_implemented("make-photo", "#4 (vision)")
}
