//! `kiosk check-photo` and `kiosk make-photo`.

use super::Verdict;
use crate::config::{Config, DocumentId};
use crate::vision::maker::Refusal;
use crate::vision::{Maker, Report, Validator};
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
    /// Refuse, without decoding, an image whose header claims more megapixels than this.
    #[arg(long, value_name = "MP", default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_megapixels: u32,
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
    /// Refuse, without decoding, an input whose header claims more megapixels than this.
    #[arg(long, value_name = "MP", default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_megapixels: u32,
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

pub use crate::vision::intake::read_image_limited;
pub use crate::vision::read_image;

fn max_pixels(megapixels: u32) -> u64 {
    u64::from(megapixels) * 1_000_000
}

pub fn check_photo(cfg: &Config, args: &CheckPhotoArgs) -> anyhow::Result<Verdict> {
    let spec = cfg.spec_for(args.doc, None);
    let mut validator = Validator::new().context("loading the embedded face models")?;
    let (mut any_fail, mut unreadable) = (false, 0usize);
    let stdout = std::io::stdout();
    for path in &args.images {
        let t0 = Instant::now();
        let result =
            read_image_limited(path, max_pixels(args.max_megapixels)).and_then(|img| validator.check(&img, &spec));
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
        anyhow::bail!(
            "{unreadable} of {} image(s) could not be read (see the lines above)",
            args.images.len()
        );
    }
    Ok(if any_fail { Verdict::Negative } else { Verdict::Ok })
}

pub fn make_photo(cfg: &Config, args: &MakePhotoArgs) -> anyhow::Result<Verdict> {
    let spec = cfg.spec_for(args.doc, args.region.as_ref());
    let t0 = Instant::now();
    let img = read_image_limited(&args.input, max_pixels(args.max_megapixels))?;
    let mut maker = Maker::new().context("loading the embedded face models")?;
    let result = maker.make_photo(&img, &spec)?;
    let ms = round3(t0.elapsed().as_secs_f64() * 1e3);
    let (verdict, report) = match result {
        Ok(made) => {
            write_atomically(&args.output, &made.jpeg.bytes)?;
            let report = serde_json::json!({
                "input": args.input.display().to_string(),
                "output": args.output.display().to_string(),
                "doc": args.doc.as_str(),
                "pass": true,
                "checks": made.checks,
                "warnings": made.warnings,
                "output_geometry": made.geometry,
                "quality": made.jpeg.quality,
                "ms": ms,
            });
            (Verdict::Ok, report)
        }
        Err(refusal) => {
            let (failed, checks): (Vec<&str>, serde_json::Value) = match &refusal {
                Refusal::Capture(c) => (
                    c.iter().filter(|c| !c.pass).map(|c| c.name).collect(),
                    serde_json::to_value(c).unwrap_or_default(),
                ),
                Refusal::Output(m) => (
                    m.checks.iter().filter(|c| !c.pass).map(|c| c.name).collect(),
                    serde_json::to_value(&m.checks).unwrap_or_default(),
                ),
            };
            let hints: Vec<_> = refusal
                .prompts()
                .into_iter()
                .map(|p| serde_json::json!({"id": p.id, "zh": p.zh, "en": p.en}))
                .collect();
            let report = serde_json::json!({
                "input": args.input.display().to_string(),
                "doc": args.doc.as_str(),
                "pass": false,
                "failed": failed,
                "checks": checks,
                "hints": hints,
                "ms": ms,
            });
            (Verdict::Negative, report)
        }
    };
    if args.json {
        println!("{report}");
    } else if verdict == Verdict::Ok {
        println!(
            "{} → {}: 已生成合格照片 / compliant photo written ({} bytes{})",
            args.input.display(),
            args.output.display(),
            report["checks"][1]["value"].as_str().unwrap_or(""),
            if report["warnings"].as_array().is_some_and(|w| !w.is_empty()) {
                "; warning: hair_cropped"
            } else {
                ""
            }
        );
    } else {
        let hints: Vec<String> = report["hints"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|h| {
                        format!(
                            "{} ({} / {})",
                            h["id"].as_str().unwrap_or(""),
                            h["zh"].as_str().unwrap_or(""),
                            h["en"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        println!(
            "{}: 无法生成合格照片 / cannot make a compliant photo — {}",
            args.input.display(),
            hints.join("; ")
        );
    }
    Ok(verdict)
}

/// Writes `bytes` to a temporary file in the same directory, then renames it over `path`,
/// so a reader never sees a half-written photo.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).with_context(|| {
        format!(
            "cannot create a temporary file in {}. Fix: the output directory must exist and be writable",
            dir.display()
        )
    })?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("cannot rename the finished photo to {}: {}", path.display(), e.error))?;
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// Document whose standard applies (the corpus rows must be for it).
    #[arg(long, value_name = "DOC", default_value = "id-card")]
    pub doc: DocumentId,
    /// Corpus folder with `manifest.csv` (and optionally `more/manifest.csv`).
    #[arg(long, value_name = "DIR")]
    pub corpus: PathBuf,
    /// One JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `kiosk calibrate`: the corpus-derived thresholds fitted on every image (all-in), the
/// shipped defaults' score, and leave-one-person-out, one row per person.
pub fn calibrate(cfg: &Config, args: &CalibrateArgs) -> anyhow::Result<Verdict> {
    use crate::vision::calibrate as cal;
    let spec = cfg.spec_for(args.doc, None);
    let mut validator = Validator::new().context("loading the embedded face models")?;
    let samples = cal::load_corpus(&args.corpus, &mut validator, &spec)?;
    let shipped = cal::score(&samples, &spec);
    let refs: Vec<&cal::Sample> = samples.iter().collect();
    let mut all_in = spec.clone();
    all_in.limits.checks = cal::fit(&spec.limits.checks, &refs);
    let fitted = cal::score(&samples, &all_in);
    let (folds, lopo) = cal::leave_one_person_out(&samples, &spec);
    let all_in_values = cal::fit_all(&refs);
    let thresholds: Vec<(&str, Option<f64>, f64)> = cal::FITTED
        .iter()
        .zip(all_in_values)
        .map(|(f, fitted)| {
            let shipped = serde_json::to_value(&spec.limits.checks)
                .ok()
                .and_then(|v| v.get(f.name).and_then(|x| x.as_f64()))
                .unwrap_or(f64::NAN);
            (f.name, fitted, shipped)
        })
        .collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let v = json!({
            "images": samples.len(),
            "shipped": shipped,
            "all_in": fitted,
            "leave_one_person_out": lopo,
            "folds": folds,
            "thresholds": thresholds.iter().map(|(n, f, s)| json!({"name": n, "fitted_all_in": f, "shipped": s})).collect::<Vec<_>>(),
        });
        writeln!(out, "{v}")?;
    } else {
        let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
        writeln!(out, "{} images, document {}", samples.len(), spec.id)?;
        writeln!(out, "{:<24} {:>12} {:>12}", "threshold", "fit all-in", "shipped")?;
        for (n, f, s) in &thresholds {
            writeln!(
                out,
                "{n:<24} {:>12} {s:>12.4}",
                f.map(|v| format!("{v:.4}")).unwrap_or("-".into())
            )?;
        }
        writeln!(
            out,
            "{:<12} {:>10} {:>10}  wrong with thresholds fitted without them",
            "person", "pass ok", "fail ok"
        )?;
        for f in &folds {
            let sc = f.score;
            writeln!(
                out,
                "{:<12} {:>10} {:>10}  {}",
                f.person,
                format!("{}/{}", sc.pass_ok, sc.pass_n),
                format!("{}/{}", sc.fail_ok, sc.fail_n),
                f.wrong.join(" ")
            )?;
        }
        for (name, sc) in [("shipped", shipped), ("all-in fit", fitted), ("leave-one-out", lopo)] {
            writeln!(
                out,
                "{name:<14} pass {}/{} ({:.1} %)  fail {}/{} ({:.1} %)",
                sc.pass_ok,
                sc.pass_n,
                pct(sc.pass_ok, sc.pass_n),
                sc.fail_ok,
                sc.fail_n,
                pct(sc.fail_ok, sc.fail_n)
            )?;
        }
    }
    Ok(Verdict::Ok)
}
