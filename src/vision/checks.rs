//! The ten capture checks (photo-standards §4). `Measures` holds the raw numbers of one
//! frame; `evaluate` turns them into verdicts with the configured limits and a hint each.

use super::analysis::{Analyzer, Still};
use super::geometry::{self, CropPlan};
use super::hints::Hint;
use super::measure;
use super::pose::Pose;
use crate::config::DocumentSpec;
use image::RgbImage;

/// The check names, in the guidance priority order of the issue.
pub const CHECK_NAMES: [&str; 10] = [
    "face_count",
    "face_size",
    "face_position",
    "head_pose",
    "accessory",
    "eyes_visible",
    "exposure",
    "lighting",
    "background",
    "sharpness",
];

// The kiosk thresholds of these checks are settings: `spec.limits.checks`
// (`crate::config::CheckLimits`, `[documents.ID.limits.checks]` in the config file).

/// Raw numbers of one frame.
#[derive(Debug, Clone, Default)]
pub struct Measures {
    pub frame_w: f32,
    pub frame_h: f32,
    pub faces: usize,
    /// Main face present (landmarks found).
    pub face: Option<FaceMeasures>,
    pub background_l: f32,
    pub background_share: f32,
    pub background_samples: usize,
    /// Sharpness of the person's head when no face was found.
    pub person_sharpness: Option<f32>,
}

#[derive(Debug, Clone, Default)]
pub struct FaceMeasures {
    pub bbox: [f32; 4],
    pub width: f32,
    pub eye_distance: f32,
    pub centre_x: f32,
    pub chin_y: f32,
    pub plan: Option<CropPlan>,
    pub pose: Pose,
    pub eye_openness: f32,
    pub eye_visibility: f32,
    pub face_luma: f32,
    pub clipped: f32,
    pub side_balance: f32,
    pub glare: f32,
    pub sharpness: f32,
    /// Head-top signals (`None` without a hair mask).
    pub head_top: Option<measure::HeadTop>,
    pub shape: measure::FaceShape,
}

impl FaceMeasures {
    /// Whether the mesh is a human face (presence and proportions within `k`'s ranges).
    pub fn is_human(&self, k: &crate::config::CheckLimits) -> bool {
        let s = &self.shape;
        let within = |v: f32, r: [f64; 2]| (v as f64) >= r[0] && (v as f64) <= r[1];
        (s.presence as f64) >= k.min_face_presence
            && within(s.eye_spacing, k.human_eye_spacing)
            && within(s.nose_drop, k.human_nose_drop)
            && within(s.mouth_width, k.human_mouth_width)
            && within(s.chin_drop, k.human_chin_drop)
    }
}

/// One check's verdict.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub name: &'static str,
    pub pass: bool,
    pub value: f64,
    pub limit: String,
    #[serde(skip)]
    pub hint: Option<Hint>,
}

impl Measures {
    /// Measures a still image (or a frame) from its analysis.
    pub fn of(an: &mut Analyzer, img: &RgbImage, still: &Still, spec: &DocumentSpec) -> Measures {
        let bg = measure::background(img, &still.mask, spec.limits.background_max_delta_e as f32);
        Self::with_background(an, img, still, spec, bg)
    }

    /// As [`Measures::of`] with the background measure (L*, share, samples) already taken:
    /// the live guide measures it only when the mask changes (5 Hz), on the mask's frame.
    pub fn with_background(
        an: &mut Analyzer,
        img: &RgbImage,
        still: &Still,
        spec: &DocumentSpec,
        (bl, bs, bn): (f32, f32, usize),
    ) -> Measures {
        let main_w = still.detections.first().map(|d| d.bbox[2]).unwrap_or(0.0);
        let faces = still
            .detections
            .iter()
            .filter(|d| d.bbox[2] >= spec.limits.checks.other_face_min_share as f32 * main_w)
            .count();
        let face = still.face.as_ref().map(|f| {
            let reg = measure::regions(f);
            let hair_y = geometry::hair_top(f, &still.mask);
            let (luma, clipped) = measure::exposure(img, &reg);
            let (r, l) = f.eye_centres();
            FaceMeasures {
                bbox: f.bbox,
                width: f.width(),
                eye_distance: super::analysis::dist(r, l),
                centre_x: (f.pt(234).0 + f.pt(454).0) / 2.0,
                chin_y: f.pt(152).1,
                plan: Some(geometry::plan(f, hair_y, &still.mask, spec)),
                pose: f.pose,
                eye_openness: measure::eye_openness(f),
                eye_visibility: measure::eye_visibility(img, &reg),
                face_luma: luma,
                clipped,
                side_balance: measure::side_balance(img, &reg),
                glare: measure::glare_spots(img, f, &reg),
                sharpness: measure::sharpness(&mut an.resizer, img, f),
                head_top: still
                    .hair
                    .as_ref()
                    .map(|h| measure::head_top(img, f, &reg, &still.mask, h)),
                shape: measure::face_shape(f),
            }
        });
        Measures {
            frame_w: img.width() as f32,
            frame_h: img.height() as f32,
            faces: if face.is_some() { faces.max(1) } else { 0 },
            face,
            background_l: bl,
            background_share: bs,
            background_samples: bn,
            person_sharpness: if still.face.is_none() {
                measure::person_sharpness(&mut an.resizer, img, &still.mask)
            } else {
                None
            },
        }
    }
}

fn check(name: &'static str, fail: Option<Hint>, value: f64, limit: String) -> Check {
    Check {
        name,
        pass: fail.is_none(),
        value,
        limit,
        hint: fail,
    }
}

/// All ten checks, in [`CHECK_NAMES`] order. Without exactly one face only `face_count`
/// and `background` can be judged, and only those are returned. A face that is not a
/// human's (an animal, a doll, a drawing) counts as no face.
pub fn evaluate(m: &Measures, spec: &DocumentSpec) -> Vec<Check> {
    let lim = &spec.limits;
    let k = &lim.checks;
    let human = m.face.as_ref().filter(|f| f.is_human(k));
    let faces = if human.is_some() { m.faces } else { 0 };
    let mut out = vec![check(
        "face_count",
        match faces {
            0 => Some(Hint::NoFace),
            1 => None,
            _ => Some(Hint::ManyFaces),
        },
        faces as f64,
        match &m.face {
            Some(f) if human.is_none() => format!(
                "1 human face (presence {:.2} ≥ {}, eye spacing {:.2}, nose {:.2}, mouth {:.2}, chin {:.2} in human ranges)",
                f.shape.presence, k.min_face_presence, f.shape.eye_spacing, f.shape.nose_drop, f.shape.mouth_width, f.shape.chin_drop
            ),
            _ => "1".into(),
        },
    )];
    let bg_fail = m.background_samples >= k.min_background_samples as usize
        && (m.background_l < lim.background_min_lightness as f32
            || m.background_share < lim.background_min_share as f32);
    let bg = check(
        "background",
        bg_fail.then_some(Hint::Background),
        m.background_share as f64,
        format!(
            "L* ≥ {} and ≥ {:.0}% within ΔE {} (L* = {:.1})",
            lim.background_min_lightness,
            lim.background_min_share * 100.0,
            lim.background_max_delta_e,
            m.background_l
        ),
    );
    let Some(f) = human else {
        out.push(bg);
        // A blurred face defeats the detector: say so when the person is there but blurred.
        if let Some(sharp) = m.person_sharpness {
            out.push(check(
                "sharpness",
                ((sharp as f64) < k.min_sharpness).then_some(Hint::Blur),
                sharp as f64,
                format!("≥ {}", k.min_sharpness),
            ));
        }
        return out;
    };

    // face_size: too far, or the document window cannot fit in the frame at all.
    let plan = f.plan.unwrap_or(CropPlan {
        scale: 1.0,
        left: 0.0,
        top: 0.0,
        width: 0.0,
        height: 0.0,
        hair_y: 0.0,
    });
    let slack = 1.0 + k.window_slack as f32;
    let too_close = plan.width > m.frame_w * slack || plan.height > m.frame_h * slack;
    let max_fw = f.width / (plan.width / m.frame_w).max(plan.height / m.frame_h).max(1e-3);
    out.push(check(
        "face_size",
        if f.width < lim.min_face_px as f32 {
            Some(Hint::Closer)
        } else if too_close {
            Some(Hint::Back)
        } else {
            None
        },
        f.width as f64,
        format!(
            "[{}, {:.0}] px face width (eye distance {:.0} px, ICAO advises ≥ {})",
            lim.min_face_px, max_fw, f.eye_distance, lim.advisory_eye_distance_px
        ),
    ));

    // face_position: head/chin cut, window outside the frame, or off-centre.
    let band = lim.centre_band as f32;
    let rel = f.centre_x / m.frame_w;
    let sx = m.frame_w * k.window_slack as f32;
    let sy = m.frame_h * k.window_slack as f32;
    let pos = if plan.hair_y <= 0.5 || plan.top < -sy {
        Some(Hint::LowerSeat)
    } else if f.chin_y >= m.frame_h - 1.0 || (!too_close && plan.bottom() > m.frame_h + sy) {
        Some(Hint::RaiseSeat)
    } else if rel < 0.5 - band / 2.0 || (!too_close && plan.left < -sx) {
        // Face on the image's left = the person's right: move to their left.
        Some(Hint::MoveLeft)
    } else if rel > 0.5 + band / 2.0 || (!too_close && plan.right() > m.frame_w + sx) {
        Some(Hint::MoveRight)
    } else {
        None
    };
    out.push(check(
        "face_position",
        pos,
        rel as f64,
        format!(
            "face centre in [{:.2}, {:.2}] of the width, head and document window inside the frame",
            0.5 - band / 2.0,
            0.5 + band / 2.0
        ),
    ));

    let p = f.pose;
    let pose_fail = if p.yaw.abs() as f64 > lim.max_yaw_deg {
        Some(if p.yaw > 0.0 { Hint::TurnRight } else { Hint::TurnLeft })
    } else if p.pitch.abs() as f64 > lim.max_pitch_deg + k.pitch_shape_tolerance_deg {
        Some(if p.pitch > 0.0 { Hint::ChinUp } else { Hint::ChinDown })
    } else if p.roll.abs() as f64 > lim.max_roll_deg {
        Some(Hint::Level)
    } else {
        None
    };
    let worst = (p.yaw.abs() as f64 / lim.max_yaw_deg)
        .max(p.pitch.abs() as f64 / (lim.max_pitch_deg + k.pitch_shape_tolerance_deg))
        .max(p.roll.abs() as f64 / lim.max_roll_deg);
    out.push(check(
        "head_pose",
        pose_fail,
        worst,
        format!(
            "|yaw| ≤ {}°, |pitch| ≤ {}° + {}° shape tolerance, |roll| ≤ {}° (value = worst share of its limit)",
            lim.max_yaw_deg, lim.max_pitch_deg, k.pitch_shape_tolerance_deg, lim.max_roll_deg
        ),
    ));

    // The head's outline is only told against a plain backdrop: before the background
    // is right, its hint comes first and the head top is not judged.
    let top = f.head_top.filter(|_| !bg_fail).unwrap_or_default();
    let hat = top.samples > 0 && top.cover() as f64 > k.hat_max_cover;
    out.push(check(
        "accessory",
        hat.then_some(Hint::Hat),
        top.cover() as f64,
        format!(
            "head top covered by neither hair nor skin ≤ {} (crown {:.2}, top {:.2}, hair {:.2}), {} samples",
            k.hat_max_cover, top.crown_other, top.top_other, top.crown_hair, top.samples
        ),
    ));

    let eyes = (f.eye_openness as f64) < k.min_eye_openness || (f.eye_visibility as f64) < k.min_eye_visibility;
    out.push(check(
        "eyes_visible",
        eyes.then_some(Hint::Eyes),
        f.eye_visibility as f64,
        format!(
            "eye/cheek luma ≥ {}, openness ≥ {} ({:.2})",
            k.min_eye_visibility, k.min_eye_openness, f.eye_openness
        ),
    ));

    let exp = if (f.face_luma as f64) < k.min_face_luma {
        Some(Hint::TooDark)
    } else if f.face_luma as f64 > k.max_face_luma || f.clipped as f64 > k.max_clipped_share {
        Some(Hint::TooBright)
    } else {
        None
    };
    out.push(check(
        "exposure",
        exp,
        f.face_luma as f64,
        format!(
            "face luma in [{}, {}], clipped ≤ {}",
            k.min_face_luma, k.max_face_luma, k.max_clipped_share
        ),
    ));

    let light = if (f.side_balance as f64) < k.min_side_balance {
        Some(Hint::UnevenLight)
    } else if f.glare as f64 > k.max_glare_share {
        Some(Hint::Glare)
    } else {
        None
    };
    out.push(check(
        "lighting",
        light,
        f.side_balance as f64,
        format!(
            "side balance ≥ {}, glare share ≤ {} ({:.3})",
            k.min_side_balance, k.max_glare_share, f.glare
        ),
    ));

    out.push(bg);

    out.push(check(
        "sharpness",
        ((f.sharpness as f64) < k.min_sharpness).then_some(Hint::Blur),
        f.sharpness as f64,
        format!("≥ {}", k.min_sharpness),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, DocumentId};

    fn spec() -> DocumentSpec {
        Config::builtin().spec_for(DocumentId::IdCard, None)
    }

    /// A compliant 640×480 frame's numbers.
    fn good() -> Measures {
        Measures {
            frame_w: 640.0,
            frame_h: 480.0,
            faces: 1,
            face: Some(FaceMeasures {
                bbox: [250.0, 120.0, 150.0, 170.0],
                width: 150.0,
                eye_distance: 65.0,
                centre_x: 325.0,
                chin_y: 300.0,
                plan: Some(CropPlan {
                    scale: 150.0 / 207.0,
                    left: 195.0,
                    top: 40.0,
                    width: 259.4,
                    height: 319.6,
                    hair_y: 50.0,
                }),
                pose: Pose {
                    yaw: 1.0,
                    pitch: 2.0,
                    roll: 0.5,
                },
                eye_openness: 0.3,
                eye_visibility: 0.7,
                face_luma: 160.0,
                clipped: 0.0,
                side_balance: 0.9,
                glare: 0.0,
                sharpness: 0.7,
                head_top: Some(measure::HeadTop {
                    crown_hair: 0.9,
                    crown_other: 0.05,
                    top_other: 0.05,
                    samples: 100,
                }),
                shape: measure::FaceShape {
                    presence: 0.99,
                    eye_spacing: 0.47,
                    nose_drop: 0.6,
                    mouth_width: 0.85,
                    chin_drop: 1.7,
                },
            }),
            background_l: 95.0,
            background_share: 0.99,
            background_samples: 5000,
            person_sharpness: None,
        }
    }

    fn failed_with(m: &Measures) -> Vec<(&'static str, Option<Hint>)> {
        evaluate(m, &spec())
            .into_iter()
            .filter(|c| !c.pass)
            .map(|c| (c.name, c.hint))
            .collect()
    }

    fn with(f: impl FnOnce(&mut FaceMeasures)) -> Measures {
        let mut m = good();
        f(m.face.as_mut().unwrap());
        m
    }

    #[test]
    fn a_good_frame_passes_all_ten_in_priority_order() {
        let c = evaluate(&good(), &spec());
        assert_eq!(c.iter().map(|c| c.name).collect::<Vec<_>>(), CHECK_NAMES.to_vec());
        assert!(c.iter().all(|c| c.pass && c.hint.is_none()));
    }

    #[test]
    fn face_count_none_or_two() {
        let mut m = good();
        m.face = None;
        m.faces = 0;
        assert_eq!(failed_with(&m), vec![("face_count", Some(Hint::NoFace))]);
        let mut m = good();
        m.faces = 2;
        assert_eq!(failed_with(&m), vec![("face_count", Some(Hint::ManyFaces))]);
    }

    #[test]
    fn face_size_too_far_and_too_close() {
        assert_eq!(
            failed_with(&with(|f| f.width = 80.0)),
            vec![("face_size", Some(Hint::Closer))]
        );
        let m = with(|f| {
            f.plan = Some(CropPlan {
                scale: 2.0,
                left: -40.0,
                top: 10.0,
                width: 716.0,
                height: 882.0,
                hair_y: 30.0,
            });
        });
        assert!(failed_with(&m).contains(&("face_size", Some(Hint::Back))));
    }

    #[test]
    fn face_position_directions_follow_the_mirrored_preview() {
        // Face on the image's left: the person stands to their right; ask them to move left.
        assert_eq!(
            failed_with(&with(|f| f.centre_x = 60.0)),
            vec![("face_position", Some(Hint::MoveLeft))]
        );
        assert_eq!(
            failed_with(&with(|f| f.centre_x = 600.0)),
            vec![("face_position", Some(Hint::MoveRight))]
        );
        // Head cut at the top: the face is too high, lower the seat.
        let m = with(|f| f.plan.as_mut().unwrap().hair_y = 0.0);
        assert_eq!(failed_with(&m), vec![("face_position", Some(Hint::LowerSeat))]);
        // Chin at the bottom edge: raise the seat.
        assert_eq!(
            failed_with(&with(|f| f.chin_y = 479.5)),
            vec![("face_position", Some(Hint::RaiseSeat))]
        );
    }

    #[test]
    fn a_face_that_is_not_human_counts_as_no_face() {
        // A cat or a doll: the mesh model doubts it, or its proportions are not a human's.
        for m in [
            with(|f| f.shape.presence = 0.3),
            with(|f| f.shape.eye_spacing = 0.85),
            with(|f| f.shape.nose_drop = 0.95),
            with(|f| f.shape.chin_drop = 0.6),
        ] {
            assert_eq!(failed_with(&m), vec![("face_count", Some(Hint::NoFace))]);
        }
    }

    #[test]
    fn glare_fails_lighting_with_the_forehead_hint() {
        let c = evaluate(&with(|f| f.glare = 0.05), &spec());
        let l = c.iter().find(|c| c.name == "lighting").unwrap();
        assert!(!l.pass);
        assert_eq!(l.hint, Some(Hint::Glare));
        assert!(Hint::Glare.prompt().zh.contains("请避免额头反光"));
    }

    #[test]
    fn head_pose_limits_and_hints() {
        assert_eq!(
            failed_with(&with(|f| f.pose.yaw = 9.0)),
            vec![("head_pose", Some(Hint::TurnRight))]
        );
        assert_eq!(
            failed_with(&with(|f| f.pose.yaw = -9.0)),
            vec![("head_pose", Some(Hint::TurnLeft))]
        );
        assert_eq!(
            failed_with(&with(|f| f.pose.roll = 12.0)),
            vec![("head_pose", Some(Hint::Level))]
        );
        assert_eq!(
            failed_with(&with(|f| f.pose.pitch = 20.0)),
            vec![("head_pose", Some(Hint::ChinUp))]
        );
        assert!(
            failed_with(&with(|f| f.pose.roll = 7.5)).is_empty(),
            "roll within ±8° passes"
        );
    }

    #[test]
    fn eyes_exposure_lighting_sharpness_accessory_background() {
        assert_eq!(
            failed_with(&with(|f| f.eye_visibility = 0.1)),
            vec![("eyes_visible", Some(Hint::Eyes))]
        );
        assert_eq!(
            failed_with(&with(|f| f.eye_openness = 0.03)),
            vec![("eyes_visible", Some(Hint::Eyes))]
        );
        assert_eq!(
            failed_with(&with(|f| f.face_luma = 20.0)),
            vec![("exposure", Some(Hint::TooDark))]
        );
        assert_eq!(
            failed_with(&with(|f| f.clipped = 0.8)),
            vec![("exposure", Some(Hint::TooBright))]
        );
        assert_eq!(
            failed_with(&with(|f| f.side_balance = 0.2)),
            vec![("lighting", Some(Hint::UnevenLight))]
        );
        assert_eq!(
            failed_with(&with(|f| f.glare = 0.1)),
            vec![("lighting", Some(Hint::Glare))]
        );
        assert_eq!(
            failed_with(&with(|f| f.sharpness = 0.3)),
            vec![("sharpness", Some(Hint::Blur))]
        );
        let cap = |crown_other, top_other| {
            with(|f| {
                f.head_top = Some(measure::HeadTop {
                    crown_hair: 0.1,
                    crown_other,
                    top_other,
                    samples: 100,
                })
            })
        };
        assert_eq!(failed_with(&cap(0.9, 0.9)), vec![("accessory", Some(Hint::Hat))]);
        // A headband: a band at the top, hair over the rest of the crown.
        assert!(failed_with(&cap(0.2, 0.45)).is_empty(), "a headband passes");
        assert!(failed_with(&cap(0.05, 0.05)).is_empty(), "hair or a bald crown passes");
        let mut m = good();
        m.background_l = 50.0;
        assert_eq!(failed_with(&m), vec![("background", Some(Hint::Background))]);
        let mut m = good();
        m.background_share = 0.5;
        assert_eq!(failed_with(&m), vec![("background", Some(Hint::Background))]);
    }
}
