//! Where the document photo would be cut from a frame: the scale and window that put the
//! face width, hair top and eye line of the document spec in place (photo-standards §1, §4).

use super::analysis::{Face, Mask};
use crate::config::DocumentSpec;

/// The output window in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CropPlan {
    /// Frame pixels per output pixel.
    pub scale: f32,
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
    /// Hair top in the frame (from the person mask), px.
    pub hair_y: f32,
}

impl CropPlan {
    pub fn right(&self) -> f32 {
        self.left + self.width
    }
    pub fn bottom(&self) -> f32 {
        self.top + self.height
    }
}

/// Aim the eye line this many output px inside its limit, so re-detection noise on the
/// finished photo cannot push it over.
pub const EYE_LINE_MARGIN_PX: f32 = 6.0;

/// Share of the face height (forehead landmark to chin) assumed for hair above the
/// forehead landmark when the mask cannot tell (head cut by the frame).
pub const HAIR_ABOVE_FOREHEAD: f32 = 0.25;

/// Topmost row of the person mask above the forehead, in the band over the face centre.
/// Returns 0 when the person reaches the top edge (head cut).
pub fn hair_top(face: &Face, mask: &Mask) -> f32 {
    let (fx, fy) = face.pt(10);
    let half = face.width() * 0.2;
    let mut top = fy;
    let mut y = fy;
    while y >= 0.0 {
        let mut best = 0f32;
        let mut x = fx - half;
        while x <= fx + half {
            best = best.max(mask.at(x, y));
            x += (half / 4.0).max(1.0);
        }
        if best < 0.5 {
            break;
        }
        top = y;
        y -= 1.0;
    }
    top.max(0.0)
}

/// Head length (hair top to chin) in the frame.
pub fn head_length(face: &Face, hair_y: f32) -> f32 {
    face.pt(152).1 - hair_y
}

/// Plans the document window around `face` (see module doc).
pub fn plan(face: &Face, hair_y: f32, spec: &DocumentSpec) -> CropPlan {
    let (w_out, h_out) = (spec.width as f32, spec.height as f32);
    let mid = |a: u32, b: u32| (a + b) as f32 / 2.0;
    let fw = face.width();
    let scale = if let Some(s) = spec.face_width {
        fw / mid(s.min, s.max)
    } else if let Some(s) = spec.head_length {
        // Driving licence: head length (hair top to chin) sets the scale; head width
        // (hair and ears included) is then checked on the output.
        head_length(face, hair_y) / mid(s.min, s.max)
    } else if let Some(s) = spec.head_width {
        fw / mid(s.min, s.max)
    } else if let Some(r) = spec.head_length_ratio {
        head_length(face, hair_y) / (h_out * ((r.min + r.max) / 2.0) as f32)
    } else {
        fw / (0.55 * w_out)
    };
    let cx = (face.pt(234).0 + face.pt(454).0) / 2.0;
    let left = cx - w_out * scale / 2.0;
    let hair_out = match spec.hair_top {
        Some(s) => mid(s.min, s.max),
        None => {
            // No hair-top rule (exit-entry): centre the head length vertically.
            let r = spec
                .head_length_ratio
                .map(|r| ((r.min + r.max) / 2.0) as f32)
                .unwrap_or(0.75);
            h_out * (1.0 - r) / 2.0
        }
    };
    let mut top = hair_y - hair_out * scale;
    if let Some(min_from_bottom) = spec.eye_line_min_from_bottom {
        // The eye line wins over the hair top: push the window down if the eyes sit too low.
        let eye_y = face.eye_mid().1;
        top = top.max(eye_y - (h_out - min_from_bottom as f32 - EYE_LINE_MARGIN_PX) * scale);
    }
    CropPlan {
        scale,
        left,
        top,
        width: w_out * scale,
        height: h_out * scale,
        hair_y,
    }
}
