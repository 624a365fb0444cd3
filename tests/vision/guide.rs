//! Live guidance and auto-capture on the replay frames of `../shared/corpus/frames/`,
//! replayed at 15 fps without looping (time comes from the frames' own timestamps).

use kiosk::camera::{CameraError, FrameSource, ReplaySource};
use kiosk::config::{Config, DocumentId};
use kiosk::ports::{Guide, GuideOutput};
use kiosk::vision::LiveGuide;
use std::path::{Path, PathBuf};

fn frames_dir(name: &str) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    [here.join("../shared"), here.join("../../shared")]
        .into_iter()
        .map(|p| p.join("corpus/frames").join(name))
        .find(|p| p.is_dir())
        .expect("../shared/corpus/frames beside the checkout")
}

/// Runs the guide over every frame; returns (frame index, output) per frame.
fn replay(name: &str) -> Vec<(u64, GuideOutput)> {
    let mut src = ReplaySource::open(&frames_dir(name), 15.0, false).expect("replay opens");
    let mut guide = LiveGuide::new().expect("models load");
    guide.reset(&Config::builtin().spec_for(DocumentId::IdCard, None));
    let mut out = vec![];
    loop {
        match src.next_frame() {
            Ok(f) => out.push((f.index, guide.analyse(&f))),
            Err(CameraError::EndOfStream { .. }) => break,
            Err(e) => panic!("replay failed: {e}"),
        }
    }
    out
}

#[test]
fn good_sequence_captures_inside_the_compliant_stretch() {
    let outs = replay("good");
    let n = outs.len() as u64;
    assert_eq!(n, 40);
    for (i, o) in &outs {
        println!(
            "frame {i}: ok={} hint={:?} captured={}",
            o.pose_ok,
            o.hint.as_ref().map(|h| h.id.as_str()),
            o.captured.is_some()
        );
    }
    let captures: Vec<_> = outs.iter().filter(|(_, o)| o.captured.is_some()).collect();
    assert_eq!(captures.len(), 1, "exactly one capture");
    let (at, o) = captures[0];
    assert!(*at >= n - 22, "captured at frame {at}, before the compliant stretch");
    let img = o.captured.as_ref().expect("capture");
    assert_eq!(img.dimensions(), (640, 480));
    // The early frames (too far, off-centre) get a size or position hint, never a capture.
    let early: Vec<&str> = outs[..5]
        .iter()
        .filter_map(|(_, o)| o.hint.as_ref().map(|h| h.id.as_str()))
        .collect();
    assert!(
        early
            .iter()
            .all(|h| ["face_count", "face_size", "face_position"].contains(h)),
        "{early:?}"
    );
}

#[test]
fn never_good_sequence_never_captures_and_asks_about_the_eyes() {
    let outs = replay("never-good");
    assert!(outs.iter().all(|(_, o)| o.captured.is_none()));
    let last = outs
        .last()
        .and_then(|(_, o)| o.hint.clone())
        .expect("a hint on the last frame");
    assert_eq!(last.id, "eyes_visible");
    assert!(!last.zh.is_empty() && !last.en.is_empty());
}

/// Every compliant corpus image (both manifests), held still for 2 s of replay at 15 fps:
/// the live guide must capture, as `check-photo` passes the same image.
#[test]
fn the_live_guide_captures_every_compliant_image_held_still_for_two_seconds() {
    use kiosk::ports::Frame;
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = [here.join("../shared"), here.join("../../shared")]
        .into_iter()
        .map(|p| p.join("corpus"))
        .find(|p| p.join("manifest.csv").exists())
        .expect("../shared/corpus beside the checkout");
    let spec = Config::builtin().spec_for(DocumentId::IdCard, None);
    let mut guide = LiveGuide::new().expect("models load");
    let mut missed = vec![];
    let mut n = 0;
    for row in kiosk::vision::calibrate::corpus_rows(&root).expect("manifests") {
        if !row.expect_pass {
            continue;
        }
        n += 1;
        let img = image::open(&row.path).expect("corpus image").to_rgb8();
        guide.reset(&spec);
        let mut captured_at = None;
        let mut last_hint = None;
        for i in 0..30u64 {
            let frame = Frame {
                image: img.clone(),
                t_ms: i * 1000 / 15,
                index: i,
            };
            let o = guide.analyse(&frame);
            last_hint = o.hint.map(|h| h.id);
            if o.captured.is_some() {
                captured_at = Some(i);
                break;
            }
        }
        let name = row.path.display();
        println!("{name:70} captured at {captured_at:?} last hint {last_hint:?}");
        if captured_at.is_none() {
            missed.push(format!("{name}: {last_hint:?}"));
        }
    }
    assert!(n >= 80, "pass images of both manifests: {n}");
    assert!(missed.is_empty(), "no capture within 2 s: {missed:?}");
}
