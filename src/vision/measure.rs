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
    let Some(m) = mean3(&labs) else {
        return (0.0, 0.0, 0);
    };
    let within = labs.iter().filter(|l| delta_e(**l, m) <= max_de).count() as f32 / labs.len() as f32;
    (m[0], within, labs.len())
}

/// What sits on top of the head, from the person mask, the hair mask and colour.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HeadTop {
    /// Share of the crown strip (just below the top of the head's silhouette) that the
    /// hair model calls hair.
    pub crown_hair: f32,
    /// Share of the crown strip that is neither hair nor skin-coloured: the crown of a
    /// cap, hat or hood. Hair buns, ponytails and clips are hair; a bald crown is skin.
    pub crown_other: f32,
    /// The same share in a thin strip just below the silhouette top.
    pub top_other: f32,
    /// Crown samples (0: nothing could be judged, e.g. no hair mask).
    pub samples: usize,
}

/// Crown strip depth below the silhouette top, in face heights: thin, so that a cap's
/// crown fills it but the hair under a brim does not.
pub const CROWN_STRIP: f32 = 0.10;
/// Skin colour: chromaticity (a*, b*) within this distance of the cheeks'. Lightness is
/// left out, because a bald crown is lit from above and a forehead may be shinier than the
/// cheeks; a grey, white or coloured cap differs in chromaticity.
pub const SKIN_MAX_DAB: f32 = 12.0;

/// Head-top signals for the `accessory` check (see [`HeadTop`]).
pub fn head_top(img: &RgbImage, f: &Face, reg: &Regions, mask: &Mask, hair: &super::analysis::HairMask) -> HeadTop {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let fw = f.width().max(1.0);
    let fh = f.height().max(1.0);
    let cx = (f.pt(234).0 + f.pt(454).0) / 2.0;
    let y10 = f.pt(10).1;
    let cheeks = mean_lab_of(img, &[reg.left_cheek, reg.right_cheek]);
    let on_head = |x: f32, y: f32| mask.at(x, y) >= 0.5 || hair.at(x, y) >= 0.5;
    let px = |x: f32, y: f32| {
        lab(img
            .get_pixel(x.clamp(0.0, w - 1.0) as u32, y.clamp(0.0, h - 1.0) as u32)
            .0)
    };
    let y_start = (y10 - 1.3 * fh).max(0.0);
    let (mut n, mut hair_n, mut other_n) = (0usize, 0usize, 0usize);
    let (mut strip_n, mut strip_other) = (0usize, 0usize);
    let is_skin = |p: [f32; 3]| ((p[1] - cheeks[1]).powi(2) + (p[2] - cheeks[2]).powi(2)).sqrt() <= SKIN_MAX_DAB;
    const COLUMNS: usize = 24;
    for i in 0..COLUMNS {
        let x = cx + (i as f32 / (COLUMNS - 1) as f32 - 0.5) * 0.8 * fw;
        if x < 0.0 || x >= w {
            continue;
        }
        let mut y = y_start;
        while y < y10 && !on_head(x, y) {
            y += 1.0;
        }
        if y >= y10 {
            continue;
        }
        let top = y;
        // The whole crown, silhouette top to the forehead landmark.
        const ROWS: usize = 12;
        for k in 0..ROWS {
            let yy = top + (y10 - top) * k as f32 / ROWS as f32;
            if !on_head(x, yy) {
                continue;
            }
            let in_strip = yy - top <= CROWN_STRIP * fh;
            n += 1;
            strip_n += in_strip as usize;
            if hair.at(x, yy) >= 0.5 {
                hair_n += 1;
            } else if !is_skin(px(x, yy)) {
                other_n += 1;
                strip_other += in_strip as usize;
            }
        }
    }
    let share = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f32 / b as f32 };
    HeadTop {
        crown_hair: share(hair_n, n),
        crown_other: share(other_n, n),
        top_other: share(strip_other, strip_n),
        samples: n,
    }
}

impl HeadTop {
    /// How much of the head top is covered by something neither hair nor skin: the
    /// crown's share and its top strip's share, averaged (a cap covers the crown from the
    /// top; a headband, clip or the parting of the hair only a band of it).
    pub fn cover(&self) -> f32 {
        (self.crown_other + self.top_other) / 2.0
    }
}

fn mean3(v: &[[f32; 3]]) -> Option<[f32; 3]> {
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f32;
    Some(
        v.iter()
            .fold([0.0; 3], |a, p| [a[0] + p[0] / n, a[1] + p[1] / n, a[2] + p[2] / n]),
    )
}

/// Mean CIELAB over a few rectangles (about 10×10 samples each).
fn mean_lab_of(img: &RgbImage, rects: &[Rect]) -> [f32; 3] {
    let (w, h) = (img.width() as f32 - 1.0, img.height() as f32 - 1.0);
    let mut all = vec![];
    for r in rects {
        let (sx, sy) = (((r.x1 - r.x0) / 10.0).max(1.0), ((r.y1 - r.y0) / 10.0).max(1.0));
        let mut y = r.y0.clamp(0.0, h);
        while y <= r.y1.clamp(0.0, h) {
            let mut x = r.x0.clamp(0.0, w);
            while x <= r.x1.clamp(0.0, w) {
                all.push(lab(img.get_pixel(x as u32, y as u32).0));
                x += sx;
            }
            y += sy;
        }
    }
    mean3(&all).unwrap_or([0.0; 3])
}

/// Specular glare: saturated (near-white, nearly colourless) samples far brighter than the
/// face's skin, as a share of the face's skin samples. Eyes (catch-lights, glasses) and the
/// mouth (teeth) are left out.
pub fn glare_spots(img: &RgbImage, f: &Face, reg: &Regions) -> f32 {
    let skin = median(&sample_luma(img, reg.skin, 24));
    let r = reg.face;
    let d = super::analysis::dist;
    let pad = |a: usize, b: usize, k: f32| {
        let (p, q) = (f.pt(a), f.pt(b));
        let (cx, cy) = ((p.0 + q.0) / 2.0, (p.1 + q.1) / 2.0);
        let s = d(p, q) * k;
        Rect {
            x0: cx - s,
            y0: cy - s,
            x1: cx + s,
            y1: cy + s,
        }
    };
    // The nose ridge and tip shine on most people under a frontal light; that is not what
    // the standard forbids (a hot spot on the forehead or cheeks), so it is left out too.
    let (nx, fw, fh) = (f.pt(1).0, f.width(), f.height());
    let nose = Rect {
        x0: nx - 0.14 * fw,
        y0: f.pt(168).1 - 0.05 * fh,
        x1: nx + 0.14 * fw,
        y1: f.pt(1).1 + 0.05 * fh,
    };
    let excluded = [pad(33, 133, 0.9), pad(263, 362, 0.9), pad(61, 291, 0.65), nose];
    // Only the face itself: an ellipse inside the face oval (forehead landmark to chin,
    // cheek to cheek), so that backdrop showing beside the jaw is never counted.
    let (cx, cy) = ((f.pt(234).0 + f.pt(454).0) / 2.0, (f.pt(10).1 + f.pt(152).1) / 2.0);
    let (ax, ay) = (0.42 * f.width().max(1.0), 0.48 * f.height().max(1.0));
    let in_face = |x: f32, y: f32| ((x - cx) / ax).powi(2) + ((y - cy) / ay).powi(2) <= 1.0;
    let (w, h) = (img.width() as f32 - 1.0, img.height() as f32 - 1.0);
    let (sx, sy) = (((r.x1 - r.x0) / 60.0).max(1.0), ((r.y1 - r.y0) / 60.0).max(1.0));
    let (mut n, mut hot) = (0u32, 0u32);
    let mut y = r.y0.clamp(0.0, h);
    while y <= r.y1.clamp(0.0, h) {
        let mut x = r.x0.clamp(0.0, w);
        while x <= r.x1.clamp(0.0, w) {
            if in_face(x, y)
                && !excluded
                    .iter()
                    .any(|e| x >= e.x0 && x <= e.x1 && y >= e.y0 && y <= e.y1)
            {
                n += 1;
                let p = img.get_pixel(x as u32, y as u32).0;
                if is_specular(p, skin) {
                    hot += 1;
                }
            }
            x += sx;
        }
        y += sy;
    }
    hot as f32 / n.max(1) as f32
}

/// Specular highlight: near the sensor's ceiling (luma ≥ 220), nearly colourless (channel
/// spread ≤ 45: a highlight reflects the light's colour, not the skin's), and far brighter
/// than the skin (by ≥ 50 luma levels, over half a stop at skin level).
pub fn is_specular(p: [u8; 3], skin_luma: f32) -> bool {
    let l = luma(p);
    let spread = p.iter().max().copied().unwrap_or(0) as i32 - p.iter().min().copied().unwrap_or(0) as i32;
    l >= 220.0 && spread <= 45 && l >= skin_luma + 50.0
}

/// Proportions of the mesh that tell a human face from an animal's or a drawing's.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct FaceShape {
    /// Face Mesh's own face-presence probability.
    pub presence: f32,
    /// Eye-centre distance over cheek-to-cheek width.
    pub eye_spacing: f32,
    /// Nose tip's drop from the eye line, over the mouth's drop.
    pub nose_drop: f32,
    /// Mouth width (corner to corner) over the eye-centre distance.
    pub mouth_width: f32,
    /// Chin's drop from the eye line over the eye-centre distance.
    pub chin_drop: f32,
}

pub fn face_shape(f: &Face) -> FaceShape {
    let d = super::analysis::dist;
    let (r, l) = f.eye_centres();
    let ed = d(r, l).max(1e-3);
    // Distances measured perpendicular to the eye line, so roll does not change them.
    let u = ((l.0 - r.0) / ed, (l.1 - r.1) / ed);
    let m = f.eye_mid();
    let drop = |p: (f32, f32)| -(p.0 - m.0) * u.1 + (p.1 - m.1) * u.0;
    let mouth = ((f.pt(13).0 + f.pt(14).0) / 2.0, (f.pt(13).1 + f.pt(14).1) / 2.0);
    FaceShape {
        presence: f.presence,
        eye_spacing: ed / f.width().max(1e-3),
        nose_drop: drop(f.pt(1)) / drop(mouth).max(1e-3),
        mouth_width: d(f.pt(61), f.pt(291)) / ed,
        chin_drop: drop(f.pt(152)) / ed,
    }
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

    /// A frontal face with human proportions in a 400×400 frame: face width 200 px centred
    /// at (200, 200); every landmark the measures use is placed, the rest sit at the centre.
    pub(crate) fn synthetic_face() -> Face {
        let mut lm = vec![[200.0f32, 200.0, 0.0]; 468];
        let mut put = |i: usize, x: f32, y: f32| lm[i] = [200.0 + 2.0 * x, 200.0 + 2.0 * y, 0.0];
        put(234, -50.0, 0.0);
        put(454, 50.0, 0.0);
        put(10, 0.0, -60.0);
        put(152, 0.0, 60.0);
        // Eyes: corners, lids (centre and beside it).
        for (sign, outer, inner, up, low, up2, low2) in
            [(-1.0, 33, 133, 159, 145, 158, 153), (1.0, 263, 362, 386, 374, 385, 380)]
        {
            put(outer, sign * 35.0, -10.0);
            put(inner, sign * 12.0, -10.0);
            put(up, sign * 23.5, -14.0);
            put(low, sign * 23.5, -6.0);
            put(up2, sign * 20.0, -13.5);
            put(low2, sign * 20.0, -6.5);
        }
        put(105, -23.0, -25.0);
        put(334, 23.0, -25.0);
        put(1, 0.0, 15.0);
        put(168, 0.0, -10.0);
        put(13, 0.0, 30.0);
        put(14, 0.0, 32.0);
        put(0, 0.0, 27.0);
        put(17, 0.0, 36.0);
        put(61, -18.0, 31.0);
        put(291, 18.0, 31.0);
        Face {
            landmarks: lm,
            pose: Default::default(),
            bbox: [100.0, 80.0, 200.0, 240.0],
            presence: 0.99,
        }
    }

    fn skin_image() -> RgbImage {
        RgbImage::from_pixel(400, 400, image::Rgb([205, 160, 140]))
    }

    fn paint_disc(img: &mut RgbImage, cx: f32, cy: f32, r: f32, c: [u8; 3]) {
        for y in 0..img.height() {
            for x in 0..img.width() {
                if (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) <= r * r {
                    img.put_pixel(x, y, image::Rgb(c));
                }
            }
        }
    }

    #[test]
    fn glare_is_a_small_saturated_spot_on_skin_not_teeth_or_catch_lights() {
        let f = synthetic_face();
        let limit = crate::config::CheckLimits::default().max_glare_share as f32;
        let plain = skin_image();
        assert_eq!(glare_spots(&plain, &f, &regions(&f)), 0.0);
        // A forehead highlight 16 px across on a 200-px face: fails.
        let mut shiny = skin_image();
        paint_disc(&mut shiny, 200.0, 120.0, 8.0, [253, 252, 250]);
        let g = glare_spots(&shiny, &f, &regions(&f));
        assert!(g > limit, "forehead glare {g} must exceed the limit {limit}");
        // White teeth in the mouth and catch-lights in the eyes are not glare.
        let mut smile = skin_image();
        paint_disc(&mut smile, 200.0, 262.0, 12.0, [250, 250, 248]);
        paint_disc(&mut smile, 153.0, 180.0, 4.0, [255, 255, 255]);
        paint_disc(&mut smile, 247.0, 180.0, 4.0, [255, 255, 255]);
        assert_eq!(glare_spots(&smile, &f, &regions(&f)), 0.0);
        // A bright but coloured patch (a lit cheek, not a mirror-like reflection) is not glare.
        let mut warm = skin_image();
        paint_disc(&mut warm, 200.0, 120.0, 8.0, [255, 235, 190]);
        assert_eq!(glare_spots(&warm, &f, &regions(&f)), 0.0);
    }

    #[test]
    fn closed_eyes_read_as_closed_from_the_mesh_lids() {
        let open = synthetic_face();
        let min = crate::config::CheckLimits::default().min_eye_openness as f32;
        assert!(eye_openness(&open) > 2.0 * min, "open {}", eye_openness(&open));
        // Close the lids: the upper lid comes down onto the lower one.
        let mut closed = open.clone();
        for (up, low) in [(159, 145), (158, 153), (386, 374), (385, 380)] {
            let l = closed.landmarks[low];
            closed.landmarks[up] = [l[0], l[1] - 0.5, l[2]];
        }
        assert!(eye_openness(&closed) < min, "closed {}", eye_openness(&closed));
    }

    #[test]
    fn a_human_mesh_has_human_proportions_and_an_animal_face_does_not() {
        let k = crate::config::CheckLimits::default();
        let within = |v: f32, r: [f64; 2]| (v as f64) >= r[0] && (v as f64) <= r[1];
        let human = face_shape(&synthetic_face());
        assert!(within(human.eye_spacing, k.human_eye_spacing), "{human:?}");
        assert!(within(human.nose_drop, k.human_nose_drop), "{human:?}");
        assert!(within(human.mouth_width, k.human_mouth_width), "{human:?}");
        assert!(within(human.chin_drop, k.human_chin_drop), "{human:?}");
        // A cat's face: wide-set eyes, the nose just below them, a small mouth right under
        // the nose and almost no chin below it.
        let mut cat = synthetic_face();
        let mut put = |i: usize, x: f32, y: f32| cat.landmarks[i] = [200.0 + 2.0 * x, 200.0 + 2.0 * y, 0.0];
        for (sign, outer, inner) in [(-1.0, 33, 133), (1.0, 263, 362)] {
            put(outer, sign * 45.0, -10.0);
            put(inner, sign * 20.0, -10.0);
        }
        put(1, 0.0, 4.0);
        put(13, 0.0, 8.0);
        put(14, 0.0, 9.0);
        put(61, -6.0, 8.0);
        put(291, 6.0, 8.0);
        put(152, 0.0, 22.0);
        let s = face_shape(&cat);
        let human_like = within(s.eye_spacing, k.human_eye_spacing)
            && within(s.nose_drop, k.human_nose_drop)
            && within(s.mouth_width, k.human_mouth_width)
            && within(s.chin_drop, k.human_chin_drop);
        assert!(!human_like, "{s:?}");
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
