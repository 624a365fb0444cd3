//! BlazeFace decoding (MediaPipe short- and full-range face detectors): SSD anchors,
//! box/keypoint decoding, weighted NMS, and mapping back through the letterbox.

/// One detected face in frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// x, y, w, h in frame pixels.
    pub bbox: [f32; 4],
    /// Six keypoints: right eye, left eye, nose tip, mouth, right tragion, left tragion.
    pub keypoints: [(f32, f32); 6],
    pub score: f32,
}

/// Which BlazeFace variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Short,
    Full,
}

impl Range {
    pub fn input(self) -> usize {
        match self {
            Range::Short => 128,
            Range::Full => 192,
        }
    }
}

/// Anchor centres in input-relative units (0..1), in the model's output order.
pub fn anchors(range: Range) -> Vec<(f32, f32)> {
    // (feature map size, anchors per cell); layers sharing a stride share one grid.
    let grids: &[(usize, usize)] = match range {
        Range::Short => &[(16, 2), (8, 6)],
        Range::Full => &[(48, 1)],
    };
    let mut out = Vec::new();
    for &(fm, per_cell) in grids {
        for y in 0..fm {
            for x in 0..fm {
                let c = ((x as f32 + 0.5) / fm as f32, (y as f32 + 0.5) / fm as f32);
                out.extend(std::iter::repeat_n(c, per_cell));
            }
        }
    }
    out
}

/// MediaPipe's default min_detection_confidence.
pub const MIN_SCORE: f32 = 0.5;
/// Weighted-NMS overlap threshold.
pub const NMS_IOU: f32 = 0.3;

/// Decodes raw outputs into detections in input-relative units (0..1 of the square input).
pub fn decode(range: Range, anchors: &[(f32, f32)], regressors: &[f32], logits: &[f32]) -> Vec<Detection> {
    let s = range.input() as f32;
    let mut raw = Vec::new();
    for (i, &(ax, ay)) in anchors.iter().enumerate() {
        let score = 1.0 / (1.0 + (-logits[i].clamp(-100.0, 100.0)).exp());
        if score < MIN_SCORE {
            continue;
        }
        let r = &regressors[i * 16..i * 16 + 16];
        let (cx, cy, w, h) = (r[0] / s + ax, r[1] / s + ay, r[2] / s, r[3] / s);
        let mut keypoints = [(0.0, 0.0); 6];
        for (k, kp) in keypoints.iter_mut().enumerate() {
            *kp = (r[4 + 2 * k] / s + ax, r[5 + 2 * k] / s + ay);
        }
        raw.push(Detection {
            bbox: [cx - w / 2.0, cy - h / 2.0, w, h],
            keypoints,
            score,
        });
    }
    weighted_nms(raw)
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let x0 = a[0].max(b[0]);
    let y0 = a[1].max(b[1]);
    let x1 = (a[0] + a[2]).min(b[0] + b[2]);
    let y1 = (a[1] + a[3]).min(b[1] + b[3]);
    let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
    let union = a[2] * a[3] + b[2] * b[3] - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// MediaPipe's weighted NMS: each cluster is averaged with score weights and keeps its top score.
pub fn weighted_nms(mut dets: Vec<Detection>) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while !dets.is_empty() {
        let top = dets[0].clone();
        let (cluster, rest): (Vec<_>, Vec<_>) = dets.into_iter().partition(|d| iou(&d.bbox, &top.bbox) > NMS_IOU);
        dets = rest;
        let total: f32 = cluster.iter().map(|d| d.score).sum();
        let mut merged = Detection {
            bbox: [0.0; 4],
            keypoints: [(0.0, 0.0); 6],
            score: top.score,
        };
        for d in &cluster {
            let w = d.score / total;
            for k in 0..4 {
                merged.bbox[k] += d.bbox[k] * w;
            }
            for k in 0..6 {
                merged.keypoints[k].0 += d.keypoints[k].0 * w;
                merged.keypoints[k].1 += d.keypoints[k].1 * w;
            }
        }
        out.push(merged);
    }
    out
}

/// Maps a detection from letterbox-relative units back to frame pixels. The letterbox
/// is a square of side `side` (the frame's long side) centred on the frame.
pub fn unletterbox(d: &Detection, frame_w: u32, frame_h: u32) -> Detection {
    let side = frame_w.max(frame_h) as f32;
    let (px, py) = ((side - frame_w as f32) / 2.0, (side - frame_h as f32) / 2.0);
    let map = |x: f32, y: f32| (x * side - px, y * side - py);
    let (x, y) = map(d.bbox[0], d.bbox[1]);
    let mut keypoints = d.keypoints;
    for kp in keypoints.iter_mut() {
        *kp = map(kp.0, kp.1);
    }
    Detection {
        bbox: [x, y, d.bbox[2] * side, d.bbox[3] * side],
        keypoints,
        score: d.score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_counts_match_the_models() {
        assert_eq!(anchors(Range::Short).len(), 896);
        assert_eq!(anchors(Range::Full).len(), 2304);
        let a = anchors(Range::Short);
        assert_eq!(a[0], (0.5 / 16.0, 0.5 / 16.0));
        assert_eq!(a[1], a[0]);
        assert_eq!(a[512], (0.5 / 8.0, 0.5 / 8.0));
    }

    #[test]
    fn nms_merges_overlaps_and_keeps_separate_faces() {
        let d = |x: f32, s: f32| Detection {
            bbox: [x, 0.1, 0.2, 0.2],
            keypoints: [(x, 0.1); 6],
            score: s,
        };
        let out = weighted_nms(vec![d(0.1, 0.9), d(0.11, 0.6), d(0.6, 0.7)]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        assert!(out[0].bbox[0] > 0.1 && out[0].bbox[0] < 0.11);
    }

    #[test]
    fn unletterbox_maps_back_to_frame_pixels() {
        let d = Detection {
            bbox: [0.5, 0.5, 0.1, 0.1],
            keypoints: [(0.5, 0.5); 6],
            score: 1.0,
        };
        let m = unletterbox(&d, 640, 480);
        assert_eq!(m.bbox, [320.0, 240.0, 64.0, 64.0]);
    }
}
