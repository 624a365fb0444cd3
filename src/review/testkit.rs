//! Test and benchmark helpers (not part of the kiosk's behaviour): a JPEG that passes the
//! service's checks for a document, and a ready-made submission.

use crate::config::{Config, DocumentId, RegionCode};
use crate::domain::PhotoJpeg;
use crate::runtime::Submission;
use crate::session::Details;

/// A JPEG of exactly the document's pixel size whose file size lies inside `file_kb`
/// (aiming at `target_kb` when given): a smooth gradient with seeded noise, the quality
/// searched until the size fits.
pub fn sample_photo(cfg: &Config, doc: DocumentId, region: &RegionCode, target_kb: Option<u32>) -> PhotoJpeg {
    let spec = cfg.spec_for(doc, Some(region));
    let want = target_kb.unwrap_or((spec.file_kb.min + spec.file_kb.max) / 2);
    let mut seed: u32 = 0x9E37_79B9;
    let mut noise_amp = 40u32;
    let mut best: Option<Vec<u8>> = None;
    for _ in 0..12 {
        let img = image::RgbImage::from_fn(spec.width, spec.height, |x, y| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let n = seed % (noise_amp + 1);
            let base = 120 + (x * 100 / spec.width) + (y * 30 / spec.height);
            let v = (base + n).min(255) as u8;
            image::Rgb([v, v.saturating_sub(10), v.saturating_sub(20)])
        });
        for q in (40..=95).rev().step_by(5) {
            let mut buf = vec![];
            if image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, q)
                .encode_image(&img)
                .is_err()
            {
                continue;
            }
            let kb = buf.len().div_ceil(1024) as u32;
            if spec.file_kb.contains(kb) && kb <= want.max(spec.file_kb.min) {
                return PhotoJpeg(buf);
            }
            if kb < spec.file_kb.min {
                break;
            }
            best = Some(buf);
        }
        // Too small even at the top quality: more noise; too big at the bottom: less.
        noise_amp = if best.is_none() { noise_amp * 2 } else { noise_amp / 2 + 1 };
    }
    PhotoJpeg(best.unwrap_or_default())
}

/// The synthetic person of GB 11643-1999's worked example (no real person).
pub const TEST_ID_NUMBER: &str = "11010519491231002X";

pub fn test_details() -> Details {
    Details {
        name: Some("张三".into()),
        id_number: Some(TEST_ID_NUMBER.into()),
        mobile: None,
    }
}

pub fn sample_submission(cfg: &Config, doc: DocumentId, region: &RegionCode) -> Submission {
    Submission {
        doc,
        region: region.clone(),
        details: test_details(),
        photo: sample_photo(cfg, doc, region, None),
    }
}
