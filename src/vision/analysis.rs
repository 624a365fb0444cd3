//! Runs the models on a frame: face detection, Face Mesh landmarks (with tracking from
//! the previous frame), head pose, and the person segmentation mask.

use super::detect::{self, Detection, Range};
use super::imgops::{self, Roi};
use super::models::{self, Net};
use super::pose::{self, Pose};
use super::VisionError;
use fast_image_resize::Resizer;
use image::RgbImage;

const MESH_IN: u32 = 192;
const SEG_IN: u32 = 256;
/// Hair segmenter input side (MediaPipe's hair_segmentation: 512×512, RGB + previous mask).
pub const HAIR_IN: u32 = 512;
/// Hair crop around the face: side in face heights (forehead landmark to chin), and where
/// its centre sits below the forehead landmark (share of the face height). 2.2 face heights
/// as the model notes advise; centred low enough that a tall hat or bun still fits above.
const HAIR_ROI_SIDE: f32 = 2.4;
const HAIR_ROI_BELOW_FOREHEAD: f32 = 0.3;
/// A finished document photo is a close-up: the face fills most of the frame, more than
/// the detectors were trained on. It is analysed on a canvas this many times the photo's
/// long side (tried in this order), the photo in its centre.
const CLOSE_UP_ZOOMS: [f32; 3] = [1.8, 1.4, 2.2];
/// MediaPipe's ROI scale around the face for Face Mesh.
const ROI_SCALE: f32 = 1.5;
/// Face Mesh presence threshold (MediaPipe default).
const MIN_PRESENCE: f32 = 0.5;

/// A face with its 468 landmarks in frame pixels.
#[derive(Debug, Clone)]
pub struct Face {
    pub landmarks: Vec<[f32; 3]>,
    pub pose: Pose,
    /// Landmark bounding box x, y, w, h.
    pub bbox: [f32; 4],
    pub presence: f32,
}

/// Hair probability (MediaPipe's hair segmenter) on a square crop around the face.
#[derive(Debug, Clone)]
pub struct HairMask {
    /// The model's two logit planes (background, then hair), `HAIR_IN`² each, row-major
    /// over the crop. Kept as they come: the probability is worked out only where it is
    /// read ([`HairMask::at`], a few hundred points), not for all 262,144 pixels (that took
    /// 8 % of a whole session's CPU).
    logits: Vec<f32>,
    /// The crop in frame pixels (axis-aligned: `angle` is 0).
    pub roi: Roi,
}

impl HairMask {
    /// Hair probability at a frame pixel (nearest crop pixel); 0 outside the crop.
    pub fn at(&self, x: f32, y: f32) -> f32 {
        let k = HAIR_IN as f32 / self.roi.side;
        let u = (x - self.roi.cx) * k + HAIR_IN as f32 / 2.0;
        let v = (y - self.roi.cy) * k + HAIR_IN as f32 / 2.0;
        if u < 0.0 || v < 0.0 || u >= HAIR_IN as f32 || v >= HAIR_IN as f32 {
            return 0.0;
        }
        let i = v as usize * HAIR_IN as usize + u as usize;
        let n = (HAIR_IN * HAIR_IN) as usize;
        let (bg, hair) = (self.logits[i], self.logits[n + i]);
        1.0 / (1.0 + (bg - hair).exp())
    }
}

impl Face {
    pub fn pt(&self, i: usize) -> (f32, f32) {
        (self.landmarks[i][0], self.landmarks[i][1])
    }
    /// Cheek-to-cheek width (234 to 454), the standards' "face width".
    pub fn width(&self) -> f32 {
        dist(self.pt(234), self.pt(454))
    }
    /// Forehead top (10) to chin (152).
    pub fn height(&self) -> f32 {
        dist(self.pt(10), self.pt(152))
    }
    pub fn eye_centres(&self) -> ((f32, f32), (f32, f32)) {
        let m = |a: usize, b: usize| {
            let (p, q) = (self.pt(a), self.pt(b));
            ((p.0 + q.0) / 2.0, (p.1 + q.1) / 2.0)
        };
        (m(33, 133), m(263, 362))
    }
    pub fn eye_mid(&self) -> (f32, f32) {
        let (r, l) = self.eye_centres();
        ((r.0 + l.0) / 2.0, (r.1 + l.1) / 2.0)
    }
    /// The same face shifted by (dx, dy) pixels.
    pub fn translated(mut self, dx: f32, dy: f32) -> Face {
        for p in &mut self.landmarks {
            p[0] += dx;
            p[1] += dy;
        }
        self.bbox[0] += dx;
        self.bbox[1] += dy;
        self
    }
    /// The ROI for the next frame (tracking).
    pub fn next_roi(&self) -> Roi {
        let (r, l) = (self.pt(33), self.pt(263));
        let angle = (l.1 - r.1).atan2(l.0 - r.0);
        let [x, y, w, h] = self.bbox;
        Roi {
            cx: x + w / 2.0,
            cy: y + h / 2.0,
            side: w.max(h) * ROI_SCALE,
            angle,
        }
    }
}

pub fn dist(a: (f32, f32), b: (f32, f32)) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

/// Person probability, 256×256, stretched over the whole frame.
#[derive(Debug, Clone)]
pub struct Mask {
    pub prob: Vec<f32>,
    pub frame_w: u32,
    pub frame_h: u32,
}

impl Mask {
    /// Bilinear person probability at a frame pixel.
    pub fn at(&self, x: f32, y: f32) -> f32 {
        let n = SEG_IN as f32;
        let u = ((x + 0.5) / self.frame_w as f32 * n - 0.5).clamp(0.0, n - 1.0);
        let v = ((y + 0.5) / self.frame_h as f32 * n - 0.5).clamp(0.0, n - 1.0);
        let (u0, v0) = (u.floor() as usize, v.floor() as usize);
        let (u1, v1) = ((u0 + 1).min(SEG_IN as usize - 1), (v0 + 1).min(SEG_IN as usize - 1));
        let (fu, fv) = (u - u0 as f32, v - v0 as f32);
        let g = |uu: usize, vv: usize| self.prob[vv * SEG_IN as usize + uu];
        let top = g(u0, v0) * (1.0 - fu) + g(u1, v0) * fu;
        let bot = g(u0, v1) * (1.0 - fu) + g(u1, v1) * fu;
        top * (1.0 - fv) + bot * fv
    }
}

/// The models (plans shared process-wide, see `models`) with this analyser's run states.
pub struct Analyzer {
    short: Net,
    full: Net,
    mesh: Net,
    seg: Net,
    hair: Net,
    anchors_short: Vec<(f32, f32)>,
    anchors_full: Vec<(f32, f32)>,
    pub resizer: Resizer,
}

impl Analyzer {
    /// An analyser with all four models ready.
    pub fn new() -> Result<Analyzer, VisionError> {
        Self::preloading(&[&models::SHORT, &models::FULL, &models::MESH, &models::SEGMENTATION])
    }

    /// An analyser that builds the plans of `ready` now (in parallel); the others are built
    /// on first use.
    pub fn preloading(ready: &[&'static models::ModelDef]) -> Result<Analyzer, VisionError> {
        models::preload(ready)?;
        Ok(Analyzer {
            short: Net::new(&models::SHORT),
            full: Net::new(&models::FULL),
            mesh: Net::new(&models::MESH),
            seg: Net::new(&models::SEGMENTATION),
            hair: Net::new(&models::HAIR),
            anchors_short: detect::anchors(Range::Short),
            anchors_full: detect::anchors(Range::Full),
            resizer: Resizer::new(),
        })
    }

    /// An analyser whose tracking plans (short-range detector, Face Mesh, segmentation) are
    /// built now, in parallel, bypassing the process-wide cache: what the kiosk's first
    /// start pays. For the start-up benchmark; everything else uses [`Analyzer::preloading`].
    pub fn cold_for_tracking() -> Result<Analyzer, VisionError> {
        let defs: [&'static models::ModelDef; 3] = [&models::SHORT, &models::MESH, &models::SEGMENTATION];
        let [short, mesh, seg] = std::thread::scope(|s| {
            defs.map(|d| s.spawn(move || d.build_uncached())).map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(VisionError::Model {
                        model: "tracking models",
                        reason: "loading panicked".into(),
                    })
                })
            })
        });
        let mut an = Self::preloading(&[])?;
        an.short = Net::with_plan(&models::SHORT, short?);
        an.mesh = Net::with_plan(&models::MESH, mesh?);
        an.seg = Net::with_plan(&models::SEGMENTATION, seg?);
        Ok(an)
    }

    /// Face detections in frame pixels, best first.
    pub fn detect(&mut self, img: &RgbImage, range: Range) -> Result<Vec<Detection>, VisionError> {
        let n = range.input() as u32;
        let side = img.width().max(img.height()) as f32;
        let roi = Roi {
            cx: img.width() as f32 / 2.0,
            cy: img.height() as f32 / 2.0,
            side,
            angle: 0.0,
        };
        let crop = imgops::extract(&mut self.resizer, img, &roi, n);
        let (net, anchors) = match range {
            Range::Short => (&mut self.short, &self.anchors_short),
            Range::Full => (&mut self.full, &self.anchors_full),
        };
        imgops::fill_nchw(&crop, -1.0, 1.0, net.input_mut());
        let out = net.run()?;
        let dets = detect::decode(range, anchors, &out[0], &out[1]);
        Ok(dets
            .iter()
            .map(|d| detect::unletterbox(d, img.width(), img.height()))
            .collect())
    }

    /// The Face Mesh ROI MediaPipe derives from a detection.
    pub fn roi_from_detection(d: &Detection) -> Roi {
        let (r, l) = (d.keypoints[0], d.keypoints[1]);
        Roi {
            cx: d.bbox[0] + d.bbox[2] / 2.0,
            cy: d.bbox[1] + d.bbox[3] / 2.0,
            side: d.bbox[2].max(d.bbox[3]) * ROI_SCALE,
            angle: (l.1 - r.1).atan2(l.0 - r.0),
        }
    }

    /// Face Mesh on `roi`; `None` when the model says no face is there.
    pub fn landmarks(&mut self, img: &RgbImage, roi: &Roi) -> Result<Option<Face>, VisionError> {
        Ok(Some(self.mesh_on(img, roi)?).filter(|f| f.presence >= MIN_PRESENCE))
    }

    /// Face Mesh on `roi` whatever the model's face-presence probability (kept in
    /// [`Face::presence`]).
    pub fn mesh_on(&mut self, img: &RgbImage, roi: &Roi) -> Result<Face, VisionError> {
        let crop = imgops::extract(&mut self.resizer, img, roi, MESH_IN);
        imgops::fill_nchw(&crop, 0.0, 1.0, self.mesh.input_mut());
        let out = self.mesh.run()?;
        let presence = 1.0 / (1.0 + (-out[1][0]).exp());
        let k = roi.side / MESH_IN as f32;
        let landmarks: Vec<[f32; 3]> = out[0]
            .chunks_exact(3)
            .map(|p| {
                let (x, y) = roi.to_frame(p[0], p[1], MESH_IN as f32);
                [x, y, p[2] * k]
            })
            .collect();
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in &landmarks {
            x0 = x0.min(p[0]);
            y0 = y0.min(p[1]);
            x1 = x1.max(p[0]);
            y1 = y1.max(p[1]);
        }
        let pose = pose::estimate(&landmarks);
        Ok(Face {
            landmarks,
            pose,
            bbox: [x0, y0, x1 - x0, y1 - y0],
            presence,
        })
    }

    /// Person segmentation over the whole frame.
    pub fn segment(&mut self, img: &RgbImage) -> Result<Mask, VisionError> {
        let small = imgops::resize_rect(
            &mut self.resizer,
            img,
            [0.0, 0.0, img.width() as f64, img.height() as f64],
            SEG_IN,
            SEG_IN,
        );
        imgops::fill_nchw(&small, 0.0, 1.0, self.seg.input_mut());
        let out = self.seg.run()?;
        Ok(Mask {
            prob: out.into_iter().next().unwrap_or_default(),
            frame_w: img.width(),
            frame_h: img.height(),
        })
    }

    /// Hair probability on a square crop around `face` (the 4th input channel, the
    /// previous mask, stays 0: every call is a still).
    pub fn hair(&mut self, img: &RgbImage, face: &Face) -> Result<HairMask, VisionError> {
        let fh = face.height().max(face.width()).max(1.0);
        let (fx, fy) = face.pt(10);
        let cx = (face.pt(234).0 + face.pt(454).0) / 2.0;
        let roi = Roi {
            cx: (cx + fx) / 2.0,
            cy: fy + HAIR_ROI_BELOW_FOREHEAD * fh,
            side: HAIR_ROI_SIDE * fh,
            angle: 0.0,
        };
        let crop = imgops::extract(&mut self.resizer, img, &roi, HAIR_IN);
        let n = (HAIR_IN * HAIR_IN) as usize;
        imgops::fill_nchw(&crop, 0.0, 1.0, &mut self.hair.input_mut()[..3 * n]);
        let out = self.hair.run()?;
        let logits = out.into_iter().next().unwrap_or_default();
        if logits.len() < 2 * n {
            return Err(VisionError::Model {
                model: models::HAIR.name,
                reason: format!("output has {} values, expected {}", logits.len(), 2 * n),
            });
        }
        Ok(HairMask { logits, roi })
    }

    /// Everything a still image needs: all faces (full-range detector, which also finds
    /// small faces), the main face's landmarks, the segmentation mask, and the hair mask
    /// around the face.
    pub fn analyse_still(&mut self, img: &RgbImage) -> Result<Still, VisionError> {
        let (detections, face) = self.faces_in_still(img)?;
        let mask = self.segment(img)?;
        let hair = match &face {
            Some(f) => Some(std::sync::Arc::new(self.hair(img, f)?)),
            None => None,
        };
        Ok(Still {
            detections,
            face,
            mask,
            hair,
        })
    }

    /// The face of a close-up (a finished document photo, where the face fills most of
    /// the frame, more than the detectors and Face Mesh's crops were trained on): the photo
    /// is placed on a larger canvas of its own border colour (its backdrop), so both the
    /// detector's input and the mesh's crop see the face with backdrop around it, not black.
    /// A few canvas sizes and both detectors are tried; the first mesh found is returned,
    /// in the photo's own pixels.
    pub fn face_in_close_up(&mut self, img: &RgbImage) -> Result<Option<Face>, VisionError> {
        for zoom in CLOSE_UP_ZOOMS {
            let (canvas, ox, oy) = imgops::pad_with_border(img, zoom);
            for range in [Range::Short, Range::Full] {
                let mut faces = self.detect(&canvas, range)?;
                faces.sort_by(|a, b| (b.bbox[2] * b.bbox[3]).total_cmp(&(a.bbox[2] * a.bbox[3])));
                if let Some(d) = faces.first() {
                    if let Some(f) = self.mesh_from_detection(&canvas, d)? {
                        return Ok(Some(f.translated(-(ox as f32), -(oy as f32))));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Face Mesh from a detection, refined once on the ROI of its own landmarks.
    fn mesh_from_detection(&mut self, img: &RgbImage, d: &Detection) -> Result<Option<Face>, VisionError> {
        let roi = Self::roi_from_detection(d);
        Ok(match self.landmarks(img, &roi)? {
            Some(f) => self.landmarks(img, &f.next_roi())?.or(Some(f)),
            None => None,
        })
    }

    /// The faces of a still image, largest first, and the main face's landmarks: the
    /// full-range detector (it also finds small faces), the short-range one when it finds
    /// nobody.
    fn faces_in_still(&mut self, img: &RgbImage) -> Result<(Vec<Detection>, Option<Face>), VisionError> {
        let (first, other) = (Range::Full, Range::Short);
        let mut faces = self.detect(img, first)?;
        if faces.is_empty() {
            faces = self.detect(img, other)?;
        }
        // Largest face first: that is the person at the kiosk.
        faces.sort_by(|a, b| (b.bbox[2] * b.bbox[3]).total_cmp(&(a.bbox[2] * a.bbox[3])));
        // A second mesh pass on the ROI from the landmarks themselves, as in tracking:
        // it levels the crop on the eye line and fits it to the mesh.
        let face = match faces.first() {
            Some(d) => self.mesh_from_detection(img, d)?,
            None => None,
        };
        Ok((faces, face))
    }
}

/// The analysis of one still image.
#[derive(Debug, Clone)]
pub struct Still {
    pub detections: Vec<Detection>,
    pub face: Option<Face>,
    pub mask: Mask,
    /// Hair around the main face (none without a face, or where a caller skipped it).
    pub hair: Option<std::sync::Arc<HairMask>>,
}
