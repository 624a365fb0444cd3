//! Vision speed (issue #4 targets): per-frame tracking analysis at 640×480 and 1280×720,
//! detection, segmentation, make-photo from a 1280×720 capture, model load + first frame.
//! Single thread, release. Run: `cargo bench --bench vision`.

use criterion::{criterion_group, criterion_main, Criterion};
use kiosk::config::{Config, DocumentId};
use kiosk::ports::Frame;
use kiosk::ports::Guide;
use kiosk::vision::analysis::{Analyzer, Still};
use kiosk::vision::checks::{self, Measures};
use kiosk::vision::detect::Range;
use kiosk::vision::{LiveGuide, Maker};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn shared() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    [here.join("../shared"), here.join("../../shared")]
        .into_iter()
        .find(|p| p.join("corpus").is_dir())
        .expect("../shared beside the checkout")
}

fn frame(w: u32, h: u32) -> image::RgbImage {
    let img = image::open(shared().join("corpus/frames/good/0035.jpg"))
        .expect("frame")
        .to_rgb8();
    if img.dimensions() == (w, h) {
        img
    } else {
        image::imageops::resize(&img, w, h, image::imageops::FilterType::Triangle)
    }
}

/// Tracking mode: Face Mesh on the ROI from the previous landmarks plus every pixel check
/// (the segmentation mask is reused, as the guide does between its 5 Hz updates).
fn tracking(c: &mut Criterion) {
    let spec = Config::builtin().spec_for(DocumentId::IdCard, None);
    let mut an = Analyzer::new().expect("models");
    for (w, h) in [(640, 480), (1280, 720)] {
        let img = frame(w, h);
        let still = an.analyse_still(&img).expect("analysis");
        let face = still.face.clone().expect("face in the frame");
        let mask = still.mask.clone();
        let hair = still.hair.clone();
        let dets = still.detections.clone();
        c.bench_function(&format!("track_frame_{w}x{h}"), |b| {
            b.iter(|| {
                let f = an.landmarks(&img, &face.next_roi()).unwrap();
                let s = Still {
                    detections: dets.clone(),
                    face: f,
                    mask: mask.clone(),
                    hair: hair.clone(),
                };
                let m = Measures::of(&mut an, &img, &s, &spec);
                black_box(checks::evaluate(&m, &spec));
            })
        });
        c.bench_function(&format!("hair_{w}x{h}"), |b| {
            b.iter(|| black_box(an.hair(&img, &face).unwrap()))
        });
        c.bench_function(&format!("segment_{w}x{h}"), |b| {
            b.iter(|| black_box(an.segment(&img).unwrap()))
        });
        c.bench_function(&format!("detect_short_{w}x{h}"), |b| {
            b.iter(|| black_box(an.detect(&img, Range::Short).unwrap()))
        });
        c.bench_function(&format!("detect_full_{w}x{h}"), |b| {
            b.iter(|| black_box(an.detect(&img, Range::Full).unwrap()))
        });
    }
}

fn make_photo(c: &mut Criterion) {
    let spec = Config::builtin().spec_for(DocumentId::IdCard, None);
    let img = image::open(shared().join("corpus/images/pub_ok_collins_00.jpg"))
        .expect("capture")
        .to_rgb8();
    assert_eq!(img.dimensions(), (1280, 720));
    let mut maker = Maker::new().expect("models");
    c.bench_function("make_photo_1280x720", |b| {
        b.iter(|| black_box(maker.make_photo(&img, &spec).unwrap().is_ok()))
    });
}

/// The live guide over the 40 frames of `corpus/frames/good` (15 fps, 640×480): the
/// amortised per-frame cost of a posing stretch as a session sees it (tracking, detection
/// once per second, segmentation and the background measure at 5 Hz, auto-capture).
/// Divide by 40 for the per-frame mean.
fn guide_sequence(c: &mut Criterion) {
    let spec = Config::builtin().spec_for(DocumentId::IdCard, None);
    let dir = shared().join("corpus/frames/good");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("frames")
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let frames: Vec<Frame> = names
        .iter()
        .enumerate()
        .map(|(i, p)| Frame {
            image: image::open(p).expect("frame").to_rgb8(),
            t_ms: (i as u64 * 1000) / 15,
            index: i as u64,
        })
        .collect();
    let mut g = LiveGuide::new().unwrap();
    c.bench_function(&format!("guide_{}_frames_640x480", frames.len()), |b| {
        b.iter(|| {
            g.reset(&spec);
            for f in &frames {
                black_box(g.analyse(f));
            }
        })
    });
}

fn load_and_first_frame(c: &mut Criterion) {
    let spec = Config::builtin().spec_for(DocumentId::IdCard, None);
    let f = Frame {
        image: frame(640, 480),
        t_ms: 0,
        index: 0,
    };
    // Cold: the plans are built afresh each time (the process-wide cache would make every
    // iteration after the first free).
    c.bench_function("load_models_and_first_frame", |b| {
        b.iter(|| {
            let mut g = LiveGuide::with_analyzer(Analyzer::cold_for_tracking().unwrap());
            g.reset(&spec);
            black_box(g.analyse(&f))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = tracking, guide_sequence, make_photo, load_and_first_frame
}
criterion_main!(benches);
