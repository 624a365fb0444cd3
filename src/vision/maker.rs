//! The compliant-photo maker: level the roll, crop and scale to the document's exact size
//! (face width, hair top, eye line per spec), replace the background with the document's
//! colour through the segmentation matte, correct exposure and white balance gently,
//! encode within the KB bounds, then re-detect the face on the output and check it.

use super::analysis::{Analyzer, Face, Mask};
use super::checks::{self, Measures};
use super::geometry::{self, CropPlan};
use super::imgops::{self, delta_e, lab};
use super::jpeg::{self, Encoded};
use super::measure;
use super::VisionError;
use crate::config::DocumentSpec;
use crate::domain::{PhotoJpeg, Prompt};
use crate::ports::PhotoMaker;
use image::RgbImage;

/// Matte edge: person probability mapped through a smoothstep between these values. The
/// person is where the probability exceeds 0.5 (the segmenter's own threshold); the narrow
/// feather lies inside it, so nothing of the old background or hair colour leaks outward
/// into the band the halo rule judges.
pub const MATTE_LO: f32 = 0.5;
pub const MATTE_HI: f32 = 0.6;
/// Halo rule (photo-standards §4.9): band width outside the person, share within ΔE 10.
pub const HALO_BAND_PX: i32 = 6;
pub const HALO_MAX_DE: f32 = 10.0;
pub const HALO_MIN_SHARE: f32 = 0.98;
/// Gentle exposure: skin luma aimed at this, gain limited to the range below.
pub const TARGET_SKIN_LUMA: f32 = 165.0;
pub const GAIN_RANGE: (f32, f32) = (0.85, 1.2);
/// White balance: per-channel gains from the captured backdrop, limited to ±8 %.
pub const WB_RANGE: (f32, f32) = (0.92, 1.08);

/// One output check with its measured value.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutputCheck {
    pub name: &'static str,
    pub pass: bool,
    pub value: String,
    pub limit: String,
}

/// What the output measured (re-detected on the finished photo).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct OutputGeometry {
    pub face_width: f32,
    /// Head width: widest person-matte run between forehead top and brows (`geometry::head_width`).
    pub head_width: f32,
    pub head_length: f32,
    pub hair_top: f32,
    pub eye_line_from_bottom: f32,
    pub eye_mid_x: f32,
    pub eye_distance_ratio: f32,
    pub face_centre_x_ratio: f32,
    /// Share of the 6-px band outside the person within ΔE 10 of the background colour.
    pub halo_clean_share: f32,
}

/// The finished photo and its report.
#[derive(Debug, Clone)]
pub struct Made {
    pub jpeg: Encoded,
    pub width: u32,
    pub height: u32,
    pub checks: Vec<OutputCheck>,
    pub geometry: OutputGeometry,
    pub warnings: Vec<&'static str>,
}

impl Made {
    pub fn pass(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
    }
}

/// Why no compliant photo could be made.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// Capture checks failed (reasons as in check-photo).
    Capture(Vec<checks::Check>),
    /// The output did not pass its own checks.
    Output(Box<Made>),
}

impl Refusal {
    pub fn prompts(&self) -> Vec<Prompt> {
        match self {
            Refusal::Capture(c) => c
                .iter()
                .filter(|c| !c.pass)
                .filter_map(|c| c.hint.map(|h| h.prompt()))
                .collect(),
            Refusal::Output(m) => m
                .checks
                .iter()
                .filter(|c| !c.pass)
                .map(|c| {
                    Prompt::new(
                        c.name,
                        &format!("无法生成合格照片：{}（{}，要求 {}）", c.name, c.value, c.limit),
                        &format!(
                            "Cannot make a compliant photo: {} ({}, required {})",
                            c.name, c.value, c.limit
                        ),
                    )
                })
                .collect(),
        }
    }
}

/// Makes document photos; models embedded.
pub struct Maker {
    an: Analyzer,
}

impl Maker {
    pub fn new() -> Result<Maker, VisionError> {
        Ok(Maker {
            an: Analyzer::preloading(&[
                &super::models::FULL,
                &super::models::SHORT,
                &super::models::MESH,
                &super::models::SEGMENTATION,
                &super::models::HAIR,
            ])?,
        })
    }

    /// The whole pipeline for one capture.
    pub fn make_photo(&mut self, img: &RgbImage, spec: &DocumentSpec) -> Result<Result<Made, Refusal>, VisionError> {
        let still = self.an.analyse_still(img)?;
        let m = Measures::of(&mut self.an, img, &still, spec);
        let results = checks::evaluate(&m, spec);
        let Some(face) = still.face.as_ref().filter(|_| results.iter().all(|c| c.pass)) else {
            return Ok(Err(Refusal::Capture(results)));
        };
        let hair_y = geometry::hair_top(face, &still.mask);
        let plan = geometry::plan(face, hair_y, &still.mask, spec);
        let (photo, alpha) = self.render(img, face, &still.mask, &plan, spec);
        let jpeg = match jpeg::encode_within(&photo, spec.dpi, spec.file_kb) {
            Ok(j) => j,
            Err(e) => {
                let made = Made {
                    jpeg: Encoded {
                        bytes: vec![],
                        quality: jpeg::QUALITY_MIN,
                        padded: false,
                    },
                    width: photo.width(),
                    height: photo.height(),
                    checks: vec![OutputCheck {
                        name: "file_size",
                        pass: false,
                        value: format!(
                            "{:.1} KB at quality {}",
                            e.bytes_at_min_quality as f64 / 1024.0,
                            jpeg::QUALITY_MIN
                        ),
                        limit: format!("[{}, {}] KB", spec.file_kb.min, spec.file_kb.max),
                    }],
                    geometry: OutputGeometry::default(),
                    warnings: vec![],
                };
                return Ok(Err(Refusal::Output(Box::new(made))));
            }
        };
        // Re-check the encoded file as the review centre will see it.
        let decoded = image::load_from_memory(&jpeg.bytes)
            .map_err(|e| VisionError::Image {
                path: "(encoded output)".into(),
                reason: e.to_string(),
            })?
            .to_rgb8();
        let (mut checks, geometry, warnings) = self.output_checks(&decoded, spec, Some(&alpha))?;
        let kb = jpeg.bytes.len() as f64 / 1024.0;
        let density = jpeg::jfif_density(&jpeg.bytes);
        checks.insert(
            0,
            OutputCheck {
                name: "output_size",
                pass: decoded.dimensions() == (spec.width, spec.height)
                    && density == Some((1, spec.dpi as u16, spec.dpi as u16))
                    && jpeg::is_baseline(&jpeg.bytes),
                value: format!(
                    "{}×{} px, {} dpi, {}",
                    decoded.width(),
                    decoded.height(),
                    density.map(|d| d.1).unwrap_or(0),
                    if jpeg::is_baseline(&jpeg.bytes) {
                        "baseline"
                    } else {
                        "not baseline"
                    }
                ),
                limit: format!(
                    "{}×{} px, {} dpi, baseline 24-bit JPEG",
                    spec.width, spec.height, spec.dpi
                ),
            },
        );
        checks.insert(
            1,
            OutputCheck {
                name: "file_size",
                pass: kb >= spec.file_kb.min as f64 && kb <= spec.file_kb.max as f64,
                value: format!(
                    "{kb:.1} KB (quality {}{})",
                    jpeg.quality,
                    if jpeg.padded { ", COM pad" } else { "" }
                ),
                limit: format!("[{}, {}] KB", spec.file_kb.min, spec.file_kb.max),
            },
        );
        let made = Made {
            jpeg,
            width: decoded.width(),
            height: decoded.height(),
            checks,
            geometry,
            warnings,
        };
        Ok(if made.pass() {
            Ok(made)
        } else {
            Err(Refusal::Output(Box::new(made)))
        })
    }

    /// Output pixels and the matte (0..1 per output pixel).
    fn render(
        &mut self,
        img: &RgbImage,
        face: &Face,
        mask: &Mask,
        plan: &CropPlan,
        spec: &DocumentSpec,
    ) -> (RgbImage, Vec<f32>) {
        let (w, h) = (spec.width, spec.height);
        let (r, l) = face.eye_centres();
        let theta = (l.1 - r.1).atan2(l.0 - r.0);
        let (sin, cos) = theta.sin_cos();
        let e = face.eye_mid();
        // Anti-alias: shrink the frame once so that sampling below is near 1:1.
        let pre = plan.scale.max(1.0);
        let small = if pre > 1.05 {
            let (sw, sh) = (
                ((img.width() as f32) / pre).round() as u32,
                ((img.height() as f32) / pre).round() as u32,
            );
            imgops::resize_rect(
                &mut self.an.resizer,
                img,
                [0.0, 0.0, img.width() as f64, img.height() as f64],
                sw.max(1),
                sh.max(1),
            )
        } else {
            img.clone()
        };
        let (kx, ky) = (
            small.width() as f32 / img.width() as f32,
            small.height() as f32 / img.height() as f32,
        );
        let (gain, wb) = self.corrections(img, face, mask);
        let bg = spec.backgrounds.first().map(|c| c.0).unwrap_or([255, 255, 255]);
        let mut out = RgbImage::new(w, h);
        let mut alpha = vec![0f32; (w * h) as usize];
        for v in 0..h {
            for u in 0..w {
                let px = plan.left + (u as f32 + 0.5) * plan.scale;
                let py = plan.top + (v as f32 + 0.5) * plan.scale;
                let (dx, dy) = (px - e.0, py - e.1);
                let sx = (e.0 + cos * dx - sin * dy).clamp(0.0, img.width() as f32 - 1.0);
                let sy = (e.1 + sin * dx + cos * dy).clamp(0.0, img.height() as f32 - 1.0);
                let p = imgops::bilinear(&small, sx * kx - 0.5, sy * ky - 0.5);
                let a = smoothstep(MATTE_LO, MATTE_HI, mask.at(sx, sy));
                let mut o = [0u8; 3];
                for c in 0..3 {
                    let fg = (p[c] as f32 * gain * wb[c]).clamp(0.0, 255.0);
                    o[c] = (a * fg + (1.0 - a) * bg[c] as f32).round() as u8;
                }
                out.put_pixel(u, v, image::Rgb(o));
                alpha[(v * w + u) as usize] = a;
            }
        }
        (out, alpha)
    }

    /// Exposure gain from the skin, white-balance gains from the captured backdrop.
    fn corrections(&self, img: &RgbImage, face: &Face, mask: &Mask) -> (f32, [f32; 3]) {
        let reg = measure::regions(face);
        let (skin, _) = measure::exposure(img, &reg);
        let gain = (TARGET_SKIN_LUMA / skin.max(1.0)).clamp(GAIN_RANGE.0, GAIN_RANGE.1);
        let mut acc = [0f64; 3];
        let mut n = 0f64;
        let step = (img.width() / 64).max(1);
        for y in (0..img.height()).step_by(step as usize) {
            for x in (0..img.width()).step_by(step as usize) {
                if mask.at(x as f32, y as f32) < 0.1 {
                    let p = img.get_pixel(x, y).0;
                    for c in 0..3 {
                        acc[c] += p[c] as f64;
                    }
                    n += 1.0;
                }
            }
        }
        let wb = if n > 0.0 {
            let m = [acc[0] / n, acc[1] / n, acc[2] / n];
            let grey = (m[0] + m[1] + m[2]) / 3.0;
            [0, 1, 2].map(|c| ((grey / m[c].max(1.0)) as f32).clamp(WB_RANGE.0, WB_RANGE.1))
        } else {
            [1.0; 3]
        };
        (gain, wb)
    }

    /// The `output_geometry` checks on a finished photo (and the `hair_cropped` warning).
    /// `alpha` is the maker's own matte; without it (a photo from elsewhere) the person is
    /// segmented again.
    pub fn output_checks(
        &mut self,
        photo: &RgbImage,
        spec: &DocumentSpec,
        alpha: Option<&[f32]>,
    ) -> Result<(Vec<OutputCheck>, OutputGeometry, Vec<&'static str>), VisionError> {
        output_checks(&mut self.an, photo, spec, alpha)
    }
}

fn smoothstep(lo: f32, hi: f32, x: f32) -> f32 {
    let t = ((x - lo) / (hi - lo)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// See [`Maker::output_checks`].
pub fn output_checks(
    an: &mut Analyzer,
    photo: &RgbImage,
    spec: &DocumentSpec,
    alpha: Option<&[f32]>,
) -> Result<(Vec<OutputCheck>, OutputGeometry, Vec<&'static str>), VisionError> {
    // With the maker's own matte the person need not be segmented again. The halo rule is
    // defined against the maker's own matte ("a band outside the person mask"). Re-checking
    // a finished photo (the review centre) has no such matte: a mask segmented again from the
    // small output cannot tell a wisp of hair from a halo, so there the share is measured and
    // reported but not failed on.
    let halo_is_judged = alpha.is_some();
    // The face fills most of a document photo: found on a zoomed-out canvas
    // (`Analyzer::face_in_close_up`), as the detectors were trained on smaller faces.
    let face = an.face_in_close_up(photo)?;
    let alpha: Vec<f32> = match alpha {
        Some(a) => a.to_vec(),
        None => {
            let mask = an.segment(photo)?;
            (0..photo.height())
                .flat_map(|y| (0..photo.width()).map(move |x| (x, y)))
                .map(|(x, y)| smoothstep(MATTE_LO, MATTE_HI, mask.at(x as f32, y as f32)))
                .collect()
        }
    };
    let (w, h) = (photo.width() as f32, photo.height() as f32);
    let Some(face) = face.as_ref() else {
        return Ok((
            vec![OutputCheck {
                name: "output_geometry",
                pass: false,
                value: "no face found".into(),
                limit: "one face".into(),
            }],
            OutputGeometry::default(),
            vec![],
        ));
    };
    let hair = hair_top_from_alpha(&alpha, photo.width(), face);
    let (r, l) = face.eye_centres();
    let eye = face.eye_mid();
    let g = OutputGeometry {
        face_width: face.width(),
        head_width: geometry::head_width(face, |x, y| alpha_at(&alpha, photo.width(), x, y)),
        head_length: face.pt(152).1 - hair,
        hair_top: hair,
        eye_line_from_bottom: h - eye.1,
        eye_mid_x: eye.0,
        eye_distance_ratio: super::analysis::dist(r, l) / w,
        face_centre_x_ratio: (face.pt(234).0 + face.pt(454).0) / 2.0 / w,
        halo_clean_share: halo_share(photo, &alpha, spec.backgrounds.first().map(|c| c.0).unwrap_or([255; 3])),
    };
    let mut fails: Vec<String> = vec![];
    let mut warnings = vec![];
    let within = |v: f32, lo: f64, hi: f64| (v as f64) >= lo && (v as f64) <= hi;
    if let Some(s) = spec.face_width {
        if !within(g.face_width, s.min as f64, s.max as f64) {
            fails.push(format!(
                "face width {:.0} px not in [{}, {}]",
                g.face_width, s.min, s.max
            ));
        }
    }
    if let Some(s) = spec.head_width {
        if !within(g.head_width, s.min as f64, s.max as f64) {
            fails.push(format!(
                "head width {:.0} px not in [{}, {}]",
                g.head_width, s.min, s.max
            ));
        }
    }
    if let Some(s) = spec.head_length {
        if !within(g.head_length, s.min as f64, s.max as f64) {
            fails.push(format!(
                "head length {:.0} px not in [{}, {}]",
                g.head_length, s.min, s.max
            ));
        }
    }
    if let Some(s) = spec.head_length_ratio {
        if !within(g.head_length / h, s.min, s.max) {
            fails.push(format!(
                "head length {:.2} of height not in [{}, {}]",
                g.head_length / h,
                s.min,
                s.max
            ));
        }
    }
    if let Some(s) = spec.eye_distance_ratio {
        if !within(g.eye_distance_ratio, s.min, s.max) {
            fails.push(format!(
                "eye distance {:.2} of width not in [{}, {}]",
                g.eye_distance_ratio, s.min, s.max
            ));
        }
    }
    let eye_ok = spec
        .eye_line_min_from_bottom
        .is_none_or(|m| g.eye_line_from_bottom >= m as f32);
    if let Some(m) = spec.eye_line_min_from_bottom {
        if !eye_ok {
            fails.push(format!(
                "eye line {:.0} px above the bottom, needs ≥ {m}",
                g.eye_line_from_bottom
            ));
        }
    }
    if let Some(s) = spec.hair_top {
        if g.hair_top < s.min as f32 && eye_ok {
            warnings.push("hair_cropped");
        } else if !within(g.hair_top, s.min as f64, s.max as f64) {
            fails.push(format!("hair top {:.0} px not in [{}, {}]", g.hair_top, s.min, s.max));
        }
    }
    if let Some(s) = spec.eye_mid_x {
        if !within(g.eye_mid_x, s.min as f64, s.max as f64) {
            fails.push(format!(
                "eye midpoint x {:.0} px not in [{}, {}]",
                g.eye_mid_x, s.min, s.max
            ));
        }
    }
    let c = spec.face_centre_x_ratio;
    if !within(g.face_centre_x_ratio, c.min, c.max) {
        fails.push(format!(
            "face centre {:.3} of width not in [{}, {}]",
            g.face_centre_x_ratio, c.min, c.max
        ));
    }
    if halo_is_judged && g.halo_clean_share < HALO_MIN_SHARE {
        fails.push(format!(
            "halo: {:.1}% of the edge band within ΔE {HALO_MAX_DE}, needs ≥ {:.0}%",
            g.halo_clean_share * 100.0,
            HALO_MIN_SHARE * 100.0
        ));
    }
    let value = format!(
        "face width {:.0}, head width {:.0}, head length {:.0}, hair top {:.0}, eye line {:.0} above bottom, eye mid x {:.0}, centre {:.3}, clean edge {:.1}%",
        g.face_width,
        g.head_width,
        g.head_length,
        g.hair_top,
        g.eye_line_from_bottom,
        g.eye_mid_x,
        g.face_centre_x_ratio,
        g.halo_clean_share * 100.0
    );
    let check = OutputCheck {
        name: "output_geometry",
        pass: fails.is_empty(),
        value: if fails.is_empty() {
            value
        } else {
            format!("{value}; {}", fails.join("; "))
        },
        limit: "photo-standards §4.9 for this document".into(),
    };
    Ok((vec![check], g, warnings))
}

/// The matte at an output pixel (nearest), 0 outside the photo.
fn alpha_at(alpha: &[f32], w: u32, x: f32, y: f32) -> f32 {
    let (xi, yi) = (x.round(), y.round());
    let rows = alpha.len() / w as usize;
    if xi < 0.0 || yi < 0.0 || xi >= w as f32 || yi >= rows as f32 {
        return 0.0;
    }
    alpha[yi as usize * w as usize + xi as usize]
}

/// Topmost matte row over the face centre (the hair top), in output pixels.
fn hair_top_from_alpha(alpha: &[f32], w: u32, face: &Face) -> f32 {
    let cx = (face.pt(234).0 + face.pt(454).0) / 2.0;
    let half = face.width() * 0.2;
    let (x0, x1) = (
        (cx - half).max(0.0) as usize,
        ((cx + half) as usize).min(w as usize - 1),
    );
    let rows = alpha.len() / w as usize;
    for y in 0..rows {
        if (x0..=x1).any(|x| alpha[y * w as usize + x] >= 0.5) {
            return y as f32;
        }
    }
    rows as f32
}

/// Share of the band (≤ 6 px outside the person, where the matte is 0) within ΔE 10 of
/// the background colour.
fn halo_share(photo: &RgbImage, alpha: &[f32], bg: [u8; 3]) -> f32 {
    let (w, h) = (photo.width() as i32, photo.height() as i32);
    // The person: every pixel with any of the foreground in it (matte > 0).
    let person: Vec<bool> = alpha.iter().map(|&a| a > 0.0).collect();
    // Horizontal then vertical max filter: the person dilated by HALO_BAND_PX (square).
    let mut tmp = vec![false; person.len()];
    for y in 0..h {
        for x in 0..w {
            let (a, b) = ((x - HALO_BAND_PX).max(0), (x + HALO_BAND_PX).min(w - 1));
            tmp[(y * w + x) as usize] = (a..=b).any(|xx| person[(y * w + xx) as usize]);
        }
    }
    let bgl = lab(bg);
    let (mut n, mut ok) = (0u32, 0u32);
    for y in 0..h {
        for x in 0..w {
            let i = (y * w + x) as usize;
            if person[i] {
                continue;
            }
            let (a, b) = ((y - HALO_BAND_PX).max(0), (y + HALO_BAND_PX).min(h - 1));
            if (a..=b).any(|yy| tmp[(yy * w + x) as usize]) {
                n += 1;
                if delta_e(lab(photo.get_pixel(x as u32, y as u32).0), bgl) <= HALO_MAX_DE {
                    ok += 1;
                }
            }
        }
    }
    if n == 0 {
        1.0
    } else {
        ok as f32 / n as f32
    }
}

impl PhotoMaker for Maker {
    fn make(&mut self, capture: &RgbImage, spec: &DocumentSpec) -> Result<PhotoJpeg, Vec<Prompt>> {
        match self.make_photo(capture, spec) {
            Ok(Ok(made)) => Ok(PhotoJpeg(made.jpeg.bytes)),
            Ok(Err(refusal)) => Err(refusal.prompts()),
            Err(e) => {
                log::error!("vision: make-photo failed: {e}");
                Err(vec![Prompt::new(
                    "vision_error",
                    "照片处理出错，请重新拍摄或联系工作人员",
                    "The photo could not be processed; please retake it or ask staff",
                )])
            }
        }
    }
}
