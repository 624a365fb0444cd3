//! Printer benchmarks: ESC/POS encode (target ≤ 20 ms), PDF render (≤ 50 ms), and one
//! receipt on the emulator at 115200 baud over a real pty: time to first byte and time
//! to the confirmed cut (GS r reply). Kept short: a few seconds per bench.

use criterion::{criterion_group, criterion_main, Criterion};
use kiosk::config::Config;
use kiosk::domain::Slip;
use kiosk::domain::SlipJob;
use kiosk::domain::{PhotoJpeg, ReceiptNumber};
use kiosk::printer::escpos::{encode, EncodeSettings};
use kiosk::printer::serial::{Link, LinkSettings};
use kiosk::receipt::pdf::{render, PageSize};
use kiosk::receipt::Receipt;
use std::path::Path;
use std::time::Duration;

fn receipt(cfg: &Config) -> Receipt {
    let photo = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/frames/demo/0001.jpg")).unwrap();
    let job = SlipJob {
        slip: Slip::Receipt {
            number: ReceiptNumber::new("20261126000042").unwrap(),
            valid_until: chrono::NaiveDate::from_ymd_opt(2027, 5, 25).unwrap(),
            doc: kiosk::config::DocumentId::IdCard,
            region: "440100".parse().unwrap(),
        },
        photo: Some(PhotoJpeg(photo)),
        masked_name: None,
        issued_at: chrono::Utc::now().with_timezone(&kiosk::domain::china_time()),
        token: None,
    };
    Receipt::build(&job, cfg, None).unwrap()
}

fn benches(c: &mut Criterion) {
    let cfg = Config::builtin();
    let r = receipt(&cfg);
    let mut g = c.benchmark_group("printer");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for dots in [384u32, 576] {
        let s = EncodeSettings::new(&cfg.printer, dots).unwrap();
        g.bench_function(format!("escpos_encode_{dots}"), |b| b.iter(|| encode(&r, &s)));
    }
    g.bench_function("pdf_render_roll80", |b| {
        b.iter(|| render(&r, PageSize::Roll80).unwrap())
    });

    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("lp");
    let _sim = kiosk::printer_sim::start(&kiosk::printer_sim::SimArgs::new(&link, &dir.path().join("out"))).unwrap();
    let job = encode(&r, &EncodeSettings::new(&cfg.printer, 576).unwrap());
    let mut l = Link::new(&link, LinkSettings::new(&cfg.printer, 115_200));
    g.bench_function("emulator_115200_first_byte", |b| {
        b.iter_custom(|n| {
            let mut total = Duration::ZERO;
            for _ in 0..n {
                l.print(&job, &mut || {}).unwrap();
                total += l.first_byte.unwrap();
            }
            total
        })
    });
    g.bench_function("emulator_115200_confirmed_cut", |b| {
        b.iter(|| l.print(&job, &mut || {}).unwrap())
    });
    g.finish();
}

criterion_group!(printer, benches);
criterion_main!(printer);
