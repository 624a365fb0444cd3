//! Issue #13: the real `kiosk review-center` binary on loopback against hostile clients —
//! slowloris connections, slow bodies, decompression bombs, keyless floods, bad numbers on
//! the command line. Every loop is bounded; RSS is read from /proc/PID/status. Each test
//! with a running centre runs on SQLite and on a real PostgreSQL server (`*_on_postgres`);
//! the command-line refusals, which never open a database, once.

use crate::common::{http_get, read_http, Proc};
use base64::Engine as _;
use kiosk::domain::ClaimCode;
use kiosk::testkit::review::{Backend, TestDb, TEST_ID_NUMBER};
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KIOSK: &str = "KIOSK-H";
const KEY: &str = "hostile-test-key-0123456789abcdef0123456789";

/// A `kiosk review-center` on a free port with `extra` flags, on the database `db`; its
/// stderr goes to `dir/server.log`.
struct Server {
    proc: Proc,
    port: u16,
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Server {
    fn start(dir: &Path, db: &TestDb, extra: &[&str]) -> Server {
        let keys = dir.join("keys.txt");
        std::fs::write(&keys, format!("{KIOSK} {KEY}\n")).unwrap();
        // A secret: the centre refuses a keys file others can read.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .args(["review-center", "--listen", "127.0.0.1:0"])
            .args(db.cli_args())
            .arg("--keys")
            .arg(&keys)
            .args(extra)
            .env_remove("KIOSK_CONFIG")
            .env_remove("KIOSK_REVIEW_DB")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("server.log")).unwrap())
            .spawn()
            .expect("start kiosk review-center");
        let mut proc = Proc {
            child,
            name: "review-center",
        };
        let mut stdout = BufReader::new(proc.child.stdout.take().unwrap());
        let port = crate::common::listening_port(&mut stdout)
            .unwrap_or_else(|line| panic!("no `listening http://ADDR` line: {line:?}"));
        let s = Server {
            proc,
            port,
            _stdout: stdout,
        };
        s.assert_healthy("at start");
        s
    }

    fn pid(&self) -> i32 {
        self.proc.child.id() as i32
    }

    /// Resident memory of the server process, in MB.
    fn rss_mb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status");
        kb / 1024
    }

    fn assert_healthy(&self, when: &str) {
        let t0 = Instant::now();
        let r = http_get(self.port, "/healthz").unwrap_or_default();
        assert!(r.starts_with("HTTP/1.1 200"), "/healthz {when}: {r:?}");
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "/healthz {when} took {:?}",
            t0.elapsed()
        );
        let rss = self.rss_mb();
        assert!(rss < 300, "server RSS {rss} MB {when}");
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    }

    fn log(&self, dir: &Path) -> String {
        std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
    }
}

/// The centre's database in `dir` on `backend` (`dir/review.sqlite` on SQLite).
fn review_db(dir: &Path, backend: Backend) -> TestDb {
    TestDb::new(backend, &dir.join("review.sqlite"))
}

/// Sends SIGTERM and waits (bounded) for the exit; returns how long it took.
fn sigterm_and_wait(s: &mut Server, limit: Duration) -> Duration {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(s.pid()), nix::sys::signal::Signal::SIGTERM).unwrap();
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if s.proc.child.try_wait().unwrap().is_some() {
            return t0.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the review centre did not exit within {limit:?} of SIGTERM");
}

/// Open connections that sent half a request head and nothing more.
fn slowloris(s: &Server, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|i| {
            let mut c = s.connect();
            write!(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-{i}: ").unwrap();
            c
        })
        .collect()
}

#[test]
fn slowloris_does_not_starve_healthz_and_sigterm_ends_within_the_deadline() {
    slowloris_does_not_starve_healthz_and_sigterm_ends_within_the_deadline_on(Backend::Sqlite);
}

#[test]
fn slowloris_does_not_starve_healthz_on_postgres() {
    slowloris_does_not_starve_healthz_and_sigterm_ends_within_the_deadline_on(Backend::Postgres);
}

fn slowloris_does_not_starve_healthz_and_sigterm_ends_within_the_deadline_on(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    // Long header and idle timeouts: the 300 clients stay for the whole test.
    let db = review_db(dir.path(), backend);
    let mut s = Server::start(
        dir.path(),
        &db,
        &[
            "--header-timeout",
            "60",
            "--idle-timeout",
            "60",
            "--shutdown-deadline",
            "2",
        ],
    );
    let mut held = slowloris(&s, 300);
    for round in 0..5 {
        s.assert_healthy(&format!("with 300 slow-header connections open (round {round})"));
        // The slow clients trickle one more header byte each round.
        for c in held.iter_mut() {
            let _ = c.write_all(b"x");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    // Still hanging: stop must not wait for them past its deadline (2 s).
    let took = sigterm_and_wait(&mut s, Duration::from_secs(15));
    assert!(took < Duration::from_secs(8), "stopped after {took:?}");
    drop(held);
    assert!(s.log(dir.path()).contains("shutdown deadline"), "{}", s.log(dir.path()));
}

#[test]
fn slow_heads_and_slow_bodies_are_cut_off() {
    slow_heads_and_slow_bodies_are_cut_off_on(Backend::Sqlite);
}

#[test]
fn slow_heads_and_slow_bodies_are_cut_off_on_postgres() {
    slow_heads_and_slow_bodies_are_cut_off_on(Backend::Postgres);
}

fn slow_heads_and_slow_bodies_are_cut_off_on(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = review_db(dir.path(), backend);
    let s = Server::start(dir.path(), &db, &["--header-timeout", "2", "--body-timeout", "2"]);
    // A head that never completes: closed after the header timeout, no answer.
    let mut slow_head = s.connect();
    slow_head
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    // A connection that sends nothing at all.
    let mut silent = s.connect();
    let t0 = Instant::now();
    for (what, c) in [("slow head", &mut slow_head), ("silent", &mut silent)] {
        let mut buf = [0u8; 512];
        let r = c.read(&mut buf);
        let n = r.as_ref().map(|n| *n).unwrap_or(0);
        assert!(
            matches!(r, Ok(0))
                || r.as_ref()
                    .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
            "{what}: closed without an answer, got {r:?}: {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(15),
        "closed after {took:?} (header timeout 2 s)"
    );
    // A body that stops half-way: 408 after the body timeout.
    let mut slow_body = s.connect();
    write!(
        slow_body,
        "POST /v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n\
         Idempotency-Key: slow-1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"kiosk_id\""
    )
    .unwrap();
    let t0 = Instant::now();
    let reply = read_http(&mut slow_body).expect("an answer");
    let head = String::from_utf8_lossy(&reply);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(head.contains("body_timeout"), "{head}");
    assert!(t0.elapsed() >= Duration::from_millis(1500), "{:?}", t0.elapsed());
    s.assert_healthy("after the slow clients");
}

/// A real 16×16 JPEG whose SOF0 header claims `w`×`h` pixels.
fn jpeg_bomb(w: u16, h: u16) -> Vec<u8> {
    let mut b = vec![];
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut b, 80)
        .encode_image(&image::RgbImage::new(16, 16))
        .unwrap();
    let sof = b.windows(2).position(|x| x == [0xFF, 0xC0]).expect("baseline SOF0");
    b[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    b[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    b
}

fn submit_body(photo: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "kiosk_id": KIOSK,
        "doc": "id-card",
        "region": "440100",
        "details": {"name": "张三", "id_number": TEST_ID_NUMBER},
        "claim_code": ClaimCode::random().0,
        "photo_jpeg_b64": base64::engine::general_purpose::STANDARD.encode(photo),
    }))
    .unwrap()
}

/// One raw POST /v1/submissions; (status line and head, body).
fn post_raw(port: u16, key: Option<&str>, content_type: Option<&str>, body: &[u8]) -> (String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "POST /v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nIdempotency-Key: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        hex::encode(rand::random::<[u8; 8]>()),
        body.len()
    );
    if let Some(k) = key {
        head.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let reply = read_http(&mut s).expect("an answer");
    let text = String::from_utf8_lossy(&reply).to_string();
    let (h, b) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (h.to_string(), b.to_string())
}

#[test]
fn decompression_bombs_are_refused_from_the_header_with_415() {
    decompression_bombs_are_refused_from_the_header_with_415_on(Backend::Sqlite);
}

#[test]
fn decompression_bombs_are_refused_on_postgres() {
    decompression_bombs_are_refused_from_the_header_with_415_on(Backend::Postgres);
}

fn decompression_bombs_are_refused_from_the_header_with_415_on(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = review_db(dir.path(), backend);
    let s = Server::start(dir.path(), &db, &["--auto-approve-after", "0"]);
    let jpeg = jpeg_bomb(13000, 13000);
    assert!(jpeg.len() < 1024, "a tiny file: {} bytes", jpeg.len());
    let png = kiosk::testkit::bombs::png_claiming(13000, 13000);
    let t0 = Instant::now();
    // Four at once, as in the issue, and a PNG one.
    let port = s.port;
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let body = submit_body(&jpeg);
            std::thread::spawn(move || post_raw(port, Some(KEY), Some("application/json"), &body))
        })
        .collect();
    for h in handles {
        let (head, body) = h.join().unwrap();
        assert!(head.starts_with("HTTP/1.1 415"), "{head}\n{body}");
        let e: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(e["error"], "wrong_pixel_size", "{body}");
        assert!(e["message_en"].as_str().unwrap().contains("13000×13000"), "{body}");
        assert!(e["message_zh"].as_str().unwrap().contains("358×441"), "{body}");
    }
    let (head, body) = post_raw(port, Some(KEY), Some("application/json"), &submit_body(&png));
    assert!(head.starts_with("HTTP/1.1 415"), "{head}\n{body}");
    assert!(body.contains("not_jpeg"), "{body}");
    assert!(t0.elapsed() < Duration::from_secs(20), "took {:?}", t0.elapsed());
    s.assert_healthy("after the bombs");
    assert_eq!(db.count("TRUE"), 0, "nothing was stored");
}

#[test]
fn keys_are_checked_before_the_body_and_failures_are_limited_and_logged() {
    keys_are_checked_before_the_body_and_failures_are_limited_and_logged_on(Backend::Sqlite);
}

#[test]
fn keys_are_checked_before_the_body_on_postgres() {
    keys_are_checked_before_the_body_and_failures_are_limited_and_logged_on(Backend::Postgres);
}

fn keys_are_checked_before_the_body_and_failures_are_limited_and_logged_on(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = review_db(dir.path(), backend);
    let s = Server::start(dir.path(), &db, &["--auth-fail-rate", "3"]);
    let wrong = "wrong-key-that-must-not-be-logged-0123456789";
    // A 1 MiB body announced (the body limit): the 401 comes back after the first 16 KiB,
    // before the client has sent the rest.
    for key in [None, Some(wrong), Some(wrong)] {
        let mut c = s.connect();
        let mut head = String::from(
            "POST /v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nIdempotency-Key: k1\r\n\
             Content-Type: application/json\r\nContent-Length: 1048576\r\n",
        );
        if let Some(k) = key {
            head.push_str(&format!("Authorization: Bearer {k}\r\n"));
        }
        head.push_str("\r\n");
        c.write_all(head.as_bytes()).unwrap();
        c.write_all(&[b' '; 16 * 1024]).unwrap();
        let t0 = Instant::now();
        let reply = read_http(&mut c).expect("an answer before the body is complete");
        let text = String::from_utf8_lossy(&reply);
        assert!(text.starts_with("HTTP/1.1 401"), "{key:?}: {text}");
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    }
    // The address's failed-key budget (3 per minute) is spent: 429 with Retry-After.
    let (head, body) = post_raw(s.port, Some(wrong), Some("application/json"), b"{}");
    assert!(head.starts_with("HTTP/1.1 429"), "{head}\n{body}");
    assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
    // The right key is not affected.
    let mut c = s.connect();
    write!(
        c,
        "GET /v1/submissions/unknown HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let reply = String::from_utf8_lossy(&read_http(&mut c).unwrap()).to_string();
    assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
    let log = s.log(dir.path());
    assert_eq!(
        log.matches("refused a kiosk key from 127.0.0.1").count(),
        3,
        "each failure logged once: {log}"
    );
    assert!(!log.contains(wrong) && !log.contains(KEY), "no key in the log: {log}");
    s.assert_healthy("after the keyless clients");
}

#[test]
fn out_of_range_numbers_are_refused_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value) in [
        ("--grace-days", "4294967295"),
        ("--body-limit-kib", "18014398509481984"),
        ("--body-limit-kib", "0"),
        ("--public-rate", "0"),
        ("--kiosk-rate", "4294967296"),
        ("--operator-rate", "0"),
        ("--auth-fail-rate", "0"),
        ("--auto-approve-after", "18446744073709551615"),
        ("--header-timeout", "0"),
        ("--body-timeout", "86400"),
        ("--idle-timeout", "0"),
        ("--max-connections", "1"),
        ("--shutdown-deadline", "0"),
        ("--decode-max-alloc-mib", "0"),
    ] {
        let err_path = dir.path().join("stderr.txt");
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .args(["review-center", "--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("never.sqlite"))
            .args([flag, value])
            .env_remove("KIOSK_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap();
        // A value that is accepted starts a server: stop it and fail, never hang.
        let t0 = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break Some(st);
            }
            if t0.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let err = std::fs::read_to_string(&err_path).unwrap_or_default();
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(2),
            "{flag} {value} was accepted: {err}"
        );
        assert!(err.contains(flag), "{flag} {value}: {err}");
    }
    assert!(!dir.path().join("never.sqlite").exists(), "no server ever started");
}
