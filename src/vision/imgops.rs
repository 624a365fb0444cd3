//! Pixel helpers: anti-aliased crops (fast_image_resize) with rotation, luma, CIELAB.

use fast_image_resize::{images::Image, images::ImageRef, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

/// A square region of the frame, possibly rotated: `angle` (radians, image coordinates,
/// y down) is the direction of the crop's x axis in the frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roi {
    pub cx: f32,
    pub cy: f32,
    pub side: f32,
    pub angle: f32,
}

impl Roi {
    /// Maps a point of an `out`×`out` crop of this ROI back into frame pixels.
    pub fn to_frame(&self, u: f32, v: f32, out: f32) -> (f32, f32) {
        let k = self.side / out;
        let (dx, dy) = ((u - out / 2.0) * k, (v - out / 2.0) * k);
        let (s, c) = self.angle.sin_cos();
        (self.cx + c * dx - s * dy, self.cy + s * dx + c * dy)
    }
}

/// Resizes `rect` (x, y, w, h in source pixels, inside the image) of `img` to `w`×`h`,
/// with a bilinear convolution that anti-aliases when shrinking.
pub fn resize_rect(resizer: &mut Resizer, img: &RgbImage, rect: [f64; 4], w: u32, h: u32) -> RgbImage {
    let mut dst = Image::new(w.max(1), h.max(1), PixelType::U8x3);
    let src = ImageRef::new(img.width(), img.height(), img.as_raw(), PixelType::U8x3)
        .expect("an RgbImage buffer always matches its size");
    let opts = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
        .crop(rect[0], rect[1], rect[2].max(1e-3), rect[3].max(1e-3));
    // Cannot fail: same pixel type on both sides and a crop clamped to the image.
    let _ = resizer.resize(&src, &mut dst, &opts);
    RgbImage::from_raw(dst.width(), dst.height(), dst.into_vec()).expect("sizes match")
}

/// Extracts `roi` as an `out`×`out` RGB crop. Parts outside the frame are black (as
/// MediaPipe's BORDER_ZERO). With angle 0 and the whole frame this is the letterbox.
pub fn extract(resizer: &mut Resizer, img: &RgbImage, roi: &Roi, out: u32) -> RgbImage {
    let (s, c) = roi.angle.sin_cos();
    let half = roi.side / 2.0 * (s.abs() + c.abs());
    let k = out as f32 / roi.side; // output px per source px
    let (bx0, by0) = (roi.cx - half, roi.cy - half);
    let x0 = bx0.max(0.0);
    let y0 = by0.max(0.0);
    let x1 = (roi.cx + half).min(img.width() as f32);
    let y1 = (roi.cy + half).min(img.height() as f32);
    let canvas_side = (2.0 * half * k).ceil().max(1.0) as u32;
    let mut canvas = RgbImage::new(canvas_side, canvas_side);
    if x1 > x0 + 0.5 && y1 > y0 + 0.5 {
        let w = (((x1 - x0) * k).round() as u32).max(1);
        let h = (((y1 - y0) * k).round() as u32).max(1);
        let part = resize_rect(
            resizer,
            img,
            [x0 as f64, y0 as f64, (x1 - x0) as f64, (y1 - y0) as f64],
            w,
            h,
        );
        let ox = ((x0 - bx0) * k).round() as i64;
        let oy = ((y0 - by0) * k).round() as i64;
        image::imageops::replace(&mut canvas, &part, ox, oy);
    }
    if roi.angle.abs() < 1e-3 && canvas_side == out {
        return canvas;
    }
    rotate_into(&canvas, roi.angle, out)
}

/// Samples an `out`×`out` square rotated by `angle` about the centre of the square
/// `canvas` (bilinear, black outside). Works on the raw buffer with per-row increments:
/// this loop runs for every tracked frame, in the dev profile too.
fn rotate_into(canvas: &RgbImage, angle: f32, out: u32) -> RgbImage {
    let (s, c) = angle.sin_cos();
    let (cw, ch) = (canvas.width() as i64, canvas.height() as i64);
    let src = canvas.as_raw();
    let stride = cw as usize * 3;
    let cc = canvas.width() as f32 / 2.0;
    let o2 = out as f32 / 2.0;
    let mut dst = vec![0u8; (out * out * 3) as usize];
    let px = |xx: i64, yy: i64, k: usize| -> f32 {
        if xx < 0 || yy < 0 || xx >= cw || yy >= ch {
            0.0
        } else {
            src[yy as usize * stride + xx as usize * 3 + k] as f32
        }
    };
    for v in 0..out {
        let dy = v as f32 + 0.5 - o2;
        let dx0 = 0.5 - o2;
        // Source position of u = 0; each step in u adds (c, s).
        let mut sx = cc + c * dx0 - s * dy - 0.5;
        let mut sy = cc + s * dx0 + c * dy - 0.5;
        let row = &mut dst[(v * out * 3) as usize..((v + 1) * out * 3) as usize];
        for o in row.chunks_exact_mut(3) {
            let (xf, yf) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - xf, sy - yf);
            let (xi, yi) = (xf as i64, yf as i64);
            if xi >= 0 && yi >= 0 && xi + 1 < cw && yi + 1 < ch {
                let i = yi as usize * stride + xi as usize * 3;
                let (a, b) = (&src[i..i + 6], &src[i + stride..i + stride + 6]);
                for k in 0..3 {
                    let top = a[k] as f32 + (a[k + 3] as f32 - a[k] as f32) * fx;
                    let bot = b[k] as f32 + (b[k + 3] as f32 - b[k] as f32) * fx;
                    o[k] = (top + (bot - top) * fy + 0.5) as u8;
                }
            } else if xi >= -1 && yi >= -1 && xi < cw && yi < ch {
                for (k, ok) in o.iter_mut().enumerate() {
                    let top = px(xi, yi, k) + (px(xi + 1, yi, k) - px(xi, yi, k)) * fx;
                    let bot = px(xi, yi + 1, k) + (px(xi + 1, yi + 1, k) - px(xi, yi + 1, k)) * fx;
                    *ok = (top + (bot - top) * fy + 0.5).clamp(0.0, 255.0) as u8;
                }
            }
            sx += c;
            sy += s;
        }
    }
    RgbImage::from_raw(out, out, dst).expect("sizes match")
}

/// `img` centred on a square canvas `zoom` times its long side, filled with the mean
/// colour of its outermost pixels; returns the canvas and the photo's offset on it.
pub fn pad_with_border(img: &RgbImage, zoom: f32) -> (RgbImage, u32, u32) {
    let (w, h) = img.dimensions();
    let side = ((w.max(h) as f32) * zoom.max(1.0)).round() as u32;
    let mut acc = [0u64; 3];
    let mut n = 0u64;
    for (x, y, p) in img.enumerate_pixels() {
        if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
            for (a, v) in acc.iter_mut().zip(p.0) {
                *a += v as u64;
            }
            n += 1;
        }
    }
    let fill = acc.map(|v| (v / n.max(1)) as u8);
    let mut canvas = RgbImage::from_pixel(side, side, image::Rgb(fill));
    let (ox, oy) = ((side - w) / 2, (side - h) / 2);
    image::imageops::replace(&mut canvas, img, ox as i64, oy as i64);
    (canvas, ox, oy)
}

/// Bilinear sample with black outside.
pub fn bilinear(img: &RgbImage, x: f32, y: f32) -> [u8; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (xf, yf) = (x.floor(), y.floor());
    let (fx, fy) = (x - xf, y - yf);
    let (xi, yi) = (xf as i64, yf as i64);
    let raw = img.as_raw();
    let stride = w as usize * 3;
    let mut o = [0u8; 3];
    if xi >= 0 && yi >= 0 && xi + 1 < w && yi + 1 < h {
        // Fast path: all four neighbours inside.
        let i = yi as usize * stride + xi as usize * 3;
        let (a, b) = (&raw[i..i + 6], &raw[i + stride..i + stride + 6]);
        for k in 0..3 {
            let top = a[k] as f32 + (a[k + 3] as f32 - a[k] as f32) * fx;
            let bot = b[k] as f32 + (b[k + 3] as f32 - b[k] as f32) * fx;
            o[k] = (top + (bot - top) * fy + 0.5) as u8;
        }
        return o;
    }
    let px = |xx: i64, yy: i64| -> [f32; 3] {
        if xx < 0 || yy < 0 || xx >= w || yy >= h {
            [0.0; 3]
        } else {
            let i = yy as usize * stride + xx as usize * 3;
            [raw[i] as f32, raw[i + 1] as f32, raw[i + 2] as f32]
        }
    };
    let (a, b, cc, d) = (px(xi, yi), px(xi + 1, yi), px(xi, yi + 1), px(xi + 1, yi + 1));
    for i in 0..3 {
        let top = a[i] + (b[i] - a[i]) * fx;
        let bot = cc[i] + (d[i] - cc[i]) * fx;
        o[i] = (top + (bot - top) * fy).round().clamp(0.0, 255.0) as u8;
    }
    o
}

/// Writes `img` as NCHW floats into `out` (a model's reusable input tensor), mapping
/// 0..255 to `lo..hi`. `out` holds exactly 3 × width × height values.
pub fn fill_nchw(img: &RgbImage, lo: f32, hi: f32, out: &mut [f32]) {
    let n = (img.width() * img.height()) as usize;
    assert_eq!(out.len(), 3 * n, "input tensor size");
    let k = (hi - lo) / 255.0;
    let (r, rest) = out.split_at_mut(n);
    let (g, b) = rest.split_at_mut(n);
    for (i, p) in img.as_raw().chunks_exact(3).enumerate() {
        r[i] = p[0] as f32 * k + lo;
        g[i] = p[1] as f32 * k + lo;
        b[i] = p[2] as f32 * k + lo;
    }
}

/// Rec. 601 luma, 0..255.
#[inline]
pub fn luma(p: [u8; 3]) -> f32 {
    0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
}

/// sRGB component (0–255) to linear light, tabulated once: `lab` runs on thousands of
/// samples per frame and `powf` dominated the frame profile.
fn srgb_to_linear(c: u8) -> f32 {
    static LUT: std::sync::OnceLock<[f32; 256]> = std::sync::OnceLock::new();
    LUT.get_or_init(|| {
        std::array::from_fn(|i| {
            let c = i as f32 / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        })
    })[c as usize]
}

/// sRGB (D65) to CIELAB.
pub fn lab(p: [u8; 3]) -> [f32; 3] {
    let (r, g, b) = (srgb_to_linear(p[0]), srgb_to_linear(p[1]), srgb_to_linear(p[2]));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f32| {
        if t > 0.008856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// CIE76 colour difference.
pub fn delta_e(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roi_maps_crop_centre_and_axis() {
        let roi = Roi {
            cx: 100.0,
            cy: 50.0,
            side: 40.0,
            angle: std::f32::consts::FRAC_PI_2,
        };
        let (x, y) = roi.to_frame(96.0, 96.0, 192.0);
        assert!((x - 100.0).abs() < 1e-3 && (y - 50.0).abs() < 1e-3);
        // The crop's +x axis points down the frame when rotated by 90°.
        let (x, y) = roi.to_frame(192.0, 96.0, 192.0);
        assert!((x - 100.0).abs() < 1e-3 && (y - 70.0).abs() < 1e-3);
    }

    #[test]
    fn extract_letterboxes_with_black_and_keeps_content() {
        let mut r = Resizer::new();
        let img = RgbImage::from_pixel(200, 100, image::Rgb([200, 100, 50]));
        let roi = Roi {
            cx: 100.0,
            cy: 50.0,
            side: 200.0,
            angle: 0.0,
        };
        let out = extract(&mut r, &img, &roi, 64);
        assert_eq!(out.dimensions(), (64, 64));
        assert_eq!(out.get_pixel(32, 2).0, [0, 0, 0]);
        assert_eq!(out.get_pixel(32, 32).0, [200, 100, 50]);
    }

    #[test]
    fn lab_of_white_and_black() {
        let w = lab([255, 255, 255]);
        assert!((w[0] - 100.0).abs() < 0.5 && w[1].abs() < 0.5 && w[2].abs() < 0.5);
        assert!(lab([0, 0, 0])[0].abs() < 0.5);
        assert!(delta_e(lab([255, 0, 0]), lab([0, 0, 255])) > 100.0);
    }
}
