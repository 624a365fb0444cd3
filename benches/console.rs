//! Hall console under a hall's worth of kiosks and more (issue #16): an in-process console
//! on loopback (temp SQLite database, 500 generated kiosk keys), 500 simulated kiosks each
//! on its own keep-alive connection sending heartbeats, and in the middle a burst of 1,000
//! alerts (two `call_staff` event POSTs from every kiosk at once).
//!
//! Measured:
//! * alert-to-feed latency: from just before the event POST is written to the moment a
//!   `Console::subscribe()` receiver has the alert. That broadcast is what the staff page's
//!   live feed (SSE) and the webhooks are fed from, so it is the console's share of
//!   "alert-to-page"; the browser's own hop is not in it. Target p99 ≤ 1 s;
//! * request latency (heartbeat and event POSTs) and throughput (requests/s), at the
//!   offered load and with every kiosk sending back-to-back;
//! * the process RSS (`/proc/self/status` VmRSS, and VmHWM, the peak). The simulated
//!   kiosks run in the same process (one current-thread runtime, ≈ 500 sockets), so this is
//!   an upper bound for the console alone; the figure after start-up is shown apart.
//!
//! Settings (environment): `KIOSK_BENCH_KIOSKS` (500), `KIOSK_BENCH_ALERTS` (1000),
//! `KIOSK_BENCH_HEARTBEAT_MS` (`30000,1000`: one scenario per interval, a fresh console
//! each — the real 30 s, then 1 s, 30× the real load, to find the console's limit),
//! `KIOSK_BENCH_STEADY_S` (10), `KIOSK_BENCH_SATURATE_S` (5).
//!
//! `KIOSK_BENCH_DB` picks the store: `sqlite` (default), `postgres` (one console) or
//! `postgres2` (two consoles on one database, the kiosks split between them; the feed is
//! the first one's, which also carries the alerts the second stored, by `NOTIFY`).
//!
//! Run: `cargo bench --offline --profile dev --bench console` (or without `--profile dev`
//! for the release profile).

use kiosk::console::server::{self, Console};
use kiosk::console::{ConsoleOptions, ConsoleStore, RunningConsole};
use kiosk::pgdb::{DbTarget, PoolSettings};
use kiosk::review::keys::Keys;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// VmRSS and VmHWM in MiB.
fn rss() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

/// A kiosk's keep-alive HTTP/1.1 connection, by hand (tokio's `io-util` is not in the
/// tree; `try_read`/`try_write` are).
struct Conn {
    s: TcpStream,
    key: String,
    buf: Vec<u8>,
}

impl Conn {
    async fn write_all(&self, mut b: &[u8]) -> std::io::Result<()> {
        while !b.is_empty() {
            self.s.writable().await?;
            match self.s.try_write(b) {
                Ok(n) => b = &b[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// POSTs `body`; the answer's status.
    async fn post(&mut self, path: &str, body: &[u8]) -> std::io::Result<u16> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: console\r\nContent-Type: application/json\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\n\r\n",
            self.key,
            body.len()
        );
        let mut req = head.into_bytes();
        req.extend_from_slice(body);
        self.write_all(&req).await?;
        self.buf.clear();
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if self.buf.len() >= end + 4 + len {
                    return Ok(head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0));
                }
            }
            self.s.readable().await?;
            let mut chunk = [0u8; 4096];
            match self.s.try_read(&mut chunk) {
                Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
}

fn heartbeat(id: &str, seq: u64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "kiosk_id": id, "seq": seq, "version": "0.1.0", "state": "attract",
        "printer": {"status": "ready", "paper_percent": 80, "near_end": false},
        "camera": "ok", "idcard": "ok", "outbox_depth": 0, "free_disk_mb": 50_000,
        "counters": {"sessions": 12, "receipts": 11, "hand_offs": 1}
    }))
    .unwrap()
}

fn call_staff(id: &str, seq: u64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"kiosk_id": id, "events": [
        {"seq": seq, "kind": "call_staff", "at": "2026-12-06T10:00:00+08:00", "screen": "posing", "reasons": []}]}))
    .unwrap()
}

#[derive(Default)]
struct Tally {
    heartbeats: Vec<Duration>,
    events: Vec<Duration>,
    failed: usize,
}

fn main() {
    let kiosks = setting("KIOSK_BENCH_KIOSKS", 500) as usize;
    let alerts = setting("KIOSK_BENCH_ALERTS", 1000) as usize;
    let steady = Duration::from_secs(setting("KIOSK_BENCH_STEADY_S", 10));
    let saturate = Duration::from_secs(setting("KIOSK_BENCH_SATURATE_S", 5));
    let intervals: Vec<u64> = std::env::var("KIOSK_BENCH_HEARTBEAT_MS")
        .unwrap_or_else(|_| "30000,1000".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    for (i, ms) in intervals.iter().enumerate() {
        // Every kiosk back-to-back once, after the last scenario.
        let sat = if i + 1 == intervals.len() {
            saturate
        } else {
            Duration::ZERO
        };
        run(kiosks, alerts, Duration::from_millis(*ms), steady, sat);
    }
}

/// The consoles of a scenario (`KIOSK_BENCH_DB`): `sqlite` (one, on a temporary file),
/// `postgres` (one) or `postgres2` (two) on a fresh database of a PostgreSQL server the
/// bench starts (`kiosk::testkit::postgres`; its processes are not in the RSS figures).
fn start_consoles(db: &str, dir: &std::path::Path, keys: &Keys) -> Vec<RunningConsole> {
    let opts = ConsoleOptions::default;
    let instances = match db {
        "sqlite" => {
            let store = ConsoleStore::open_sqlite(&dir.join("console.db")).unwrap();
            let c = Arc::new(Console::new(store, keys.clone(), opts()));
            return vec![kiosk::console::spawn(c, "127.0.0.1:0").unwrap()];
        }
        "postgres" => 1,
        "postgres2" => 2,
        other => panic!("KIOSK_BENCH_DB={other}: give sqlite, postgres or postgres2"),
    };
    let url = kiosk::testkit::postgres::fresh_database();
    let target = DbTarget::parse(&url, "bench").unwrap();
    let pool = PoolSettings {
        size: 16,
        connect_timeout: Duration::from_secs(5),
        wait_timeout: Duration::from_secs(5),
    };
    (0..instances)
        .map(|_| {
            let rt = server::runtime().unwrap();
            let store = rt.block_on(ConsoleStore::open(&target, &pool)).unwrap();
            let c = Arc::new(Console::new(store, keys.clone(), opts()));
            server::spawn_on(rt, c, "127.0.0.1:0").unwrap()
        })
        .collect()
}

/// One console, one scenario: `kiosks` heartbeating every `every` for `steady` with the
/// burst of `alerts` a third of the way in, then `saturate` of back-to-back heartbeats.
fn run(kiosks: usize, alerts: usize, every: Duration, steady: Duration, saturate: Duration) {
    let per_kiosk_alerts = alerts.div_ceil(kiosks.max(1));

    let dir = tempfile::tempdir().unwrap();
    let mut keys = Keys::default();
    let ids: Vec<(String, String)> = (0..kiosks)
        .map(|i| (format!("HALL-{i:04}"), kiosk::review::keys::generate()))
        .collect();
    for (id, key) in &ids {
        keys.insert(id, key);
    }
    let (rss_before, _) = rss();
    let db = std::env::var("KIOSK_BENCH_DB").unwrap_or_else(|_| "sqlite".into());
    let running = start_consoles(&db, dir.path(), &keys);
    let console = running[0].console.clone();
    let addrs: Vec<_> = running.iter().map(|r| r.addr).collect();
    let (rss_started, _) = rss();

    // The feed's listener: when each alert (kiosk, seq) arrived.
    let arrived: Arc<Mutex<HashMap<(String, u64), Instant>>> = Arc::default();
    let mut feed = console.subscribe();
    let a2 = arrived.clone();
    let listener = std::thread::spawn(move || {
        let mut lagged = 0;
        loop {
            match feed.blocking_recv() {
                Ok(a) => {
                    a2.lock().unwrap().insert((a.kiosk, a.seq.unwrap_or(0)), Instant::now());
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => lagged += n,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return lagged,
            }
        }
    });
    let sent: Arc<Mutex<HashMap<(String, u64), Instant>>> = Arc::default();
    let tally: Arc<Mutex<Tally>> = Arc::default();
    let saturated: Arc<Mutex<Tally>> = Arc::default();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t_connect = Instant::now();
    let (steady_elapsed, sat_elapsed) = rt.block_on(async {
        let mut conns = vec![];
        for (i, (id, key)) in ids.iter().enumerate() {
            // Spread over the instances as a round-robin balancer would.
            let s = TcpStream::connect(addrs[i % addrs.len()]).await.expect("connect");
            s.set_nodelay(true).unwrap();
            conns.push((
                id.clone(),
                Conn {
                    s,
                    key: key.clone(),
                    buf: vec![],
                },
            ));
        }
        let connected = t_connect.elapsed();
        eprintln!("{kiosks} kiosks connected in {:.2} s", connected.as_secs_f64());
        let t0 = tokio::time::Instant::now();
        let burst_at = t0 + steady / 3;
        let steady_end = t0 + steady;
        let sat_end = steady_end + saturate;
        let mut tasks = vec![];
        for (i, (id, mut c)) in conns.into_iter().enumerate() {
            let (sent, tally, saturated) = (sent.clone(), tally.clone(), saturated.clone());
            tasks.push(tokio::spawn(async move {
                // Spread the kiosks over the interval, as real ones are.
                let mut next = t0 + every.mul_f64(i as f64 / kiosks as f64);
                let mut seq = 1u64;
                let mut burst_done = false;
                loop {
                    let now = tokio::time::Instant::now();
                    if now >= sat_end {
                        break;
                    }
                    if !burst_done && now >= burst_at {
                        burst_done = true;
                        for n in 1..=per_kiosk_alerts as u64 {
                            let body = call_staff(&id, n);
                            let t = Instant::now();
                            sent.lock().unwrap().insert((id.clone(), n), t);
                            let ok = c.post("/v1/events", &body).await.ok() == Some(200);
                            let mut tl = tally.lock().unwrap();
                            tl.events.push(t.elapsed());
                            tl.failed += usize::from(!ok);
                        }
                        continue;
                    }
                    let saturating = now >= steady_end;
                    if !saturating {
                        let wake = next.min(if burst_done { steady_end } else { burst_at });
                        if wake > now {
                            tokio::time::sleep_until(wake).await;
                            continue;
                        }
                        // A kiosk that fell behind sends one heartbeat, not the missed ones.
                        next = (next + every).max(now);
                    }
                    let body = heartbeat(&id, seq);
                    seq += 1;
                    let t = Instant::now();
                    let ok = c.post("/v1/heartbeat", &body).await.ok() == Some(204);
                    let mut tl = if saturating {
                        saturated.lock().unwrap()
                    } else {
                        tally.lock().unwrap()
                    };
                    tl.heartbeats.push(t.elapsed());
                    tl.failed += usize::from(!ok);
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        (
            steady,
            (tokio::time::Instant::now() - steady_end).max(Duration::from_millis(1)),
        )
    });
    let (rss_end, hwm) = rss();
    // Let the feed's listener catch up, then stop it with the console.
    std::thread::sleep(Duration::from_millis(200));
    drop(running);
    drop(console);
    let lagged = listener.join().unwrap();

    let sent = sent.lock().unwrap();
    let arrived = arrived.lock().unwrap();
    let mut feed_lat: Vec<Duration> = sent
        .iter()
        .filter_map(|(k, t)| arrived.get(k).map(|a| a.saturating_duration_since(*t)))
        .collect();
    feed_lat.sort();
    let missing = sent.len() - feed_lat.len();
    let mut tl = tally.lock().unwrap();
    tl.heartbeats.sort();
    tl.events.sort();
    let mut sat = saturated.lock().unwrap();
    sat.heartbeats.sort();
    let steady_reqs = tl.heartbeats.len() + tl.events.len();

    println!();
    println!(
        "Hall console ({db}: {} instance(s)): {kiosks} kiosks, heartbeat every {} ms, {} alerts in a burst, {} s steady + {} s back-to-back",
        addrs.len(),
        every.as_millis(),
        sent.len(),
        steady.as_secs(),
        saturate.as_secs()
    );
    println!("| measure | p50 | p99 | max | n |");
    println!("|---|---|---|---|---|");
    let row = |name: &str, v: &[Duration]| {
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {} |",
            pct(v, 0.5),
            pct(v, 0.99),
            pct(v, 1.0),
            v.len()
        );
    };
    row("alert → feed (subscribe) latency", &feed_lat);
    row("event POST → answer", &tl.events);
    row("heartbeat POST → answer (steady)", &tl.heartbeats);
    if !saturate.is_zero() {
        row("heartbeat POST → answer (back-to-back)", &sat.heartbeats);
    }
    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| throughput, steady (offered {:.0} heartbeats/s + the burst) | {:.0} requests/s |",
        kiosks as f64 / every.as_secs_f64(),
        steady_reqs as f64 / steady_elapsed.as_secs_f64()
    );
    if !saturate.is_zero() {
        println!(
            "| throughput, every kiosk back-to-back | {:.0} requests/s |",
            sat.heartbeats.len() as f64 / sat_elapsed.as_secs_f64()
        );
    }
    println!("| failed requests | {} |", tl.failed + sat.failed);
    println!("| alerts not seen on the feed (lagged {lagged}) | {missing} |");
    println!(
        "| RSS before the console / after start / at the end | {rss_before:.1} / {rss_started:.1} / {rss_end:.1} MiB |"
    );
    println!("| peak RSS (VmHWM) | {hwm:.1} MiB |");
    let p99 = pct(&feed_lat, 0.99);
    println!();
    println!(
        "alert-to-feed p99 {p99:.1} ms: target ≤ 1000 ms {}",
        if p99 <= 1000.0 && missing == 0 {
            "met"
        } else {
            "NOT met"
        }
    );
}
