//! Which thresholds come from the corpus, how they are fitted, and how well they hold for
//! people the fit never saw (leave-one-person-out).
//!
//! Every threshold of the capture checks is one of two kinds:
//! - **set by hand** from the spec, physics or the model's documentation ([`HAND_SET`]
//!   says where each value comes from); never refitted;
//! - **corpus-derived** ([`FITTED`]): the value is the middle of the gap between the worst
//!   compliant capture and the nearest capture that must fail on that check — the widest
//!   margin the labelled captures allow on both sides. Where no failing capture lies beyond
//!   the compliant ones, the rule is widened past the worst compliant value instead.
//!
//! [`leave_one_person_out`] refits every corpus-derived threshold without one person's
//! images and scores that person; the measures of each image are taken once (the models
//! are the expensive part), the folds are plain arithmetic.

use super::checks::{self, Measures};
use crate::config::{CheckLimits, DocumentSpec};

/// One labelled capture with its measures.
#[derive(Debug, Clone)]
pub struct Sample {
    pub file: String,
    /// The people in it (`base` column, `+`-separated; two-person images count for both).
    pub people: Vec<String>,
    pub expect_pass: bool,
    /// For a `fail` image: the checks of which at least one must fail.
    pub reasons: Vec<String>,
    pub measures: Measures,
}

/// Which side of the threshold fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A value below the threshold fails the check.
    FailBelow,
    /// A value above the threshold fails the check.
    FailAbove,
}

/// A corpus-derived threshold: the measure it applies to and where it lives.
pub struct Fitted {
    pub name: &'static str,
    pub check: &'static str,
    pub side: Side,
    /// The measure on one image (`None`: not measured there, e.g. no face).
    pub measure: fn(&Measures) -> Option<f32>,
    pub set: fn(&mut CheckLimits, f64),
}

macro_rules! face_measure {
    ($e:expr) => {
        |m: &Measures| m.face.as_ref().map($e)
    };
}

/// The corpus-derived thresholds.
pub const FITTED: &[Fitted] = &[
    Fitted {
        name: "min_eye_visibility",
        check: "eyes_visible",
        side: Side::FailBelow,
        measure: face_measure!(|f| f.eye_visibility),
        set: |k, v| k.min_eye_visibility = v,
    },
    Fitted {
        name: "min_face_luma",
        check: "exposure",
        side: Side::FailBelow,
        measure: face_measure!(|f| f.face_luma),
        set: |k, v| k.min_face_luma = v,
    },
    Fitted {
        name: "max_clipped_share",
        check: "exposure",
        side: Side::FailAbove,
        measure: face_measure!(|f| f.clipped),
        set: |k, v| k.max_clipped_share = v,
    },
    Fitted {
        name: "min_side_balance",
        check: "lighting",
        side: Side::FailBelow,
        measure: face_measure!(|f| f.side_balance),
        set: |k, v| k.min_side_balance = v,
    },
    Fitted {
        name: "max_glare_share",
        check: "lighting",
        side: Side::FailAbove,
        measure: face_measure!(|f| f.glare),
        set: |k, v| k.max_glare_share = v,
    },
    Fitted {
        name: "min_sharpness",
        check: "sharpness",
        side: Side::FailBelow,
        measure: |m: &Measures| m.face.as_ref().map(|f| f.sharpness).or(m.person_sharpness),
        set: |k, v| k.min_sharpness = v,
    },
    Fitted {
        name: "hat_max_cover",
        check: "accessory",
        side: Side::FailAbove,
        measure: |m: &Measures| {
            m.face
                .as_ref()
                .and_then(|f| f.head_top)
                .filter(|t| t.samples > 0)
                .map(|t| t.cover())
        },
        set: |k, v| k.hat_max_cover = v,
    },
];

/// Thresholds set by hand, with where their values come from.
pub const HAND_SET: &[(&str, &str)] = &[
    ("min_face_px (100), max_yaw/pitch/roll (5°/5°/8°), centre_band (0.70)", "photo-standards §4 defaults"),
    ("background_min_lightness (80), background_min_share (0.9), background_max_delta_e (10)", "photo-standards §4.5 kiosk defaults"),
    ("pitch_shape_tolerance_deg (8°)", "spread of the pose fit's pitch over frontal faces of different shape (docs/accuracy.md), not a corpus cut"),
    ("max_face_luma (235)", "within 20 levels of the 8-bit ceiling skin detail clips; over-exposure is caught by the clipped share"),
    ("min_eye_openness (0.09)", "MediaPipe Face Mesh notes: closed eyes read < 0.1 lid gap / eye width"),
    ("min_face_presence (0.5)", "MediaPipe's own face-presence threshold"),
    ("human_eye_spacing, human_nose_drop, human_mouth_width, human_chin_drop", "adult and child anthropometry (eye-centre distance ≈ 0.45 of face breadth, nose tip ≈ 0.6 of the way to the mouth), widened by half their span each side"),
    ("other_face_min_share (0.4)", "a second face under 40 % of the main face's width is a photo or a passer-by far behind"),
    ("window_slack (0.03)", "edge rows the maker may extend: 3 % of the frame"),
    ("min_background_samples (50)", "below 50 samples (the person fills the frame) the share is noise"),
    ("glare: luma ≥ 220, channel spread ≤ 45, ≥ 50 levels above the skin; eyes, mouth and nose ridge left out", "a specular highlight is near the sensor's ceiling and takes the light's colour (measure::is_specular)"),
    ("skin ΔE ≤ 25, backdrop ΔE ≤ 10 (accessory)", "skin under one light / the spec's backdrop tolerance (measure.rs)"),
];

/// How far past the worst compliant value a rule is widened when no failing capture lies
/// beyond it: this share of that value's distance from zero.
pub const WIDEN: f64 = 0.5;

fn values<'a>(f: &'a Fitted, samples: &'a [&Sample], pass: bool) -> impl Iterator<Item = (usize, f64)> + 'a {
    samples
        .iter()
        .enumerate()
        .filter(move |(_, s)| s.expect_pass == pass && (pass || s.reasons.iter().any(|r| r == f.check)))
        .filter_map(move |(i, s)| (f.measure)(&s.measures).map(|v| (i, v as f64)))
}

/// The compliant range (lowest, highest) of a measure; `None` without compliant samples.
fn pass_range(f: &Fitted, samples: &[&Sample]) -> Option<(f64, f64)> {
    let (lo, hi) = values(f, samples, true).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| {
        (lo.min(v), hi.max(v))
    });
    lo.is_finite().then_some((lo, hi))
}

/// How far `v` lies beyond the compliant range on the failing side, in units of that
/// range's span (0 or less: inside).
fn beyond(f: &Fitted, v: f64, (lo, hi): (f64, f64)) -> f64 {
    let span = (hi - lo).max(1e-6 * hi.abs().max(lo.abs()).max(1e-6));
    match f.side {
        Side::FailAbove => (v - hi) / span,
        Side::FailBelow => (lo - v) / span,
    }
}

/// Fits every corpus-derived threshold on `samples` (in [`FITTED`] order; `None` where no
/// compliant sample was measured). A failing capture is evidence for the one measure of
/// its listed check under which it lies farthest beyond the compliant range: a glare image
/// with a slightly dark cheek says nothing about the side-balance threshold.
pub fn fit_all(samples: &[&Sample]) -> Vec<Option<f64>> {
    let ranges: Vec<Option<(f64, f64)>> = FITTED.iter().map(|f| pass_range(f, samples)).collect();
    // For each fail sample index: the FITTED index it is evidence for.
    let mut evidence: std::collections::HashMap<usize, (usize, f64)> = Default::default();
    for (fi, f) in FITTED.iter().enumerate() {
        let Some(r) = ranges[fi] else { continue };
        for (si, v) in values(f, samples, false) {
            let b = beyond(f, v, r);
            if b > 0.0 && evidence.get(&si).is_none_or(|(_, best)| b > *best) {
                evidence.insert(si, (fi, b));
            }
        }
    }
    FITTED
        .iter()
        .enumerate()
        .map(|(fi, f)| {
            let (lo, hi) = ranges[fi]?;
            let fails = values(f, samples, false)
                .filter(|(si, _)| evidence.get(si).is_some_and(|(e, _)| *e == fi))
                .map(|(_, v)| v);
            Some(match f.side {
                Side::FailAbove => {
                    let nearest = fails.fold(f64::INFINITY, f64::min);
                    if nearest.is_finite() {
                        (hi + nearest) / 2.0
                    } else {
                        hi + WIDEN * hi.abs()
                    }
                }
                Side::FailBelow => {
                    let nearest = fails.fold(f64::NEG_INFINITY, f64::max);
                    if nearest.is_finite() {
                        (lo + nearest) / 2.0
                    } else {
                        lo - WIDEN * lo.abs()
                    }
                }
            })
        })
        .collect()
}

/// `base` with every corpus-derived threshold refitted on `samples`.
pub fn fit(base: &CheckLimits, samples: &[&Sample]) -> CheckLimits {
    let mut k = base.clone();
    for (f, v) in FITTED.iter().zip(fit_all(samples)) {
        if let Some(v) = v {
            (f.set)(&mut k, v);
        }
    }
    k
}

/// Whether `s` is judged right with `spec`: a `pass` image passes every check, a `fail`
/// image fails at least one of its listed checks.
pub fn judged_right(s: &Sample, spec: &DocumentSpec) -> bool {
    let results = checks::evaluate(&s.measures, spec);
    let failed: Vec<&str> = results.iter().filter(|c| !c.pass).map(|c| c.name).collect();
    if s.expect_pass {
        failed.is_empty()
    } else {
        s.reasons.iter().any(|r| failed.contains(&r.as_str()))
    }
}

/// Right answers on pass and fail images: (pass right, pass total, fail right, fail total).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Score {
    pub pass_ok: usize,
    pub pass_n: usize,
    pub fail_ok: usize,
    pub fail_n: usize,
}

impl Score {
    pub fn add(&mut self, s: &Sample, right: bool) {
        if s.expect_pass {
            self.pass_n += 1;
            self.pass_ok += right as usize;
        } else {
            self.fail_n += 1;
            self.fail_ok += right as usize;
        }
    }
    pub fn pass_rate(&self) -> f64 {
        self.pass_ok as f64 / self.pass_n.max(1) as f64
    }
    pub fn fail_rate(&self) -> f64 {
        self.fail_ok as f64 / self.fail_n.max(1) as f64
    }
}

/// Scores `samples` with `spec` as it is.
pub fn score(samples: &[Sample], spec: &DocumentSpec) -> Score {
    let mut sc = Score::default();
    for s in samples {
        sc.add(s, judged_right(s, spec));
    }
    sc
}

/// One person's fold.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Fold {
    pub person: String,
    pub score: Score,
    /// Files of this person judged wrong with the thresholds fitted without them.
    pub wrong: Vec<String>,
}

/// For each person: refit without their images, score their images. Returns the folds
/// and the pooled score (an image with two people is scored in both folds).
pub fn leave_one_person_out(samples: &[Sample], spec: &DocumentSpec) -> (Vec<Fold>, Score) {
    let mut people: Vec<&str> = samples
        .iter()
        .flat_map(|s| s.people.iter().map(String::as_str))
        .collect();
    people.sort_unstable();
    people.dedup();
    let mut pooled = Score::default();
    let mut folds = vec![];
    for p in people {
        let train: Vec<&Sample> = samples.iter().filter(|s| !s.people.iter().any(|q| q == p)).collect();
        let mut held = spec.clone();
        held.limits.checks = fit(&spec.limits.checks, &train);
        let mut sc = Score::default();
        let mut wrong = vec![];
        for s in samples.iter().filter(|s| s.people.iter().any(|q| q == p)) {
            let right = judged_right(s, &held);
            sc.add(s, right);
            pooled.add(s, right);
            if !right {
                let failed: Vec<&str> = checks::evaluate(&s.measures, &held)
                    .into_iter()
                    .filter(|c| !c.pass)
                    .map(|c| c.name)
                    .collect();
                wrong.push(format!("{} (failed: {})", s.file, failed.join(";")));
            }
        }
        folds.push(Fold {
            person: p.to_string(),
            score: sc,
            wrong,
        });
    }
    (folds, pooled)
}

/// One row of a corpus manifest (`file,doc,expect,reasons,base,notes`).
#[derive(Debug, Clone)]
pub struct CorpusRow {
    /// The image, resolved against its manifest's folder.
    pub path: std::path::PathBuf,
    pub doc: String,
    pub expect_pass: bool,
    pub reasons: Vec<String>,
    /// The `base` column, `+`-separated.
    pub people: Vec<String>,
}

/// The rows of `DIR/manifest.csv` and, where present, `DIR/more/manifest.csv` (`file`
/// relative to its manifest).
pub fn corpus_rows(dir: &std::path::Path) -> anyhow::Result<Vec<CorpusRow>> {
    use anyhow::Context;
    let mut out = vec![];
    for root in [dir.to_path_buf(), dir.join("more")] {
        let manifest = root.join("manifest.csv");
        if root != dir && !manifest.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("reading {} (the corpus manifest)", manifest.display()))?;
        for (i, line) in text.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
            let f: Vec<&str> = line.splitn(6, ',').collect();
            anyhow::ensure!(
                f.len() >= 5,
                "{}:{}: expected file,doc,expect,reasons,base",
                manifest.display(),
                i + 1
            );
            out.push(CorpusRow {
                path: root.join(f[0]),
                doc: f[1].to_string(),
                expect_pass: f[2] == "pass",
                reasons: f[3].split(';').filter(|r| !r.is_empty()).map(str::to_string).collect(),
                people: f[4].split('+').map(str::to_string).collect(),
            });
        }
    }
    Ok(out)
}

/// Reads a labelled corpus ([`corpus_rows`]) and measures every image with `spec` (its
/// document must match the rows').
pub fn load_corpus(
    dir: &std::path::Path,
    validator: &mut super::Validator,
    spec: &DocumentSpec,
) -> anyhow::Result<Vec<Sample>> {
    let mut out = vec![];
    for row in corpus_rows(dir)? {
        anyhow::ensure!(
            row.doc == spec.id.as_str(),
            "{}: document {} but calibrating {}",
            row.path.display(),
            row.doc,
            spec.id
        );
        let img = super::read_image(&row.path)?;
        let report = validator.check(&img, spec)?;
        out.push(Sample {
            file: row.path.strip_prefix(dir).unwrap_or(&row.path).display().to_string(),
            people: row.people,
            expect_pass: row.expect_pass,
            reasons: row.reasons,
            measures: report.measures,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::checks::FaceMeasures;

    fn sample(expect_pass: bool, reasons: &[&str], glare: f32, person: &str) -> Sample {
        Sample {
            file: format!("{person}-{glare}"),
            people: vec![person.into()],
            expect_pass,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
            measures: Measures {
                face: Some(FaceMeasures {
                    glare,
                    ..Default::default()
                }),
                ..Default::default()
            },
        }
    }

    #[test]
    fn a_threshold_sits_midway_between_worst_pass_and_nearest_fail() {
        let s = [
            sample(true, &[], 0.01, "a"),
            sample(true, &[], 0.02, "b"),
            sample(false, &["lighting"], 0.10, "c"),
            sample(false, &["lighting"], 0.30, "d"),
            // Listed for another check: ignored.
            sample(false, &["exposure"], 0.03, "e"),
        ];
        let glare = FITTED.iter().position(|f| f.name == "max_glare_share").unwrap();
        let refs: Vec<&Sample> = s.iter().collect();
        assert!((fit_all(&refs)[glare].unwrap() - 0.06).abs() < 1e-6);
        // Without a failing capture beyond the compliant ones, the rule is widened.
        let refs: Vec<&Sample> = s[..2].iter().collect();
        assert!((fit_all(&refs)[glare].unwrap() - 0.03).abs() < 1e-6);
    }
}
