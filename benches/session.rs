//! Whole-session benchmark (issue #8): the machine time of one session excluding the
//! person's own posing — capture → make-photo → upload → review (embedded centre,
//! auto-approve at once) → the confirmed cut on the printer emulator over a real pty at
//! 115200 baud (target ≤ 3 s) — and, separately, the posing stage on the `good/` frames.
//! Sessions run through `kiosk::simulate::one_session`, the code path of `kiosk simulate`.

use criterion::{criterion_group, criterion_main, Criterion};
use kiosk::config::{Config, DocumentId};
use kiosk::runtime::Engine;
use std::path::Path;
use std::time::Duration;

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("lp");
    let _sim = kiosk::printer_sim::start(&kiosk::printer_sim::SimArgs::new(&link, &dir.path().join("out"))).unwrap();
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/frames/good");
    let mut cfg = Config::builtin();
    cfg.kiosk.data_dir = dir.path().join("data");
    cfg.devices.camera = format!("replay:{}@15", good.display()).parse().unwrap();
    cfg.devices.printer = format!("serial:{},115200,80", link.display()).parse().unwrap();
    cfg.devices.review = "embedded".parse().unwrap();
    let mut engine = Engine::new(&cfg, kiosk::wiring::backends_with(&cfg, false, Duration::ZERO).unwrap());
    let region = "440100".parse().unwrap();
    let session = |engine: &mut Engine| {
        engine.set_camera(kiosk::camera::open_with(&cfg.devices.camera, &cfg.camera, false).unwrap());
        let o = kiosk::simulate::one_session(
            &cfg,
            engine,
            DocumentId::IdCard,
            &region,
            kiosk::simulate::DetailsFrom::Given(kiosk::session::details::synthetic_person()),
        )
        .unwrap();
        assert!(o.failed.is_none(), "{:?}", o.failed);
        o.stages_ms
    };
    let ms = |v: Option<f64>| Duration::from_secs_f64(v.unwrap_or(0.0) / 1000.0);

    let mut g = c.benchmark_group("session");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(3));
    g.bench_function("capture_to_cut_receipt", |b| {
        b.iter_custom(|n| {
            (0..n)
                .map(|_| {
                    let s = session(&mut engine);
                    ms(s.make_photo) + ms(s.upload) + ms(s.review) + ms(s.print)
                })
                .sum()
        })
    });
    g.bench_function("posing_good_frames", |b| {
        b.iter_custom(|n| (0..n).map(|_| ms(session(&mut engine).posing)).sum())
    });
    g.finish();
}

criterion_group!(session, benches);
criterion_main!(session);
