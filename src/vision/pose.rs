//! Head pose by fitting Face Mesh landmarks (x, y, z) to a fixed 3-D reference face:
//! MediaPipe's canonical face model (`canonical_face_model.obj`, Apache-2.0), with a
//! similarity transform (Horn's quaternion method). The canonical face looks straight
//! at the camera, so a rotation of identity means yaw = pitch = roll = 0: no zero offset
//! is fitted to any image.

/// Mesh indices used for the fit and their canonical coordinates (x right of the subject's
/// left, y up, z towards the viewer), copied from `canonical_face_model.obj` (vertex i+1).
pub const REFERENCE: [(usize, [f32; 3]); 12] = [
    (1, [0.0, -1.126865, 7.475604]),         // nose tip
    (10, [0.0, 8.261778, 4.481535]),         // forehead top
    (152, [0.0, -9.403378, 4.264492]),       // chin
    (33, [-4.445859, 2.663991, 3.173422]),   // right eye outer corner
    (133, [-1.856432, 2.585245, 3.757904]),  // right eye inner corner
    (263, [4.445859, 2.663991, 3.173422]),   // left eye outer corner
    (362, [1.856432, 2.585245, 3.757904]),   // left eye inner corner
    (61, [-2.456206, -4.342621, 4.283884]),  // mouth corner right
    (291, [2.456206, -4.342621, 4.283884]),  // mouth corner left
    (234, [-7.664182, 0.673132, -2.435867]), // face side right
    (454, [7.664182, 0.673132, -2.435867]),  // face side left
    (168, [0.0, 3.271027, 5.236015]),        // between the eyes
];

/// Angles in degrees. yaw > 0: the nose points to the image's right (the subject turned
/// to their own left); pitch > 0: the chin is down; roll > 0: the subject's left eye (image
/// right) is lower.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Pose {
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
}

/// Fits the landmarks (frame pixels, z on the x scale, negative towards the camera).
pub fn estimate(landmarks: &[[f32; 3]]) -> Pose {
    // Reference in image-like axes: x right, y down, z away from the camera.
    let refs = REFERENCE;
    let refp: Vec<[f64; 3]> = refs
        .iter()
        .map(|(_, p)| [p[0] as f64, -p[1] as f64, -p[2] as f64])
        .collect();
    let obs: Vec<[f64; 3]> = refs
        .iter()
        .map(|(i, _)| {
            let l = landmarks[*i];
            [l[0] as f64, l[1] as f64, l[2] as f64]
        })
        .collect();
    // Yaw and roll from the full 3-D fit (the mesh depth helps most for yaw); pitch from
    // the image positions alone (weak perspective, as solvePnP does), because the mesh's
    // learned depth of forehead and chin tilts the 3-D pitch of frontal faces.
    let full = angles(&fit_rotation(&refp, &obs));
    let planar = angles(&fit_weak_perspective(&refp, &obs));
    Pose {
        pitch: planar.pitch,
        ..full
    }
}

/// Weak-perspective fit: least-squares affine camera `[x y] = M·X + t`, then the nearest
/// rotation from M's two rows (normalised, orthogonalised, completed by their cross product).
pub fn fit_weak_perspective(refp: &[[f64; 3]], obs: &[[f64; 3]]) -> [[f64; 3]; 3] {
    let (a, b) = (centred(refp), centred(obs));
    // Normal equations A^T A m = A^T b for each image axis.
    let mut ata = [[0.0; 3]; 3];
    let mut atb = [[0.0; 3]; 2];
    for (p, q) in a.iter().zip(&b) {
        for i in 0..3 {
            for j in 0..3 {
                ata[i][j] += p[i] * p[j];
            }
            atb[0][i] += p[i] * q[0];
            atb[1][i] += p[i] * q[1];
        }
    }
    let inv = invert3(&ata);
    let row = |k: usize| -> [f64; 3] {
        let mut r = [0.0; 3];
        for i in 0..3 {
            r[i] = (0..3).map(|j| inv[i][j] * atb[k][j]).sum();
        }
        r
    };
    let norm = |v: [f64; 3]| {
        let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt().max(1e-12);
        [v[0] / n, v[1] / n, v[2] / n]
    };
    let r1 = norm(row(0));
    let m2 = row(1);
    let d = r1[0] * m2[0] + r1[1] * m2[1] + r1[2] * m2[2];
    let r2 = norm([m2[0] - d * r1[0], m2[1] - d * r1[1], m2[2] - d * r1[2]]);
    let r3 = [
        r1[1] * r2[2] - r1[2] * r2[1],
        r1[2] * r2[0] - r1[0] * r2[2],
        r1[0] * r2[1] - r1[1] * r2[0],
    ];
    [r1, r2, r3]
}

fn invert3(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let d = if det.abs() < 1e-12 { 1e-12 } else { det };
    let c = |r0: usize, c0: usize, r1: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    [
        [c(1, 1, 2, 2) / d, -c(0, 1, 2, 2) / d, c(0, 1, 1, 2) / d],
        [-c(1, 0, 2, 2) / d, c(0, 0, 2, 2) / d, -c(0, 0, 1, 2) / d],
        [c(1, 0, 2, 1) / d, -c(0, 0, 2, 1) / d, c(0, 0, 1, 1) / d],
    ]
}

fn centred(p: &[[f64; 3]]) -> Vec<[f64; 3]> {
    let n = p.len() as f64;
    let mut m = [0.0; 3];
    for q in p {
        for k in 0..3 {
            m[k] += q[k] / n;
        }
    }
    p.iter().map(|q| [q[0] - m[0], q[1] - m[1], q[2] - m[2]]).collect()
}

/// Rotation R minimising Σ|obs − (s R ref + t)|² (Horn 1987, unit quaternions).
pub fn fit_rotation(refp: &[[f64; 3]], obs: &[[f64; 3]]) -> [[f64; 3]; 3] {
    let (a, b) = (centred(refp), centred(obs));
    let mut s = [[0.0; 3]; 3];
    for (p, q) in a.iter().zip(&b) {
        for i in 0..3 {
            for j in 0..3 {
                s[i][j] += p[i] * q[j];
            }
        }
    }
    let (sxx, sxy, sxz) = (s[0][0], s[0][1], s[0][2]);
    let (syx, syy, syz) = (s[1][0], s[1][1], s[1][2]);
    let (szx, szy, szz) = (s[2][0], s[2][1], s[2][2]);
    let n = [
        [sxx + syy + szz, syz - szy, szx - sxz, sxy - syx],
        [syz - szy, sxx - syy - szz, sxy + syx, szx + sxz],
        [szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy],
        [sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz],
    ];
    let q = top_eigenvector(n);
    let (w, x, y, z) = (q[0], q[1], q[2], q[3]);
    [
        [
            w * w + x * x - y * y - z * z,
            2.0 * (x * y - w * z),
            2.0 * (x * z + w * y),
        ],
        [
            2.0 * (x * y + w * z),
            w * w - x * x + y * y - z * z,
            2.0 * (y * z - w * x),
        ],
        [
            2.0 * (x * z - w * y),
            2.0 * (y * z + w * x),
            w * w - x * x - y * y + z * z,
        ],
    ]
}

/// Eigenvector of the largest eigenvalue of a symmetric 4×4 matrix (cyclic Jacobi).
fn top_eigenvector(mut a: [[f64; 4]; 4]) -> [f64; 4] {
    let mut v = [[0.0; 4]; 4];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _sweep in 0..50 {
        let off: f64 = (0..4)
            .flat_map(|i| (0..4).map(move |j| (i, j)))
            .filter(|(i, j)| i != j)
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-18 {
            break;
        }
        for p in 0..4 {
            for q in p + 1..4 {
                if a[p][q].abs() < 1e-30 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (rp, rq) = (a[p], a[q]);
                for k in 0..4 {
                    a[p][k] = c * rp[k] - s * rq[k];
                    a[q][k] = s * rp[k] + c * rq[k];
                }
                for row in v.iter_mut() {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
    let best = (0..4).max_by(|&i, &j| a[i][i].total_cmp(&a[j][j])).unwrap_or(0);
    [v[0][best], v[1][best], v[2][best], v[3][best]]
}

/// R = Rz(roll) · Ry(−yaw) · Rx(pitch) in image axes.
fn angles(r: &[[f64; 3]; 3]) -> Pose {
    let phi = (-r[2][0]).clamp(-1.0, 1.0).asin();
    let pitch = r[2][1].atan2(r[2][2]);
    let roll = r[1][0].atan2(r[0][0]);
    Pose {
        yaw: (-phi).to_degrees() as f32,
        pitch: pitch.to_degrees() as f32,
        roll: roll.to_degrees() as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rot(yaw: f64, pitch: f64, roll: f64) -> [[f64; 3]; 3] {
        let (a, b, c) = (-yaw.to_radians(), pitch.to_radians(), roll.to_radians());
        let rz = [[c.cos(), -c.sin(), 0.0], [c.sin(), c.cos(), 0.0], [0.0, 0.0, 1.0]];
        let ry = [[a.cos(), 0.0, a.sin()], [0.0, 1.0, 0.0], [-a.sin(), 0.0, a.cos()]];
        let rx = [[1.0, 0.0, 0.0], [0.0, b.cos(), -b.sin()], [0.0, b.sin(), b.cos()]];
        let mul = |m: [[f64; 3]; 3], n: [[f64; 3]; 3]| {
            let mut o = [[0.0; 3]; 3];
            for i in 0..3 {
                for j in 0..3 {
                    o[i][j] = (0..3).map(|k| m[i][k] * n[k][j]).sum();
                }
            }
            o
        };
        mul(mul(rz, ry), rx)
    }

    fn synth(yaw: f64, pitch: f64, roll: f64) -> Vec<[f32; 3]> {
        let r = rot(yaw, pitch, roll);
        let mut lm = vec![[0f32; 3]; 468];
        for (i, p) in REFERENCE {
            let q = [p[0] as f64, -p[1] as f64, -p[2] as f64];
            let o: Vec<f64> = (0..3)
                .map(|k| 20.0 * (r[k][0] * q[0] + r[k][1] * q[1] + r[k][2] * q[2]))
                .collect();
            lm[i] = [(o[0] + 320.0) as f32, (o[1] + 240.0) as f32, o[2] as f32];
        }
        lm
    }

    #[test]
    fn recovers_known_rotations() {
        for &(y, p, r) in &[(0.0, 0.0, 0.0), (10.0, -4.0, 3.0), (-7.0, 6.0, -20.0)] {
            let pose = estimate(&synth(y, p, r));
            assert!((pose.yaw as f64 - y).abs() < 0.1, "{pose:?} vs {y}");
            assert!((pose.pitch as f64 - p).abs() < 0.1, "{pose:?} vs {p}");
            assert!((pose.roll as f64 - r).abs() < 0.1, "{pose:?} vs {r}");
        }
    }

    #[test]
    fn yaw_sign_follows_the_nose() {
        // Nose tip moves to the image's right for positive yaw.
        let lm = synth(15.0, 0.0, 0.0);
        assert!(lm[1][0] > 320.0);
        let lm = synth(0.0, 15.0, 0.0);
        assert!(lm[1][1] > synth(0.0, 0.0, 0.0)[1][1], "chin down moves the nose down");
    }
}
