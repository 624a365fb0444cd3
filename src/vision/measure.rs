//! Raw measurements on a frame, given the face landmarks and the person mask. Each is a
//! plain number so the checks (`checks.rs`) can be unit-tested with synthetic values.

use super::analysis::{Face, Mask};
use super::imgops::{self, delta_e, lab, luma};
use image::RgbImage;

/// Axis-aligned rectangle in frame pixels, clamped to the frame when sampled.
#[derive(Debug, Clone, Copy)]
pub struct Rect {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

/// Lumas of the pixels of `r` on a grid of about `n`×`n` samples.
pub fn sample_luma(img: &RgbImage, r: Rect, n: u32) -> Vec<f32> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let (x0, y0) = (r.x0.clamp(0.0, w - 1.0), r.y0.clamp(0.0, h - 1.0));
    let (x1, y1) = (r.x1.clamp(0.0, w - 1.0), r.y1.clamp(0.0, h - 1.0));
    if x1 <= x0 || y1 <= y0 {
        return vec![];
    }
    let (sx, sy) = (((x1 - x0) / n as f32).max(1.0), ((y1 - y0) / n as f32).max(1.0));
    let mut out = Vec::new();
    let mut y = y0;
    while y <= y1 {
        let mut x = x0;
        while x <= x1 {
            out.push(luma(img.get_pixel(x as u32, y as u32).0));
            x += sx;
        }
        y += sy;
    }
    out
}

pub fn mean(v: &[f32]) -> f32 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f32>() / v.len() as f32
    }
}

pub fn median(v: &[f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f32::total_cmp);
    s[s.len() / 2]
}

/// Face regions derived from landmarks.
pub struct Regions {
    pub skin: Rect,
    pub forehead: Rect,
    pub left_cheek: Rect,
    pub right_cheek: Rect,
    pub eyes: [Rect; 2],
    pub face: Rect,
}

pub fn regions(f: &Face) -> Regions {
    let fw = f.width();
    let fh = f.height();
    let (xr, xl) = (f.pt(234).0, f.pt(454).0);
    let (ex, ey) = f.eye_mid();
    let mouth_y = f.pt(13).1;
    let nose_x = f.pt(1).0;
    let brow_y = (f.pt(105).1 + f.pt(334).1) / 2.0;
    let top = f.pt(10).1;
    let eye = |a: usize, b: usize| {
        let (p, q) = (f.pt(a), f.pt(b));
        let (cx, cy) = ((p.0 + q.0) / 2.0, (p.1 + q.1) / 2.0);
        let w = super::analysis::dist(p, q);
        Rect {
            x0: cx - 0.6 * w,
            y0: cy - 0.35 * w,
            x1: cx + 0.6 * w,
            y1: cy + 0.35 * w,
        }
    };
    let _ = ex;
    Regions {
        skin: Rect {
            x0: xr + 0.15 * fw,
            y0: ey + 0.08 * fh,
            x1: xl - 0.15 * fw,
            y1: mouth_y,
        },
        forehead: Rect {
            x0: xr + 0.25 * fw,
            y0: top + 0.03 * fh,
            x1: xl - 0.25 * fw,
            y1: brow_y - 0.03 * fh,
        },
        left_cheek: Rect {
            x0: xr + 0.08 * fw,
            y0: ey + 0.1 * fh,
            x1: nose_x - 0.12 * fw,
            y1: mouth_y,
        },
        right_cheek: Rect {
            x0: nose_x + 0.12 * fw,
            y0: ey + 0.1 * fh,
            x1: xl - 0.08 * fw,
            y1: mouth_y,
        },
        eyes: [eye(33, 133), eye(263, 362)],
        face: Rect {
            x0: xr + 0.1 * fw,
            y0: top,
            x1: xl - 0.1 * fw,
            y1: f.pt(152).1 - 0.1 * fh,
        },
    }
}

/// Eye openness: lid gap over eye width, mean of both eyes.
pub fn eye_openness(f: &Face) -> f32 {
    let d = super::analysis::dist;
    let r = d(f.pt(159), f.pt(145)) / d(f.pt(33), f.pt(133)).max(1e-3);
    let l = d(f.pt(386), f.pt(374)) / d(f.pt(263), f.pt(362)).max(1e-3);
    (r + l) / 2.0
}

/// Darker eye region's mean luma over the cheeks' median luma (sunglasses, a hand, a bar).
pub fn eye_visibility(img: &RgbImage, reg: &Regions) -> f32 {
    let skin = median(
        &[
            sample_luma(img, reg.left_cheek, 12),
            sample_luma(img, reg.right_cheek, 12),
        ]
        .concat(),
    );
    let e0 = mean(&sample_luma(img, reg.eyes[0], 12));
    let e1 = mean(&sample_luma(img, reg.eyes[1], 12));
    e0.min(e1) / skin.max(1.0)
}

/// Mean luma of the skin region, and the share of clipped (≥ 250) samples there.
pub fn exposure(img: &RgbImage, reg: &Regions) -> (f32, f32) {
    let s = sample_luma(img, reg.skin, 24);
    let clipped = s.iter().filter(|&&v| v >= 250.0).count() as f32 / s.len().max(1) as f32;
    (mean(&s), clipped)
}

/// Darker cheek over brighter cheek (medians); 1 = even.
pub fn side_balance(img: &RgbImage, reg: &Regions) -> f32 {
    let a = median(&sample_luma(img, reg.left_cheek, 16));
    let b = median(&sample_luma(img, reg.right_cheek, 16));
    a.min(b) / a.max(b).max(1.0)
}

/// Share of near-white (specular) samples on the face, relative to the skin level: glare
/// is a blob far brighter than the surrounding skin.
pub fn glare(img: &RgbImage, reg: &Regions) -> f32 {
    let s = sample_luma(img, reg.face, 40);
    let skin = median(&s);
    let thr = (skin + 60.0).max(235.0);
    s.iter().filter(|&&v| v >= thr).count() as f32 / s.len().max(1) as f32
}

/// Sharpness of the face: RMS of the Laplacian over RMS of the gradient on a 64-px crop
/// of the central face (scale-free and contrast-free).
pub fn sharpness(resizer: &mut fast_image_resize::Resizer, img: &RgbImage, f: &Face) -> f32 {
    let (ex, ey) = f.eye_mid();
    let fw = f.width();
    let roi = imgops::Roi {
        cx: ex,
        cy: ey + 0.25 * fw,
        side: 0.7 * fw,
        angle: 0.0,
    };
    const N: u32 = 64;
    let crop = imgops::extract(resizer, img, &roi, N);
    let l: Vec<f32> = crop.pixels().map(|p| luma(p.0)).collect();
    sharpness_of(&l, N as usize)
}

/// Sharpness of the person's head when no face was found (a badly blurred face defeats the
/// detector): the same measure on the top of the person mask.
pub fn person_sharpness(resizer: &mut fast_image_resize::Resizer, img: &RgbImage, mask: &Mask) -> Option<f32> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let step = (h / 120.0).max(1.0);
    let row_extent = |y: f32| {
        let (mut x0, mut x1, mut x) = (f32::MAX, f32::MIN, 0.0);
        while x < w {
            if mask.at(x, y) > 0.5 {
                x0 = x0.min(x);
                x1 = x1.max(x);
            }
            x += step;
        }
        (x1 >= x0).then_some((x0, x1))
    };
    let mut y = 0.0;
    let top = loop {
        if y >= h {
            return None;
        }
        if row_extent(y).is_some() {
            break y;
        }
        y += step;
    };
    let (x0, x1) = row_extent(top + 0.12 * h)?;
    let head_w = x1 - x0;
    if head_w < 0.05 * w {
        return None;
    }
    let roi = imgops::Roi {
        cx: (x0 + x1) / 2.0,
        cy: top + 0.6 * head_w,
        side: 0.55 * head_w,
        angle: 0.0,
    };
    let crop = imgops::extract(resizer, img, &roi, 64);
    let l: Vec<f32> = crop.pixels().map(|p| luma(p.0)).collect();
    Some(sharpness_of(&l, 64))
}

pub fn sharpness_of(l: &[f32], n: usize) -> f32 {
    let (mut lap2, mut grad2) = (0f64, 0f64);
    for y in 1..n - 1 {
        for x in 1..n - 1 {
            let c = l[y * n + x];
            let lap = l[y * n + x - 1] + l[y * n + x + 1] + l[(y - 1) * n + x] + l[(y + 1) * n + x] - 4.0 * c;
            let gx = l[y * n + x + 1] - l[y * n + x - 1];
            let gy = l[(y + 1) * n + x] - l[(y - 1) * n + x];
            lap2 += (lap * lap) as f64;
            grad2 += (gx * gx + gy * gy) as f64;
        }
    }
    ((lap2 / grad2.max(1e-6)).sqrt()) as f32
}

/// Background: mean L* and the share of samples within `max_de` of the mean colour, over
/// pixels the mask calls background (away from the person's edge).
pub fn background(img: &RgbImage, mask: &Mask, max_de: f32) -> (f32, f32, usize) {
    let step = (img.width().max(img.height()) / 160).max(1);
    let mut labs = Vec::new();
    for y in (0..img.height()).step_by(step as usize) {
        for x in (0..img.width()).step_by(step as usize) {
            if mask.at(x as f32, y as f32) < 0.1 {
                labs.push(lab(img.get_pixel(x, y).0));
            }
        }
    }
    if labs.is_empty() {
        return (0.0, 0.0, 0);
    }
    let n = labs.len() as f32;
    let mut m = [0f32; 3];
    for l in &labs {
        for k in 0..3 {
            m[k] += l[k] / n;
        }
    }
    let within = labs.iter().filter(|l| delta_e(**l, m) <= max_de).count() as f32 / n;
    (m[0], within, labs.len())
}

/// Hat/cap cues: the forehead's colour distance (ΔE) from the cheeks' colour, and how
/// far the person mask rises above the forehead landmark, in face heights.
pub fn headwear(img: &RgbImage, f: &Face, reg: &Regions, hair_y: f32) -> (f32, f32) {
    let mean_lab = |r: Rect| {
        let (w, h) = (img.width() as f32 - 1.0, img.height() as f32 - 1.0);
        let mut acc = [0f32; 3];
        let mut n = 0f32;
        let (sx, sy) = (((r.x1 - r.x0) / 10.0).max(1.0), ((r.y1 - r.y0) / 10.0).max(1.0));
        let mut y = r.y0.clamp(0.0, h);
        while y <= r.y1.clamp(0.0, h) {
            let mut x = r.x0.clamp(0.0, w);
            while x <= r.x1.clamp(0.0, w) {
                let l = lab(img.get_pixel(x as u32, y as u32).0);
                for k in 0..3 {
                    acc[k] += l[k];
                }
                n += 1.0;
                x += sx;
            }
            y += sy;
        }
        acc.map(|v| v / n.max(1.0))
    };
    let fore = mean_lab(reg.forehead);
    let cheeks = mean_lab(reg.left_cheek);
    let cheeks2 = mean_lab(reg.right_cheek);
    let de = delta_e(fore, cheeks).min(delta_e(fore, cheeks2));
    let rise = (f.pt(10).1 - hair_y) / f.height().max(1.0);
    (de, rise)
}

/// The crown (between the hair top and the forehead landmark, over the face centre,
/// inside the person mask): mean chroma (C*ab), L* spread, and the share of samples far
/// from the crown's mean colour. Hair is a dark, low-chroma, fairly even patch; a cap
/// with a badge, band or a coloured crown is not.
pub fn crown(img: &RgbImage, f: &Face, mask: &Mask, hair_y: f32) -> (f32, f32, f32) {
    let fw = f.width();
    let cx = (f.pt(234).0 + f.pt(454).0) / 2.0;
    let y10 = f.pt(10).1;
    let (y0, y1) = (hair_y + 0.15 * (y10 - hair_y), y10 - 0.03 * f.height());
    if y1 - y0 < 2.0 {
        return (0.0, 0.0, 0.0);
    }
    let (w, h) = (img.width() as f32 - 1.0, img.height() as f32 - 1.0);
    let mut labs = vec![];
    let (sx, sy) = ((0.7 * fw / 20.0).max(1.0), ((y1 - y0) / 12.0).max(1.0));
    let mut y = y0;
    while y <= y1 {
        let mut x = cx - 0.35 * fw;
        while x <= cx + 0.35 * fw {
            if x >= 0.0 && y >= 0.0 && x <= w && y <= h && mask.at(x, y) > 0.5 {
                labs.push(lab(img.get_pixel(x as u32, y as u32).0));
            }
            x += sx;
        }
        y += sy;
    }
    if labs.len() < 10 {
        return (0.0, 0.0, 0.0);
    }
    let n = labs.len() as f32;
    let mut m = [0f32; 3];
    for l in &labs {
        for k in 0..3 {
            m[k] += l[k] / n;
        }
    }
    let chroma = labs.iter().map(|l| (l[1] * l[1] + l[2] * l[2]).sqrt()).sum::<f32>() / n;
    let lstd = (labs.iter().map(|l| (l[0] - m[0]).powi(2)).sum::<f32>() / n).sqrt();
    let far = labs.iter().filter(|l| delta_e(**l, m) > 30.0).count() as f32 / n;
    (chroma, lstd, far)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(n: usize, blur: usize) -> Vec<f32> {
        let sharp: Vec<f32> = (0..n * n)
            .map(|i| {
                if ((i % n) / 16 + (i / n) / 16).is_multiple_of(2) {
                    60.0
                } else {
                    200.0
                }
            })
            .collect();
        if blur == 0 {
            return sharp;
        }
        // Box blur, separable, radius `blur`.
        let mut out = sharp.clone();
        for y in 0..n {
            for x in 0..n {
                let (mut s, mut c) = (0.0, 0.0);
                for dy in -(blur as i32)..=blur as i32 {
                    for dx in -(blur as i32)..=blur as i32 {
                        let (xx, yy) = (x as i32 + dx, y as i32 + dy);
                        if xx >= 0 && yy >= 0 && (xx as usize) < n && (yy as usize) < n {
                            s += sharp[yy as usize * n + xx as usize];
                            c += 1.0;
                        }
                    }
                }
                out[y * n + x] = s / c;
            }
        }
        out
    }

    #[test]
    fn sharpness_drops_with_blur() {
        let s0 = sharpness_of(&pattern(64, 0), 64);
        let s3 = sharpness_of(&pattern(64, 5), 64);
        let min = crate::config::CheckLimits::default().min_sharpness as f32;
        assert!(s0 > min && s3 < min, "sharp {s0}, blurred {s3}");
    }

    #[test]
    fn background_uniform_light_vs_cluttered() {
        let mask = Mask {
            prob: vec![0.0; 256 * 256],
            frame_w: 320,
            frame_h: 240,
        };
        let plain = RgbImage::from_fn(320, 240, |x, _| image::Rgb([240 + (x % 8) as u8, 242, 245]));
        let (l, share, n) = background(&plain, &mask, 10.0);
        assert!(l > 90.0 && share > 0.99 && n > 100);
        let busy = RgbImage::from_fn(320, 240, |x, y| {
            image::Rgb([((x * 37) % 255) as u8, ((y * 91) % 255) as u8, 90])
        });
        let (_, share, _) = background(&busy, &mask, 10.0);
        assert!(share < 0.5);
    }
}
