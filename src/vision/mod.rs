//! Face analysis, live guidance, auto-capture, the photo validator and the compliant-photo
//! maker (issue #4). In progress: only the output format check exists so far.

pub mod cli;

use crate::config::DocumentSpec;
use crate::domain::Prompt;

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
