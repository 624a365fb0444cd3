//! The hall console on PostgreSQL (issue #17): the store's contract on both backends, two
//! consoles on one database (each event, alert and "offline" once however the kiosks'
//! requests are spread, each alert forwarded once, a staff login and its CSRF token good
//! on both, an alert stored by one shown live on the other's staff page), 503 while the
//! server is down and recovery after, and `kiosk console --db-file` with a bad setting, the environment or libpq's password file.

use crate::common::kiosk_bin;
use crate::console_hooks::{webhooks_file, Receiver};
use kiosk::console::server::{self, Console};
use kiosk::console::store::{HeartbeatOutcome, Write, Written};
use kiosk::console::wire::{EventKind, Heartbeat, KioskEvent};
use kiosk::console::{ConsoleOptions, ConsoleStore, RunningConsole, StaffPageOptions};
use kiosk::pgdb::{DbTarget, PoolSettings};
use kiosk::review::keys::Keys;
use kiosk::testkit::postgres::{self, fresh_database, PgServer, PG_PASSWORD};
use kiosk::testkit::review::{raw, raw_agent, OperatorSession, Raw, OPERATOR, OPERATOR_PASSWORD};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write as _};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pool() -> PoolSettings {
    PoolSettings {
        size: 4,
        connect_timeout: Duration::from_secs(3),
        wait_timeout: Duration::from_secs(3),
    }
}

fn key(i: usize) -> String {
    format!("console-pg-test-key-of-kiosk-{i:02}-0123456789")
}

fn kiosk_id(i: usize) -> String {
    format!("hall-{i:02}")
}

fn hb(kiosk: &str, seq: u64) -> Heartbeat {
    serde_json::from_value(heartbeat_json(kiosk, seq)).unwrap()
}

fn heartbeat_json(kiosk: &str, seq: u64) -> serde_json::Value {
    serde_json::json!({
        "kiosk_id": kiosk, "seq": seq, "version": "0.1.0", "state": "idle",
        "printer": {"status": "ready", "paper_percent": 80, "near_end": false},
        "camera": "ok", "idcard": "absent", "outbox_depth": 0, "free_disk_mb": 5000,
        "counters": {"sessions": 1, "receipts": 1}
    })
}

fn events_json(kiosk: &str, evs: &[(u64, &str)]) -> serde_json::Value {
    let list: Vec<_> = evs
        .iter()
        .map(|(seq, kind)| {
            serde_json::json!({"seq": seq, "kind": kind, "at": "2026-12-07T10:00:00+08:00",
                "screen": "see-staff", "code": null, "reasons": []})
        })
        .collect();
    serde_json::json!({"kiosk_id": kiosk, "events": list})
}

fn ev(seq: u64, kind: EventKind) -> KioskEvent {
    serde_json::from_value(serde_json::json!({"seq": seq, "kind": kind.id(),
        "at": "2026-12-07T10:00:00+08:00", "screen": null, "code": null, "reasons": ["glasses"]}))
    .unwrap()
}

/// Every call the console makes, with the answers both backends must give.
async fn contract(s: &ConsoleStore) {
    let write = |w| s.write(w, 1_000);
    assert_eq!(
        write(Write::Heartbeat(hb("hall-a", 5))).await.unwrap(),
        Written::Heartbeat(HeartbeatOutcome::Stored)
    );
    for seq in [5, 4] {
        assert_eq!(
            s.write(Write::Heartbeat(hb("hall-a", seq)), 1_100).await.unwrap(),
            Written::Heartbeat(HeartbeatOutcome::Replay),
            "seq {seq} is not newer"
        );
    }
    let k = s.kiosks().await.unwrap();
    assert_eq!(
        (k.len(), k[0].heartbeat.seq, k[0].last_seen_ms, k[0].offline),
        (1, 5, 1_000, false)
    );
    let batch = || Write::Events {
        kiosk: "hall-a".into(),
        events: vec![
            ev(1, EventKind::CallStaff),
            ev(2, EventKind::PaperOut),
            ev(3, EventKind::AdminLogin),
        ],
    };
    let Written::Events(first) = write(batch()).await.unwrap() else {
        panic!()
    };
    assert_eq!((first.up_to, first.new, first.opened.len()), (3, 3, 2));
    let Written::Events(again) = write(batch()).await.unwrap() else {
        panic!()
    };
    assert_eq!(
        (again.up_to, again.new, again.opened.len()),
        (3, 0, 0),
        "a retry stores nothing"
    );
    let open = s.alerts(true).await.unwrap();
    assert_eq!(
        open.iter().map(|a| a.kind.as_str()).collect::<Vec<_>>(),
        ["paper_out", "call_staff"]
    );
    assert_eq!(open[0].reasons, ["glasses"]);
    // The reload closes the paper alert.
    let reload = Write::Events {
        kiosk: "hall-a".into(),
        events: vec![ev(4, EventKind::PaperReloaded)],
    };
    let Written::Events(r) = s.write(reload, 2_000).await.unwrap() else {
        panic!()
    };
    assert_eq!((r.up_to, r.new), (4, 1));
    let paper = s.alert(open[0].id).await.unwrap().unwrap();
    assert_eq!(paper.resolved_ms, Some(2_000));
    assert_eq!(s.alerts(true).await.unwrap().len(), 1);
    // Acknowledged once.
    let call = open[1].id;
    assert!(s.ack(call, "王敏", 3_000).await.unwrap());
    assert!(!s.ack(call, "李强", 3_100).await.unwrap());
    assert_eq!(s.alert(call).await.unwrap().unwrap().acked_by.as_deref(), Some("王敏"));
    assert!(s.alert(999_999).await.unwrap().is_none());
    // Offline once, back with the next heartbeat.
    let gone = s.mark_offline(1_500, 5_000).await.unwrap();
    assert_eq!(gone.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(), ["hall-a"]);
    assert!(s.mark_offline(1_500, 5_100).await.unwrap().is_empty(), "raised once");
    assert!(s.kiosk("hall-a").await.unwrap().unwrap().offline);
    write(Write::Heartbeat(hb("hall-a", 6))).await.unwrap();
    assert!(!s.kiosk("hall-a").await.unwrap().unwrap().offline);
    assert_eq!(s.alert(gone[0].1).await.unwrap().unwrap().resolved_ms, Some(1_000));
    // A kiosk's 24 hours, newest first; the page's list keeps every open alert.
    let evs = s.kiosk_events_since("hall-a", 0).await.unwrap();
    assert_eq!(evs.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 3, 2, 1]);
    assert_eq!(evs[3].kind, "call_staff");
    assert!(s.kiosk_events_since("hall-a", 2_001).await.unwrap().is_empty());
    assert_eq!(s.kiosk_alerts_since("hall-a", 0).await.unwrap().len(), 3);
    assert_eq!(
        s.alerts_since(10_000, 10).await.unwrap().len(),
        0,
        "nothing open or recent"
    );
    assert_eq!(s.alerts_since(0, 2).await.unwrap().len(), 2, "the limit holds");
    assert_eq!(s.alerts(false).await.unwrap().len(), 3);
    assert!(s.kiosk("hall-b").await.unwrap().is_none());
}

fn rt() -> tokio::runtime::Runtime {
    server::runtime().unwrap()
}

#[test]
fn console_store_contract_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = ConsoleStore::open_sqlite(&dir.path().join("c.db")).unwrap();
    rt().block_on(contract(&store));
}

#[test]
fn console_store_contract_on_postgres() {
    let url = fresh_database();
    let t = DbTarget::parse(&url, "test").unwrap();
    let rt = rt();
    let store = rt.block_on(ConsoleStore::open(&t, &pool())).unwrap();
    rt.block_on(contract(&store));
    // A second console's start-up finds the schema made and changes nothing.
    let again = rt.block_on(ConsoleStore::open(&t, &pool())).unwrap();
    assert_eq!(rt.block_on(again.alerts(false)).unwrap().len(), 3);
    assert_eq!(postgres::query_i64(&url, "SELECT COUNT(*) FROM console_migrations"), 2);
}

/// A console with its staff page and webhooks on `url`, on a runtime of its own.
fn start_pg(url: &str, n_kiosks: usize, heartbeat: Duration, hooks: &Path) -> RunningConsole {
    let rt = rt();
    let t = DbTarget::parse(url, "test").unwrap();
    let store = rt.block_on(ConsoleStore::open(&t, &pool())).unwrap();
    let mut keys = Keys::default();
    for i in 0..n_kiosks {
        keys.insert(&kiosk_id(i), &key(i));
    }
    let page = StaffPageOptions {
        keepalive: Duration::from_millis(300),
        ..StaffPageOptions::default()
    };
    let staff = store.staff_auth(page.staff.clone()).unwrap();
    let opts = ConsoleOptions {
        heartbeat,
        webhooks: Some(Arc::new(kiosk::console::webhook::Webhooks::load(hooks).unwrap())),
        ..ConsoleOptions::default()
    };
    let c = Console::new(store, keys, opts).with_staff(staff, page);
    server::spawn_on(rt, Arc::new(c), "127.0.0.1:0").unwrap()
}

fn post(c: &RunningConsole, path: &str, key: &str, body: &serde_json::Value) -> Raw {
    raw(raw_agent()
        .post(format!("{}{path}", c.url()))
        .header("authorization", format!("Bearer {key}"))
        .content_type("application/json")
        .send(serde_json::to_vec(body).unwrap().as_slice()))
}

fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(t0.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Reads the open stream `s` until `what` shows (5 s at most).
fn read_until(s: &mut std::net::TcpStream, got: &mut String, what: &str) {
    let mut buf = [0u8; 4096];
    let t0 = Instant::now();
    while !got.contains(what) {
        assert!(t0.elapsed() < Duration::from_secs(5), "no {what:?} in {got}");
        match s.read(&mut buf) {
            Ok(0) => panic!("closed before {what:?}: {got}"),
            Ok(n) => got.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("{e}: {got}"),
        }
    }
}

#[test]
fn two_consoles_on_one_postgres_database_store_alert_and_forward_everything_once() {
    const KIOSKS: usize = 20;
    let url = fresh_database();
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), false);
    let hooks = webhooks_file(
        dir.path(),
        &format!(
            "[delivery]\nfirst_retry_s = 0.05\nmax_retry_s = 0.2\n\n[default]\nurl = \"{}\"\nformat = \"generic\"\n",
            rx.url("/hook")
        ),
    );
    let every = Duration::from_millis(400);
    let a = start_pg(&url, KIOSKS, every, &hooks);
    let b = start_pg(&url, KIOSKS, every, &hooks);
    a.block_on(
        a.console
            .staff()
            .unwrap()
            .set_user_password(OPERATOR, OPERATOR_PASSWORD),
    )
    .unwrap();

    // A member of staff logs in on A; the cookie and CSRF token work on B (the balancer
    // may send any request to either), and B's live feed is open.
    let on_a = kiosk::testkit::review::operator_login_at(&a.url(), OPERATOR, OPERATOR_PASSWORD, "/");
    let on_b = OperatorSession {
        base: b.url(),
        cookie: on_a.cookie.clone(),
        csrf: on_a.csrf.clone(),
    };
    let (st, _, html) = on_b.get("/");
    assert_eq!(st, 200, "A's login is good on B: {html}");
    let mut feed = std::net::TcpStream::connect(b.addr).unwrap();
    feed.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    write!(
        feed,
        "GET /events/stream HTTP/1.1\r\nHost: x\r\nCookie: {}\r\nAccept: text/event-stream\r\n\r\n",
        on_a.cookie
    )
    .unwrap();
    let mut streamed = String::new();
    read_until(&mut feed, &mut streamed, "200 OK");

    // 20 kiosks send every heartbeat and every batch to both consoles at once (a retry
    // after a lost answer, landing on the other instance).
    let batch = [
        (1, "call_staff"),
        (2, "paper_out"),
        (3, "paper_reloaded"),
        (4, "admin_login"),
    ];
    let threads: Vec<_> = (0..KIOSKS)
        .flat_map(|i| [a.url(), b.url()].map(|u| (i, u)))
        .map(|(i, base)| {
            std::thread::spawn(move || {
                let send = |path: &str, body: &serde_json::Value| {
                    raw(raw_agent()
                        .post(format!("{base}{path}"))
                        .header("authorization", format!("Bearer {}", key(i)))
                        .content_type("application/json")
                        .send(serde_json::to_vec(body).unwrap().as_slice()))
                };
                let beat = send("/v1/heartbeat", &heartbeat_json(&kiosk_id(i), 1)).0;
                let r = send("/v1/events", &events_json(&kiosk_id(i), &batch));
                assert_eq!(r.0, 200, "{}", r.2);
                let v: serde_json::Value = serde_json::from_str(&r.2).unwrap();
                assert_eq!(v["stored_up_to"], 4, "{v}");
                (i, beat, v["new"].as_u64().unwrap())
            })
        })
        .collect();
    let mut beats: BTreeMap<usize, Vec<u16>> = BTreeMap::new();
    let mut new: BTreeMap<usize, u64> = BTreeMap::new();
    for t in threads {
        let (i, beat, n) = t.join().unwrap();
        beats.entry(i).or_default().push(beat);
        *new.entry(i).or_default() += n;
    }
    for (i, mut b) in beats {
        b.sort();
        assert_eq!(b, [204, 409], "kiosk {i}: one heartbeat stored, its twin a replay");
    }
    assert!(new.values().all(|n| *n == 4), "each event stored once: {new:?}");
    assert_eq!(
        postgres::query_i64(&url, "SELECT COUNT(*) FROM events"),
        4 * KIOSKS as i64
    );
    let store = a.console.store().clone();
    // (Without "offline": the kiosks may already count as silent.)
    let all: Vec<_> = a
        .block_on(store.alerts(false))
        .unwrap()
        .into_iter()
        .filter(|x| x.kind != "offline")
        .collect();
    assert_eq!(all.len(), 2 * KIOSKS, "a call and a paper alert per kiosk");
    assert!(all
        .iter()
        .filter(|x| x.kind == "paper_out")
        .all(|x| x.resolved_ms.is_some()));

    // Every alert reaches the webhook once, from whichever console stored it…
    let ids = |offline: bool| -> Vec<i64> {
        let mut v: Vec<i64> = rx
            .got()
            .iter()
            .filter(|g| (g.body["kind"] == "offline") == offline)
            .map(|g| g.body["alert_id"].as_i64().unwrap())
            .collect();
        v.sort();
        v
    };
    wait_until("each alert forwarded", Duration::from_secs(10), || {
        ids(false).len() >= all.len()
    });
    let mut want: Vec<i64> = all.iter().map(|x| x.id).collect();
    want.sort();
    assert_eq!(ids(false), want, "each alert forwarded exactly once");
    // …and shows live on B's staff page, also those A stored.
    let from_a = post(
        &a,
        "/v1/events",
        &key(0),
        &events_json(&kiosk_id(0), &[(5, "camera_lost")]),
    );
    assert_eq!(from_a.0, 200, "{}", from_a.2);
    let hand = a
        .block_on(store.alerts(true))
        .unwrap()
        .into_iter()
        .find(|x| x.kind == "camera_lost")
        .unwrap();
    read_until(&mut feed, &mut streamed, &format!("id: {}", hand.id));
    assert!(streamed.contains("event: alert"), "{streamed}");
    assert!(
        streamed.contains("\"kind\":\"camera_lost\""),
        "the whole row: {streamed}"
    );

    // Acknowledged on B with the token A's page gave; a second try changes nothing.
    let call = all.iter().find(|x| x.kind == "call_staff").unwrap().id;
    assert_eq!(on_b.post(&format!("/alerts/{call}/ack"), &[]).0, 303);
    assert_eq!(on_a.post(&format!("/alerts/{call}/ack"), &[]).0, 303);
    let acked = a.block_on(store.alert(call)).unwrap().unwrap();
    assert_eq!(acked.acked_by.as_deref(), Some(OPERATOR));

    // The kiosks fall silent: both consoles' watchers look, each kiosk is "offline" once,
    // and that alert is forwarded once.
    wait_until("every kiosk offline", Duration::from_secs(10), || {
        a.block_on(store.kiosks()).unwrap().iter().filter(|k| k.offline).count() == KIOSKS
    });
    std::thread::sleep(every * 2); // more watcher passes on both
    assert_eq!(
        postgres::query_i64(&url, "SELECT COUNT(*) FROM alerts WHERE kind = 'offline'"),
        KIOSKS as i64,
        "one offline alert per kiosk"
    );
    wait_until("offline forwarded", Duration::from_secs(10), || {
        ids(true).len() >= KIOSKS
    });
    std::thread::sleep(Duration::from_millis(300));
    let offline = ids(true);
    let mut per_id: HashMap<i64, usize> = HashMap::new();
    for id in &offline {
        *per_id.entry(*id).or_default() += 1;
    }
    assert_eq!(
        (offline.len(), per_id.len()),
        (KIOSKS, KIOSKS),
        "each offline alert forwarded once"
    );
}

#[test]
fn a_console_answers_503_while_postgres_is_down_and_carries_on_after() {
    let server = PgServer::start().unwrap_or_else(|e| panic!("PostgreSQL test server: {e}"));
    let url = server.create_database("console").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let hooks = webhooks_file(
        dir.path(),
        "[default]\nurl = \"http://127.0.0.1:9/h\"\nformat = \"generic\"\n",
    );
    let c = start_pg(&url, 1, Duration::from_secs(30), &hooks);
    assert_eq!(
        post(&c, "/v1/heartbeat", &key(0), &heartbeat_json(&kiosk_id(0), 1)).0,
        204
    );
    server.stop();
    let down = post(&c, "/v1/heartbeat", &key(0), &heartbeat_json(&kiosk_id(0), 2));
    assert_eq!(down.0, 503, "{}", down.2);
    let v: serde_json::Value = serde_json::from_str(&down.2).unwrap();
    assert_eq!(v["error"], "database_unavailable");
    assert!(v["message_zh"].as_str().is_some_and(|m| !m.is_empty()));
    server.restart().unwrap();
    // The kiosk sends it again (its queue keeps it): stored once the pool reconnects.
    wait_until("stored after the restart", Duration::from_secs(15), || {
        post(&c, "/v1/heartbeat", &key(0), &heartbeat_json(&kiosk_id(0), 2)).0 == 204
    });
    assert_eq!(postgres::query_i64(&url, "SELECT MAX(last_seq) FROM kiosks"), 2);
    // The alert listener reconnected too: a new alert reaches the staff page's live feed.
    c.block_on(
        c.console
            .staff()
            .unwrap()
            .set_user_password(OPERATOR, OPERATOR_PASSWORD),
    )
    .unwrap();
    let op = kiosk::testkit::review::operator_login_at(&c.url(), OPERATOR, OPERATOR_PASSWORD, "/");
    let mut feed = std::net::TcpStream::connect(c.addr).unwrap();
    feed.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    write!(
        feed,
        "GET /events/stream HTTP/1.1\r\nHost: x\r\nCookie: {}\r\nAccept: text/event-stream\r\n\r\n",
        op.cookie
    )
    .unwrap();
    let mut streamed = String::new();
    read_until(&mut feed, &mut streamed, "200 OK");
    let mut seq = 0;
    // Sent again until it shows: the listener waits up to a few seconds before reconnecting.
    let t0 = Instant::now();
    while !streamed.contains("event: alert") {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "no live alert after the restart: {streamed}"
        );
        seq += 1;
        let r = post(
            &c,
            "/v1/events",
            &key(0),
            &events_json(&kiosk_id(0), &[(seq, "call_staff")]),
        );
        assert_eq!(r.0, 200, "{}", r.2);
        let mut buf = [0u8; 4096];
        let until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < until && !streamed.contains("event: alert") {
            if let Ok(n) = feed.read(&mut buf) {
                streamed.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    }
}

#[test]
fn the_console_command_on_postgres_explains_a_bad_setting_and_keeps_the_password_out_of_argv() {
    use std::os::unix::fs::PermissionsExt;
    let url = fresh_database();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: Option<&str>| {
        let mut cmd = std::process::Command::new(kiosk_bin());
        cmd.arg("console").args(args).env_remove("KIOSK_CONSOLE_DB");
        if let Some(v) = env {
            cmd.env("KIOSK_CONSOLE_DB", v);
        }
        let out = cmd.stdin(std::process::Stdio::null()).output().unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let keys = dir.path().join("keys");
    std::fs::write(&keys, format!("{} {}\n", kiosk_id(0), key(0))).unwrap();
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    let keys = keys.to_str().unwrap();
    let serve = ["--listen", "127.0.0.1:0", "--keys", keys];

    // The password on the command line is refused, and not printed.
    let (code, err) = run(&[&["--db", url.as_str()][..], &serve[..]].concat(), None);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--db-file") && err.contains("Fix:") && !err.contains(PG_PASSWORD),
        "{err}"
    );
    // A wrong password in --db-file: exit 2, the setting and the fix named.
    let bad = dir.path().join("db.url");
    std::fs::write(&bad, url.replace(PG_PASSWORD, "not-the-password")).unwrap();
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, err) = run(&[&["--db-file", bad.to_str().unwrap()][..], &serve[..]].concat(), None);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("refused the login") && err.contains("Fix:") && !err.contains("not-the-password"),
        "{err}"
    );
    // A database that does not exist, given in the environment.
    let missing = format!("{}_missing", url);
    let (code, err) = run(&serve, Some(&missing));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("does not exist") && err.contains("createdb"), "{err}");
    // No password in the URL: libpq's password file gives it, and must be private.
    let no_pw = url.replace(&format!(":{PG_PASSWORD}@"), "@");
    let (host_port, db) = no_pw.rsplit_once('@').unwrap().1.split_once('/').unwrap();
    let passfile = dir.path().join("pgpass");
    std::fs::write(
        &passfile,
        format!(
            "# host:port:db:user:password\n{}:{db}:{}:{PG_PASSWORD}\n",
            host_port,
            postgres::PG_USER
        ),
    )
    .unwrap();
    let add_with_passfile = |mode: u32, name: &str| {
        std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(mode)).unwrap();
        let mut child = std::process::Command::new(kiosk_bin())
            .args(["console", "--db", &no_pw, "--add-user", name])
            .env("PGPASSFILE", &passfile)
            .env_remove("KIOSK_CONSOLE_DB")
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(b"a-long-enough-password\n");
        let out = child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (code, err) = add_with_passfile(0o644, "limin");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("chmod 600") && err.contains(passfile.to_str().unwrap()),
        "{err}"
    );
    let (code, err) = add_with_passfile(0o600, "limin");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        postgres::query_i64(&url, "SELECT COUNT(*) FROM staff_accounts WHERE name = 'limin'"),
        1
    );
    // Right: --add-user through the environment writes the account into PostgreSQL.
    let mut child = std::process::Command::new(kiosk_bin())
        .args(["console", "--add-user", "wangmin"])
        .env("KIOSK_CONSOLE_DB", &url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-enough-password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        postgres::query_i64(&url, "SELECT COUNT(*) FROM staff_accounts WHERE name = 'wangmin'"),
        1
    );
}
