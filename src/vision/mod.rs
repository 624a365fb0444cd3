//! Face analysis, live guidance, auto-capture, the photo validator and the compliant-photo
//! maker (issue #4). Models: MediaPipe (embedded ONNX, run by tract); see `docs/vision.md`.

pub mod analysis;
pub mod checks;
pub mod cli;
pub mod detect;
pub mod geometry;
pub mod guide;
pub mod hints;
pub mod imgops;
pub mod jpeg;
pub mod maker;
pub mod measure;
pub mod models;
pub mod pose;
pub mod validator;

pub use guide::LiveGuide;
pub use maker::Maker;
pub use validator::{Report, Validator};

use crate::config::DocumentSpec;
use crate::domain::Prompt;

/// Errors of the vision library.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    #[error("model {model} failed: {reason}. Fix: the embedded model is damaged; rebuild the kiosk binary")]
    Model { model: &'static str, reason: String },
    #[error("cannot read image {path}: {reason}. Fix: give a readable JPEG or PNG file")]
    Image { path: String, reason: String },
    #[error("cannot write {path}: {reason}. Fix: check the directory exists and is writable")]
    Write { path: String, reason: String },
}

/// Checks a finished document photo the way the review centre re-checks an upload:
/// returns the reasons it fails (empty = acceptable). Used by `review::server`.
///
/// Today it checks what can be checked without the face models (pixel size); the vision
/// issue extends it with the `output_geometry` checks.
pub fn review_checks(img: &image::RgbImage, spec: &DocumentSpec) -> Vec<Prompt> {
    let mut reasons = vec![];
    if (img.width(), img.height()) != (spec.width, spec.height) {
        reasons.push(Prompt::new(
            "output_size",
            &format!(
                "照片尺寸应为{}×{}像素（实际{}×{}）",
                spec.width,
                spec.height,
                img.width(),
                img.height()
            ),
            &format!(
                "The photo must be {}×{} px (it is {}×{})",
                spec.width,
                spec.height,
                img.width(),
                img.height()
            ),
        ));
    }
    reasons
}
