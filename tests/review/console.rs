//! The hall console's kiosk side (issue #16) over real HTTP on loopback: heartbeats and
//! events stored once, every bad request a 4xx that changes nothing, "kiosk offline" after
//! three missed heartbeats, acknowledgements kept across a restart, and the CLI.

use crate::common::kiosk_bin;
use kiosk::console::server::Console;
use kiosk::console::{ConsoleOptions, ConsoleStore, RunningConsole, SqliteConsole};
use kiosk::review::keys::Keys;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY_A: &str = "console-test-key-of-kiosk-a-0123456789";
const KEY_B: &str = "console-test-key-of-kiosk-b-0123456789";

fn start(db: &Path, heartbeat: Duration) -> RunningConsole {
    let mut keys = Keys::default();
    keys.insert("hall-a", KEY_A);
    keys.insert("hall-b", KEY_B);
    let opts = ConsoleOptions {
        heartbeat,
        ..ConsoleOptions::default()
    };
    let c = Console::new(ConsoleStore::open_sqlite(db).unwrap(), keys, opts);
    kiosk::console::spawn(Arc::new(c), "127.0.0.1:0").unwrap()
}

/// One raw POST; (status code, body).
fn post(c: &RunningConsole, path: &str, key: Option<&str>, content_type: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(c.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\nContent-Type: {content_type}\r\n",
        body.len()
    );
    if let Some(k) = key {
        head.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut reply = vec![];
    let _ = s.read_to_end(&mut reply);
    let text = String::from_utf8_lossy(&reply).to_string();
    let code = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
    (code, body)
}

fn heartbeat(kiosk: &str, seq: u64, state: &str) -> serde_json::Value {
    serde_json::json!({
        "kiosk_id": kiosk, "seq": seq, "version": "0.1.0", "state": state,
        "printer": {"status": "ready", "paper_percent": 80, "near_end": false},
        "camera": "ok", "idcard": "absent", "outbox_depth": 0, "free_disk_mb": 5000,
        "counters": {"sessions": 3, "receipts": 2}
    })
}

fn beat(c: &RunningConsole, kiosk: &str, key: &str, seq: u64) -> u16 {
    let body = serde_json::to_vec(&heartbeat(kiosk, seq, "attract")).unwrap();
    post(c, "/v1/heartbeat", Some(key), "application/json", &body).0
}

fn events(kiosk: &str, list: &[(u64, &str, Option<&str>)]) -> Vec<u8> {
    let events: Vec<_> = list
        .iter()
        .map(|(seq, kind, code)| {
            serde_json::json!({"seq": seq, "kind": kind, "at": "2026-12-06T10:00:00+08:00",
                "screen": "see-staff", "code": code, "reasons": ["face_position"]})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"kiosk_id": kiosk, "events": events})).unwrap()
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(secs), "{what} within {secs} s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn heartbeats_are_stored_and_a_replayed_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir.path().join("console.db"), Duration::from_secs(30));
    assert_eq!(beat(&c, "hall-a", KEY_A, 100), 204);
    let k = c.block_on(c.console.store().kiosks()).unwrap();
    assert_eq!(k.len(), 1);
    assert_eq!((k[0].id.as_str(), k[0].heartbeat.seq), ("hall-a", 100));
    assert_eq!(k[0].heartbeat.counters["sessions"], 3);
    // The same heartbeat again, or an older one: 409, and the stored one stays.
    assert_eq!(beat(&c, "hall-a", KEY_A, 100), 409);
    assert_eq!(beat(&c, "hall-a", KEY_A, 99), 409);
    assert_eq!(c.block_on(c.console.store().kiosks()).unwrap()[0].heartbeat.seq, 100);
    assert_eq!(beat(&c, "hall-a", KEY_A, 101), 204);
    assert_eq!(c.block_on(c.console.store().kiosks()).unwrap()[0].heartbeat.seq, 101);
    // The database is the console's alone.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("console.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "console.db is {mode:o}");
}

#[test]
fn bad_requests_get_4xx_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir.path().join("console.db"), Duration::from_secs(30));
    let good = serde_json::to_vec(&heartbeat("hall-a", 1, "attract")).unwrap();
    let json = "application/json";
    let mut huge = heartbeat("hall-a", 2, "attract");
    huge["state"] = serde_json::Value::String("x".repeat(100_000));
    let mut too_long = heartbeat("hall-a", 3, "attract");
    too_long["state"] = serde_json::Value::String("x".repeat(65));
    let mut extra = heartbeat("hall-a", 4, "attract");
    extra["photo"] = serde_json::Value::String("base64…".into());
    // (what, path, key, content type, body, expected status)
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, &'a str, Vec<u8>, u16);
    let cases: Vec<Case> = vec![
        ("no key", "/v1/heartbeat", None, json, good.clone(), 401),
        (
            "unknown key",
            "/v1/heartbeat",
            Some("not-a-key-of-any-kiosk-at-all-0123456789"),
            json,
            good.clone(),
            401,
        ),
        (
            "another kiosk's id",
            "/v1/heartbeat",
            Some(KEY_B),
            json,
            good.clone(),
            403,
        ),
        (
            "not JSON",
            "/v1/heartbeat",
            Some(KEY_A),
            "text/plain",
            good.clone(),
            415,
        ),
        (
            "garbage",
            "/v1/heartbeat",
            Some(KEY_A),
            json,
            b"\x00\xff{{{".to_vec(),
            400,
        ),
        (
            "oversized",
            "/v1/heartbeat",
            Some(KEY_A),
            json,
            serde_json::to_vec(&huge).unwrap(),
            413,
        ),
        (
            "a field too long",
            "/v1/heartbeat",
            Some(KEY_A),
            json,
            serde_json::to_vec(&too_long).unwrap(),
            400,
        ),
        (
            "an unknown field",
            "/v1/heartbeat",
            Some(KEY_A),
            json,
            serde_json::to_vec(&extra).unwrap(),
            400,
        ),
        (
            "events, another kiosk's id",
            "/v1/events",
            Some(KEY_B),
            json,
            events("hall-a", &[(1, "call_staff", None)]),
            403,
        ),
        (
            "events, unknown kind",
            "/v1/events",
            Some(KEY_A),
            json,
            events("hall-a", &[(1, "launch_rocket", None)]),
            400,
        ),
        (
            "events, bad code",
            "/v1/events",
            Some(KEY_A),
            json,
            events("hall-a", &[(1, "hand_off", Some("12ab"))]),
            400,
        ),
        (
            "events, out of order",
            "/v1/events",
            Some(KEY_A),
            json,
            events("hall-a", &[(2, "call_staff", None), (1, "call_staff", None)]),
            400,
        ),
        (
            "events, no key",
            "/v1/events",
            None,
            json,
            events("hall-a", &[(1, "call_staff", None)]),
            401,
        ),
    ];
    for (what, path, key, ct, body, want) in cases {
        let (code, reply) = post(&c, path, key, ct, &body);
        assert_eq!(code, want, "{what}: {reply}");
        if code != 413 {
            let e: serde_json::Value = serde_json::from_str(&reply).unwrap_or_else(|_| panic!("{what}: {reply}"));
            assert!(
                e["message_zh"].as_str().is_some_and(|m| !m.is_empty()),
                "{what}: {reply}"
            );
        }
    }
    let s = c.console.store();
    assert!(
        c.block_on(s.kiosks()).unwrap().is_empty(),
        "a refused request stored a kiosk"
    );
    assert!(
        c.block_on(s.alerts(false)).unwrap().is_empty(),
        "a refused request raised an alert"
    );
}

#[test]
fn events_are_stored_once_in_order_and_open_alerts_until_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("console.db");
    let c = start(&db, Duration::from_secs(30));
    let mut feed = c.console.subscribe();
    let batch = events(
        "hall-a",
        &[
            (1, "admin_login", None),
            (2, "call_staff", None),
            (3, "hand_off", Some("042917")),
            (4, "paper_out", None),
        ],
    );
    let (code, reply) = post(&c, "/v1/events", Some(KEY_A), "application/json", &batch);
    assert_eq!(code, 200, "{reply}");
    let r: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!((r["stored_up_to"].as_u64(), r["new"].as_u64()), (Some(4), Some(4)));
    // The kiosk's retry after a lost answer: stored once.
    let (_, reply) = post(&c, "/v1/events", Some(KEY_A), "application/json", &batch);
    let r: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!((r["stored_up_to"].as_u64(), r["new"].as_u64()), (Some(4), Some(0)));
    let kinds: Vec<String> = c
        .block_on(c.console.store().kiosk_events_since("hall-a", 0))
        .unwrap()
        .into_iter()
        .rev() // newest first
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["admin_login", "call_staff", "hand_off", "paper_out"]);
    // Three need staff (the login is only recorded), newest first; the hand-off carries its code.
    let open = c.block_on(c.console.store().alerts(true)).unwrap();
    let kinds: Vec<&str> = open.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["paper_out", "hand_off", "call_staff"]);
    assert_eq!(open[1].code.as_deref(), Some("042917"));
    assert_eq!(open[1].reasons, ["face_position"]);
    // The live feed (the staff page's, the webhooks') got each alert once, in order.
    let fed: Vec<String> = std::iter::from_fn(|| feed.try_recv().ok()).map(|a| a.kind).collect();
    assert_eq!(fed, ["call_staff", "hand_off", "paper_out"]);
    // Reloading paper closes the paper alert by itself.
    let (code, _) = post(
        &c,
        "/v1/events",
        Some(KEY_A),
        "application/json",
        &events("hall-a", &[(5, "paper_reloaded", None)]),
    );
    assert_eq!(code, 200);
    assert_eq!(c.block_on(c.console.store().alerts(true)).unwrap().len(), 2);
    // Staff acknowledge the call; the acknowledgement survives a console restart.
    let call = open[2].id;
    assert!(c.block_on(c.console.store().ack(call, "王敏", 1_000)).unwrap());
    assert!(
        !c.block_on(c.console.store().ack(call, "王敏", 2_000)).unwrap(),
        "acknowledged once"
    );
    drop(c);
    let c = start(&db, Duration::from_secs(30));
    let all = c.block_on(c.console.store().alerts(false)).unwrap();
    let call = all.iter().find(|a| a.id == call).unwrap();
    assert_eq!((call.acked_by.as_deref(), call.acked_ms), (Some("王敏"), Some(1_000)));
    assert_eq!(
        c.block_on(c.console.store().alerts(true)).unwrap().len(),
        1,
        "only the hand-off is open"
    );
}

#[test]
fn a_silent_kiosk_turns_offline_after_three_intervals_and_back_with_a_heartbeat() {
    let dir = tempfile::tempdir().unwrap();
    let every = Duration::from_millis(200);
    let c = start(&dir.path().join("console.db"), every);
    let t0 = Instant::now();
    assert_eq!(beat(&c, "hall-a", KEY_A, 1), 204);
    let offline = |c: &RunningConsole| {
        c.block_on(c.console.store().kiosks())
            .unwrap()
            .first()
            .is_some_and(|k| k.offline)
    };
    wait_until("offline", 5, || offline(&c));
    assert!(t0.elapsed() >= every * 3, "offline after {:?}: too early", t0.elapsed());
    let alerts = c.block_on(c.console.store().alerts(true)).unwrap();
    assert_eq!(
        alerts.len(),
        1,
        "one offline alert, not one per watcher pass: {alerts:?}"
    );
    assert_eq!(alerts[0].kind, "offline");
    assert_eq!(beat(&c, "hall-a", KEY_A, 2), 204);
    assert!(!offline(&c));
    assert!(
        c.block_on(c.console.store().alerts(true)).unwrap().is_empty(),
        "back: the offline alert is closed"
    );
}

#[test]
fn the_console_command_serves_and_refuses_a_bad_keys_file() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::write(&keys, "hall-a short\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = std::process::Command::new(kiosk_bin())
        .args(["console", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("c.db"))
        .arg("--keys")
        .arg(&keys)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("keys") && err.contains("32"), "{err}");

    std::fs::write(&keys, format!("hall-a {KEY_A}\n")).unwrap();
    let mut child = std::process::Command::new(kiosk_bin())
        .args(["console", "--listen", "127.0.0.1:0", "--heartbeat-s", "0.2", "--db"])
        .arg(dir.path().join("c.db"))
        .arg("--keys")
        .arg(&keys)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.starts_with("console listening on http://127.0.0.1:"), "{line}");
}

/// Group commit: several kiosks' writes in one transaction each get their own outcome —
/// a replayed heartbeat and a repeated event inside the group included — and all of it is
/// on disk once the group returns.
#[test]
fn a_group_of_writes_gives_each_its_own_outcome() {
    use kiosk::console::store::{HeartbeatOutcome, Write, Written};
    use kiosk::console::wire::{EventBatch, Heartbeat};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("console.db");
    let hb = |kiosk, seq| -> Heartbeat { serde_json::from_value(heartbeat(kiosk, seq, "attract")).unwrap() };
    let ev = |kiosk, list: &[(u64, &str, Option<&str>)]| {
        let b: EventBatch = serde_json::from_slice(&events(kiosk, list)).unwrap();
        Write::Events {
            kiosk: kiosk.to_string(),
            events: b.events,
        }
    };
    let mut store = SqliteConsole::open(&db).unwrap();
    let group = [
        Write::Heartbeat(hb("hall-a", 5)),
        ev("hall-a", &[(1, "call_staff", None), (2, "paper_out", None)]),
        Write::Heartbeat(hb("hall-a", 5)),
        ev("hall-b", &[(1, "hand_off", Some("042917"))]),
        ev("hall-a", &[(2, "paper_out", None), (3, "paper_reloaded", None)]),
    ];
    let out: Vec<Written> = store
        .write_group(&group, 1_000)
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(out[0], Written::Heartbeat(HeartbeatOutcome::Stored));
    assert_eq!(out[2], Written::Heartbeat(HeartbeatOutcome::Replay));
    let stored = |w: &Written| match w {
        Written::Events(e) => (e.up_to, e.new, e.opened.len()),
        Written::Heartbeat(_) => panic!("events answered as a heartbeat"),
    };
    assert_eq!(stored(&out[1]), (2, 2, 2));
    assert_eq!(stored(&out[3]), (1, 1, 1));
    // seq 2 again is not new; the reload closes the paper-out alert opened earlier in the group.
    assert_eq!(stored(&out[4]), (3, 1, 0));
    drop(store);
    let store = SqliteConsole::open(&db).unwrap();
    let mut open: Vec<(String, String)> = store
        .alerts(true)
        .unwrap()
        .into_iter()
        .map(|a| (a.kiosk, a.kind))
        .collect();
    open.sort();
    assert_eq!(
        open,
        [
            ("hall-a".into(), "call_staff".into()),
            ("hall-b".into(), "hand_off".into())
        ]
    );
    assert_eq!(store.kiosks().unwrap()[0].heartbeat.seq, 5);
}

/// Many kiosk requests at once go through the group-commit writer: every one answered
/// with its own kiosk's figures, every alert stored once and on the feed.
#[test]
fn concurrent_event_posts_are_each_answered_and_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let c = Arc::new(start(&dir.path().join("console.db"), Duration::from_secs(30)));
    let mut feed = c.console.subscribe();
    let threads: Vec<_> = (1..=20u64)
        .flat_map(|seq| [("hall-a", KEY_A, seq), ("hall-b", KEY_B, seq)])
        .map(|(kiosk, key, seq)| {
            let c = c.clone();
            std::thread::spawn(move || {
                let body = events(kiosk, &[(seq, "call_staff", None)]);
                let (code, reply) = post(&c, "/v1/events", Some(key), "application/json", &body);
                assert_eq!(code, 200, "{reply}");
                let r: serde_json::Value = serde_json::from_str(&reply).unwrap();
                assert_eq!(r["new"].as_u64(), Some(1), "{kiosk} seq {seq}: {reply}");
                assert!(r["stored_up_to"].as_u64().unwrap() >= seq, "{kiosk} seq {seq}: {reply}");
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut seen = vec![];
    while let Ok(a) = feed.try_recv() {
        seen.push((a.kiosk, a.seq.unwrap()));
    }
    seen.sort();
    let want: Vec<(String, u64)> = ["hall-a", "hall-b"]
        .iter()
        .flat_map(|k| (1..=20).map(move |s| (k.to_string(), s)))
        .collect();
    assert_eq!(seen, want);
    assert_eq!(c.block_on(c.console.store().alerts(true)).unwrap().len(), 40);
}

/// The console serves through the review centre's transport: a client that connects and
/// says nothing, or stops halfway through a request head, is cut off at the header
/// timeout, and one that sends a head but not its body at the body timeout, so such
/// clients cannot hold the hall PC's connections.
#[test]
fn silent_and_slow_clients_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut keys = Keys::default();
    keys.insert("hall-a", KEY_A);
    let mut opts = ConsoleOptions::default();
    opts.transport.header_timeout = Duration::from_millis(300);
    opts.transport.body_timeout = Duration::from_millis(300);
    let c = Console::new(ConsoleStore::open_sqlite(&dir.path().join("c.db")).unwrap(), keys, opts);
    let c = kiosk::console::spawn(Arc::new(c), "127.0.0.1:0").unwrap();
    let closed_within = |s: &mut TcpStream| {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let t0 = Instant::now();
        let mut buf = vec![];
        let _ = s.read_to_end(&mut buf);
        (t0.elapsed(), String::from_utf8_lossy(&buf).to_string())
    };
    let mut silent = TcpStream::connect(c.addr).unwrap();
    let (took, _) = closed_within(&mut silent);
    assert!(
        took < Duration::from_secs(3),
        "a silent connection stayed open {took:?}"
    );
    let mut half = TcpStream::connect(c.addr).unwrap();
    half.write_all(b"POST /v1/heartbeat HTTP/1.1\r\nHost: x\r\n").unwrap();
    let (took, _) = closed_within(&mut half);
    assert!(took < Duration::from_secs(3), "a half head stayed open {took:?}");
    let mut slow = TcpStream::connect(c.addr).unwrap();
    let head = format!(
        "POST /v1/heartbeat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY_A}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"kiosk_id\""
    );
    slow.write_all(head.as_bytes()).unwrap();
    let (took, reply) = closed_within(&mut slow);
    assert!(took < Duration::from_secs(3), "a body that never came held it {took:?}");
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 4"),
        "refused, not served: {reply}"
    );
    assert!(
        c.block_on(c.console.store().kiosks()).unwrap().is_empty(),
        "nothing stored"
    );
    // And the console still serves.
    assert_eq!(beat(&c, "hall-a", KEY_A, 1), 204);
}
