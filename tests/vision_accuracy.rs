//! Corpus accuracy: the validator on every labelled capture of `../shared/corpus`.
//! ≥ 99 % of `pass` images must pass; ≥ 97 % of `fail` images must fail with at least one
//! of their listed reasons. Run with `--nocapture` to see the per-image measures.

use kiosk::config::{Config, DocumentId};
use kiosk::vision::Validator;
use std::path::Path;

/// `../shared` beside the checkout (CI); worktrees one level deeper find it at `../../shared`.
fn shared_dir() -> std::path::PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    [here.join("../shared"), here.join("../../shared")]
        .into_iter()
        .find(|p| p.join("corpus/manifest.csv").exists())
        .expect("../shared/corpus (the shared test corpus) must sit beside the checkout")
}

#[test]
fn corpus_accuracy() {
    let root = shared_dir().join("corpus");
    let manifest = std::fs::read_to_string(root.join("manifest.csv")).expect("corpus manifest");
    let cfg = Config::builtin();
    let mut v = Validator::new().expect("models load");
    let (mut pass_n, mut pass_ok, mut fail_n, mut fail_ok) = (0, 0, 0, 0);
    let mut misses = vec![];
    for line in manifest.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (file, doc, expect, reasons) = (f[0], f[1], f[2], f[3]);
        let doc: DocumentId = doc.parse().expect("doc id");
        let spec = cfg.spec_for(doc, None);
        let img = image::open(root.join(file)).expect("corpus image").to_rgb8();
        let r = v.check(&img, &spec).expect("analysis");
        let failed = r.failed();
        if let Some(m) = &r.measures.face {
            println!(
                "{file:55} {expect:4} {:30} got {:40} n={} fw={:.0} yaw={:.1} pitch={:.1} roll={:.1} open={:.2} vis={:.2} luma={:.0} clip={:.2} bal={:.2} glare={:.3} sharp={:.2} fde={:.1} rise={:.2} crown={:.1}/{:.1}/{:.2} bgL={:.1} bgS={:.2}",
                reasons, failed.join(";"), r.measures.faces, m.width, m.pose.yaw, m.pose.pitch, m.pose.roll, m.eye_openness, m.eye_visibility, m.face_luma, m.clipped, m.side_balance, m.glare, m.sharpness, m.forehead_de, m.rise, m.crown.0, m.crown.1, m.crown.2, r.measures.background_l, r.measures.background_share
            );
        } else {
            println!(
                "{file:55} {expect:4} {reasons:30} got {:40} (no face) bgL={:.1} bgS={:.2}",
                failed.join(";"),
                r.measures.background_l,
                r.measures.background_share
            );
        }
        if expect == "pass" {
            pass_n += 1;
            if failed.is_empty() {
                pass_ok += 1;
            } else {
                misses.push(format!("{file}: expected pass, failed {failed:?}"));
            }
        } else {
            fail_n += 1;
            if reasons.split(';').any(|c| failed.contains(&c)) {
                fail_ok += 1;
            } else {
                misses.push(format!("{file}: expected one of {reasons}, failed {failed:?}"));
            }
        }
    }
    println!("pass images passing: {pass_ok}/{pass_n}; fail images failing with a listed reason: {fail_ok}/{fail_n}");
    for m in &misses {
        println!("MISS {m}");
    }
    assert!(pass_n > 0 && fail_n > 0);
    assert!(
        pass_ok as f64 >= 0.99 * pass_n as f64,
        "pass accuracy {pass_ok}/{pass_n}"
    );
    assert!(
        fail_ok as f64 >= 0.97 * fail_n as f64,
        "fail accuracy {fail_ok}/{fail_n}"
    );
}
