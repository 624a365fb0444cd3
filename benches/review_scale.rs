//! Issue #17: the review centre as real `kiosk review-center` processes on one machine —
//! 1 instance on SQLite, 1 on PostgreSQL, 2 on one PostgreSQL database — with 50 and 500
//! simulated kiosks (a thread, a key and a connection each; with two instances the kiosks
//! are split between them, as a balancer would). Each kiosk submits photos back to back
//! (fresh idempotency key and claim code each). Prints, per set-up: submissions/s,
//! latency p50/p99 of the submit, the time until the review loop has decided them all, and
//! each centre's peak RSS. `docs/performance-review.md` records the figures.
//!
//! `cargo bench --profile dev --bench review_scale` (PostgreSQL from
//! `kiosk::testkit::postgres`: `deploy/deps.sh test` installs it).

use base64::Engine as _;
use kiosk::config::{DocumentId, RegionCode};
use kiosk::domain::ClaimCode;
use kiosk::testkit::postgres::{fresh_database, query_i64};
use kiosk::testkit::review::{sample_photo, test_config, TEST_ID_NUMBER};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Submissions per set-up: kiosks × this many each.
const TOTAL: usize = 1000;

fn key_of(k: usize) -> String {
    format!("bench-key-{k:04}-0123456789abcdef0123456789")
}

fn private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

struct Centre {
    child: Child,
    url: String,
}

impl Drop for Centre {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Centre {
    fn start(db: &[&str], keys: &Path, log: &Path) -> Centre {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .args(["review-center", "--listen", "127.0.0.1:0", "--keys"])
            .arg(keys)
            .args(db)
            .args([
                "--auto-approve-after",
                "0",
                "--kiosk-rate",
                "1000000",
                "--max-connections",
                "2048",
            ])
            .env_remove("KIOSK_CONFIG")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("kiosk review-center");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("{line:?}"));
        Centre {
            url: addr.to_string(),
            child,
        }
    }

    /// Peak resident memory (VmHWM), MiB.
    fn peak_rss_mib(&self) -> f64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        s.lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

fn submit(agent: &ureq::Agent, url: &str, k: usize, photo_b64: &str) -> Duration {
    let body = serde_json::to_vec(&serde_json::json!({
        "kiosk_id": format!("K-{k:04}"),
        "doc": "residence-permit",
        "region": "440100",
        "details": {"name": "张三", "id_number": TEST_ID_NUMBER},
        "claim_code": ClaimCode::random().0,
        "photo_jpeg_b64": photo_b64,
    }))
    .unwrap();
    let t0 = Instant::now();
    let mut r = agent
        .post(format!("{url}/v1/submissions"))
        .header("authorization", format!("Bearer {}", key_of(k)))
        .header("idempotency-key", hex::encode(rand::random::<[u8; 16]>()))
        .content_type("application/json")
        .send(&body[..])
        .expect("POST");
    let _ = r.body_mut().read_to_vec();
    let dt = t0.elapsed();
    assert_eq!(r.status().as_u16(), 202, "submit");
    dt
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

/// One set-up: (name, centres) under `kiosks` kiosks; `decided()` counts decided rows.
fn run(name: &str, centres: &[Centre], kiosks: usize, photo_b64: &str, decided: &dyn Fn() -> i64) -> String {
    let per = TOTAL.div_ceil(kiosks);
    let lat = Arc::new(Mutex::new(Vec::with_capacity(kiosks * per)));
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for k in 0..kiosks {
            let url = centres[k % centres.len()].url.clone();
            let lat = lat.clone();
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn_scoped(s, move || {
                    let agent = ureq::Agent::new_with_config(
                        ureq::Agent::config_builder()
                            .http_status_as_error(false)
                            .timeout_global(Some(Duration::from_secs(60)))
                            .build(),
                    );
                    for _ in 0..per {
                        let d = submit(&agent, &url, k, photo_b64);
                        lat.lock().unwrap().push(d);
                    }
                })
                .unwrap();
        }
    });
    let wall = t0.elapsed();
    let n = (kiosks * per) as i64;
    while decided() < n {
        assert!(t0.elapsed() < Duration::from_secs(600), "{name}: not all decided");
        std::thread::sleep(Duration::from_millis(100));
    }
    let drained = t0.elapsed();
    let mut v = lat.lock().unwrap().clone();
    v.sort();
    let rss: Vec<String> = centres.iter().map(|c| format!("{:.0}", c.peak_rss_mib())).collect();
    let line = format!(
        "| {name} | {kiosks} | {n} | {:.0} | {:.0} | {:.0} | {:.1} | {} |",
        n as f64 / wall.as_secs_f64(),
        percentile(&v, 0.50),
        percentile(&v, 0.99),
        drained.as_secs_f64(),
        rss.join(" + ")
    );
    println!("{line}");
    line
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument (a filter) is ignored.
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let lines: String = (0..500).map(|k| format!("K-{k:04} {}\n", key_of(k))).collect();
    private(&keys, &lines);
    let cfg = test_config(dir.path());
    let region = RegionCode::new("440100").unwrap();
    let photo = sample_photo(&cfg, DocumentId::ResidencePermit, &region, Some(30));
    let photo_b64 = base64::engine::general_purpose::STANDARD.encode(&photo.0);
    println!(
        "| set-up | kiosks | submissions | submissions/s | p50 ms | p99 ms | all decided after s | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut rows = vec![];
    for kiosks in [50, 500] {
        // SQLite: one instance.
        let db = dir.path().join(format!("sqlite-{kiosks}.db"));
        let c = Centre::start(&["--db", db.to_str().unwrap()], &keys, &dir.path().join("sqlite.log"));
        let decided = || {
            rusqlite::Connection::open(&db)
                .and_then(|c| {
                    c.query_row(
                        "SELECT COUNT(*) FROM submissions WHERE state IN ('approved','rejected')",
                        [],
                        |r| r.get(0),
                    )
                })
                .unwrap_or(0)
        };
        rows.push(run(
            "1 × SQLite",
            std::slice::from_ref(&c),
            kiosks,
            &photo_b64,
            &decided,
        ));
        drop(c);
        for n in [1, 2] {
            let url = fresh_database();
            let file = dir.path().join(format!("pg-{kiosks}-{n}.url"));
            private(&file, &url);
            let centres: Vec<Centre> = (0..n)
                .map(|i| {
                    Centre::start(
                        &["--db-file", file.to_str().unwrap(), "--db-pool-size", "16"],
                        &keys,
                        &dir.path().join(format!("pg-{i}.log")),
                    )
                })
                .collect();
            let decided = || {
                query_i64(
                    &url,
                    "SELECT COUNT(*) FROM submissions WHERE state IN ('approved','rejected')",
                )
            };
            rows.push(run(
                &format!("{n} × PostgreSQL"),
                &centres,
                kiosks,
                &photo_b64,
                &decided,
            ));
        }
    }
    eprintln!("\n{}", rows.join("\n"));
}
