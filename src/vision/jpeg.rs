//! Baseline JPEG output with the document's dpi in the JFIF header and a file size inside
//! the document's bounds (KB = 1024 bytes): quality searched between 50 and 95, and a COM
//! segment pad only when quality 95 is still under the minimum.

use crate::config::SpanU;
use image::codecs::jpeg::{JpegEncoder, PixelDensity};
use image::RgbImage;

pub const QUALITY_MIN: u8 = 50;
pub const QUALITY_MAX: u8 = 95;

/// One baseline JPEG at quality `q` with `dpi` in the JFIF density fields.
pub fn encode(img: &RgbImage, q: u8, dpi: u32) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut enc = JpegEncoder::new_with_quality(&mut buf, q);
    enc.set_pixel_density(PixelDensity::dpi(dpi.min(u16::MAX as u32) as u16));
    // Writing into a Vec cannot fail for a valid RGB image.
    let _ = enc.encode_image(img);
    buf
}

/// The encoded file and how it was made.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub quality: u8,
    pub padded: bool,
}

/// Why no JPEG fits the bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct TooLarge {
    pub bytes_at_min_quality: usize,
}

/// Highest quality whose file is ≤ the maximum; padded up to the minimum if needed.
pub fn encode_within(img: &RgbImage, dpi: u32, kb: SpanU) -> Result<Encoded, TooLarge> {
    let (min_b, max_b) = (kb.min as usize * 1024, kb.max as usize * 1024);
    let top = encode(img, QUALITY_MAX, dpi);
    if top.len() <= max_b {
        let padded = top.len() < min_b;
        let bytes = if padded { pad_with_comment(top, min_b) } else { top };
        return Ok(Encoded {
            bytes,
            quality: QUALITY_MAX,
            padded,
        });
    }
    let low = encode(img, QUALITY_MIN, dpi);
    if low.len() > max_b {
        return Err(TooLarge {
            bytes_at_min_quality: low.len(),
        });
    }
    // The largest q in [50, 95) whose size fits. Each encode costs several ms, so the
    // bracket [fits, too big] is narrowed by interpolating the file size between its ends,
    // alternating with plain bisection so that it never takes more steps than bisection.
    let (mut lo, mut lo_len, mut hi, mut hi_len) = (QUALITY_MIN, low.len(), QUALITY_MAX, top.len());
    let mut best = (QUALITY_MIN, low);
    let mut interpolate = true;
    while hi - lo > 1 {
        let q = if interpolate {
            let share = (max_b - lo_len) as f64 / (hi_len - lo_len).max(1) as f64;
            lo + ((hi - lo) as f64 * share).floor() as u8
        } else {
            lo + (hi - lo) / 2
        }
        .clamp(lo + 1, hi - 1);
        interpolate = !interpolate;
        let b = encode(img, q, dpi);
        if b.len() <= max_b {
            lo = q;
            lo_len = b.len();
            best = (q, b);
        } else {
            hi = q;
            hi_len = b.len();
        }
    }
    let (quality, bytes) = best;
    let padded = bytes.len() < min_b;
    let bytes = if padded { pad_with_comment(bytes, min_b) } else { bytes };
    Ok(Encoded { bytes, quality, padded })
}

/// Inserts COM segments right after SOI/APP0 until the file is at least `target` bytes.
pub fn pad_with_comment(jpeg: Vec<u8>, target: usize) -> Vec<u8> {
    if jpeg.len() >= target || jpeg.len() < 4 {
        return jpeg;
    }
    // Insert after SOI and, when present, the JFIF APP0 segment (JFIF wants APP0 first).
    let mut at = 2;
    if jpeg[2] == 0xFF && jpeg[3] == 0xE0 && jpeg.len() > 6 {
        at = 4 + u16::from_be_bytes([jpeg[4], jpeg[5]]) as usize;
    }
    let mut need = target - jpeg.len();
    let mut pad = Vec::with_capacity(need + 8);
    while need > 0 {
        // A segment is 4 bytes of marker+length plus up to 65533 bytes of data.
        let data = need.saturating_sub(4).clamp(1, 65533);
        pad.extend_from_slice(&[0xFF, 0xFE]);
        pad.extend_from_slice(&((data + 2) as u16).to_be_bytes());
        pad.extend(std::iter::repeat_n(b' ', data));
        need = need.saturating_sub(data + 4);
    }
    let mut out = Vec::with_capacity(jpeg.len() + pad.len());
    out.extend_from_slice(&jpeg[..at]);
    out.extend_from_slice(&pad);
    out.extend_from_slice(&jpeg[at..]);
    out
}

/// JFIF density (units, x, y) if the file starts with a JFIF APP0 segment.
pub fn jfif_density(jpeg: &[u8]) -> Option<(u8, u16, u16)> {
    if jpeg.len() < 18 || jpeg[0..4] != [0xFF, 0xD8, 0xFF, 0xE0] || &jpeg[6..11] != b"JFIF\0" {
        return None;
    }
    Some((
        jpeg[13],
        u16::from_be_bytes([jpeg[14], jpeg[15]]),
        u16::from_be_bytes([jpeg[16], jpeg[17]]),
    ))
}

/// True when the frame header is SOF0 (baseline DCT), not progressive.
pub fn is_baseline(jpeg: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= jpeg.len() {
        if jpeg[i] != 0xFF {
            return false;
        }
        let m = jpeg[i + 1];
        match m {
            0xC0 => return true,
            0xC1..=0xCF if m != 0xC4 && m != 0xC8 && m != 0xCC => return false,
            _ => {}
        }
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        i += 2 + len;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = ((x + y) / 4 + (x * 7919 + y * 104729) % 23) as u8;
            image::Rgb([v, v / 2 + 60, 255 - v])
        })
    }

    #[test]
    fn lands_inside_the_bounds_with_dpi_and_baseline() {
        let img = noisy(358, 441);
        let e = encode_within(&img, 350, SpanU::new(14, 80)).expect("fits");
        let kb = e.bytes.len() as f64 / 1024.0;
        assert!((14.0..=80.0).contains(&kb), "{kb} KB");
        assert_eq!(jfif_density(&e.bytes), Some((1, 350, 350)));
        assert!(is_baseline(&e.bytes));
        image::load_from_memory(&e.bytes).expect("decodes");
    }

    #[test]
    fn picks_the_highest_quality_that_fits() {
        let img = noisy(358, 441);
        let (q50, q95) = (encode(&img, 50, 350).len(), encode(&img, 95, 350).len());
        // A maximum between the two forces the search.
        let max_kb = (q50 + (q95 - q50) / 3).div_ceil(1024) as u32;
        let e = encode_within(&img, 350, SpanU::new(1, max_kb)).expect("fits");
        assert!(e.quality > QUALITY_MIN && e.quality < QUALITY_MAX, "q {}", e.quality);
        assert!(e.bytes.len() <= max_kb as usize * 1024);
        assert!(
            encode(&img, e.quality + 1, 350).len() > max_kb as usize * 1024,
            "q {} + 1 would also fit",
            e.quality
        );
    }

    #[test]
    fn pads_a_small_file_with_a_comment_and_stays_decodable() {
        let img = RgbImage::from_pixel(100, 100, image::Rgb([255, 255, 255]));
        let e = encode_within(&img, 300, SpanU::new(20, 80)).expect("fits");
        assert!(e.padded && e.quality == QUALITY_MAX);
        assert!(e.bytes.len() >= 20 * 1024 && e.bytes.len() <= 80 * 1024);
        assert_eq!(jfif_density(&e.bytes), Some((1, 300, 300)));
        let back = image::load_from_memory(&e.bytes).expect("decodes").to_rgb8();
        assert_eq!(back.dimensions(), (100, 100));
    }

    #[test]
    fn refuses_when_quality_50_is_too_big() {
        let img = RgbImage::from_fn(800, 800, |x, y| {
            let v = ((x * 7919 + y * 104729) % 251) as u8;
            image::Rgb([v, v.wrapping_mul(3), 255 - v])
        });
        assert!(encode_within(&img, 300, SpanU::new(1, 2)).is_err());
    }
}
