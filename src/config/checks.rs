//! Kiosk thresholds of the capture checks that the standards leave to the implementer
//! (photo-standards §4.4–4.6: "OFIQ-like measures with kiosk thresholds"). They live in
//! `[documents.ID.limits.checks]` so an operator can tune them per document and per region
//! (`[regions.CODE.overrides.ID.limits.checks]`) like every other limit. Defaults are the
//! values the corpus accuracy test (docs/accuracy.md) was run with.

use serde::{Deserialize, Serialize};

/// Thresholds of the measures behind the ten capture checks (`src/vision/checks.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckLimits {
    /// `face_count`: a second face counts when at least this share of the main face's width.
    pub other_face_min_share: f64,
    /// `face_size` / `face_position`: frame margin (share of the frame) the maker may fill
    /// by extending edge rows when the document window pokes out of the frame.
    pub window_slack: f64,
    /// `head_pose`: pitch from landmarks cannot tell head tilt from face shape (nose
    /// projection, chin depth) better than this; pitch fails only beyond
    /// `max_pitch_deg` plus this many degrees.
    pub pitch_shape_tolerance_deg: f64,
    /// `eyes_visible`: eyes closed below this lid-gap / eye-width ratio…
    pub min_eye_openness: f64,
    /// …or covered (sunglasses, a hand) when the darker eye region's luma is below this
    /// share of the cheeks' luma.
    pub min_eye_visibility: f64,
    /// `exposure`: mean luma (0–255) of the face's skin region must lie in this range…
    pub min_face_luma: f64,
    pub max_face_luma: f64,
    /// …and at most this share of the skin may be clipped (luma ≥ 250).
    pub max_clipped_share: f64,
    /// `lighting`: the darker cheek's median luma at least this share of the brighter one…
    pub min_side_balance: f64,
    /// …and at most this share of face samples far brighter than the skin (glare).
    pub max_glare_share: f64,
    /// `sharpness`: Laplacian-to-gradient RMS ratio on a 64-px face crop; below = blurred.
    pub min_sharpness: f64,
    /// `accessory` (hat): the head top is covered by something neither hair (hair model)
    /// nor skin-coloured over more than this share (the mean of that share over the crown,
    /// silhouette top to forehead, and over a thin strip at its top: a cap covers the
    /// crown from the top, a headband or clip only a band of it).
    pub hat_max_cover: f64,
    /// `face_count`: a face counts only when Face Mesh's presence probability reaches this…
    pub min_face_presence: f64,
    /// …and the mesh has human proportions (anthropometric ranges, widened; an animal's or
    /// a doll's face falls outside): eye-centre distance / cheek width,
    pub human_eye_spacing: [f64; 2],
    /// nose tip's drop below the eye line / the mouth's drop,
    pub human_nose_drop: [f64; 2],
    /// mouth width / eye-centre distance,
    pub human_mouth_width: [f64; 2],
    /// chin's drop below the eye line / eye-centre distance.
    pub human_chin_drop: [f64; 2],
    /// `background`: fewer background samples than this cannot be judged (the person
    /// fills the frame) and pass.
    pub min_background_samples: u32,
}

impl Default for CheckLimits {
    fn default() -> Self {
        CheckLimits {
            other_face_min_share: 0.4,
            window_slack: 0.03,
            pitch_shape_tolerance_deg: 8.0,
            min_eye_openness: 0.09,
            min_eye_visibility: 0.35,
            min_face_luma: 55.0,
            max_face_luma: 235.0,
            max_clipped_share: 0.35,
            min_side_balance: 0.4,
            max_glare_share: 0.02,
            min_sharpness: 0.55,
            hat_max_cover: 0.5,
            min_face_presence: 0.5,
            human_eye_spacing: [0.3, 0.7],
            human_nose_drop: [0.3, 0.85],
            human_mouth_width: [0.5, 1.4],
            human_chin_drop: [1.0, 2.6],
            min_background_samples: 50,
        }
    }
}

impl CheckLimits {
    /// The first setting out of its range, as (field, what is allowed).
    pub fn invalid(&self) -> Option<(&'static str, &'static str)> {
        let share = |v: f64| (0.0..=1.0).contains(&v);
        let shares = [
            ("other_face_min_share", self.other_face_min_share),
            ("window_slack", self.window_slack),
            ("min_eye_visibility", self.min_eye_visibility),
            ("max_clipped_share", self.max_clipped_share),
            ("min_side_balance", self.min_side_balance),
            ("max_glare_share", self.max_glare_share),
            ("hat_max_cover", self.hat_max_cover),
            ("min_face_presence", self.min_face_presence),
        ];
        if let Some((name, _)) = shares.iter().find(|(_, v)| !share(*v)) {
            return Some((name, "must be a share between 0 and 1"));
        }
        if !(0.0..=255.0).contains(&self.min_face_luma)
            || !(0.0..=255.0).contains(&self.max_face_luma)
            || self.min_face_luma >= self.max_face_luma
        {
            return Some((
                "min_face_luma",
                "min_face_luma and max_face_luma must lie in 0–255 with min < max",
            ));
        }
        if !(0.0..=45.0).contains(&self.pitch_shape_tolerance_deg) {
            return Some(("pitch_shape_tolerance_deg", "must be 0–45 degrees"));
        }
        let non_negative = [
            ("min_eye_openness", self.min_eye_openness),
            ("min_sharpness", self.min_sharpness),
        ];
        if let Some((name, _)) = non_negative.iter().find(|(_, v)| !(v.is_finite() && *v >= 0.0)) {
            return Some((name, "must be a number ≥ 0"));
        }
        let ranges = [
            ("human_eye_spacing", self.human_eye_spacing),
            ("human_nose_drop", self.human_nose_drop),
            ("human_mouth_width", self.human_mouth_width),
            ("human_chin_drop", self.human_chin_drop),
        ];
        if let Some((name, _)) = ranges
            .iter()
            .find(|(_, [lo, hi])| !(lo.is_finite() && hi.is_finite() && *lo >= 0.0 && lo < hi))
        {
            return Some((name, "must be [low, high] with 0 ≤ low < high"));
        }
        None
    }
}
