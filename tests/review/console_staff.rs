//! The hall console's staff page (issue #16) over real HTTP on loopback: headless Chromium
//! logs in, sees a kiosk's tile and a call-staff alert from a real `kiosk simulate` process
//! arrive live, acknowledges it, and the
//! acknowledgement is still shown after a restart; a hand-off shows its code; every bad
//! request is refused and changes nothing; `kiosk console --add-user`.

use crate::browser::{chromium, Driver};
use crate::common::kiosk_bin;
use kiosk::console::server::Console;
use kiosk::console::{ConsoleOptions, ConsoleStore, RunningConsole, StaffPageOptions};
use kiosk::review::keys::Keys;
use kiosk::staff::{StaffAuth, StaffSettings};
use kiosk::testkit::review::{login_raw, raw, raw_agent, OperatorSession, Raw, OPERATOR, OPERATOR_PASSWORD};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY_A: &str = "console-staff-key-of-kiosk-a-0123456789";
const KEY_B: &str = "console-staff-key-of-kiosk-b-0123456789";

fn start_with(db: &Path, page: StaffPageOptions) -> RunningConsole {
    let mut keys = Keys::default();
    keys.insert("hall-a", KEY_A);
    keys.insert("hall-b", KEY_B);
    let staff = StaffAuth::open(db, page.staff.clone()).unwrap();
    let c =
        Console::new(ConsoleStore::open_sqlite(db).unwrap(), keys, ConsoleOptions::default()).with_staff(staff, page);
    let running = kiosk::console::spawn(Arc::new(c), "127.0.0.1:0").unwrap();
    running
        .console
        .staff()
        .unwrap()
        .add_user(OPERATOR, OPERATOR_PASSWORD)
        .unwrap();
    running
}

fn start(db: &Path) -> RunningConsole {
    start_with(db, StaffPageOptions::default())
}

/// A kiosk's POST with its key; the raw answer.
fn kiosk_post(c: &RunningConsole, path: &str, key: &str, body: &serde_json::Value) -> Raw {
    raw(raw_agent()
        .post(format!("{}{path}", c.url()))
        .header("authorization", format!("Bearer {key}"))
        .content_type("application/json")
        .send(serde_json::to_vec(body).unwrap().as_slice()))
}

fn heartbeat(kiosk: &str, seq: u64, state: &str) -> serde_json::Value {
    serde_json::json!({
        "kiosk_id": kiosk, "seq": seq, "version": "0.1.0", "state": state,
        "printer": {"status": "ready", "paper_percent": 15, "near_end": true},
        "camera": "ok", "idcard": "absent", "outbox_depth": 2, "free_disk_mb": 5000,
        "counters": {"sessions": 3, "receipts": 2}
    })
}

fn event(kiosk: &str, seq: u64, kind: &str, code: Option<&str>) -> serde_json::Value {
    serde_json::json!({"kiosk_id": kiosk, "events": [{"seq": seq, "kind": kind,
        "at": "2026-12-06T10:00:00+08:00", "screen": "see-staff", "code": code,
        "reasons": ["face_position"]}]})
}

/// Logs in over HTTP and reads the CSRF token off `/`.
fn login(c: &RunningConsole) -> OperatorSession {
    kiosk::testkit::review::operator_login_at(&c.url(), OPERATOR, OPERATOR_PASSWORD, "/")
}

fn browser_login(d: &Driver, url: &str) {
    d.goto(&format!("{url}/"));
    assert!(
        d.current_url().starts_with(&format!("{url}/login?next=")),
        "not sent to the login: {}",
        d.current_url()
    );
    let name = d.find("#name");
    d.type_text(&name, OPERATOR);
    let password = d.find("#password");
    d.type_text(&password, OPERATOR_PASSWORD);
    let button = d.find("#login");
    d.click(&button);
    d.wait_source("the console page after the login", Duration::from_secs(10), |s| {
        s.contains("id=\"board\"")
    });
}

/// `kiosk simulate --call-staff` as kiosk `hall-a` of the console at `url` (one session
/// on the built-in replay, the embedded review centre), its output piped.
fn simulate_calling_staff(dir: &Path, url: &str) -> std::process::Child {
    use std::os::unix::fs::PermissionsExt;
    let key_file = dir.join("console.key");
    std::fs::write(&key_file, KEY_A).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = dir.join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[kiosk]\nid = \"hall-a\"\ndemo = true\ndata_dir = {:?}\n[devices]\nprinter = {:?}\n[audio]\nmute = true\n[console]\nurl = \"{url}\"\nkey_file = {:?}\nretry_s = 1\n",
            dir.join("data").display().to_string(),
            format!("pdf:{}", dir.join("slips").display()),
            key_file.display().to_string()
        ),
    )
    .unwrap();
    std::process::Command::new(kiosk_bin())
        .arg("--config")
        .arg(&cfg)
        .args(["simulate", "--runs", "1", "--call-staff"])
        .env_remove("KIOSK_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn staff_see_tiles_and_live_alerts_in_headless_chromium_and_acknowledgements_survive_a_restart() {
    let (chromium, driver_exe) = chromium();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("console.db");
    // The page refreshes itself only once a minute: what arrives within 2 s came live.
    let page = StaffPageOptions {
        refresh: Duration::from_secs(60),
        ..StaffPageOptions::default()
    };
    let c = start_with(&db, page.clone());
    assert_eq!(
        kiosk_post(&c, "/v1/heartbeat", KEY_A, &heartbeat("hall-a", 1, "posing")).0,
        204
    );

    let mut d = Driver::start(&driver_exe);
    d.new_session(&chromium);
    browser_login(&d, &c.url());
    let src = d.source();
    assert!(src.contains("data-kiosk=\"hall-a\""), "the kiosk's tile: {src}");
    assert!(
        src.contains("posing") && src.contains("15%") && src.contains("纸将用完"),
        "{src}"
    );
    // Everything came from this origin, and the page runs its script under the CSP.
    let origin = c.url();
    let resources = d.loaded_resources();
    assert!(resources.iter().all(|r| r.starts_with(&origin)), "{resources:?}");
    let t0 = Instant::now();
    while d.exec("return document.body.dataset.feed || ''") != "live" {
        assert!(t0.elapsed() < Duration::from_secs(10), "the live feed never opened");
        std::thread::sleep(Duration::from_millis(50));
    }

    // A person presses 呼叫工作人员 on a real kiosk process (`kiosk simulate --call-staff`
    // on this console): on the page within 2 s of the console storing it, with a sound.
    let kiosk = simulate_calling_staff(dir.path(), &c.url());
    let src = d.wait_source("the call-staff alert", Duration::from_secs(120), |s| {
        s.contains("data-kind=\"call_staff\"")
    });
    let shown_ms = kiosk::console::server::now_ms();
    let alert = c.block_on(c.console.store().alerts(true)).unwrap()[0].clone();
    assert_eq!((alert.kiosk.as_str(), alert.kind.as_str()), ("hall-a", "call_staff"));
    let took = shown_ms.saturating_sub(alert.raised_ms);
    assert!(took < 2000, "on the page {took} ms after the console stored it");
    assert!(src.contains("呼叫工作人员") && src.contains("class=\"ack\""), "{src}");
    assert_eq!(d.exec("return document.body.dataset.beeps || '0'"), "1", "one beep");
    let id = alert.id;
    // The kiosk's screen may say staff are coming: the console confirmed it.
    let out = kiosk.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("已呼叫 / staff were called"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A hand-off shows its code.
    kiosk_post(&c, "/v1/events", KEY_A, &event("hall-a", 2, "hand_off", Some("042917")));
    let src = d.wait_source("the hand-off alert", Duration::from_secs(2), |s| {
        s.contains("data-kind=\"hand_off\"")
    });
    assert!(src.contains("<b>042917</b>") && src.contains("转交码"), "{src}");

    // Acknowledge the call: the form posts with the session's CSRF token.
    let button = d.find(&format!("li[data-alert='{id}'] button.ack"));
    d.click(&button);
    let src = d.wait_source("the acknowledgement", Duration::from_secs(10), |s| {
        s.contains("class=\"acked-by\"")
    });
    assert!(src.contains(&format!("已确认： {OPERATOR}")), "{src}");
    let a = c.block_on(c.console.store().alert(id)).unwrap().unwrap();
    assert_eq!(a.acked_by.as_deref(), Some(OPERATOR));
    assert!(a.acked_ms.is_some());

    // A restart on the same database (the live feed must not hold the shutdown).
    let t0 = Instant::now();
    drop(c);
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "stopping took {:?}",
        t0.elapsed()
    );
    let c = start_with(&db, page);
    browser_login(&d, &c.url());
    let src = d.source();
    let item = src
        .split(&format!("data-alert=\"{id}\""))
        .nth(1)
        .and_then(|r| r.split("</li>").next())
        .unwrap_or_else(|| panic!("alert {id} is listed after the restart: {src}"));
    assert!(
        item.contains("acked-by") && item.contains(OPERATOR),
        "who acknowledged it: {item}"
    );
    // The English page.
    let en = d.find("#lang");
    d.click(&en);
    let src = d.wait_source("the English page", Duration::from_secs(10), |s| {
        s.contains("Hall console")
    });
    assert!(
        src.contains("Acknowledged by") && src.contains("Hand-off code"),
        "{src}"
    );
}

#[test]
fn without_a_login_or_with_the_wrong_credential_nothing_is_shown_or_changed() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir.path().join("console.db"));
    let url = c.url();
    kiosk_post(
        &c,
        "/v1/heartbeat",
        KEY_A,
        &heartbeat("hall-a", 1, "<img src=x onerror=alert(1)>"),
    );
    kiosk_post(&c, "/v1/events", KEY_A, &event("hall-a", 1, "call_staff", None));
    let id = c.block_on(c.console.store().alerts(true)).unwrap()[0].id;
    let ack = format!("/alerts/{id}/ack");

    // No session: every page goes to the login, with the way back.
    for path in [
        "/",
        "/board",
        "/alerts.json",
        "/events/stream",
        "/kiosk/hall-a",
        "/lang/en",
    ] {
        let (st, headers, _) = raw(raw_agent().get(format!("{url}{path}")).call());
        assert_eq!(st, 303, "{path}: {headers}");
        assert!(headers.contains("location: /login?next="), "{path}: {headers}");
    }
    // A kiosk key is no staff login.
    for path in ["/", "/alerts.json"] {
        let (st, _, body) = raw(raw_agent()
            .get(format!("{url}{path}"))
            .header("authorization", format!("Bearer {KEY_A}"))
            .call());
        assert_eq!(st, 303, "{path} with a kiosk key: {body}");
    }
    let (st, _, _) = raw(raw_agent()
        .post(format!("{url}{ack}"))
        .header("authorization", format!("Bearer {KEY_A}"))
        .content_type("application/x-www-form-urlencoded")
        .send("csrf=x"));
    assert_eq!(st, 403, "ack with a kiosk key");

    // Logged in, but without the session's CSRF token: 403.
    let op = login(&c);
    let other = login(&c);
    assert_ne!(op.csrf, other.csrf);
    for (what, csrf) in [
        ("none", None),
        ("empty", Some(String::new())),
        ("wrong", Some("0".repeat(64))),
        ("another session's", Some(other.csrf.clone())),
    ] {
        let (st, _, body) = op.post_with(&ack, &[], csrf.as_deref());
        assert_eq!(st, 403, "ack, CSRF {what}: {body}");
    }
    // A cross-site JSON or header-only POST carries no form token either.
    let (st, _, _) = raw(raw_agent()
        .post(format!("{url}{ack}"))
        .header("cookie", &op.cookie)
        .header("x-csrf-token", &op.csrf)
        .send_empty());
    assert_eq!(st, 403, "the form field is required");
    let a = c.block_on(c.console.store().alert(id)).unwrap().unwrap();
    assert_eq!((a.acked_by, a.acked_ms), (None, None), "nothing was acknowledged");

    // A staff cookie opens no kiosk route (and the CSRF token is no kiosk key).
    let hb = serde_json::to_vec(&heartbeat("hall-a", 2, "attract")).unwrap();
    for path in ["/v1/heartbeat", "/v1/events"] {
        let (st, _, body) = raw(raw_agent()
            .post(format!("{url}{path}"))
            .header("cookie", &op.cookie)
            .header("authorization", format!("Bearer {}", op.csrf))
            .content_type("application/json")
            .send(hb.as_slice()));
        assert_eq!(st, 401, "{path} with a staff cookie: {body}");
    }
    assert_eq!(c.block_on(c.console.store().kiosks()).unwrap()[0].heartbeat.seq, 1);

    // The page: security headers, escaped kiosk text, the script from this origin only.
    let (st, headers, page) = op.get("/");
    assert_eq!(st, 200);
    assert!(headers.contains("x-frame-options: DENY"), "{headers}");
    assert!(
        headers.contains(&format!("content-security-policy: {}", kiosk::console::staff_page::CSP)),
        "{headers}"
    );
    assert!(headers.contains("frame-ancestors 'none'") && !headers.contains("unsafe-eval"));
    assert!(page.contains("&lt;img src=x") && !page.contains("<img"), "escaped");
    assert!(page.contains("<script src=\"/console.js\"></script>"));
    assert_eq!(page.matches("<script").count(), 1, "no inline script");
    let (st, headers, _) = raw(raw_agent().get(format!("{url}/login")).call());
    assert_eq!(st, 200);
    assert!(headers.contains("x-frame-options: DENY"), "{headers}");

    // Unknown alert or kiosk: 404; an id that is no number: 400. Nothing changed.
    assert_eq!(op.post("/alerts/999/ack", &[]).0, 404);
    assert_eq!(op.post("/alerts/x/ack", &[]).0, 400);
    assert_eq!(op.get("/kiosk/nobody").0, 404);
    assert_eq!(op.get("/lang/fr").0, 404);
    assert!(c.block_on(c.console.store().alerts(true)).unwrap().len() == 1);

    // The right token acknowledges it, once; who and when are kept.
    let (st, headers, _) = op.post(&ack, &[]);
    assert_eq!(st, 303, "{headers}");
    let (st, _, _) = other.post(&ack, &[]);
    assert_eq!(st, 303, "a second acknowledgement is harmless");
    let a = c.block_on(c.console.store().alert(id)).unwrap().unwrap();
    assert_eq!(a.acked_by.as_deref(), Some(OPERATOR));
}

#[test]
fn a_kiosks_last_24_hours_the_polling_fallback_and_secure_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let c = start_with(
        &dir.path().join("console.db"),
        StaffPageOptions {
            secure_cookie: true,
            ..StaffPageOptions::default()
        },
    );
    // Behind TLS the cookie is Secure (and still HttpOnly, SameSite=Strict).
    let (_, headers, _) = login_raw(&c.url(), OPERATOR, OPERATOR_PASSWORD);
    let cookie = headers
        .lines()
        .find(|l| l.starts_with("set-cookie: kiosk_staff="))
        .unwrap()
        .to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    kiosk_post(&c, "/v1/heartbeat", KEY_B, &heartbeat("hall-b", 1, "attract"));
    kiosk_post(&c, "/v1/events", KEY_B, &event("hall-b", 1, "admin_login", None));
    kiosk_post(&c, "/v1/events", KEY_B, &event("hall-b", 2, "hand_off", Some("318204")));
    kiosk_post(&c, "/v1/events", KEY_A, &event("hall-a", 1, "call_staff", None));
    let op = login(&c);
    let (st, _, page) = op.get("/kiosk/hall-b");
    assert_eq!(st, 200);
    assert!(page.contains("data-kiosk=\"hall-b\""), "{page}");
    assert!(page.contains("管理员登录") && page.contains("318204"), "{page}");
    assert_eq!(page.matches("class=\"event\"").count(), 2, "{page}");
    assert!(!page.contains("data-kind=\"call_staff\""), "only hall-b's: {page}");
    // The polling fallback: newest first, with the hand-off's code.
    let (st, headers, body) = op.get("/alerts.json");
    assert_eq!(st, 200);
    assert!(headers.contains("application/json"), "{headers}");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    let kinds: Vec<&str> = j["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["call_staff", "hand_off"]);
    assert_eq!(j["alerts"][1]["code"], "318204");
    // The English switch is a cookie.
    let (st, headers, _) = op.get("/lang/en");
    assert_eq!(st, 303);
    assert!(headers.contains("set-cookie: console_lang=en"), "{headers}");
    let (_, _, page) = raw(raw_agent()
        .get(format!("{}/", c.url()))
        .header("cookie", format!("{}; console_lang=en", op.cookie))
        .call());
    assert!(
        page.contains("Hall console") && page.contains("Call for staff"),
        "{page}"
    );
}

#[test]
fn console_add_user_needs_no_listen_or_keys_and_the_account_logs_in() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("console.db");
    let add = |password: &str| {
        let mut child = std::process::Command::new(kiosk_bin())
            .args(["console", "--db"])
            .arg(&db)
            .args(["--add-user", "wang"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let out = add("short");
    assert_eq!(out.status.code(), Some(2), "a short password is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("10"));
    let out = add("wang's long password");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("staff wang"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&db).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "console.db is {mode:o}");
    let auth = StaffAuth::open(&db, StaffSettings::default()).unwrap();
    assert!(auth.login("wang", "wang's long password", "127.0.0.1").is_ok());
    // Serving still needs both.
    let out = std::process::Command::new(kiosk_bin())
        .args(["console", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--listen") && err.contains("--keys"), "{err}");
}

/// An open live feed ends with its session: after a logout it says `expired` (the page
/// then goes to the login) within one keep-alive interval and closes, instead of
/// streaming alerts to a browser nobody is logged in on any more.
#[test]
fn the_live_feed_ends_when_its_session_does() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let page = StaffPageOptions {
        keepalive: Duration::from_millis(200),
        ..StaffPageOptions::default()
    };
    let c = start_with(&dir.path().join("console.db"), page);
    let op = login(&c);
    let mut s = std::net::TcpStream::connect(c.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET /events/stream HTTP/1.1\r\nHost: x\r\nCookie: {}\r\nAccept: text/event-stream\r\n\r\n",
        op.cookie
    )
    .unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    let read_until = |s: &mut std::net::TcpStream, got: &mut String, what: &str| {
        let mut buf = [0u8; 4096];
        let t0 = Instant::now();
        while !got.contains(what) {
            assert!(t0.elapsed() < Duration::from_secs(5), "no {what:?} in {got}");
            match s.read(&mut buf) {
                Ok(0) => panic!("closed before {what:?}: {got}"),
                Ok(n) => got.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(e) => panic!("{e}: {got}"),
            }
        }
    };
    read_until(&mut s, &mut got, "200 OK");
    // Alive while the session is: an alert comes through.
    kiosk_post(&c, "/v1/events", KEY_A, &event("hall-a", 1, "call_staff", None));
    read_until(&mut s, &mut got, "event: alert");
    assert_eq!(op.post("/logout", &[]).0, 303);
    let t0 = Instant::now();
    read_until(&mut s, &mut got, "event: expired");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    // And the stream ends (the chunked body's last chunk, or the connection closes).
    let t0 = Instant::now();
    while !got.ends_with("0\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.push_str(&String::from_utf8_lossy(&buf[..n]));
                if got.ends_with("0\r\n\r\n") {
                    break;
                }
            }
            Err(e) => panic!("the feed stayed open after `expired`: {e}"),
        }
        assert!(t0.elapsed() < Duration::from_secs(3), "still streaming: {got}");
    }
    kiosk_post(&c, "/v1/events", KEY_A, &event("hall-a", 2, "call_staff", None));
    std::thread::sleep(Duration::from_millis(300));
    let _ = s.set_read_timeout(Some(Duration::from_millis(300)));
    let mut after = String::new();
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        after.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(!after.contains("event: alert"), "an alert after the logout: {after}");
}
