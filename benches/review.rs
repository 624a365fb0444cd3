//! Review service throughput and latency on loopback (issue #6):
//! * `review/single_round_trip`: one kiosk, one 30 KB submission POST → 202, sequentially;
//! * `review/50_kiosks_concurrent`: 50 simulated kiosks (own keys, own connections) each
//!   submitting one 30 KB photo at the same moment; one iteration = all 50 answered.
//!
//! After the criterion groups a fixed run (50 kiosks × 20 submissions) prints
//! submissions/s and p50/p99 latency; `docs/performance-review.md` records the figures.

use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion};
use kiosk::config::{DocumentId, RegionCode};
use kiosk::domain::ClaimCode;
use kiosk::review::server::ServerOptions;
use kiosk::testkit::review::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KIOSKS: usize = 50;

struct Kiosk {
    id: String,
    key: String,
    agent: ureq::Agent,
}

fn body(k: &Kiosk, photo_b64: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "kiosk_id": k.id,
        "doc": "residence-permit",
        "region": "440100",
        "details": {"name": "张三", "id_number": TEST_ID_NUMBER},
        "claim_code": ClaimCode::random().0,
        "photo_jpeg_b64": photo_b64,
    }))
    .unwrap()
}

/// One submission; returns its latency.
fn submit(url: &str, k: &Kiosk, photo_b64: &str) -> Duration {
    let b = body(k, photo_b64);
    let idem = hex::encode(rand::random::<[u8; 16]>());
    let t0 = Instant::now();
    let mut r = k
        .agent
        .post(format!("{url}/v1/submissions"))
        .header("authorization", format!("Bearer {}", k.key))
        .header("idempotency-key", &idem)
        .content_type("application/json")
        .send(&b[..])
        .expect("POST");
    let _ = r.body_mut().read_to_vec().expect("reply");
    let dt = t0.elapsed();
    assert_eq!(r.status().as_u16(), 202);
    dt
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn bench(c: &mut Criterion) {
    let kiosks: Vec<Kiosk> = (0..KIOSKS)
        .map(|i| Kiosk {
            id: format!("KIOSK-{i:03}"),
            key: format!("{:064x}", i + 1),
            agent: ureq::Agent::new_with_config(ureq::Agent::config_builder().http_status_as_error(false).build()),
        })
        .collect();
    let pairs: Vec<(&str, &str)> = kiosks.iter().map(|k| (k.id.as_str(), k.key.as_str())).collect();
    let svc = start_service(
        ServerOptions {
            auto_approve_after: Some(Duration::ZERO),
            kiosk_per_min: 1_000_000,
            public_per_min: 1_000_000,
            ..ServerOptions::default()
        },
        &pairs,
    );
    let url = svc.url();
    let region = RegionCode::new("440100").unwrap();
    let photo = sample_photo(&svc.cfg, DocumentId::ResidencePermit, &region, Some(30));
    eprintln!("photo: {} bytes", photo.0.len());
    let photo_b64 = base64::engine::general_purpose::STANDARD.encode(&photo.0);

    let mut g = c.benchmark_group("review");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("single_round_trip", |b| b.iter(|| submit(&url, &kiosks[0], &photo_b64)));
    g.bench_function("50_kiosks_concurrent", |b| {
        b.iter_custom(|iters| {
            let t0 = Instant::now();
            for _ in 0..iters {
                std::thread::scope(|s| {
                    for k in &kiosks {
                        let (url, p) = (&url, &photo_b64);
                        s.spawn(move || submit(url, k, p));
                    }
                });
            }
            t0.elapsed()
        })
    });
    g.finish();

    // Fixed run for the report: 50 kiosks × 20 submissions each, all at once.
    let per = 20;
    let lat = Arc::new(Mutex::new(Vec::with_capacity(KIOSKS * per)));
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for k in &kiosks {
            let (url, p, lat) = (&url, &photo_b64, lat.clone());
            s.spawn(move || {
                for _ in 0..per {
                    let d = submit(url, k, p);
                    lat.lock().unwrap().push(d);
                }
            });
        }
    });
    let wall = t0.elapsed();
    let mut v = lat.lock().unwrap().clone();
    v.sort();
    println!(
        "review/fixed_run: {} submissions by {KIOSKS} kiosks in {:.2} s = {:.0} submissions/s; latency p50 {:.1} ms, p99 {:.1} ms",
        v.len(),
        wall.as_secs_f64(),
        v.len() as f64 / wall.as_secs_f64(),
        percentile(&v, 0.50).as_secs_f64() * 1000.0,
        percentile(&v, 0.99).as_secs_f64() * 1000.0
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
