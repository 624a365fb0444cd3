//! `kiosk check-photo` and `kiosk make-photo` through the real binary, on corpus images;
//! the made photo is measured again (size, dpi, KB, background, re-detected face width
//! and eye line).

use assert_cmd::Command;
use kiosk::config::{Config, DocumentId};
use kiosk::vision::analysis::Analyzer;
use kiosk::vision::imgops::{delta_e, lab};
use kiosk::vision::jpeg;
use std::path::{Path, PathBuf};

fn corpus(file: &str) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    [here.join("../shared"), here.join("../../shared")]
        .into_iter()
        .map(|p| p.join("corpus/images").join(file))
        .find(|p| p.exists())
        .expect("../shared/corpus beside the checkout")
}

fn kiosk() -> Command {
    Command::cargo_bin("kiosk").expect("binary")
}

#[test]
fn check_photo_json_lines_in_order_with_unreadable_file_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.jpg");
    std::fs::write(&bad, b"\xFF\xD8 not really a jpeg").unwrap();
    let ok = corpus("pub_ok_obama_00.jpg");
    let eyes = corpus("pub_eyes_bar_collins_2.jpg");
    let out = kiosk()
        .args(["check-photo", "--doc", "id-card", "--json"])
        .arg(&ok)
        .arg(&bad)
        .arg(&eyes)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "an unreadable file gives exit 2");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["image"], ok.display().to_string());
    assert_eq!(lines[0]["doc"], "id-card");
    assert_eq!(lines[0]["pass"], true);
    assert_eq!(lines[0]["checks"].as_array().unwrap().len(), 10);
    for c in lines[0]["checks"].as_array().unwrap() {
        for k in ["name", "pass", "value", "limit", "hint_zh", "hint_en"] {
            assert!(c.get(k).is_some(), "check lacks {k}: {c}");
        }
    }
    assert_eq!(lines[0]["face"]["box"].as_array().unwrap().len(), 4);
    assert!(lines[0]["face"]["roll"].is_number() && lines[0]["ms"].is_number());
    assert_eq!(lines[1]["image"], bad.display().to_string());
    assert!(lines[1]["error"].as_str().unwrap().contains("broken.jpg"));
    assert_eq!(lines[2]["pass"], false);
    assert_eq!(lines[2]["failed"], serde_json::json!(["eyes_visible"]));
    let eyes_check = lines[2]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "eyes_visible")
        .unwrap()
        .clone();
    assert!(!eyes_check["hint_zh"].as_str().unwrap().is_empty() && !eyes_check["hint_en"].as_str().unwrap().is_empty());
}

#[test]
fn check_photo_text_and_exit_codes() {
    let ok = corpus("pub_ok_hv_test3_01.png");
    kiosk()
        .args(["check-photo", "--doc", "id-card"])
        .arg(&ok)
        .assert()
        .code(0)
        .stdout(predicates::str::contains("PASS"));
    let far = corpus("pub_toofar_obama_0.jpg");
    kiosk()
        .args(["check-photo", "--doc", "id-card"])
        .arg(&ok)
        .arg(&far)
        .assert()
        .code(1)
        .stdout(predicates::str::contains("face_size").and(predicates::str::contains("请靠近一些")));
}

use predicates::prelude::*;

fn make(doc: &str, input: &Path, out: &Path) -> (Option<i32>, serde_json::Value) {
    let o = kiosk()
        .args(["make-photo", "--doc", doc, "--json"])
        .arg(input)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("json report: {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code(), v)
}

#[test]
fn make_photo_id_card_meets_the_standard_when_measured_again() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Config::builtin().spec_for(DocumentId::IdCard, None);
    let mut an = Analyzer::new().unwrap();
    for src in ["pub_ok_collins_00.jpg", "pub_ok_obama_02.jpg", "pub_ok_hv_test3_01.png"] {
        let out = dir.path().join(format!("{src}.jpg"));
        let (code, report) = make("id-card", &corpus(src), &out);
        assert_eq!(code, Some(0), "{src}: {report}");
        for name in ["output_size", "file_size", "output_geometry"] {
            assert!(
                report["checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["name"] == name && c["pass"] == true),
                "{src}: {name}"
            );
        }
        let bytes = std::fs::read(&out).unwrap();
        let kb = bytes.len() as f64 / 1024.0;
        assert!((14.0..=20.0).contains(&kb), "{src}: {kb} KB");
        assert_eq!(jpeg::jfif_density(&bytes), Some((1, 350, 350)));
        assert!(jpeg::is_baseline(&bytes));
        let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (358, 441));
        // Re-detect the face on the output with the library itself.
        let face = an.face_in_close_up(&img).unwrap().expect("face on the output");
        let fw = face.width();
        assert!((193.0..=221.0).contains(&fw), "{src}: face width {fw}");
        let eye_from_bottom = 441.0 - face.eye_mid().1;
        assert!(eye_from_bottom >= 207.0, "{src}: eye line {eye_from_bottom}");
        // Background: the top corners are the document's white.
        for (x, y) in [(3, 3), (354, 3), (3, 60), (354, 60)] {
            let de = delta_e(lab(img.get_pixel(x, y).0), lab([255, 255, 255]));
            assert!(de <= 10.0, "{src}: background ΔE {de} at ({x},{y})");
        }
        // No temporary files left beside the output.
        assert_eq!(
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| e.as_ref().unwrap().path().extension().is_none_or(|x| x != "jpg"))
                .count(),
            0
        );
    }
    let _ = spec;
}

#[test]
fn make_photo_exit_entry_size_and_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ee.jpg");
    let (code, report) = make("exit-entry", &corpus("pub_ok_obama_01.jpg"), &out);
    assert_eq!(code, Some(0), "{report}");
    let bytes = std::fs::read(&out).unwrap();
    assert!((20.0..=80.0).contains(&(bytes.len() as f64 / 1024.0)));
    assert_eq!(jpeg::jfif_density(&bytes), Some((1, 300, 300)));
    assert_eq!(
        image::load_from_memory(&bytes).unwrap().to_rgb8().dimensions(),
        (354, 472)
    );
}

#[test]
fn make_photo_refuses_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never.jpg");
    let (code, report) = make("id-card", &corpus("pub_eyes_sunglasses_obama_3.jpg"), &out);
    assert_eq!(code, Some(1));
    assert_eq!(report["pass"], false);
    assert!(report["failed"].as_array().unwrap().iter().any(|f| f == "eyes_visible"));
    assert!(!out.exists());
    // An unreadable input is an error (exit 2) and also writes nothing.
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, b"nope").unwrap();
    kiosk()
        .args(["make-photo", "--doc", "id-card"])
        .arg(&bad)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("bad.png"));
    assert!(!out.exists());
}

#[test]
fn make_photo_driving_licence_meets_head_width_and_length_when_measured_again() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Config::builtin().spec_for(DocumentId::DrivingLicence, None);
    let (hw, hl) = (spec.head_width.unwrap(), spec.head_length.unwrap());
    let mut an = Analyzer::new().unwrap();
    // Short hair: the head (with its hair, above the ears) meets both ranges. Long or
    // voluminous hair is refused with the reason (docs/vision.md, known gaps).
    for src in ["pub_ok_obama_00.jpg", "pub_ok_obama_04.jpg"] {
        let out = dir.path().join(format!("{src}.jpg"));
        let (code, report) = make("driving-licence", &corpus(src), &out);
        assert_eq!(code, Some(0), "{src}: {report}");
        let g = &report["output_geometry"];
        let (w, l) = (g["head_width"].as_f64().unwrap(), g["head_length"].as_f64().unwrap());
        assert!((hw.min as f64..=hw.max as f64).contains(&w), "{src}: head width {w}");
        assert!((hl.min as f64..=hl.max as f64).contains(&l), "{src}: head length {l}");
        let hair = g["hair_top"].as_f64().unwrap();
        assert!((10.0..=20.0).contains(&hair), "{src}: hair top {hair}");
        let bytes = std::fs::read(&out).unwrap();
        let kb = bytes.len() as f64 / 1024.0;
        assert!((14.0..=30.0).contains(&kb), "{src}: {kb} KB");
        assert_eq!(jpeg::jfif_density(&bytes), Some((1, 300, 300)));
        assert!(jpeg::is_baseline(&bytes));
        let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (260, 378));
        // Re-detected on the output with the library: the face is there, centred, with the
        // chin inside the head length measured from the hair top.
        let still = an.analyse_still(&img).unwrap();
        let face = still.face.expect("face on the output");
        let cx = (face.pt(234).0 + face.pt(454).0) / 2.0 / 260.0;
        assert!((0.45..=0.55).contains(&cx), "{src}: centre {cx}");
        let chin_from_hair = face.pt(152).1 as f64 - hair;
        assert!((chin_from_hair - l).abs() <= 3.0, "{src}: chin {chin_from_hair} vs {l}");
        // The width measure itself, on the re-segmented output: inside the range too.
        let w2 = kiosk::vision::geometry::head_width(&face, |x, y| still.mask.at(x, y)) as f64;
        assert!(
            (hw.min as f64 - 8.0..=hw.max as f64 + 8.0).contains(&w2),
            "{src}: re-segmented head width {w2}"
        );
    }
}

#[test]
fn make_photo_driving_licence_refuses_voluminous_hair_with_the_head_width() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dl.jpg");
    let (code, report) = make("driving-licence", &corpus("pub_ok_collins_00.jpg"), &out);
    assert_eq!(code, Some(1), "{report}");
    let geo = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "output_geometry")
        .expect("output_geometry reported");
    assert!(geo["value"].as_str().unwrap().contains("head width"), "{geo}");
    assert!(!out.exists());
}

/// A cat's face is no face: Face Mesh forced onto the cat's head (as if a detector had
/// boxed it) gives a mesh that fails the presence and human-proportion rules, so
/// `face_count` fails with "no face". A human face through the same path passes.
#[test]
fn a_cats_face_forced_through_the_mesh_is_not_a_human_face() {
    use kiosk::vision::checks::{evaluate, Measures};
    use kiosk::vision::imgops::Roi;
    let spec = Config::builtin().spec_for(DocumentId::IdCard, None);
    let img = image::open(corpus("pub_noface_chelsea.jpg")).unwrap().to_rgb8();
    let mut an = Analyzer::new().unwrap();
    // The cat's head fills most of the 640×480 frame; try a few boxes around it.
    for (cx, cy, side) in [(360.0, 260.0, 600.0), (350.0, 240.0, 450.0), (380.0, 300.0, 380.0)] {
        let roi = Roi {
            cx,
            cy,
            side,
            angle: 0.0,
        };
        let face = an.mesh_on(&img, &roi).unwrap();
        let mut still = an.analyse_still(&img).unwrap();
        still.face = Some(face);
        let m = Measures::of(&mut an, &img, &still, &spec);
        let f = m.face.as_ref().unwrap();
        println!("roi {cx},{cy},{side}: shape {:?}", f.shape);
        assert!(
            !f.is_human(&spec.limits.checks),
            "the cat passed as human: {:?}",
            f.shape
        );
        let face_count = evaluate(&m, &spec)
            .into_iter()
            .find(|c| c.name == "face_count")
            .unwrap();
        assert!(!face_count.pass && face_count.value == 0.0, "{face_count:?}");
    }
    // The same path on a person: a human face.
    let person = image::open(corpus("pub_ok_obama_00.jpg")).unwrap().to_rgb8();
    let still = an.analyse_still(&person).unwrap();
    let roi = still.face.as_ref().expect("a face").next_roi();
    let face = an.mesh_on(&person, &roi).unwrap();
    let mut still = still;
    still.face = Some(face);
    let m = Measures::of(&mut an, &person, &still, &spec);
    assert!(
        m.face.as_ref().unwrap().is_human(&spec.limits.checks),
        "{:?}",
        m.face.unwrap().shape
    );
}

#[test]
fn a_20000_square_png_is_refused_from_its_header_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("huge-20000.png");
    std::fs::write(&big, kiosk::testkit::bombs::png_claiming(20000, 20000)).unwrap();
    let t0 = std::time::Instant::now();
    let out = kiosk()
        .args(["check-photo", "--doc", "id-card"])
        .arg(&big)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("huge-20000.png"), "names the file: {text}");
    assert!(text.contains("20000×20000") && text.contains("40 megapixels"), "{text}");
    let out = kiosk()
        .args(["make-photo", "--doc", "id-card", "--max-megapixels", "10"])
        .arg(&big)
        .arg("-o")
        .arg(dir.path().join("out.jpg"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("huge-20000.png") && err.contains("10 megapixels"), "{err}");
    assert!(!dir.path().join("out.jpg").exists());
    // Not decoded: well under the seconds a 1.2 GB decode takes (the models load once).
    assert!(t0.elapsed() < std::time::Duration::from_secs(60), "{:?}", t0.elapsed());
    let out = kiosk()
        .args(["check-photo", "--doc", "id-card", "--max-megapixels", "0"])
        .arg(&big)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "0 megapixels is refused by clap");
}
