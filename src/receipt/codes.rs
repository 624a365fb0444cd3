//! Barcode geometry shared by the receipt renderers: Code128 modules (via `barcoders`),
//! the module-width rule of receipt.md §5, QR modules (via `qrcode`), and dithering.

use crate::config::Dither;
use barcoders::sym::code128::Code128;

/// Code128 code-set choice (receipt.md §5 row 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSet {
    B,
    C,
}

pub fn code_set(data: &str) -> CodeSet {
    if !data.is_empty() && data.len().is_multiple_of(2) && data.bytes().all(|b| b.is_ascii_digit()) {
        CodeSet::C
    } else {
        CodeSet::B
    }
}

/// Symbols in the data part (set C packs two digits per symbol).
pub fn symbols(data: &str) -> u32 {
    match code_set(data) {
        CodeSet::C => data.len() as u32 / 2,
        CodeSet::B => data.len() as u32,
    }
}

/// Module width in dots: 3 if the symbol fits, else 2, else `None` (QR only, log
/// `barcode_too_long`). Width = 35 + 11·symbols + 20 quiet modules.
pub fn code128_module_dots(data: &str, paper_dots: u32) -> Option<u32> {
    let modules = 35 + 11 * symbols(data) + 20;
    [3, 2].into_iter().find(|m| modules * m <= paper_dots)
}

/// The bar pattern (true = bar), without quiet zones.
pub fn code128_modules(data: &str) -> Option<Vec<bool>> {
    let prefixed = match code_set(data) {
        CodeSet::C => format!("\u{0106}{data}"),
        CodeSet::B => format!("\u{0181}{data}"),
    };
    let code = Code128::new(prefixed).ok()?;
    Some(code.encode().into_iter().map(|b| b == 1).collect())
}

/// QR modules (model 2, level M): (side, row-major dark flags).
pub fn qr_modules(data: &str) -> Option<(usize, Vec<bool>)> {
    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M).ok()?;
    let w = code.width();
    Some((
        w,
        code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect(),
    ))
}

/// QR module size in dots: 6 by default, smaller when the symbol would not fit.
pub fn qr_module_dots(side: usize, paper_dots: u32) -> u32 {
    let quiet = 8;
    (1..=6)
        .rev()
        .find(|m| (side as u32 + quiet) * m <= paper_dots)
        .unwrap_or(1)
}

/// A 1-bit picture: `true` = black dot.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub width: u32,
    pub height: u32,
    pub dots: Vec<bool>,
}

impl Bitmap {
    pub fn get(&self, x: u32, y: u32) -> bool {
        self.dots[(y * self.width + x) as usize]
    }
}

impl Drop for Bitmap {
    fn drop(&mut self) {
        // A dithered photo is still a face.
        self.dots.iter_mut().for_each(|d| *d = false);
    }
}

/// Luminance → gamma → dithering (escpos.md §5: Floyd–Steinberg 7/3/5/1 ÷ 16).
pub fn dither(img: &image::RgbImage, method: Dither, threshold: u8, gamma: f64) -> Bitmap {
    let (w, h) = (img.width(), img.height());
    // Gamma > 1 lightens mid-tones, which thermal heads print too dark.
    let lut: Vec<f32> = (0..256)
        .map(|v| (255.0 * (v as f64 / 255.0).powf(1.0 / gamma)) as f32)
        .collect();
    let mut lum: Vec<f32> = img
        .pixels()
        .map(|p| {
            let y = 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
            lut[y.round().clamp(0.0, 255.0) as usize]
        })
        .collect();
    let t = threshold as f32;
    let mut dots = vec![false; (w * h) as usize];
    const BAYER: [[f32; 4]; 4] = [
        [0., 8., 2., 10.],
        [12., 4., 14., 6.],
        [3., 11., 1., 9.],
        [15., 7., 13., 5.],
    ];
    for y in 0..h as usize {
        for x in 0..w as usize {
            let i = y * w as usize + x;
            let v = lum[i];
            match method {
                Dither::Threshold => dots[i] = v < t,
                Dither::Bayer4 => {
                    let b = (BAYER[y % 4][x % 4] + 0.5) * 16.0;
                    dots[i] = v < b;
                }
                Dither::FloydSteinberg => {
                    let black = v < t;
                    dots[i] = black;
                    let err = v - if black { 0.0 } else { 255.0 };
                    let wu = w as usize;
                    if x + 1 < wu {
                        lum[i + 1] += err * 7.0 / 16.0;
                    }
                    if y + 1 < h as usize {
                        if x > 0 {
                            lum[i + wu - 1] += err * 3.0 / 16.0;
                        }
                        lum[i + wu] += err * 5.0 / 16.0;
                        if x + 1 < wu {
                            lum[i + wu + 1] += err / 16.0;
                        }
                    }
                }
            }
        }
    }
    lum.iter_mut().for_each(|v| *v = 0.0);
    Bitmap {
        width: w,
        height: h,
        dots,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_c_for_even_digits_and_module_rule() {
        assert_eq!(code_set("20261126000123"), CodeSet::C);
        assert_eq!(code_set("2026112600012"), CodeSet::B);
        assert_eq!(code_set("AB12"), CodeSet::B);
        // 20 digits set C: 35 + 110 + 20 = 165 modules → 3 dots fits 576 and 384? 495 > 384.
        assert_eq!(code128_module_dots("12345678901234567890", 576), Some(3));
        assert_eq!(code128_module_dots("12345678901234567890", 384), Some(2));
        // 32 chars set B: 35 + 352 + 20 = 407 modules: not even at 2 dots on 384.
        assert_eq!(code128_module_dots(&"A".repeat(32), 384), None);
        assert!(code128_modules("12345678901234567890").is_some());
    }

    #[test]
    fn floyd_steinberg_keeps_mean_grey() {
        let img = image::RgbImage::from_pixel(64, 64, image::Rgb([128, 128, 128]));
        let b = dither(&img, Dither::FloydSteinberg, 128, 1.0);
        let black = b.dots.iter().filter(|d| **d).count() as f64 / b.dots.len() as f64;
        assert!((black - 0.5).abs() < 0.05, "black share {black}");
        let white = image::RgbImage::from_pixel(8, 8, image::Rgb([255, 255, 255]));
        assert!(dither(&white, Dither::FloydSteinberg, 128, 1.8).dots.iter().all(|d| !d));
    }
}
