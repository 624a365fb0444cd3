//! Staff logins on the operator page, over real HTTP on 127.0.0.1 (issue #13, item 3):
//! login, session cookie, CSRF, security headers, the audit trail, kiosk revocation, the
//! listen refusal without operator accounts; and the key files' permissions (item 13).
//! Everything that reads or writes accounts, sessions, submissions or revocations runs on
//! SQLite and on a real PostgreSQL server (`*_on_postgres`); the key files' permission
//! checks do not depend on the database and run once.

use crate::common::kiosk_bin;
use kiosk::config::{DocumentId, RegionCode};
use kiosk::ports::Uploader;
use kiosk::review::api::OperatorView;
use kiosk::review::server::ServerOptions;
use kiosk::review::ReviewClient;
use kiosk::staff::StaffSettings;
use kiosk::testkit::review::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "cccccccccccccccccccccccccccccccccccccccc";
const CSP: &str =
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

fn manual(staff: StaffSettings) -> ServerOptions {
    ServerOptions {
        tick: Duration::from_millis(50),
        staff: StaffSettings {
            home: "/review".into(),
            ..staff
        },
        ..ServerOptions::default()
    }
}

/// A service on `backend` with one submission waiting for an operator; its id.
fn with_pending(backend: Backend, staff: StaffSettings) -> (TestService, String, tempfile::TempDir) {
    let svc = start_service_on(backend, manual(staff), &[("KIOSK-S", KEY)]);
    let data = tempfile::tempdir().unwrap();
    let mut client = ReviewClient::start(fast_options(&svc.url(), "KIOSK-S", KEY, data.path())).unwrap();
    client
        .submit(sample_submission(
            &svc.cfg,
            DocumentId::IdCard,
            &RegionCode::new("440100").unwrap(),
        ))
        .unwrap();
    let t0 = Instant::now();
    while svc.count("state='pending'") < 1 {
        assert!(t0.elapsed() < Duration::from_secs(20), "never pending");
        std::thread::sleep(Duration::from_millis(50));
    }
    let ids = svc.submission_ids();
    assert_eq!(ids.len(), 1, "{ids:?}");
    (svc, ids[0].clone(), data)
}

fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(": ")))
}

fn assert_security_headers(what: &str, headers: &str) {
    assert_eq!(header(headers, "x-frame-options"), Some("DENY"), "{what}: {headers}");
    assert_eq!(
        header(headers, "content-security-policy"),
        Some(CSP),
        "{what}: {headers}"
    );
    assert_eq!(
        header(headers, "referrer-policy"),
        Some("no-referrer"),
        "{what}: {headers}"
    );
    assert_eq!(
        header(headers, "x-content-type-options"),
        Some("nosniff"),
        "{what}: {headers}"
    );
}

#[test]
fn without_a_login_the_page_sends_to_the_login_and_every_post_is_refused() {
    without_a_login_the_page_sends_to_the_login_and_every_post_is_refused_on(Backend::Sqlite);
}

#[test]
fn without_a_login_nothing_is_shown_or_decided_on_postgres() {
    without_a_login_the_page_sends_to_the_login_and_every_post_is_refused_on(Backend::Postgres);
}

fn without_a_login_the_page_sends_to_the_login_and_every_post_is_refused_on(backend: Backend) {
    let (svc, id, _data) = with_pending(backend, StaffSettings::default());
    let url = svc.url();
    // GET: 303 to the login page, which comes back to /review.
    let r = raw_agent().get(format!("{url}/review")).call().unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let loc = r.headers().get("location").unwrap().to_str().unwrap().to_string();
    assert_eq!(loc, "/login?next=%2Freview");
    let r = raw_agent().get(format!("{url}/review/photo/{id}")).call().unwrap();
    assert_eq!(r.status().as_u16(), 303, "no photo without a login");
    let mut r = raw_agent().get(format!("{url}{loc}")).call().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let page = r.body_mut().read_to_string().unwrap();
    assert!(
        page.contains("name=\"password\"") && page.contains("value=\"/review\""),
        "{page}"
    );
    // POST without a session: 403, nothing decided.
    for action in ["approve", "reject"] {
        let r = raw_agent()
            .post(format!("{url}/review/{id}/{action}"))
            .content_type("application/x-www-form-urlencoded")
            .send("reason=glare&csrf=x")
            .unwrap();
        assert_eq!(r.status().as_u16(), 403, "{action}");
    }
    // A stolen-looking cookie is no session either.
    let r = raw_agent()
        .post(format!("{url}/review/{id}/approve"))
        .header("cookie", format!("kiosk_staff={}", "0".repeat(64)))
        .send_empty()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(svc.count("state='pending'"), 1);
}

#[test]
fn a_post_needs_the_sessions_csrf_token_and_the_audit_names_the_operator() {
    a_post_needs_the_sessions_csrf_token_and_the_audit_names_the_operator_on(Backend::Sqlite);
}

#[test]
fn csrf_and_the_audit_trail_on_postgres() {
    a_post_needs_the_sessions_csrf_token_and_the_audit_names_the_operator_on(Backend::Postgres);
}

fn a_post_needs_the_sessions_csrf_token_and_the_audit_names_the_operator_on(backend: Backend) {
    let (svc, id, _data) = with_pending(backend, StaffSettings::default());
    let op = svc.operator();
    svc.add_user("bob", "bob's password 1");
    let bob = operator_login(&svc.url(), "bob", "bob's password 1");
    assert_ne!(op.csrf, bob.csrf);
    let approve = format!("/review/{id}/approve");
    // No token, a wrong one, another session's: 403, still pending.
    for (what, csrf) in [
        ("none", None),
        ("wrong", Some("0".repeat(64))),
        ("bob's", Some(bob.csrf.clone())),
        ("empty", Some(String::new())),
    ] {
        let r = op.post_with(&approve, &[], csrf.as_deref());
        assert_eq!(r.0, 403, "{what}: {r:?}");
    }
    // Not a form at all, with the session cookie: 403 too.
    let r = raw_agent()
        .post(format!("{}{approve}", svc.url()))
        .header("cookie", &op.cookie)
        .send_empty()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(svc.count("state='pending'"), 1);
    // With the token: approved, and the audit trail says by whom and when.
    let before = chrono::Utc::now().timestamp();
    let r = op.post(&approve, &[]);
    assert_eq!((r.0, header(&r.1, "location")), (303, Some("/review")), "{r:?}");
    assert_eq!(svc.count("state='approved' AND decided_by='staff:operator'"), 1);
    let (st, headers, json) = op.get(&format!("/review/{id}"));
    assert_eq!(st, 200, "{json}");
    assert_security_headers("GET /review/{id}", &headers);
    let v: OperatorView = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (v.state.as_str(), v.decided_by.as_deref()),
        ("approved", Some("staff:operator"))
    );
    let at = chrono::DateTime::parse_from_rfc3339(v.decided_at.as_deref().unwrap()).unwrap();
    assert!(at.timestamp() >= before - 1, "{at}");
    assert!(!json.contains("token"), "no receipt token for operators: {json}");
    // The page's table of decisions shows it.
    let (_, _, page) = bob.get("/review");
    let audit = page.split("id=\"audit\"").nth(1).expect("the audit table");
    let row = audit
        .split("<tr class=\"decision\"")
        .find(|r| r.contains(&id))
        .unwrap_or_else(|| panic!("{page}"));
    assert!(
        row.contains("<td class=\"by\">operator</td>") && row.contains("approved"),
        "{row}"
    );
    // A kiosk's own view carries no operator name.
    let mut r = raw_agent()
        .get(format!("{}/v1/submissions/{id}", svc.url()))
        .header("authorization", format!("Bearer {KEY}"))
        .call()
        .unwrap();
    assert!(!r.body_mut().read_to_string().unwrap().contains("operator"));
}

#[test]
fn staff_pages_carry_the_security_headers() {
    staff_pages_carry_the_security_headers_on(Backend::Sqlite);
}

#[test]
fn staff_pages_carry_the_security_headers_on_postgres() {
    staff_pages_carry_the_security_headers_on(Backend::Postgres);
}

fn staff_pages_carry_the_security_headers_on(backend: Backend) {
    let (svc, id, _data) = with_pending(backend, StaffSettings::default());
    let url = svc.url();
    let r = raw_agent().get(format!("{url}/review")).call().unwrap();
    let h: String = r
        .headers()
        .iter()
        .map(|(k, v)| format!("{}: {}\n", k, v.to_str().unwrap()))
        .collect();
    assert_security_headers("redirect", &h);
    let op = svc.operator();
    for path in ["/login".to_string(), "/review".into(), format!("/review/photo/{id}")] {
        let (st, headers, _) = op.get(&path);
        assert_eq!(st, 200, "{path}");
        assert_security_headers(&path, &headers);
        assert_eq!(header(&headers, "cache-control"), Some("no-store"), "{path}");
    }
    let (_, headers, _) = op.post(&format!("/review/{id}/approve"), &[]);
    assert_security_headers("POST approve", &headers);
    let (_, headers, _) = login_raw(&url, OPERATOR, "wrong password");
    assert_security_headers("failed login", &headers);
    // The session cookie is out of scripts' and other sites' reach.
    let (_, headers, _) = login_raw(&url, OPERATOR, OPERATOR_PASSWORD);
    let cookie = header(&headers, "set-cookie").unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.split("; ").any(|a| a == attr), "{attr}: {cookie}");
    }
}

#[test]
fn wrong_passwords_are_throttled_logout_and_expiry_end_the_session() {
    wrong_passwords_are_throttled_logout_and_expiry_end_the_session_on(Backend::Sqlite);
}

#[test]
fn login_throttle_logout_and_expiry_on_postgres() {
    wrong_passwords_are_throttled_logout_and_expiry_end_the_session_on(Backend::Postgres);
}

fn wrong_passwords_are_throttled_logout_and_expiry_end_the_session_on(backend: Backend) {
    let (svc, _id, _data) = with_pending(
        backend,
        StaffSettings {
            account_failures: 2,
            session_ttl: Duration::from_secs(2),
            ..StaffSettings::default()
        },
    );
    let url = svc.url();
    svc.add_operator();
    let op = operator_login(&url, OPERATOR, OPERATOR_PASSWORD);
    assert_eq!(login_raw(&url, OPERATOR, "not the password").0, 401);
    assert_eq!(login_raw(&url, "nobody", "not the password").0, 401);
    assert_eq!(login_raw(&url, OPERATOR, "not the password").0, 401);
    let (st, headers, page) = login_raw(&url, OPERATOR, OPERATOR_PASSWORD);
    assert_eq!(st, 429, "locked even with the right password: {page}");
    assert!(header(&headers, "retry-after").is_some());
    assert!(page.contains("Too many failed logins"), "{page}");
    // The session from before the lock still works; logging out ends it.
    assert_eq!(op.get("/review").0, 200);
    let r = op.post("/logout", &[]);
    assert_eq!(r.0, 303, "{r:?}");
    assert_eq!(op.get("/review").0, 303);
    // A cross-site login form is refused.
    let r = raw_agent()
        .post(format!("{url}/login"))
        .header("origin", "http://evil.example")
        .content_type("application/x-www-form-urlencoded")
        .send("name=operator&password=x")
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = raw_agent()
        .post(format!("{url}/login"))
        .header("sec-fetch-site", "cross-site")
        .content_type("application/x-www-form-urlencoded")
        .send(format!("name={OPERATOR}&password={OPERATOR_PASSWORD}").as_str())
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // Expiry: a second account logs in, and 2 s later its session is gone on the server.
    svc.add_user("carol", "carol's password");
    let carol = operator_login(&url, "carol", "carol's password");
    assert_eq!(carol.get("/review").0, 200);
    std::thread::sleep(Duration::from_millis(2300));
    assert_eq!(carol.get("/review").0, 303, "expired");
    assert_eq!(carol.post("/logout", &[]).0, 403);
}

#[test]
fn a_revoked_kiosk_is_refused_at_once_by_the_running_centre() {
    a_revoked_kiosk_is_refused_at_once_by_the_running_centre_on(Backend::Sqlite);
}

#[test]
fn a_revoked_kiosk_is_refused_at_once_on_postgres() {
    a_revoked_kiosk_is_refused_at_once_by_the_running_centre_on(Backend::Postgres);
}

fn a_revoked_kiosk_is_refused_at_once_by_the_running_centre_on(backend: Backend) {
    let (svc, id, _data) = with_pending(backend, StaffSettings::default());
    let status = || {
        raw_agent()
            .get(format!("{}/v1/submissions/{id}", svc.url()))
            .header("authorization", format!("Bearer {KEY}"))
            .call()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(status(), 200);
    // `kiosk review-center --revoke-kiosk` on the same database, while the centre runs.
    let out = Command::new(kiosk_bin())
        .arg("review-center")
        .args(svc.cli_args())
        .args(["--revoke-kiosk", "KIOSK-S"])
        .env_remove("KIOSK_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("revoked"));
    assert_eq!(status(), 401, "the very next request");
    let r = raw_agent()
        .post(format!("{}/v1/submissions", svc.url()))
        .header("authorization", format!("Bearer {KEY}"))
        .header("idempotency-key", "after-revoke")
        .content_type("application/json")
        .send("{}")
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

/// `kiosk review-center --add-user operator` on the database of `db`, the password piped
/// on stdin (as `common::add_operator`, on either backend).
pub(crate) fn add_operator_to(db: &TestDb) {
    let mut child = Command::new(kiosk_bin())
        .arg("review-center")
        .args(db.cli_args())
        .args(["--add-user", OPERATOR])
        .env_remove("KIOSK_CONFIG")
        .env_remove("KIOSK_REVIEW_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{OPERATOR_PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "--add-user: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `kiosk review-center --listen ADDR` on the database of `db` (its `cli_args`): Ok(address
/// printed) or Err(stderr).
fn try_listen(db: &TestDb, listen: &str, keys: Option<&std::path::Path>) -> Result<String, String> {
    let mut cmd = Command::new(kiosk_bin());
    cmd.args(["review-center", "--listen", listen])
        .args(db.cli_args())
        .env_remove("KIOSK_CONFIG")
        .env_remove("KIOSK_REVIEW_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(k) = keys {
        cmd.arg("--keys").arg(k);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if line.starts_with("listening ") {
        let _ = child.kill();
        let _ = child.wait();
        return Ok(line);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    Err(String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn a_non_loopback_listen_is_refused_until_an_operator_account_exists() {
    a_non_loopback_listen_is_refused_until_an_operator_account_exists_on(Backend::Sqlite);
}

#[test]
fn a_non_loopback_listen_is_refused_until_an_operator_account_exists_on_postgres() {
    a_non_loopback_listen_is_refused_until_an_operator_account_exists_on(Backend::Postgres);
}

fn a_non_loopback_listen_is_refused_until_an_operator_account_exists_on(backend: Backend) {
    let d = tempfile::tempdir().unwrap();
    let db = TestDb::new(backend, &d.path().join("review.db"));
    let e = try_listen(&db, "0.0.0.0:0", None).expect_err("refused");
    assert!(e.contains("0.0.0.0") && e.contains("--add-user"), "{e}");
    // Loopback is fine without accounts.
    assert!(try_listen(&db, "127.0.0.1:0", None).is_ok());
    // A too-short password adds nothing.
    let mut child = Command::new(kiosk_bin())
        .arg("review-center")
        .args(db.cli_args())
        .args(["--add-user", "op"])
        .env_remove("KIOSK_CONFIG")
        .env_remove("KIOSK_REVIEW_DB")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "short").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("10"), "names the minimum");
    assert!(try_listen(&db, "0.0.0.0:0", None).is_err());
    add_operator_to(&db);
    let l = try_listen(&db, "0.0.0.0:0", None).expect("served once an operator exists");
    assert!(l.starts_with("listening http://0.0.0.0:"), "{l}");
}

#[test]
fn key_files_others_can_read_are_refused_by_the_centre_and_the_kiosk() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let keys = d.path().join("keys.txt");
    std::fs::write(&keys, format!("KIOSK-S {KEY}\n")).unwrap();
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o644)).unwrap();
    let db = TestDb::new(Backend::Sqlite, &d.path().join("r.db"));
    let e = try_listen(&db, "127.0.0.1:0", Some(&keys)).expect_err("refused");
    assert!(
        e.contains(&keys.display().to_string()) && e.contains("chmod 600"),
        "{e}"
    );
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(try_listen(&db, "127.0.0.1:0", Some(&keys)).is_ok());
    // The kiosk's key file.
    let kf = d.path().join("kiosk.key");
    std::fs::write(&kf, KEY).unwrap();
    std::fs::set_permissions(&kf, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut cfg = test_config(&d.path().join("data"));
    cfg.devices.review = "http://127.0.0.1:9".parse().unwrap();
    cfg.devices.review_key_file = Some(kf.clone());
    let e = match kiosk::review::client::open_client(&cfg) {
        Ok(_) => panic!("a group-readable kiosk key was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains(&kf.display().to_string()) && e.contains("chmod 600"), "{e}");
    std::fs::set_permissions(&kf, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(kiosk::review::client::open_client(&cfg).is_ok());
}
