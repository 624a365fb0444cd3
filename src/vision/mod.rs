//! Face analysis, live guidance, auto-capture, the photo validator and the compliant-photo
//! maker (issue #4). Models: MediaPipe (embedded ONNX, run by tract); see `docs/vision.md`.

pub mod analysis;
pub mod calibrate;
pub mod checks;
pub mod detect;
pub mod geometry;
pub mod guide;
pub mod hints;
pub mod imgops;
pub mod intake;
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
    #[error(
        "image {path} is {width}×{height} px, over the limit of {} megapixels; it was not decoded. \
         Fix: scale the capture down, or raise the limit with --max-megapixels",
        *max_pixels as f64 / 1e6
    )]
    TooManyPixels {
        path: String,
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    #[error("cannot write {path}: {reason}. Fix: check the directory exists and is writable")]
    Write { path: String, reason: String },
}

/// Checks a finished document photo the way the review centre re-checks an upload:
/// returns the reasons it fails (empty = acceptable). Used by `review::server`.
///
/// Pixel size, then the `output_geometry` checks (face re-detected, person re-segmented).
/// The models are loaded once per process and shared behind a mutex.
pub fn review_checks(img: &image::RgbImage, spec: &DocumentSpec) -> Vec<Prompt> {
    let mut reasons = vec![];
    if (img.width(), img.height()) != (spec.width, spec.height) {
        reasons.push(intake::wrong_size_prompt(spec, img.width(), img.height()));
        // Geometry limits are in output pixels: meaningless at another size.
        return reasons;
    }
    static MODELS: std::sync::OnceLock<Result<std::sync::Mutex<analysis::Analyzer>, String>> =
        std::sync::OnceLock::new();
    let models = MODELS.get_or_init(|| {
        analysis::Analyzer::new()
            .map(std::sync::Mutex::new)
            .map_err(|e| e.to_string())
    });
    let geometry = match models {
        Ok(m) => {
            let mut an = m.lock().unwrap_or_else(|p| p.into_inner());
            maker::output_checks(&mut an, img, spec, None).map_err(|e| e.to_string())
        }
        Err(e) => Err(e.clone()),
    };
    match geometry {
        Ok((checks, _, _)) => {
            for c in checks.into_iter().filter(|c| !c.pass) {
                reasons.push(Prompt::new(
                    c.name,
                    &format!("照片构图不符合要求：{}", c.value),
                    &format!("The photo's framing does not meet the standard: {}", c.value),
                ));
            }
        }
        Err(e) => reasons.push(Prompt::new(
            "output_geometry",
            &format!("无法检查照片构图：{e}"),
            &format!("The photo's framing could not be checked: {e}"),
        )),
    }
    reasons
}

/// Reads an image (at most [`intake::DEFAULT_MAX_PIXELS`]); the error names the file.
pub fn read_image(path: &std::path::Path) -> Result<image::RgbImage, VisionError> {
    intake::read_image_limited(path, intake::DEFAULT_MAX_PIXELS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_checks_rejects_wrong_size_and_a_faceless_photo() {
        let spec = crate::config::Config::builtin().spec_for(crate::config::DocumentId::IdCard, None);
        let small = image::RgbImage::new(100, 100);
        let r = review_checks(&small, &spec);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].id, "output_size");
        let blank = image::RgbImage::from_pixel(358, 441, image::Rgb([255, 255, 255]));
        let r = review_checks(&blank, &spec);
        assert!(r.iter().any(|p| p.id == "output_geometry"), "{r:?}");
    }
}
