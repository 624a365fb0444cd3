//! Image intake with bounded memory: the header's pixel size is read (cheaply, nothing
//! decoded) and checked before any decoding, and the decode itself runs under explicit
//! [`image::Limits`]. A decompression bomb — a few bytes claiming 13000×13000 px — is
//! refused before it can allocate.

use super::VisionError;
use crate::config::DocumentSpec;
use crate::domain::Prompt;
use std::io::Cursor;
use std::path::Path;

/// Default pixel limit of `check-photo` / `make-photo` / `calibrate` captures.
pub const DEFAULT_MAX_PIXELS: u64 = 40_000_000;

/// Why an uploaded photo was not decoded.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("not a JPEG, or its header is unreadable")]
    NotJpeg,
    #[error("the JPEG is {width}×{height} px, not the document's size")]
    WrongSize { width: u32, height: u32 },
    #[error("the JPEG does not decode within its limits: {0}")]
    Decode(String),
}

/// Limits for one decode: at most `width`×`height` pixels and `max_alloc` bytes.
fn limits(width: u32, height: u32, max_alloc: u64) -> image::Limits {
    let mut l = image::Limits::default();
    l.max_image_width = Some(width);
    l.max_image_height = Some(height);
    l.max_alloc = Some(max_alloc);
    l
}

/// Decodes `jpeg` only if its header says exactly `size` (width, height) pixels, with at
/// most `max_alloc` bytes allocated by the decoder.
pub fn decode_jpeg_exact(jpeg: &[u8], size: (u32, u32), max_alloc: u64) -> Result<image::RgbImage, IntakeError> {
    if !jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(IntakeError::NotJpeg);
    }
    let reader = || image::ImageReader::with_format(Cursor::new(jpeg), image::ImageFormat::Jpeg);
    let (width, height) = reader().into_dimensions().map_err(|_| IntakeError::NotJpeg)?;
    if (width, height) != size {
        return Err(IntakeError::WrongSize { width, height });
    }
    let mut r = reader();
    r.limits(limits(width, height, max_alloc));
    r.decode()
        .map(|i| i.to_rgb8())
        .map_err(|e| IntakeError::Decode(e.to_string()))
}

/// The reason given for a photo of the wrong pixel size (both languages).
pub fn wrong_size_prompt(spec: &DocumentSpec, width: u32, height: u32) -> Prompt {
    Prompt::new(
        "output_size",
        &format!(
            "照片尺寸应为{}×{}像素（实际{}×{}）",
            spec.width, spec.height, width, height
        ),
        &format!(
            "The photo must be {}×{} px (it is {}×{})",
            spec.width, spec.height, width, height
        ),
    )
}

/// Reads a capture (JPEG or PNG, guessed from its content), refusing it before decoding
/// when its header claims more than `max_pixels` pixels; the decoder may allocate at most
/// 4 bytes per allowed pixel. Errors name the file.
pub fn read_image_limited(path: &Path, max_pixels: u64) -> Result<image::RgbImage, VisionError> {
    let err = |reason: String| VisionError::Image {
        path: path.display().to_string(),
        reason,
    };
    let open = || {
        image::ImageReader::open(path)
            .and_then(|r| r.with_guessed_format())
            .map_err(|e| err(e.to_string()))
    };
    let (width, height) = open()?.into_dimensions().map_err(|e| err(e.to_string()))?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(VisionError::TooManyPixels {
            path: path.display().to_string(),
            width,
            height,
            max_pixels,
        });
    }
    let mut r = open()?;
    r.limits(limits(width, height, max_pixels.saturating_mul(4)));
    r.decode().map(|i| i.to_rgb8()).map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let mut buf = vec![];
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 80)
            .encode_image(&image::RgbImage::new(w, h))
            .unwrap();
        buf
    }

    /// A real small JPEG whose SOF0 header is rewritten to claim `w`×`h` pixels.
    fn bomb(w: u16, h: u16) -> Vec<u8> {
        let mut b = jpeg(16, 16);
        let sof = b.windows(2).position(|x| x == [0xFF, 0xC0]).expect("baseline SOF0");
        b[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
        b[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
        b
    }

    #[test]
    fn exact_size_decodes_and_others_are_refused_before_decoding() {
        assert_eq!(
            decode_jpeg_exact(&jpeg(40, 30), (40, 30), 1 << 20)
                .unwrap()
                .dimensions(),
            (40, 30)
        );
        assert!(matches!(
            decode_jpeg_exact(&jpeg(40, 30), (30, 40), 1 << 20),
            Err(IntakeError::WrongSize { width: 40, height: 30 })
        ));
        let t0 = std::time::Instant::now();
        assert!(matches!(
            decode_jpeg_exact(&bomb(13000, 13000), (358, 441), 64 << 20),
            Err(IntakeError::WrongSize {
                width: 13000,
                height: 13000
            })
        ));
        assert!(t0.elapsed() < std::time::Duration::from_secs(2), "not decoded");
        assert!(matches!(
            decode_jpeg_exact(b"GIF89a", (1, 1), 1 << 20),
            Err(IntakeError::NotJpeg)
        ));
        assert!(matches!(
            decode_jpeg_exact(&[0xFF, 0xD8, 0xFF, 0xE0], (1, 1), 1 << 20),
            Err(IntakeError::NotJpeg)
        ));
    }

    #[test]
    fn the_decoder_is_held_to_max_alloc() {
        // 200×200 RGB needs 120 000 bytes: refused with a 10 000-byte budget.
        assert!(matches!(
            decode_jpeg_exact(&jpeg(200, 200), (200, 200), 10_000),
            Err(IntakeError::Decode(_))
        ));
    }

    #[test]
    fn captures_over_the_pixel_limit_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.jpg");
        std::fs::write(&p, bomb(13000, 13000)).unwrap();
        let e = read_image_limited(&p, DEFAULT_MAX_PIXELS).unwrap_err();
        assert!(matches!(e, VisionError::TooManyPixels { width: 13000, .. }), "{e}");
        assert!(e.to_string().contains("big.jpg"), "{e}");
        let ok = dir.path().join("ok.jpg");
        std::fs::write(&ok, jpeg(64, 48)).unwrap();
        assert_eq!(read_image_limited(&ok, 64 * 48).unwrap().dimensions(), (64, 48));
        assert!(matches!(
            read_image_limited(&ok, 64 * 48 - 1),
            Err(VisionError::TooManyPixels { .. })
        ));
    }
}
