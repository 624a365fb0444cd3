//! The kiosk's end of the hall console (issue #16) against a real console on loopback:
//! alerts confirmed before the screen says staff were called, device changes as events,
//! the heartbeat as the kiosk's tile, nothing lost or doubled while the console is down,
//! and a `kiosk simulate` process killed with SIGKILL turning "offline" and coming back.

use crate::common::kiosk_bin;
use kiosk::console::link::{ConsoleAlerts, LinkSettings};
use kiosk::console::queue::EventQueue;
use kiosk::console::server::Console;
use kiosk::console::{ConsoleOptions, ConsoleStore, RunningConsole};
use kiosk::domain::{HandOffCode, PrinterFault, Prompt};
use kiosk::ports::{Alert, AlertKind, AlertOutcome, Alerts, HallStatus};
use kiosk::review::keys::Keys;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY: &str = "console-link-test-key-of-hall-a-0123456789";

fn console_on(db: &Path, listen: &str, heartbeat: Duration) -> RunningConsole {
    let mut keys = Keys::default();
    keys.insert("hall-a", KEY);
    let opts = ConsoleOptions {
        heartbeat,
        ..ConsoleOptions::default()
    };
    let c = Console::new(ConsoleStore::open_sqlite(db).unwrap(), keys, opts);
    kiosk::console::spawn(Arc::new(c), listen).unwrap()
}

fn link(url: &str, queue: &Path, alert_wait: Duration) -> ConsoleAlerts {
    let data_dir = queue.parent().unwrap().to_path_buf();
    let settings = LinkSettings {
        url: url.into(),
        key: zeroize::Zeroizing::new(KEY.into()),
        kiosk_id: "hall-a".into(),
        heartbeat: Duration::from_millis(200),
        timeout: Duration::from_millis(500),
        retry: Duration::from_millis(100),
        alert_wait,
        data_dir,
    };
    ConsoleAlerts::start(settings, EventQueue::open(queue, 1000).unwrap())
}

fn alert(kind: AlertKind, code: Option<&str>) -> Alert {
    Alert {
        kind,
        kiosk_id: "hall-a".into(),
        screen: "see-staff",
        code: code.map(|c| HandOffCode::new(c).unwrap()),
        reasons: vec![Prompt::new("face_position", "请往左移", "Move left")],
        at: chrono::Utc::now().with_timezone(&kiosk::domain::china_time()),
    }
}

fn healthy() -> HallStatus {
    HallStatus {
        state: "attract",
        camera_ok: true,
        review_ok: true,
        counters: [("sessions".to_string(), 4u64)].into(),
        ..HallStatus::default()
    }
}

fn wait_until(what: &str, secs: f64, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs_f64(secs), "{what} within {secs} s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn alerts_reach_staff_before_the_screen_says_so_and_health_changes_become_events() {
    let dir = tempfile::tempdir().unwrap();
    let c = console_on(&dir.path().join("c.db"), "127.0.0.1:0", Duration::from_secs(30));
    let mut a = link(&c.url(), &dir.path().join("q.db"), Duration::from_secs(5));
    a.status(&healthy());
    assert_eq!(a.raise(&alert(AlertKind::CallStaff, None)), AlertOutcome::Accepted);
    // Accepted means stored by the console already.
    let open = c.block_on(c.console.store().alerts(true)).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, "call_staff");
    assert_eq!(
        a.raise(&alert(AlertKind::HandOff, Some("042917"))),
        AlertOutcome::Accepted
    );
    let open = c.block_on(c.console.store().alerts(true)).unwrap();
    assert_eq!(open[0].code.as_deref(), Some("042917"));
    assert_eq!(open[0].reasons, ["face_position"]);
    // The heartbeat makes the kiosk's tile.
    wait_until("a heartbeat", 3.0, || {
        !c.block_on(c.console.store().kiosks()).unwrap().is_empty()
    });
    let tile = &c.block_on(c.console.store().kiosks()).unwrap()[0];
    assert_eq!((tile.id.as_str(), tile.heartbeat.state.as_str()), ("hall-a", "attract"));
    assert_eq!(tile.heartbeat.counters["sessions"], 4);
    assert!(tile.heartbeat.free_disk_mb > 0, "free disk in the heartbeat");
    // Paper runs out, then the camera goes: two alerts; paper reloaded closes its alert.
    let mut s = healthy();
    s.printer_fault = Some(PrinterFault::PaperOut);
    a.status(&s);
    s.camera_ok = false;
    a.status(&s);
    wait_until("paper and camera alerts", 3.0, || {
        c.block_on(c.console.store().alerts(true)).unwrap().len() == 4
    });
    s.printer_fault = None;
    a.status(&s);
    wait_until("the paper alert closed", 3.0, || {
        let open = c.block_on(c.console.store().alerts(true)).unwrap();
        open.len() == 3 && !open.iter().any(|x| x.kind == "paper_out")
    });
    let tile = &c.block_on(c.console.store().kiosks()).unwrap()[0];
    wait_until("the heartbeat says the camera is out", 3.0, || {
        c.block_on(c.console.store().kiosks()).unwrap()[0].heartbeat.camera == kiosk::console::wire::Health::Fault
    });
    assert_eq!(tile.id, "hall-a");
    // The maintenance screens: wrong PIN, wrong setup code, lock-out (an alert), login.
    use kiosk::ports::AdminEvent;
    for e in [
        AdminEvent::PinFailed,
        AdminEvent::SetupCodeFailed,
        AdminEvent::LockedOut,
        AdminEvent::Login,
    ] {
        a.admin(e);
    }
    let admin = || -> Vec<(String, Vec<String>)> {
        let rows = c.block_on(c.console.store().kiosk_events_since("hall-a", 0)).unwrap();
        rows.into_iter()
            .filter(|r| r.screen.as_deref() == Some("admin"))
            .map(|r| (r.kind, r.reasons))
            .collect()
    };
    wait_until("the admin events", 3.0, || admin().len() == 4);
    let mut got = admin();
    got.sort();
    assert_eq!(
        got,
        [
            ("admin_login".to_string(), vec![]),
            ("pin_failed".to_string(), vec![]),
            ("pin_failed".to_string(), vec!["setup_code".to_string()]),
            ("pin_locked_out".to_string(), vec![]),
        ]
    );
    let open = c.block_on(c.console.store().alerts(true)).unwrap();
    assert!(
        open.iter().any(|x| x.kind == "pin_locked_out"),
        "the lock-out is an alert"
    );
    assert!(
        !open.iter().any(|x| x.kind == "pin_failed"),
        "one wrong PIN is no alert"
    );
}

#[test]
fn alerts_raised_while_the_console_is_down_arrive_once_in_order_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut a = link(&url, &dir.path().join("q.db"), Duration::from_millis(200));
    a.status(&healthy());
    let codes = ["100001", "100002", "100003", "100004", "100005"];
    for code in codes {
        // Nobody answers: the screen must not say staff were called.
        let out = a.raise(&alert(AlertKind::HandOff, Some(code)));
        assert!(matches!(out, AlertOutcome::Failed(_)), "{out:?}");
    }
    assert_eq!(
        EventQueue::open(&dir.path().join("q.db"), 1000).unwrap().len().unwrap(),
        5
    );
    // The console comes back on its address (the outage is the test's 1 s, not 60: every
    // interval is a setting).
    std::thread::sleep(Duration::from_secs(1));
    let c = console_on(
        &dir.path().join("c.db"),
        &format!("127.0.0.1:{port}"),
        Duration::from_secs(30),
    );
    wait_until("all five alerts", 5.0, || {
        c.block_on(c.console.store().alerts(false)).unwrap().len() == 5
    });
    std::thread::sleep(Duration::from_millis(500));
    let mut got: Vec<String> = c
        .block_on(c.console.store().alerts(false))
        .unwrap()
        .into_iter()
        .map(|x| x.code.unwrap_or_default())
        .collect();
    got.reverse(); // newest first → in order raised
    assert_eq!(got, codes, "each once, in order");
    wait_until("the queue emptied", 3.0, || {
        EventQueue::open(&dir.path().join("q.db"), 1000)
            .unwrap()
            .is_empty()
            .unwrap()
    });
}

#[test]
fn a_kiosk_killed_with_sigkill_turns_offline_and_comes_back_with_an_empty_queue() {
    let dir = tempfile::tempdir().unwrap();
    let c = console_on(&dir.path().join("c.db"), "127.0.0.1:0", Duration::from_secs(1));
    let key_file = dir.path().join("console.key");
    std::fs::write(&key_file, KEY).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[kiosk]\nid = \"hall-a\"\ndemo = true\ndata_dir = {:?}\n[console]\nurl = \"{}\"\nkey_file = {:?}\nheartbeat_s = 1\nretry_s = 1\n",
            dir.path().join("data").display().to_string(),
            c.url(),
            key_file.display().to_string()
        ),
    )
    .unwrap();
    let simulate = |runs: &str| {
        std::process::Command::new(kiosk_bin())
            .arg("--config")
            .arg(&cfg)
            .args(["simulate", "--runs", runs])
            .env_remove("KIOSK_CONFIG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut k = simulate("1000");
    let seen = |c: &RunningConsole| {
        c.block_on(c.console.store().kiosks())
            .unwrap()
            .first()
            .map(|t| (t.last_seen_ms, t.offline))
    };
    wait_until("the kiosk's first heartbeat", 60.0, || seen(&c).is_some());
    k.kill().unwrap(); // SIGKILL
    let _ = k.wait();
    let killed = Instant::now();
    wait_until("offline", 10.0, || seen(&c).is_some_and(|s| s.1));
    assert!(
        killed.elapsed() >= Duration::from_millis(1500),
        "offline too soon: {:?}",
        killed.elapsed()
    );
    // Restarted, it heartbeats again and the alert closes.
    let mut k = simulate("1");
    wait_until("back", 60.0, || seen(&c).is_some_and(|s| !s.1));
    let status = k.wait().unwrap();
    assert!(status.success());
    let queue = EventQueue::open(&dir.path().join("data/console-events.db"), 1000).unwrap();
    assert!(
        queue.is_empty().unwrap(),
        "{} events left in the kiosk's queue",
        queue.len().unwrap()
    );
    let offline: Vec<_> = c
        .block_on(c.console.store().alerts(false))
        .unwrap()
        .into_iter()
        .filter(|a| a.kind == "offline")
        .collect();
    assert_eq!(offline.len(), 1);
    assert!(offline[0].resolved_ms.is_some());
    // `kiosk diag` shows the console's reachability and the queue.
    let diag = |cfg: &Path| {
        let out = std::process::Command::new(kiosk_bin())
            .arg("--config")
            .arg(cfg)
            .args(["diag", "--json"])
            .env_remove("KIOSK_CONFIG")
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "console")
            .unwrap()
            .clone()
    };
    let check = diag(&cfg);
    assert_eq!(check["ok"], true, "{check}");
    assert!(
        check["detail"].as_str().unwrap().contains("0 events waiting"),
        "{check}"
    );
    let url = c.url();
    drop(c);
    let check = diag(&cfg);
    assert_eq!(check["ok"], false, "{check}");
    assert!(check["detail"].as_str().unwrap().contains(&url), "{check}");
}
