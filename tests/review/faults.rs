//! The fault matrix of issue #6, with real processes: the review centre is
//! `kiosk review-center` (the built binary), the kiosk is this test binary re-executed
//! as a child running the upload client (`child_kiosk`, ignored when run directly).
//! Crashes come from named failpoints (`KIOSK_FAILPOINT`), hostile replies from a raw-TCP
//! proxy writing exact bytes, disk full from `prlimit --fsize`.
//! Every case ends with exactly one submission and one receipt, and nothing lost.
//! Every case with a review centre runs on SQLite and on a real PostgreSQL server
//! (`*_on_postgres`, the centre given `--db-file`); the outbox's disk full (no centre) once.

use crate::common;
use kiosk::config::{DocumentId, RegionCode};
use kiosk::ports::{Decision, Uploader};
use kiosk::review::outbox::Outbox;
use kiosk::review::server::ServerOptions;
use kiosk::review::ReviewClient;
use kiosk::testkit::review::*;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KIOSK: &str = "KIOSK-A";
const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `kiosk review-center` process on a fixed port (so it can be restarted there).
struct ServerProc {
    child: Child,
}

impl ServerProc {
    /// On the database `db` (SQLite file or PostgreSQL, see [`TestDb`]).
    fn start(dir: &Path, db: &TestDb, port: u16, failpoint: Option<&str>) -> ServerProc {
        let keys = dir.join("keys.txt");
        std::fs::write(&keys, format!("{KIOSK} {KEY}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiosk"));
        cmd.args(["review-center", "--listen", &format!("127.0.0.1:{port}")])
            .args(db.cli_args())
            .args(["--auto-approve-after", "0", "--keys"])
            .arg(&keys)
            .env_remove("KIOSK_CONFIG")
            .env_remove("KIOSK_REVIEW_DB")
            .env("RUST_LOG", "info")
            .env_remove("KIOSK_FAILPOINT")
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(fp) = failpoint {
            cmd.env("KIOSK_FAILPOINT", fp);
        }
        let child = cmd.spawn().expect("start kiosk review-center");
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(20), "review-center did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        ServerProc { child }
    }

    fn wait_killed(&mut self) {
        let st = wait_timeout(&mut self.child, Duration::from_secs(30)).expect("server did not die");
        assert_eq!(st.signal(), Some(9), "killed by its failpoint: {st:?}");
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_timeout(c: &mut Child, t: Duration) -> Option<std::process::ExitStatus> {
    let t0 = Instant::now();
    while t0.elapsed() < t {
        if let Some(s) = c.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The review centre's database in `dir` on `backend` (`dir/review.sqlite` on SQLite).
fn review_db(dir: &Path, backend: Backend) -> TestDb {
    TestDb::new(backend, &dir.join("review.sqlite"))
}

/// Starts this test binary as a kiosk process running the upload client.
fn kiosk_child(mode: &str, url: &str, data: &Path, failpoint: Option<&str>, fsize: Option<u64>) -> Child {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match fsize {
        Some(n) => {
            let mut c = Command::new("prlimit");
            c.arg(format!("--fsize={n}")).arg("--").arg(exe);
            c
        }
        None => Command::new(exe),
    };
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.with_extension("log"))
        .unwrap();
    cmd.args([
        "faults::child_kiosk",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("REVIEW_CHILD_MODE", mode)
    .env("REVIEW_CHILD_URL", url)
    .env("REVIEW_CHILD_DATA", data)
    .env("RUST_LOG", "info")
    .env_remove("KIOSK_FAILPOINT")
    .stdout(Stdio::piped())
    .stderr(log);
    if let Some(fp) = failpoint {
        cmd.env("KIOSK_FAILPOINT", fp);
    }
    cmd.spawn().expect("start the kiosk child")
}

/// The child's result line (`APPROVED n`, `SETTLED`, `REFUSED id …`), or its exit status.
fn child_result(mut c: Child, t: Duration) -> (Option<String>, std::process::ExitStatus) {
    let out = c.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            // libtest prints `test child_kiosk ... ` before our line.
            if let Some(p) = line.find("RESULT ") {
                let _ = tx.send(line[p + 7..].to_string());
            }
        }
    });
    let st = wait_timeout(&mut c, t).unwrap_or_else(|| {
        let _ = c.kill();
        panic!("kiosk child did not finish in {t:?}")
    });
    (rx.recv_timeout(Duration::from_secs(2)).ok(), st)
}

/// The only claim code in a kiosk's outbox (read with the kiosk's own key).
fn outbox_claim(data: &Path) -> String {
    let ob = Outbox::open(data).unwrap();
    let e = ob.entries().unwrap();
    assert_eq!(e.len(), 1, "exactly one outbox entry: {e:?}");
    e[0].claim_code.0.clone()
}

fn claim_number(url: &str, claim: &str) -> Option<String> {
    let a = ureq::Agent::new_with_config(ureq::Agent::config_builder().http_status_as_error(false).build());
    let mut r = a.get(format!("{url}/v1/claims/{claim}")).call().ok()?;
    let v: serde_json::Value = serde_json::from_slice(&r.body_mut().read_to_vec().ok()?).ok()?;
    v["receipt_number"].as_str().map(str::to_string)
}

/// Personal data never reaches the logs.
fn assert_logs_clean(dir: &Path) {
    let mut seen = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "log") {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            assert!(!text.contains(TEST_ID_NUMBER), "{} contains the ID number", p.display());
            assert!(!text.contains("张三"), "{} contains the name", p.display());
            seen += text.lines().count();
        }
    }
    assert!(seen > 0, "no log lines were written at all");
}

/// The kiosk side of the fault tests, run as a separate process by the tests above.
#[test]
#[ignore = "helper process for the fault tests; does nothing when run directly"]
fn child_kiosk() {
    let Ok(mode) = std::env::var("REVIEW_CHILD_MODE") else {
        return;
    };
    kiosk::ops::logging::init();
    // Under `prlimit --fsize` a write past the limit must fail with EFBIG, not kill us.
    unsafe {
        let _ = nix::sys::signal::signal(nix::sys::signal::Signal::SIGXFSZ, nix::sys::signal::SigHandler::SigIgn);
    }
    let url = std::env::var("REVIEW_CHILD_URL").unwrap();
    let data = PathBuf::from(std::env::var("REVIEW_CHILD_DATA").unwrap());
    let mut client = match ReviewClient::start(fast_options(&url, KIOSK, KEY, &data)) {
        Ok(c) => c,
        Err(e) => {
            println!("RESULT START_FAILED {e}");
            return;
        }
    };
    let cfg = test_config(&data);
    match mode.as_str() {
        "init" => println!("RESULT INIT"),
        "submit" | "submit-big" => {
            let (doc, kb) = if mode == "submit-big" {
                (DocumentId::ResidencePermit, Some(29))
            } else {
                (DocumentId::IdCard, None)
            };
            let region = RegionCode::new("440100").unwrap();
            let mut sub = sample_submission(&cfg, doc, &region);
            sub.photo = sample_photo(&cfg, doc, &region, kb);
            match client.submit(sub) {
                Ok(_) => match wait_decision(&mut client, Duration::from_secs(60)) {
                    Some(Decision::Approved { number, .. }) => {
                        // As the engine does once the receipt's slip is cut.
                        client.settle(&number);
                        println!("RESULT APPROVED {number}")
                    }
                    Some(Decision::Rejected(r)) => println!("RESULT REJECTED {r:?}"),
                    // The service refused the upload itself (a 4xx).
                    Some(Decision::Refused(p)) => println!("RESULT REFUSED {} {} / {}", p.id, p.zh, p.en),
                    None => println!("RESULT TIMEOUT"),
                },
                Err(p) => println!("RESULT REFUSED {} {} / {}", p.id, p.zh, p.en),
            }
        }
        "resume" => {
            let t0 = Instant::now();
            let mut resumed = vec![];
            while !client.outbox_entries().unwrap().is_empty() {
                // An orphaned entry's receipt is handed out once approved; "print" it.
                if let Some(r) = client.take_resumed() {
                    let kiosk::domain::Slip::Receipt { number, .. } = &r.slip else {
                        panic!("a resumed slip is a receipt")
                    };
                    resumed.push(number.to_string());
                    client.settle(number);
                }
                if t0.elapsed() > Duration::from_secs(60) {
                    println!("RESULT TIMEOUT");
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            println!("RESULT SETTLED {}", resumed.join(","));
        }
        m => panic!("unknown mode {m}"),
    }
}

#[test]
fn service_down_at_submit_then_back() {
    service_down_at_submit_then_back_on(Backend::Sqlite);
}

#[test]
fn service_down_at_submit_then_back_on_postgres() {
    service_down_at_submit_then_back_on(Backend::Postgres);
}

fn service_down_at_submit_then_back_on(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let data = dir.path().join("kiosk");
    let child = kiosk_child("submit", &url, &data, None, None);
    // The kiosk makes the photo, queues it and retries against nothing for a while: wait
    // for the durable entry (making the photo alone takes ~1.4 s on a loaded machine), then
    // let it retry a little more before the service comes up.
    let t0 = std::time::Instant::now();
    while Outbox::open(&data)
        .and_then(|o| o.entries())
        .map_or(true, |e| e.is_empty())
    {
        assert!(t0.elapsed() < Duration::from_secs(60), "no outbox entry after 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        outbox_claim(&data).len(),
        32,
        "queued durably while the service is down"
    );
    let db = review_db(dir.path(), backend);
    let _server = ServerProc::start(dir.path(), &db, port, None);
    let (res, st) = child_result(child, Duration::from_secs(60));
    assert!(st.success(), "{st:?}");
    let res = res.expect("a result line");
    let number = res.strip_prefix("APPROVED ").unwrap_or_else(|| panic!("{res}"));
    assert_eq!(db.count("TRUE"), 1, "exactly one submission");
    assert_eq!(db.count(&format!("receipt_number='{number}'")), 1);
    assert!(
        Outbox::open(&data).unwrap().entries().unwrap().is_empty(),
        "outbox drained"
    );
    assert_logs_clean(dir.path());
}

#[test]
fn kiosk_killed_at_each_upload_point_then_restarted() {
    kiosk_killed_at_each_upload_point_then_restarted_on(Backend::Sqlite);
}

#[test]
fn kiosk_killed_at_each_upload_point_on_postgres() {
    kiosk_killed_at_each_upload_point_then_restarted_on(Backend::Postgres);
}

fn kiosk_killed_at_each_upload_point_then_restarted_on(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let db = review_db(dir.path(), backend);
    let _server = ServerProc::start(dir.path(), &db, port, None);
    let points = [
        "upload:before-send",
        "upload:after-send",
        "upload:after-ack",
        "upload:after-decision",
    ];
    for (i, fp) in points.iter().enumerate() {
        let data = dir.path().join(format!("kiosk{i}"));
        let (_, st) = child_result(
            kiosk_child("submit", &url, &data, Some(fp), None),
            Duration::from_secs(60),
        );
        assert_eq!(st.signal(), Some(9), "{fp}: the kiosk killed itself: {st:?}");
        let claim = outbox_claim(&data);
        let before = db.count(&format!("claim_code='{claim}'"));
        assert_eq!(before, if *fp == "upload:before-send" { 0 } else { 1 }, "{fp}");
        // Restarted: the outbox entry is resumed and settles.
        let (res, st) = child_result(kiosk_child("resume", &url, &data, None, None), Duration::from_secs(60));
        assert!(st.success(), "{fp}: {st:?}");
        // The restarted kiosk was handed the receipt to print: the one the centre issued.
        let number = claim_number(&url, &claim).expect("the claim code fetches the receipt");
        assert_eq!(res, Some(format!("SETTLED {number}")), "{fp}");
        assert_eq!(
            db.count(&format!("claim_code='{claim}'")),
            1,
            "{fp}: exactly one submission"
        );
        assert_eq!(db.count("TRUE"), i as i64 + 1, "{fp}: no duplicate anywhere");
        assert_eq!(
            db.count(&format!("claim_code='{claim}' AND state='approved'")),
            1,
            "{fp}"
        );
        assert!(
            claim_number(&url, &claim).is_some(),
            "{fp}: the claim code fetches the receipt"
        );
    }
    assert_logs_clean(dir.path());
}

#[test]
fn service_killed_mid_request_then_restarted() {
    service_killed_mid_request_then_restarted_on(Backend::Sqlite);
}

#[test]
fn service_killed_mid_request_on_postgres() {
    service_killed_mid_request_then_restarted_on(Backend::Postgres);
}

fn service_killed_mid_request_then_restarted_on(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    // The service commits the submission, then dies before answering.
    let db = review_db(dir.path(), backend);
    let mut server = ServerProc::start(dir.path(), &db, port, Some("review:after-insert"));
    let data = dir.path().join("kiosk");
    let child = kiosk_child("submit", &url, &data, None, None);
    server.wait_killed();
    assert_eq!(db.count("TRUE"), 1, "stored before the crash");
    let _server = ServerProc::start(dir.path(), &db, port, None);
    let (res, st) = child_result(child, Duration::from_secs(60));
    assert!(st.success(), "{st:?}");
    let res = res.expect("result");
    assert!(res.starts_with("APPROVED "), "{res}");
    assert_eq!(db.count("TRUE"), 1, "the retry found the same submission");
    assert_eq!(db.count("state='approved'"), 1);
    assert_logs_clean(dir.path());
}

#[test]
fn outbox_disk_full_refuses_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kiosk");
    let url = format!("http://127.0.0.1:{}", free_port());
    // First run: the outbox and its key exist.
    let (res, st) = child_result(kiosk_child("init", &url, &data, None, None), Duration::from_secs(30));
    assert!(st.success());
    assert_eq!(res.as_deref(), Some("INIT"));
    // Files may not grow past 40 000 bytes: the 32 KiB WAL index fits, a 29 KB photo
    // (≈ 40 KB sealed) does not.
    let (res, st) = child_result(
        kiosk_child("submit-big", &url, &data, None, Some(40_000)),
        Duration::from_secs(60),
    );
    assert!(st.success(), "{st:?}");
    let res = res.expect("result");
    assert!(
        res.starts_with("REFUSED outbox_unavailable 本机存储空间不足"),
        "refused with a clear message: {res}"
    );
    // Nothing half-written: the outbox is intact and empty.
    let ob = Outbox::open(&data).unwrap();
    assert!(ob.entries().unwrap().is_empty());
    let c = rusqlite::Connection::open(data.join("outbox.sqlite")).unwrap();
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
}

// ---------------------------------------------------------------------------------------
// Hostile replies from a raw-TCP proxy

#[derive(Clone)]
enum Reply {
    /// Relay the service's own reply.
    Real,
    /// Forward the request, then answer with these exact bytes instead.
    Bytes(Vec<u8>),
    /// Forward the request, then answer these bytes one per second.
    Drip(Vec<u8>),
}

/// Proxies to `upstream`; the n-th connection is answered per `plan[n]` (then `Real`).
fn hostile_proxy(upstream: SocketAddr, plan: Vec<Reply>) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for (i, conn) in l.incoming().enumerate() {
            let Ok(mut c) = conn else { continue };
            let reply = plan.get(i).cloned().unwrap_or(Reply::Real);
            std::thread::spawn(move || {
                let Ok(req) = common::read_http(&mut c) else { return };
                let Ok(mut up) = TcpStream::connect(upstream) else {
                    return;
                };
                if up.write_all(&req).is_err() {
                    return;
                }
                let Ok(resp) = common::read_http(&mut up) else { return };
                match reply {
                    Reply::Real => {
                        // One request per connection: tell the client so.
                        let p = resp.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
                        let mut out = resp[..p + 2].to_vec();
                        out.extend_from_slice(b"connection: close\r\n");
                        out.extend_from_slice(&resp[p + 2..]);
                        let _ = c.write_all(&out);
                    }
                    Reply::Bytes(b) => {
                        let _ = c.write_all(&b);
                    }
                    Reply::Drip(b) => {
                        for x in b {
                            if c.write_all(&[x]).is_err() {
                                break;
                            }
                            std::thread::sleep(Duration::from_secs(1));
                        }
                    }
                }
                let _ = c.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    addr
}

fn http(status: &str, ctype: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    v.extend_from_slice(body);
    v
}

#[test]
fn hostile_replies_are_retried_and_give_exactly_one_receipt() {
    hostile_replies_are_retried_and_give_exactly_one_receipt_on(Backend::Sqlite);
}

#[test]
fn hostile_replies_give_exactly_one_receipt_on_postgres() {
    hostile_replies_are_retried_and_give_exactly_one_receipt_on(Backend::Postgres);
}

fn hostile_replies_are_retried_and_give_exactly_one_receipt_on(backend: Backend) {
    let svc = start_service_on(
        backend,
        ServerOptions {
            auto_approve_after: Some(Duration::ZERO),
            tick: Duration::from_millis(50),
            ..ServerOptions::default()
        },
        &[(KIOSK, KEY)],
    );
    let upstream: SocketAddr = svc.server.addr;
    let mut ten_mb = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        10 << 20
    )
    .into_bytes();
    ten_mb.extend(std::iter::repeat_n(b'[', 10 << 20));
    let cases: Vec<(&str, Reply)> = vec![
        (
            "garbage json",
            Reply::Bytes(http("200 OK", "application/json", b"{\"id\": [1, 2")),
        ),
        (
            "html error page",
            Reply::Bytes(http(
                "502 Bad Gateway",
                "text/html",
                b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            )),
        ),
        (
            "200 with a missing field",
            Reply::Bytes(http("200 OK", "application/json", b"{\"status\":\"pending\"}")),
        ),
        ("10 MB body", Reply::Bytes(ten_mb)),
        (
            "one byte a second",
            Reply::Drip(http(
                "200 OK",
                "application/json",
                b"{\"id\":\"x\",\"status\":\"pending\"}",
            )),
        ),
    ];
    let cfg = svc.cfg.clone();
    for (i, (what, reply)) in cases.into_iter().enumerate() {
        // The POST and its first retry get the hostile reply, after the service saw them.
        let proxy = hostile_proxy(upstream, vec![reply.clone(), reply]);
        let data = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let mut client =
            ReviewClient::start(fast_options(&format!("http://{proxy}"), KIOSK, KEY, data.path())).unwrap();
        let claim = client
            .submit(sample_submission(
                &cfg,
                DocumentId::IdCard,
                &RegionCode::new("440100").unwrap(),
            ))
            .unwrap();
        let d = wait_decision(&mut client, Duration::from_secs(40)).unwrap_or_else(|| panic!("{what}: no decision"));
        let Decision::Approved { number, .. } = &d else {
            panic!("{what}: {d:?}")
        };
        assert_eq!(client.outbox_entries().unwrap().len(), 1, "{what}: kept until printed");
        client.settle(number);
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{what}: bounded by the timeouts"
        );
        assert_eq!(svc.count(&format!("claim_code='{}'", claim.0)), 1, "{what}");
        assert_eq!(svc.count("TRUE"), i as i64 + 1, "{what}: no duplicate submission");
        assert!(client.outbox_entries().unwrap().is_empty(), "{what}");
    }
    assert_eq!(svc.count("state='approved'"), 5);
}
