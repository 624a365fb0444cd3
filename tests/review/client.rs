//! The upload client and the review centre against the gaps an audit of issue #6 found:
//! no retry on a 4xx (and the service's reason reaches the person), a late decision that
//! ends in a claim slip and is settled by background polling, a photo of the right size
//! that fails the face checks, per-kiosk rate limiting, the outbox disk full with the real
//! `kiosk` binary, and hostile replies on the status poll.
//!
//! Real parts only: real HTTP on 127.0.0.1, the in-process service or the real
//! `kiosk review-center` process, the real `kiosk simulate` process, the printer emulator
//! on a pty, real SQLite files. Hostile or refusing replies come from a raw-TCP server in
//! this file that writes exact bytes. Every test with a review centre behind it runs on
//! SQLite and on a real PostgreSQL server (`*_on_postgres`); the tests against the raw
//! server alone, or with no service at all (the outbox's disk full), run once.

use crate::common;
use common::*;
use kiosk::config::{DocumentId, RegionCode};
use kiosk::domain::ClaimCode;
use kiosk::ports::{Decision, Uploader};
use kiosk::review::api::SubmitRequest;
use kiosk::review::outbox::Outbox;
use kiosk::review::server::ServerOptions;
use kiosk::review::ReviewClient;
use kiosk::testkit::review::*;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KIOSK: &str = "KIOSK-C1";
const KEY: &str = "client-test-key-0123456789abcdef0123456789";

fn region() -> RegionCode {
    RegionCode::new("440100").unwrap()
}

// ---------------------------------------------------------------------------------------
// A raw-TCP HTTP server writing exact bytes, optionally relaying to the real service.

/// What the raw server does with one request.
#[derive(Clone)]
enum Reply {
    /// Relay the request to the upstream service and its reply back.
    Forward,
    /// Answer with exactly these bytes, then close.
    Bytes(Vec<u8>),
}

/// One request line seen, e.g. `POST /v1/submissions`.
type Seen = Arc<Mutex<Vec<String>>>;

struct RawServer {
    addr: SocketAddr,
    seen: Seen,
}

impl RawServer {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests started with `prefix` (e.g. `POST /v1/submissions`).
    fn count(&self, prefix: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count()
    }
}

/// Serves one request per connection. `decide(line, n)` picks the reply for a request whose
/// line is `line` (`METHOD /path`), `n` being how many earlier requests had the same
/// method and route (the path up to its third `/`-separated part).
fn raw_server(
    upstream: Option<SocketAddr>,
    decide: impl Fn(&str, usize) -> Reply + Send + Sync + 'static,
) -> RawServer {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let seen2 = seen.clone();
    let decide = Arc::new(decide);
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let seen = seen2.clone();
            let decide = decide.clone();
            std::thread::spawn(move || {
                let _ = c.set_read_timeout(Some(Duration::from_secs(30)));
                let Ok(req) = read_http(&mut c) else { return };
                let head = String::from_utf8_lossy(&req);
                let mut parts = head.lines().next().unwrap_or("").split(' ');
                let line = format!("{} {}", parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                let route = route_of(&line);
                let n = {
                    let mut s = seen.lock().unwrap();
                    let n = s.iter().filter(|l| route_of(l) == route).count();
                    s.push(line.clone());
                    n
                };
                match decide(&line, n) {
                    Reply::Bytes(b) => {
                        let _ = c.write_all(&b);
                    }
                    Reply::Forward => {
                        let up = upstream.expect("a Forward reply needs an upstream");
                        let Ok(mut u) = TcpStream::connect(up) else { return };
                        if u.write_all(&req).is_err() {
                            return;
                        }
                        let _ = u.set_read_timeout(Some(Duration::from_secs(30)));
                        let Ok(resp) = read_http(&mut u) else { return };
                        // One request per connection: tell the client so.
                        let p = resp.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
                        let mut out = resp[..p + 2].to_vec();
                        out.extend_from_slice(b"connection: close\r\n");
                        out.extend_from_slice(&resp[p + 2..]);
                        let _ = c.write_all(&out);
                    }
                }
                let _ = c.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    RawServer { addr, seen }
}

/// `POST /v1/submissions/abc` → `POST /v1/submissions`.
fn route_of(line: &str) -> String {
    let (m, p) = line.split_once(' ').unwrap_or((line, ""));
    let p: Vec<&str> = p.split('?').next().unwrap_or("").split('/').take(3).collect();
    format!("{m} {}", p.join("/"))
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

const UNKNOWN_REGION: &[u8] =
    "{\"error\":\"unknown_region\",\"message_zh\":\"未知的办证地区\",\"message_en\":\"Unknown region code\"}"
        .as_bytes();

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

// ---------------------------------------------------------------------------------------
// 1. No retry on a 4xx; its reason reaches the person. Retries on 5xx and 429.

#[test]
fn a_4xx_is_sent_once_and_its_reason_in_both_languages_ends_the_upload() {
    let cfg = test_config(Path::new("/nonexistent"));
    // (what, the exact reply, the prompt the person sees: id, Chinese, English)
    type Case = (&'static str, Vec<u8>, (&'static str, &'static str, &'static str));
    let cases: Vec<Case> = vec![
        (
            "422 unknown region (the service's JSON)",
            http("422 Unprocessable Entity", "application/json", UNKNOWN_REGION),
            ("unknown_region", "未知的办证地区", "Unknown region code"),
        ),
        (
            "400 with an HTML body",
            http("400 Bad Request", "text/html", b"<html><body>Bad Request</body></html>"),
            (
                "upload_refused",
                "审核中心拒绝受理（HTTP 400），请联系工作人员",
                "The review centre refused the upload (HTTP 400); please ask staff",
            ),
        ),
    ];
    for (what, bytes, (id, zh, en)) in cases {
        let server = raw_server(None, move |_, _| Reply::Bytes(bytes.clone()));
        let data = tempfile::tempdir().unwrap();
        let mut client = ReviewClient::start(fast_options(&server.url(), KIOSK, KEY, data.path())).unwrap();
        // Any photo: the raw server refuses without looking.
        client
            .submit(kiosk::ports::Submission {
                doc: DocumentId::IdCard,
                region: region(),
                details: test_details(),
                photo: sample_photo(&cfg, DocumentId::IdCard, &region(), Some(16)),
            })
            .unwrap();
        let d = wait_decision(&mut client, Duration::from_secs(20)).unwrap_or_else(|| panic!("{what}: no decision"));
        // Refused, not rejected: another photo would be refused the same way, so the
        // person goes to staff (Event::UploadRefused) instead of posing again.
        let Decision::Refused(reason) = d else {
            panic!("{what}: {d:?}")
        };
        let reasons = [reason];
        assert_eq!(
            (reasons[0].id.as_str(), reasons[0].zh.as_str(), reasons[0].en.as_str()),
            (id, zh, en),
            "{what}: the person is told the service's reason"
        );
        // Several backoff periods later (base 100 ms, cap 800 ms) nothing was resent.
        std::thread::sleep(Duration::from_millis(2500));
        assert_eq!(server.count("POST /v1/submissions"), 1, "{what}: exactly one request");
        assert_eq!(server.count(""), 1, "{what}: and nothing else");
        assert!(
            client.outbox_entries().unwrap().is_empty(),
            "{what}: the outbox keeps nothing"
        );
        drop(client);
        assert!(Outbox::open(data.path()).unwrap().entries().unwrap().is_empty());
    }
}

#[test]
fn a_503_or_429_is_retried_with_the_same_key_and_then_succeeds() {
    a_503_or_429_is_retried_with_the_same_key_and_then_succeeds_on(Backend::Sqlite);
}

#[test]
fn a_503_or_429_is_retried_on_postgres() {
    a_503_or_429_is_retried_with_the_same_key_and_then_succeeds_on(Backend::Postgres);
}

fn a_503_or_429_is_retried_with_the_same_key_and_then_succeeds_on(backend: Backend) {
    let svc = start_service_on(
        backend,
        ServerOptions {
            auto_approve_after: Some(Duration::ZERO),
            tick: Duration::from_millis(50),
            ..ServerOptions::default()
        },
        &[(KIOSK, KEY)],
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "503 HTML",
            http(
                "503 Service Unavailable",
                "text/html",
                b"<html><body>maintenance</body></html>",
            ),
        ),
        (
            "429 JSON",
            http(
                "429 Too Many Requests",
                "application/json",
                br#"{"error":"rate_limited","message_zh":"x","message_en":"x"}"#,
            ),
        ),
    ];
    for (i, (what, bytes)) in cases.into_iter().enumerate() {
        // The first two POSTs are refused without reaching the service, then relayed.
        let server = raw_server(Some(svc.server.addr), move |line, n| {
            if line.starts_with("POST ") && n < 2 {
                Reply::Bytes(bytes.clone())
            } else {
                Reply::Forward
            }
        });
        let data = tempfile::tempdir().unwrap();
        let mut client = ReviewClient::start(fast_options(&server.url(), KIOSK, KEY, data.path())).unwrap();
        let claim = client
            .submit(sample_submission(&svc.cfg, DocumentId::IdCard, &region()))
            .unwrap();
        let d = wait_decision(&mut client, Duration::from_secs(40)).unwrap_or_else(|| panic!("{what}: no decision"));
        let Decision::Approved { number, .. } = &d else {
            panic!("{what}: {d:?}")
        };
        assert_eq!(
            server.count("POST /v1/submissions"),
            3,
            "{what}: refused twice, then sent"
        );
        client.settle(number);
        assert_eq!(svc.count(&format!("claim_code='{}'", claim.0)), 1, "{what}");
        assert_eq!(svc.count("TRUE"), i as i64 + 1, "{what}: one submission per photo");
        assert!(client.outbox_entries().unwrap().is_empty(), "{what}");
    }
}

/// A kiosk config for `kiosk simulate`: data in `dir/data`, the review service at `url`.
fn kiosk_toml(dir: &Path, url: &str, key_file: &Path, deadline_s: u32, printer: &str) -> PathBuf {
    let cfg = dir.join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[kiosk]\nid = {KIOSK:?}\ndata_dir = {:?}\ndecision_deadline_s = {deadline_s}\n\
             [devices]\ncamera = \"replay:builtin\"\nprinter = {printer:?}\nreview = {url:?}\n\
             review_key_file = {:?}\n",
            dir.join("data").display().to_string(),
            key_file.display().to_string(),
        ),
    )
    .unwrap();
    cfg
}

fn key_file(dir: &Path) -> PathBuf {
    let kf = dir.join("kiosk.key");
    std::fs::write(&kf, KEY).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&kf, std::fs::Permissions::from_mode(0o600)).unwrap();
    kf
}

/// `kiosk simulate` on the good replay frames for an ID card in Guangzhou.
fn simulate(cfg: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(kiosk_bin());
    c.arg("--config")
        .arg(cfg)
        .args(["simulate", "--frames"])
        .arg(shared().join("corpus/frames/good"))
        .args(["--doc", "id-card", "--region", "440100", "--json"])
        .args(extra)
        .env_remove("KIOSK_CONFIG")
        .env_remove("KIOSK_FAILPOINT")
        .env("RUST_LOG", "info");
    c
}

#[test]
fn the_real_kiosk_sends_a_refused_upload_once_and_the_session_gets_the_reason() {
    // A 4xx is a refusal, not a photo rejection: the session goes to staff with the
    // service's reason (docs/review-api.md, Client behaviour), in `simulate` as in the kiosk.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = raw_server(None, |_, _| {
        Reply::Bytes(http("422 Unprocessable Entity", "application/json", UNKNOWN_REGION))
    });
    let cfg = kiosk_toml(
        d,
        &server.url(),
        &key_file(d),
        30,
        &format!("pdf:{}", d.join("pdf").display()),
    );
    let out = simulate(&cfg, &[]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "a negative verdict: {stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.lines().next().expect("one JSON line")).unwrap();
    assert_eq!(v["failed"]["stage"], "review", "{v}");
    let reason = v["failed"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("unknown_region") && reason.contains("Unknown region code"),
        "the service's reason: {reason}"
    );
    assert!(v["receipt_number"].is_null() && v["claim_code"].is_null(), "{v}");
    assert_eq!(server.count("POST /v1/submissions"), 1, "exactly one request: {stderr}");
    assert_eq!(server.count(""), 1, "and nothing else");
    assert!(
        stderr.contains("refused by the service: HTTP 422 unknown_region"),
        "{stderr}"
    );
    assert!(
        Outbox::open(&d.join("data")).unwrap().entries().unwrap().is_empty(),
        "the outbox keeps nothing"
    );
    only_the_hand_off_slip(&d.join("pdf"));
}

/// A refused session prints no receipt, only the hand-off slip (转人工凭条, #14): one
/// PDF named by its six-digit code.
fn only_the_hand_off_slip(pdf: &Path) {
    let files = files_under(pdf);
    assert_eq!(files.len(), 1, "one slip, the hand-off: {files:?}");
    let name = files[0].file_stem().unwrap().to_string_lossy().to_string();
    assert!(
        name.len() == 6 && name.bytes().all(|b| b.is_ascii_digit()),
        "named by the hand-off code, not a receipt number: {files:?}"
    );
    let text = Command::new("pdftotext")
        .arg(&files[0])
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(String::from_utf8_lossy(&text.stdout).contains("转人工凭条"));
}

// ---------------------------------------------------------------------------------------
// 2. Late decision → claim slip → background polling → the receipt later, by claim code.

/// The first 32-hex-digit run in `s`.
fn hex32(s: &str) -> Option<String> {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(31)).find_map(|i| {
        let w = &s[i..i + 32];
        (w.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            && (i == 0 || !b[i - 1].is_ascii_hexdigit())
            && b.get(i + 32).is_none_or(|c| !c.is_ascii_hexdigit()))
        .then(|| w.to_string())
    })
}

/// The only value of a one-row, one-column query.
fn one(mut rows: Vec<String>) -> String {
    assert_eq!(rows.len(), 1, "exactly one row: {rows:?}");
    rows.remove(0)
}

fn json_body(reply: &str) -> serde_json::Value {
    let body = reply.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {reply}"))
}

/// Outbox rows (claim code, has body, submission id, decision) read from the file, as a
/// second process would see them while the kiosk runs.
fn outbox_rows(data: &Path) -> Vec<(String, bool, Option<String>, Option<String>)> {
    let c = rusqlite::Connection::open(data.join("outbox.sqlite")).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut st = c
        .prepare("SELECT claim_code, sealed IS NOT NULL, submission_id, decision FROM outbox")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The review database of the centre processes in `dir` on `backend` (`dir/review.db` on
/// SQLite).
fn review_db(dir: &Path, backend: Backend) -> TestDb {
    TestDb::new(backend, &dir.join("review.db"))
}

/// `kiosk review-center` on `port` and the database `db`, without auto-approve (every
/// photo waits for an operator), the operator account added first: as
/// `common::review_center_manual`, on either backend.
fn review_center_manual_on(dir: &Path, db: &TestDb, keys: &Path, port: u16) -> Proc {
    crate::staff::add_operator_to(db);
    let child = Command::new(kiosk_bin())
        .args(["review-center", "--listen", &format!("127.0.0.1:{port}")])
        .args(db.cli_args())
        .arg("--keys")
        .arg(keys)
        .env_remove("KIOSK_CONFIG")
        .env_remove("KIOSK_REVIEW_DB")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("review-{port}.log"))).unwrap())
        .spawn()
        .unwrap();
    let p = Proc {
        child,
        name: "review-center",
    };
    wait_for("review centre", Duration::from_secs(30), || {
        http_get(port, "/healthz").is_some_and(|r| r.starts_with("HTTP/1.1 200"))
    });
    p
}

#[test]
fn a_late_decision_prints_a_claim_slip_and_background_polling_settles_it() {
    a_late_decision_prints_a_claim_slip_and_background_polling_settles_it_on(Backend::Sqlite);
}

#[test]
fn a_late_decision_and_background_polling_on_postgres() {
    a_late_decision_prints_a_claim_slip_and_background_polling_settles_it_on(Backend::Postgres);
}

fn a_late_decision_prints_a_claim_slip_and_background_polling_settles_it_on(backend: Backend) {
    // The real binaries: `kiosk review-center` with auto-approve off, the printer emulator
    // on a pty, and `kiosk simulate --runs 2` (one process serving two people).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let (keys, key_file) = write_keys(d, KIOSK);
    let db = review_db(d, backend);
    let _review = review_center_manual_on(d, &db, &keys, port);
    let _printer = printer_sim(d, &[]);
    // Long enough for person 2 to be approved in time even on a loaded CI machine.
    let deadline_s = 15;
    let cfg = kiosk_toml(
        d,
        &format!("http://127.0.0.1:{port}"),
        &key_file,
        deadline_s,
        &format!("serial:{},115200,80", d.join("printer").display()),
    );
    let data = d.join("data");
    let mut kiosk = Proc {
        child: simulate(&cfg, &["--runs", "2"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(d.join("kiosk.log")).unwrap())
            .spawn()
            .unwrap(),
        name: "kiosk",
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = kiosk.child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let log = || std::fs::read_to_string(d.join("kiosk.log")).unwrap_or_default();

    // Person 1: nobody decides; after the deadline the claim slip (受理凭条) comes out.
    let first: serde_json::Value = serde_json::from_str(
        &rx.recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no first session\n{}", log())),
    )
    .unwrap();
    assert!(
        first["failed"].is_null() && first["receipt_number"].is_null(),
        "{first}"
    );
    let claim = first["claim_code"].as_str().expect("a claim code").to_string();
    wait_for("the claim slip", Duration::from_secs(20), || !good_slips(d).is_empty());
    let slip = good_slips(d)[0].clone();
    let qr: Vec<String> = zbar(&slip)
        .into_iter()
        .filter(|(k, _)| k == "QR-Code")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(qr.len(), 1, "the claim slip has one QR: {qr:?}");
    assert_eq!(
        hex32(&qr[0]).as_deref(),
        Some(claim.as_str()),
        "the QR carries the claim code"
    );
    assert!(
        qr[0].ends_with(&format!("/v1/claims/{claim}")),
        "the QR is the claim page's URL (printer.qr_content = url): {}",
        qr[0]
    );

    // The centre has the submission, undecided; the kiosk keeps only its id.
    let pending = json_body(&http_get(port, &format!("/v1/claims/{claim}")).unwrap());
    assert_eq!(pending["status"], "pending", "{pending}");
    let id1 = pending["id"].as_str().unwrap().to_string();
    let rows = outbox_rows(&data);
    let mine: Vec<_> = rows.iter().filter(|r| r.0 == claim).collect();
    assert_eq!(mine.len(), 1, "{rows:?}");
    assert_eq!(
        (mine[0].1, mine[0].2.as_deref(), mine[0].3.as_deref()),
        (false, Some(id1.as_str()), None),
        "acknowledged: photo and details erased, no decision yet"
    );

    // The operator approves, well after the kiosk's deadline.
    let op = operator(port);
    let r = op.post(&format!("/review/{id1}/approve"), &[]);
    assert_eq!(r.0, 303, "{r:?}");
    let number1 = one(db.strings(&format!(
        "SELECT receipt_number FROM submissions WHERE claim_code='{claim}'"
    )));

    // The kiosk serves person 2 meanwhile; its background polling sees the approval and
    // drops person 1's row (the person holds the claim slip; nothing is printed for it).
    wait_for("the claim's row to leave the outbox", Duration::from_secs(60), || {
        outbox_rows(&data).iter().all(|r| r.0 != claim)
    });
    // Person 2 is approved in time and gets a receipt.
    let mut id2 = String::new();
    wait_for(
        "person 2's photo to await the operator",
        Duration::from_secs(60),
        || {
            id2 = db
                .strings(&format!(
                    "SELECT id FROM submissions WHERE claim_code<>'{claim}' AND state='pending'"
                ))
                .first()
                .cloned()
                .unwrap_or_default();
            !id2.is_empty()
        },
    );
    let r = op.post(&format!("/review/{id2}/approve"), &[]);
    assert_eq!(r.0, 303, "{r:?}");
    let second: serde_json::Value = serde_json::from_str(
        &rx.recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no second session\n{}", log())),
    )
    .unwrap();
    let number2 = second["receipt_number"]
        .as_str()
        .unwrap_or_else(|| panic!("{second}\n{}", log()))
        .to_string();
    wait_for("the kiosk to exit", Duration::from_secs(30), || {
        kiosk.child.try_wait().unwrap().is_some()
    });
    assert!(kiosk.child.wait().unwrap().success(), "{}", log());

    // The outbox ends empty; the claim code fetches the number the service issued.
    assert!(outbox_rows(&data).is_empty(), "the outbox ends empty");
    let later = json_body(&http_get(port, &format!("/v1/claims/{claim}")).unwrap());
    assert_eq!(later["status"], "approved", "{later}");
    assert_eq!(later["receipt_number"].as_str(), Some(number1.as_str()), "{later}");
    assert_ne!(number1, number2);
    // Two slips: person 1's claim slip, person 2's receipt; person 1's number never printed.
    std::thread::sleep(Duration::from_millis(300));
    let slips = good_slips(d);
    assert_eq!(slips.len(), 2, "{slips:?}");
    let codes = zbar(&slips[1]);
    assert!(codes.iter().any(|(k, v)| k == "CODE-128" && *v == number2), "{codes:?}");
    for s in &slips {
        assert!(
            !zbar(s).iter().any(|(_, v)| v.contains(&number1)),
            "person 1's receipt is not printed at the kiosk"
        );
    }
}

#[test]
fn after_a_claim_slip_a_restarted_kiosk_prints_no_receipt_for_the_person_who_left() {
    after_a_claim_slip_a_restarted_kiosk_prints_no_receipt_for_the_person_who_left_on(Backend::Sqlite);
}

#[test]
fn after_a_claim_slip_a_restarted_kiosk_prints_nothing_on_postgres() {
    after_a_claim_slip_a_restarted_kiosk_prints_no_receipt_for_the_person_who_left_on(Backend::Postgres);
}

fn after_a_claim_slip_a_restarted_kiosk_prints_no_receipt_for_the_person_who_left_on(backend: Backend) {
    // `kiosk review-center` with auto-approve off; `kiosk simulate` printing to PDF.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let (keys, key_file) = write_keys(d, KIOSK);
    let db = review_db(d, backend);
    let _review = review_center_manual_on(d, &db, &keys, port);
    let pdf = d.join("pdf");
    let cfg = kiosk_toml(
        d,
        &format!("http://127.0.0.1:{port}"),
        &key_file,
        3,
        &format!("pdf:{}", pdf.display()),
    );
    let out = simulate(&cfg, &[]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let claim = v["claim_code"].as_str().unwrap_or_else(|| panic!("{v}")).to_string();
    let slip = PathBuf::from(v["printed"].as_str().unwrap());
    assert!(slip.exists() && slip.starts_with(&pdf), "the claim slip as PDF: {v}");
    // The row was handed to the background when the claim slip was cut.
    let rows = Outbox::open(&d.join("data")).unwrap().entries().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].claim_code.0, claim);
    assert_eq!(rows[0].owner, kiosk::review::outbox::Owner::Abandoned, "{rows:?}");
    // The operator approves; the kiosk restarts and finishes what the last run left.
    let id = json_body(&http_get(port, &format!("/v1/claims/{claim}")).unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = operator(port).post(&format!("/review/{id}/approve"), &[]);
    assert_eq!(r.0, 303, "{r:?}");
    let out = simulate(&cfg, &["--runs", "0"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["resumed"],
        serde_json::json!([]),
        "nothing printed for nobody: {v}\n{stderr}"
    );
    assert_eq!(
        files_under(&pdf).len(),
        1,
        "only the claim slip: {:?}",
        files_under(&pdf)
    );
    // The person gets the receipt with the claim code.
    let later = json_body(&http_get(port, &format!("/v1/claims/{claim}")).unwrap());
    assert_eq!(later["status"], "approved", "{later}");
    let issued = one(db.strings(&format!("SELECT receipt_number FROM submissions WHERE id='{id}'")));
    assert_eq!(later["receipt_number"].as_str(), Some(issued.as_str()));
}

// ---------------------------------------------------------------------------------------
// 3. The right pixel size, failing the face checks.

/// The compliant photo of the built-in frames, moved `dx` px sideways (the freed strip
/// filled with its own background), re-encoded within the document's file size.
fn off_centre_photo(spec: &kiosk::config::DocumentSpec, dx: u32) -> Vec<u8> {
    let good = made_photo(spec);
    let img = image::load_from_memory(&good.0).unwrap().to_rgb8();
    let bg = *img.get_pixel(2, 2);
    let moved = image::RgbImage::from_fn(img.width(), img.height(), |x, y| {
        if x >= dx {
            *img.get_pixel(x - dx, y)
        } else {
            bg
        }
    });
    kiosk::vision::jpeg::encode_within(&moved, spec.dpi, spec.file_kb)
        .expect("fits the file size")
        .bytes
}

#[test]
fn a_correctly_sized_photo_that_fails_the_face_checks_is_rejected_in_both_languages() {
    a_correctly_sized_photo_that_fails_the_face_checks_is_rejected_in_both_languages_on(Backend::Sqlite);
}

#[test]
fn a_photo_failing_the_face_checks_is_rejected_on_postgres() {
    a_correctly_sized_photo_that_fails_the_face_checks_is_rejected_in_both_languages_on(Backend::Postgres);
}

fn a_correctly_sized_photo_that_fails_the_face_checks_is_rejected_in_both_languages_on(backend: Backend) {
    let svc = start_service_on(
        backend,
        ServerOptions {
            auto_approve_after: Some(Duration::ZERO),
            tick: Duration::from_millis(50),
            ..ServerOptions::default()
        },
        &[(KIOSK, KEY)],
    );
    let spec = svc.cfg.spec_for(DocumentId::IdCard, Some(&region()));
    let faceless = sample_photo(&svc.cfg, DocumentId::IdCard, &region(), Some(spec.file_kb.min + 2))
        .0
        .clone();
    let off = off_centre_photo(&spec, spec.width / 6);
    for (what, jpeg, says) in [
        ("no face", faceless, "no face found"),
        ("face far off-centre", off, "face centre"),
    ] {
        let img = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((img.width(), img.height()), (spec.width, spec.height), "{what}");
        assert!(spec.file_kb.contains(jpeg.len().div_ceil(1024) as u32), "{what}");
        let data = tempfile::tempdir().unwrap();
        let mut client = ReviewClient::start(fast_options(&svc.url(), KIOSK, KEY, data.path())).unwrap();
        let mut sub = sample_submission(&svc.cfg, DocumentId::IdCard, &region());
        sub.photo = kiosk::domain::PhotoJpeg(jpeg);
        let claim = client.submit(sub).unwrap();
        let d = wait_decision(&mut client, Duration::from_secs(60)).unwrap_or_else(|| panic!("{what}: no decision"));
        let Decision::Rejected(reasons) = d else {
            panic!("{what}: approved: {d:?}")
        };
        assert!(!reasons.is_empty(), "{what}");
        for r in &reasons {
            assert!(
                !["output_size", "file_size", "bad_jpeg"].contains(&r.id.as_str()),
                "{what}: size and format are right, the face checks fail: {reasons:?}"
            );
            assert!(has_cjk(&r.zh) && !r.en.is_empty() && r.en.is_ascii(), "{what}: {r:?}");
        }
        // The service says the same to anyone holding the claim code.
        let port = svc.server.addr.port();
        let v = json_body(&http_get(port, &format!("/v1/claims/{}", claim.0)).unwrap());
        assert_eq!(v["status"], "rejected", "{what}: {v}");
        let sent = v["reasons"].as_array().unwrap();
        assert_eq!(sent.len(), reasons.len(), "{what}: {v}");
        assert!(sent.iter().all(|r| has_cjk(r["zh"].as_str().unwrap())), "{v}");
        assert!(client.outbox_entries().unwrap().is_empty(), "{what}");
        assert!(
            reasons.iter().any(|r| r.en.contains(says)),
            "{what}: the reason names the failing check: {reasons:?}"
        );
    }
    assert_eq!(svc.count("state='rejected' AND photo IS NULL AND details IS NULL"), 2);
}

// ---------------------------------------------------------------------------------------
// 4. Per-kiosk rate limiting.

fn post_submission(
    agent: &ureq::Agent,
    url: &str,
    kiosk: &str,
    key: &str,
    body: &[u8],
) -> (u16, Option<String>, Vec<u8>) {
    let mut r = agent
        .post(format!("{url}/v1/submissions"))
        .header("authorization", format!("Bearer {key}"))
        .header("idempotency-key", hex::encode(rand::random::<[u8; 16]>()))
        .content_type("application/json")
        .send(body)
        .unwrap_or_else(|e| panic!("{kiosk}: {e}"));
    let retry_after = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    (r.status().as_u16(), retry_after, r.body_mut().read_to_vec().unwrap())
}

fn submit_body(kiosk: &str, photo_b64: &str) -> Vec<u8> {
    serde_json::to_vec(&SubmitRequest {
        kiosk_id: kiosk.into(),
        doc: DocumentId::IdCard,
        region: region(),
        details: test_details(),
        claim_code: ClaimCode::random(),
        photo_jpeg_b64: photo_b64.into(),
    })
    .unwrap()
}

#[test]
fn one_kiosk_over_its_rate_gets_429_and_another_is_unaffected() {
    one_kiosk_over_its_rate_gets_429_and_another_is_unaffected_on(Backend::Sqlite);
}

#[test]
fn one_kiosk_over_its_rate_gets_429_on_postgres() {
    one_kiosk_over_its_rate_gets_429_and_another_is_unaffected_on(Backend::Postgres);
}

fn one_kiosk_over_its_rate_gets_429_and_another_is_unaffected_on(backend: Backend) {
    const OTHER: &str = "KIOSK-C2";
    const OTHER_KEY: &str = "client-test-key-other-0123456789abcdef0123";
    let svc = start_service_on(
        backend,
        ServerOptions {
            kiosk_per_min: 3,
            ..ServerOptions::default()
        },
        &[(KIOSK, KEY), (OTHER, OTHER_KEY)],
    );
    use base64::Engine as _;
    let photo = sample_photo(&svc.cfg, DocumentId::IdCard, &region(), Some(16));
    let b64 = base64::engine::general_purpose::STANDARD.encode(&photo.0);
    let agent = ureq::Agent::new_with_config(ureq::Agent::config_builder().http_status_as_error(false).build());
    for i in 0..3 {
        let (st, _, body) = post_submission(&agent, &svc.url(), KIOSK, KEY, &submit_body(KIOSK, &b64));
        assert_eq!(st, 202, "submission {i}: {}", String::from_utf8_lossy(&body));
    }
    let (st, retry_after, body) = post_submission(&agent, &svc.url(), KIOSK, KEY, &submit_body(KIOSK, &b64));
    assert_eq!(st, 429, "{}", String::from_utf8_lossy(&body));
    let e: kiosk::review::api::ApiError = serde_json::from_slice(&body).expect("a JSON error");
    assert_eq!(e.error, "rate_limited");
    assert!(has_cjk(&e.message_zh) && !e.message_en.is_empty(), "{e:?}");
    // 3 per minute: the next token is about 20 s away.
    let ra = retry_after.expect("a Retry-After header");
    assert!(
        ra.parse::<u64>().is_ok_and(|s| (1..=20).contains(&s)),
        "Retry-After: {ra}"
    );
    assert_eq!(
        svc.count(&format!("kiosk_id='{KIOSK}'")),
        3,
        "the refused one changed nothing"
    );
    // The status route shares the kiosk's budget.
    let mut r = agent
        .get(format!("{}/v1/submissions/nonexistent", svc.url()))
        .header("authorization", format!("Bearer {KEY}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 429, "{}", r.body_mut().read_to_string().unwrap());
    // Another kiosk is unaffected.
    for i in 0..3 {
        let (st, _, body) = post_submission(&agent, &svc.url(), OTHER, OTHER_KEY, &submit_body(OTHER, &b64));
        assert_eq!(
            st,
            202,
            "other kiosk, submission {i}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    assert_eq!(svc.count(&format!("kiosk_id='{OTHER}'")), 3);
}

// ---------------------------------------------------------------------------------------
// 5. The outbox disk full, with the real binary.

/// A kiosk set up for the disk-full runs: its config (PDF printer in `dir/pdf`, review
/// service `server`, which must never be reached), after a first run that created the data
/// dir, the outbox and its key.
fn disk_full_setup(d: &Path, server: &RawServer, data_dir: &Path) -> PathBuf {
    let cfg = kiosk_toml(
        d,
        &server.url(),
        &key_file(d),
        30,
        &format!("pdf:{}", d.join("pdf").display()),
    );
    // The config's data dir is `d/data`; the tmpfs case mounts over another path.
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("data_dir = {:?}", d.join("data").display().to_string()),
        &format!("data_dir = {:?}", data_dir.display().to_string()),
    );
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// A service that must never be reached: any request is counted (and refused).
fn unreachable_service() -> RawServer {
    raw_server(None, |_, _| {
        Reply::Bytes(http("500 Internal Server Error", "text/plain", b"no"))
    })
}

/// The kiosk refused the session for the person, said why in the log naming the data dir
/// and the fix, ended cleanly (exit 1, no signal), sent nothing, printed nothing, and left
/// the outbox in `data` consistent and empty. The only paper is the hand-off slip.
fn assert_refused_cleanly(out: &std::process::Output, data_named: &Path, data: &Path, d: &Path, server: &RawServer) {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.signal(), None, "the kiosk is not killed: {stderr}");
    assert_eq!(out.status.code(), Some(1), "a refused session: {stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.lines().next().expect("one JSON line")).unwrap();
    let reason = v["failed"]["reason"].as_str().unwrap_or_else(|| panic!("{v}"));
    assert!(reason.starts_with("outbox_unavailable"), "refused for the person: {v}");
    assert!(v["receipt_number"].is_null() && v["claim_code"].is_null(), "{v}");
    let line = stderr
        .lines()
        .find(|l| l.contains("cannot store the submission"))
        .unwrap_or_else(|| panic!("no outbox error in the log: {stderr}"));
    assert!(
        line.contains(&data_named.display().to_string()),
        "names the data dir: {line}"
    );
    assert!(line.contains("Fix:"), "says how to fix it: {line}");
    assert_eq!(server.count(""), 0, "nothing reached the service");
    let pdf = d.join("pdf");
    only_the_hand_off_slip(&pdf);
    // Nothing half-written: the outbox opens, holds nothing, and is consistent.
    let ob = Outbox::open(data).unwrap();
    assert!(ob.entries().unwrap().is_empty(), "no half-written entry");
    drop(ob);
    let c = rusqlite::Connection::open(data.join("outbox.sqlite")).unwrap();
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
}

#[test]
fn the_real_kiosk_refuses_the_session_cleanly_when_the_outbox_disk_is_full() {
    // The data dir under a file-size limit (`prlimit --fsize`, util-linux).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = unreachable_service();
    let data = d.join("data");
    let cfg = disk_full_setup(d, &server, &data);
    let out = simulate(&cfg, &["--runs", "0"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Now no file may grow past 32 KiB: the WAL index (exactly 32 KiB) still fits, the
    // sealed photo and details (a ≈ 20 KB photo, base64: 8 WAL frames and more) do not.
    let out = Command::new("prlimit")
        .arg("--fsize=32768")
        .arg("--")
        .args(simulate_argv(&cfg))
        .env_remove("KIOSK_CONFIG")
        .env_remove("KIOSK_FAILPOINT")
        .env("RUST_LOG", "info")
        .output()
        .expect("prlimit (util-linux) runs");
    assert_refused_cleanly(&out, &data, &data, d, &server);
}

#[test]
fn the_real_kiosk_refuses_the_session_cleanly_on_a_full_tmpfs() {
    // A real full file system: a small tmpfs mounted in a user+mount namespace
    // (`unshare -rm`, no root needed where unprivileged user namespaces are allowed).
    if !Command::new("unshare")
        .args(["-rm", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!(
            "NOTICE: unprivileged user namespaces are not available here (unshare -rm fails): \
             the tmpfs disk-full case did not run; the prlimit case covers the same behaviour"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = unreachable_service();
    let mnt = d.join("mnt");
    let copy = d.join("data-after");
    std::fs::create_dir_all(&mnt).unwrap();
    std::fs::create_dir_all(&copy).unwrap();
    let cfg = disk_full_setup(d, &server, &mnt);
    let argv: Vec<String> = simulate_argv(&cfg)
        .into_iter()
        .map(|a| a.into_string().unwrap())
        .collect();
    let kiosk_argv = argv.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ");
    // 256 KiB of tmpfs: the first run creates the outbox; a filler then leaves 40 KiB, room
    // for the 32 KiB WAL index but not for the sealed photo. Whatever the kiosk leaves is
    // copied out before the namespace goes.
    let script = format!(
        "set -u; mount -t tmpfs -o size=256k tmpfs '{mnt}' || exit 90; \
         {bin} --config '{cfg}' simulate --runs 0 >/dev/null || exit 91; \
         used=$(du -sk '{mnt}' | cut -f1); \
         dd if=/dev/zero of='{mnt}/filler' bs=1024 count=$((256 - 40 - used)) 2>/dev/null || exit 92; \
         {kiosk}; rc=$?; rm -f '{mnt}/filler'; cp -a '{mnt}/.' '{copy}/' || exit 93; exit $rc",
        mnt = mnt.display(),
        bin = kiosk_bin(),
        cfg = cfg.display(),
        kiosk = kiosk_argv,
        copy = copy.display(),
    );
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .env_remove("KIOSK_CONFIG")
        .env_remove("KIOSK_FAILPOINT")
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(
        !matches!(out.status.code(), Some(90..=93)),
        "the tmpfs setup failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("database or disk is full"),
        "SQLite reports the full disk: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_refused_cleanly(&out, &mnt, &copy, d, &server);
}

/// The argv of [`simulate`] (for running it under a wrapper).
fn simulate_argv(cfg: &Path) -> Vec<std::ffi::OsString> {
    let c = simulate(cfg, &[]);
    std::iter::once(c.get_program().to_owned())
        .chain(c.get_args().map(|a| a.to_owned()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// 6. Hostile replies on the status poll.

#[test]
fn hostile_status_replies_keep_the_entry_and_give_one_receipt() {
    hostile_status_replies_keep_the_entry_and_give_one_receipt_on(Backend::Sqlite);
}

#[test]
fn hostile_status_replies_give_one_receipt_on_postgres() {
    hostile_status_replies_keep_the_entry_and_give_one_receipt_on(Backend::Postgres);
}

fn hostile_status_replies_keep_the_entry_and_give_one_receipt_on(backend: Backend) {
    let svc = start_service_on(
        backend,
        ServerOptions {
            auto_approve_after: Some(Duration::ZERO),
            tick: Duration::from_millis(50),
            ..ServerOptions::default()
        },
        &[(KIOSK, KEY)],
    );
    let hostile: Vec<(&str, Vec<u8>)> = vec![
        (
            "garbage JSON",
            http("200 OK", "application/json", b"{\"id\": \"x\", \"status\": \"appr"),
        ),
        (
            "HTML error page",
            http(
                "502 Bad Gateway",
                "text/html",
                b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            ),
        ),
        (
            "truncated body",
            // 400 bytes announced, 60 sent, then the connection closes.
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\nconnection: close\r\n\r\n{\"id\":\"x\",\"doc\":\"id-card\",\"region\":\"440100\",\"status\":\"appro".to_vec(),
        ),
        (
            "approved without a valid number",
            http(
                "200 OK",
                "application/json",
                br#"{"id":"ID","doc":"id-card","region":"440100","status":"approved","receipt_number":"","valid_until":"2030-01-01","token":"t"}"#,
            ),
        ),
        (
            "approved, but another submission's reply",
            http(
                "200 OK",
                "application/json",
                br#"{"id":"0123456789abcdef0123456789abcdef","doc":"id-card","region":"440100","status":"approved","receipt_number":"44010026112600000178","valid_until":"2030-01-01","token":"t"}"#,
            ),
        ),
        ("empty 200", http("200 OK", "application/json", b"")),
    ];
    let n_hostile = hostile.len();
    let names: Vec<&str> = hostile.iter().map(|h| h.0).collect();
    let replies: Vec<Vec<u8>> = hostile.into_iter().map(|h| h.1).collect();
    // The first real status reply is held until the test has looked at the outbox.
    let gate = Arc::new(AtomicBool::new(false));
    let gate2 = gate.clone();
    let server = raw_server(Some(svc.server.addr), move |line, n| {
        if line.starts_with("GET /v1/submissions/") {
            if let Some(r) = replies.get(n) {
                return Reply::Bytes(r.clone());
            }
            let t0 = Instant::now();
            while !gate2.load(Ordering::SeqCst) && t0.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        Reply::Forward
    });
    let data = tempfile::tempdir().unwrap();
    let mut opts = fast_options(&server.url(), KIOSK, KEY, data.path());
    opts.request_timeout = Duration::from_secs(30); // the held reply is not a timeout
    let mut client = ReviewClient::start(opts).unwrap();
    let claim = client
        .submit(sample_submission(&svc.cfg, DocumentId::IdCard, &region()))
        .unwrap();
    let t0 = Instant::now();
    while server.count("GET /v1/submissions/") <= n_hostile {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "every hostile status reply: {:?}",
            server.seen.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // All of them survived: the entry is kept, acknowledged, undecided.
    let e = client.outbox_entries().unwrap();
    assert_eq!(e.len(), 1, "{names:?}: {e:?}");
    assert!(
        e[0].submission_id.is_some() && !e[0].has_body && e[0].decision.is_none(),
        "{e:?}"
    );
    assert!(client.poll().is_none(), "no decision from a hostile reply");
    gate.store(true, Ordering::SeqCst);
    let d = wait_decision(&mut client, Duration::from_secs(30)).expect("a decision");
    let Decision::Approved { number, .. } = &d else {
        panic!("{d:?}")
    };
    let issued = one(svc.strings(&format!(
        "SELECT receipt_number FROM submissions WHERE claim_code='{}'",
        claim.0
    )));
    assert_eq!(number.to_string(), issued, "the number the service issued");
    client.settle(number);
    assert!(client.outbox_entries().unwrap().is_empty());
    assert_eq!(server.count("POST /v1/submissions"), 1, "sent once");
    assert_eq!(svc.count("TRUE"), 1, "one submission");
    assert_eq!(svc.count("state='approved'"), 1, "one receipt");
}

// ---------------------------------------------------------------------------------------
// A row the service keeps failing on is quarantined; an unreachable service is not.

#[test]
fn a_row_the_service_keeps_failing_on_is_quarantined_and_the_person_told() {
    let cfg = kiosk::config::Config::builtin();
    let failing = raw_server(None, |_, _| {
        Reply::Bytes(http("500 Internal Server Error", "text/plain", b"boom"))
    });
    let data = tempfile::tempdir().unwrap();
    let mut o = fast_options(&failing.url(), KIOSK, KEY, data.path());
    o.max_answered_failures = 3;
    let mut client = ReviewClient::start(o).unwrap();
    client
        .submit(sample_submission(&cfg, DocumentId::IdCard, &region()))
        .unwrap();
    let d = wait_decision(&mut client, Duration::from_secs(20)).expect("the person is told, not left waiting");
    let Decision::Refused(p) = &d else { panic!("{d:?}") };
    assert_eq!(p.id, "upload_undeliverable");
    assert!(has_cjk(&p.zh) && !p.en.is_empty());
    assert_eq!(
        failing.count("POST /v1/submissions"),
        3,
        "three bad answers, then no more"
    );
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        failing.count("POST /v1/submissions"),
        3,
        "never retried once quarantined"
    );
    let depth = client.outbox_depth().unwrap();
    assert_eq!((depth.entries, depth.quarantined), (0, 1), "{depth:?}");
    drop(client);
    let dead = kiosk::review::outbox::dead_letters(data.path()).unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].reason.contains("HTTP 500"), "{}", dead[0].reason);
}

#[test]
fn an_unreachable_service_is_retried_and_never_quarantines() {
    let cfg = kiosk::config::Config::builtin();
    // A port nobody listens on: connection refused, every time.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let data = tempfile::tempdir().unwrap();
    let mut o = fast_options(&format!("http://127.0.0.1:{port}"), KIOSK, KEY, data.path());
    o.max_answered_failures = 2;
    o.backoff_max = Duration::from_millis(100);
    let mut client = ReviewClient::start(o).unwrap();
    client
        .submit(sample_submission(&cfg, DocumentId::IdCard, &region()))
        .unwrap();
    assert!(wait_decision(&mut client, Duration::from_secs(2)).is_none());
    let depth = client.outbox_depth().unwrap();
    assert_eq!(
        (depth.unsent, depth.quarantined),
        (1, 0),
        "kept for when the service is back: {depth:?}"
    );
}
