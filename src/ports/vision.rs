//! The vision ports: live guidance with auto-capture, and the photo maker.

use super::Frame;
use crate::config::DocumentSpec;
use crate::domain::{PhotoJpeg, Prompt};

/// One analysed frame while posing.
#[derive(Debug, Clone, Default)]
pub struct GuideOutput {
    /// A face is in view (counts as activity for the inactivity timeout).
    pub face_present: bool,
    /// The single most important hint; `None` when the pose is right.
    pub hint: Option<Prompt>,
    /// The pose is right right now (the overlay turns green).
    pub pose_ok: bool,
    /// Face box in frame pixels (x, y, w, h) for the overlay.
    pub face_box: Option<[f32; 4]>,
    /// Set once, when auto-capture fires: the sharpest frame of the steady stretch.
    pub captured: Option<image::RgbImage>,
}

/// Live guidance and auto-capture (vision).
pub trait Guide: Send {
    /// Starts a new posing run for `spec` (clears tracking and the steady timer).
    fn reset(&mut self, spec: &DocumentSpec);
    /// Analyses one frame; time comes from `frame.t_ms`, never the wall clock.
    fn analyse(&mut self, frame: &Frame) -> GuideOutput;
}

/// Makes the compliant document photo from a capture (vision).
pub trait PhotoMaker: Send {
    /// The JPEG, or the reasons the capture cannot give a compliant photo.
    fn make(&mut self, capture: &image::RgbImage, spec: &DocumentSpec) -> Result<PhotoJpeg, Vec<Prompt>>;
}
