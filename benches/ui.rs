//! UI benchmarks (see docs/performance-ui.md):
//! - `preview_frame_1280x720`: one preview frame from camera RGB to the Slint image the
//!   posing screen shows (mirror + copy), and the software renderer drawing the posing
//!   screen with it, at 1080×1920. 1/median = the preview frame rate the UI thread can
//!   sustain on one core.
//! - `mjpeg_decode_1280x720`: the capture thread's per-frame JPEG decode.
//! - `cold_start_to_attract`: creating the window with the runtime started and the
//!   attract screen rendered once.
//! - `details_pinyin_render`: the details screen with the pinyin keyboard and a page of
//!   candidates drawn at 1080×1920 (what a key press costs on screen).
//! - `pinyin/index_build`, `pinyin/lookup_*`, `pinyin/type_zhang_pick`: building the
//!   name keyboard's index from the bundled list (once per process, at start), one
//!   candidate lookup (a whole syllable; a single letter, every syllable it starts merged),
//!   and the composer typing `zhang` and picking 张 (docs/performance-ui.md).
//!
//! Run: cargo bench --bench ui

use criterion::{criterion_group, criterion_main, Criterion};
use kiosk::camera::ReplaySource;
use kiosk::runtime::Backends;
use kiosk::testkit::runtime::{PlainMaker, RecordingPrinter, ScriptedGuide, ScriptedUploader};
use kiosk::ui::{AppState, AppWindow, KioskUi};
use slint::ComponentHandle;
use std::path::Path;
use std::time::Duration;

fn frame_1280x720() -> image::RgbImage {
    use kiosk::ports::FrameSource;
    let mut src = ReplaySource::open(Path::new("builtin"), 15.0, false).unwrap();
    let f = src.next_frame().unwrap().image;
    image::imageops::resize(&f, 1280, 720, image::imageops::FilterType::Triangle)
}

fn rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn backends() -> Backends {
    Backends {
        camera: Box::new(ReplaySource::open(Path::new("builtin"), 15.0, false).unwrap()),
        guide: Box::new(ScriptedGuide::new(1_000_000, 10)),
        maker: Box::new(PlainMaker { refuse: false }),
        uploader: Box::new(ScriptedUploader::approving(3)),
        printer: Box::new(RecordingPrinter::default()),
        alerts: Box::new(kiosk::ports::NoConsole),
        idcard: None,
    }
}

fn benches(c: &mut Criterion) {
    slint::platform::set_platform(Box::new(i_slint_backend_testing::TestingBackend::new(
        i_slint_backend_testing::TestingBackendOptions {
            mock_time: true,
            threading: false,
            renderer_name: Some("software".into()),
        },
    )))
    .unwrap();
    let frame = frame_1280x720();
    let mut jpeg = vec![];
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&frame)
        .unwrap();

    let mut g = c.benchmark_group("ui");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));

    g.bench_function("mjpeg_decode_1280x720", |b| {
        b.iter(|| {
            kiosk::camera::v4l::decode(
                nokhwa::utils::FrameFormat::MJPEG,
                nokhwa::utils::Resolution::new(1280, 720),
                &jpeg,
            )
            .unwrap()
        })
    });

    g.bench_function("mirror_to_slint_image_1280x720", |b| {
        b.iter(|| kiosk::ui::convert::preview_image(&frame, true))
    });

    let w = AppWindow::new().unwrap();
    w.window().set_size(slint::PhysicalSize::new(1080, 1920));
    w.show().unwrap();
    let st = w.global::<AppState>();
    st.set_page(kiosk::ui::Page::Posing);
    st.set_has_preview(true);
    st.set_hint("请靠近一些".into());
    g.bench_function("preview_frame_1280x720", |b| {
        b.iter(|| {
            st.set_preview(kiosk::ui::convert::preview_image(&frame, true));
            w.window().take_snapshot().unwrap()
        })
    });
    drop(w);

    // Resident memory with the runtime running a posing session (not a criterion figure).
    {
        let ui = KioskUi::new(
            &kiosk::config::Config::builtin(),
            backends(),
            Box::new(kiosk::ui::audio::Silent),
        )
        .unwrap();
        ui.window().window().set_size(slint::PhysicalSize::new(1080, 1920));
        ui.window().show().unwrap();
        ui.window().global::<AppState>().invoke_start();
        for _ in 0..30 {
            ui.sync();
            ui.window().window().take_snapshot().unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("ui: resident memory with the window and runtime up: {:.1} MB", rss_mb());
    }

    let w = AppWindow::new().unwrap();
    w.window().set_size(slint::PhysicalSize::new(1080, 1920));
    w.show().unwrap();
    let st = w.global::<AppState>();
    st.set_page(kiosk::ui::Page::Details);
    st.set_needs_name(true);
    st.set_needs_id(true);
    st.set_name("张".into());
    st.set_name_pending("san".into());
    let page: Vec<slint::SharedString> = ["三", "散", "伞", "仨", "繖", "糁"].map(Into::into).to_vec();
    st.set_name_candidates(slint::ModelRc::new(slint::VecModel::from(page)));
    g.bench_function("details_pinyin_render", |b| {
        b.iter(|| w.window().take_snapshot().unwrap())
    });
    drop(w);

    g.bench_function("cold_start_to_attract", |b| {
        b.iter(|| {
            let ui = KioskUi::new(
                &kiosk::config::Config::builtin(),
                backends(),
                Box::new(kiosk::ui::audio::Silent),
            )
            .unwrap();
            ui.window().window().set_size(slint::PhysicalSize::new(1080, 1920));
            ui.window().show().unwrap();
            ui.window().window().take_snapshot().unwrap()
        })
    });
    g.finish();
}

fn pinyin_benches(c: &mut Criterion) {
    use kiosk::pinyin::{Composer, Dict, Key};
    const TSV: &str = include_str!("../assets/pinyin/char_freq.tsv");
    let mut g = c.benchmark_group("pinyin");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("index_build", |b| b.iter(|| Dict::from_tsv(TSV)));
    let d = Dict::shared();
    g.bench_function("lookup_zhang", |b| b.iter(|| d.candidates("zhang", true)));
    g.bench_function("lookup_prefix_z", |b| b.iter(|| d.candidates("z", true)));
    g.bench_function("type_zhang_pick", |b| {
        b.iter(|| {
            let mut c = Composer::new(d);
            for l in "zhang".chars() {
                c.press(Key::Letter(l));
            }
            c.press(Key::Pick(0));
            c
        })
    });
    g.finish();
}

criterion_group!(ui, benches, pinyin_benches);
criterion_main!(ui);
