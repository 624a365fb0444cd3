//! Live guidance and auto-capture: per frame one hint (most important first), the face
//! tracked from the previous frame's landmarks (full detection only when it is lost),
//! segmentation at a lower rate, and the capture once the shot has been compliant and
//! steady for `limits.hold_still_s` of *frame* time, keeping the sharpest frame.

use super::analysis::{Analyzer, Face, HairMask, Mask, Still};
use super::checks::{self, Measures};
use super::detect::{Detection, Range};
use super::hints::Hint;
use super::VisionError;
use super::{measure, models};
use crate::config::DocumentSpec;
use crate::ports::Frame;
use crate::ports::{Guide, GuideOutput};
use image::RgbImage;
use std::sync::Arc;

/// Segmentation (background check) runs at most this often, in frame time (5 Hz).
pub const SEGMENT_EVERY_MS: u64 = 200;
/// The hair model (the `accessory` check; ~33 ms) runs at most this often (3 Hz), and only
/// while a face of a usable size is there, so the preview's frame rate holds.
pub const HAIR_EVERY_MS: u64 = 333;
/// While tracking, re-run the detector this often to notice a second person.
pub const RECOUNT_EVERY_MS: u64 = 1000;
/// Steady: the face centre moves less than this share of the face width between frames…
pub const STEADY_SHIFT: f32 = 0.04;
/// …and its width changes less than this share.
pub const STEADY_SCALE: f32 = 0.04;

/// The live guide of the posing screen.
pub struct LiveGuide {
    an: Analyzer,
    spec: Option<DocumentSpec>,
    face: Option<Face>,
    detections: Vec<Detection>,
    last_count_ms: Option<u64>,
    /// The latest mask (frame time) and the background measure on its frame.
    mask: Option<(u64, Mask)>,
    background: (f32, f32, usize),
    /// The latest hair mask (frame time).
    hair: Option<(u64, Arc<HairMask>)>,
    /// Start of the current compliant, steady stretch, and its sharpest frame.
    stretch: Option<(u64, f32, RgbImage)>,
    captured: bool,
}

impl LiveGuide {
    /// Loads the embedded models; needs no files.
    pub fn new() -> Result<LiveGuide, VisionError> {
        // The hair model is first needed once a face of a usable size is there: build its
        // plan in the background so that start-up does not wait for it (a failure is kept
        // by the plan cache and reported by the first run).
        std::thread::spawn(|| models::HAIR.plan().map(|_| ()));
        // The full-range detector is only needed when the short-range one finds nobody.
        Ok(Self::with_analyzer(Analyzer::preloading(&[
            &models::SHORT,
            &models::MESH,
            &models::SEGMENTATION,
        ])?))
    }

    /// A guide on a given analyser (the cold-start benchmark passes
    /// [`Analyzer::cold_for_tracking`]).
    pub fn with_analyzer(an: Analyzer) -> LiveGuide {
        LiveGuide {
            an,
            spec: None,
            face: None,
            detections: vec![],
            last_count_ms: None,
            mask: None,
            background: (0.0, 0.0, 0),
            hair: None,
            stretch: None,
            captured: false,
        }
    }

    fn detect(&mut self, img: &RgbImage, t: u64) -> Result<(), VisionError> {
        let mut d = self.an.detect(img, Range::Short)?;
        if d.is_empty() {
            // Small (far) faces need the full-range model.
            d = self.an.detect(img, Range::Full)?;
        }
        d.sort_by(|a, b| (b.bbox[2] * b.bbox[3]).total_cmp(&(a.bbox[2] * a.bbox[3])));
        self.detections = d;
        self.last_count_ms = Some(t);
        Ok(())
    }

    fn track(&mut self, frame: &Frame, spec: &DocumentSpec) -> Result<(), VisionError> {
        let img = &frame.image;
        let t = frame.t_ms;
        let prev = self.face.take();
        let mut face = match &prev {
            Some(p) => self.an.landmarks(img, &p.next_roi())?,
            None => None,
        };
        if face.is_none() {
            self.detect(img, t)?;
            if let Some(d) = self.detections.first() {
                let roi = Analyzer::roi_from_detection(d);
                if let Some(f) = self.an.landmarks(img, &roi)? {
                    face = self.an.landmarks(img, &f.next_roi())?.or(Some(f));
                }
            }
        } else if self
            .last_count_ms
            .is_none_or(|l| t.saturating_sub(l) >= RECOUNT_EVERY_MS)
        {
            self.detect(img, t)?;
        }
        // The mask only matters once a face of a usable size is there: without one the
        // frame's hint is `face_count` or `face_size` whatever the mask says (the checks are
        // in priority order), so segmentation — the dearest model — is skipped until then.
        let needed = face
            .as_ref()
            .is_some_and(|f| f.width() >= spec.limits.min_face_px as f32);
        if needed
            && self
                .hair
                .as_ref()
                .is_none_or(|(l, _)| t.saturating_sub(*l) >= HAIR_EVERY_MS)
        {
            if let Some(f) = &face {
                self.hair = Some((t, Arc::new(self.an.hair(img, f)?)));
            }
        }
        self.face = face;
        if needed
            && self
                .mask
                .as_ref()
                .is_none_or(|(l, _)| t.saturating_sub(*l) >= SEGMENT_EVERY_MS)
        {
            let mask = self.an.segment(img)?;
            self.background = measure::background(img, &mask, spec.limits.background_max_delta_e as f32);
            self.mask = Some((t, mask));
        }
        Ok(())
    }

    fn step(&mut self, frame: &Frame) -> Result<GuideOutput, VisionError> {
        let Some(spec) = self.spec.clone() else {
            return Ok(GuideOutput::default());
        };
        let prev_box = self.face.as_ref().map(|f| f.bbox);
        self.track(frame, &spec)?;
        let mask = self.mask.as_ref().map(|(_, m)| m.clone()).unwrap_or_else(|| Mask {
            prob: vec![0.0; 256 * 256],
            frame_w: frame.image.width(),
            frame_h: frame.image.height(),
        });
        let mut detections = self.detections.clone();
        if self.face.is_some() && detections.is_empty() {
            // Tracking without a fresh detection: the tracked face is the one face.
            detections.push(Detection {
                bbox: self.face.as_ref().map(|f| f.bbox).unwrap_or_default(),
                keypoints: [(0.0, 0.0); 6],
                score: 1.0,
            });
        }
        let still = Still {
            detections,
            face: self.face.clone(),
            mask,
            hair: self.hair.as_ref().map(|(_, h)| h.clone()),
        };
        let background = if self.mask.is_some() {
            self.background
        } else {
            (0.0, 0.0, 0)
        };
        let m = Measures::with_background(&mut self.an, &frame.image, &still, &spec, background);
        let results = checks::evaluate(&m, &spec);
        let first_fail = results.iter().find(|c| !c.pass).and_then(|c| c.hint);
        let face_box = self.face.as_ref().map(|f| f.bbox);
        let mut out = GuideOutput {
            face_present: self.face.is_some(),
            hint: None,
            pose_ok: first_fail.is_none() && self.face.is_some(),
            face_box,
            captured: None,
        };
        if let Some(h) = first_fail {
            self.stretch = None;
            out.hint = Some(h.prompt());
            return Ok(out);
        }
        if self.captured || self.face.is_none() {
            return Ok(out);
        }
        let steady = match (prev_box, face_box) {
            (Some(a), Some(b)) => {
                let shift = ((a[0] + a[2] / 2.0 - b[0] - b[2] / 2.0).powi(2)
                    + (a[1] + a[3] / 2.0 - b[1] - b[3] / 2.0).powi(2))
                .sqrt();
                shift < STEADY_SHIFT * b[2] && (a[2] - b[2]).abs() < STEADY_SCALE * b[2]
            }
            _ => false,
        };
        if !steady {
            self.stretch = None;
            out.hint = Some(Hint::HoldStill.prompt());
            return Ok(out);
        }
        let sharp = m.face.as_ref().map(|f| f.sharpness).unwrap_or(0.0);
        let t = frame.t_ms;
        match &mut self.stretch {
            None => self.stretch = Some((t, sharp, frame.image.clone())),
            Some((_, best, img)) => {
                if sharp > *best {
                    *best = sharp;
                    *img = frame.image.clone();
                }
            }
        }
        let start = self.stretch.as_ref().map(|s| s.0).unwrap_or(t);
        if (t - start) as f64 >= spec.limits.hold_still_s * 1000.0 {
            self.captured = true;
            out.captured = self.stretch.take().map(|s| s.2);
        } else {
            out.hint = Some(Hint::HoldStill.prompt());
        }
        Ok(out)
    }
}

impl Guide for LiveGuide {
    fn reset(&mut self, spec: &DocumentSpec) {
        self.spec = Some(spec.clone());
        self.face = None;
        self.detections.clear();
        self.last_count_ms = None;
        self.mask = None;
        self.background = (0.0, 0.0, 0);
        self.hair = None;
        self.stretch = None;
        self.captured = false;
    }

    fn analyse(&mut self, frame: &Frame) -> GuideOutput {
        match self.step(frame) {
            Ok(o) => o,
            Err(e) => {
                log::error!("vision: frame {} could not be analysed: {e}", frame.index);
                GuideOutput::default()
            }
        }
    }
}
