//! The hall console's webhooks (issue #16, "Forwarding") against a receiver on loopback: the
//! exact body of each flavour (WeCom, DingTalk signed, generic JSON), retries while the
//! receiver is down (each alert arrives once, in order), a hanging receiver that does not
//! hold up the kiosks' requests, and bad webhooks files refused with the line and the fix.

use crate::common::kiosk_bin;
use kiosk::console::server::Console;
use kiosk::console::webhook::Webhooks;
use kiosk::console::{AlertRow, ConsoleOptions, ConsoleStore, RunningConsole};
use kiosk::review::keys::Keys;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "console-hooks-test-key-of-kiosk-a-0123456789";

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    pub(crate) target: String,
    pub(crate) content_type: String,
    pub(crate) body: serde_json::Value,
}

/// A tiny HTTP receiver: records each POST and answers like a group robot, or (`hang`)
/// reads the request and never answers.
pub(crate) struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    pub(crate) fn start(listener: TcpListener, hang: bool) -> Receiver {
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(Mutex::new(vec![]));
        let g = got.clone();
        std::thread::spawn(move || {
            for s in listener.incoming().flatten() {
                let g = g.clone();
                std::thread::spawn(move || serve(s, &g, hang));
            }
        });
        Receiver { addr, got }
    }

    pub(crate) fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn serve(s: TcpStream, got: &Mutex<Vec<Got>>, hang: bool) {
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let target = line.split(' ').nth(1).unwrap_or("").to_string();
    let (mut len, mut content_type) = (0, String::new());
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or(("", ""));
        match k.to_ascii_lowercase().as_str() {
            "content-length" => len = v.trim().parse().unwrap_or(0),
            "content-type" => content_type = v.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    got.lock().unwrap().push(Got {
        target,
        content_type,
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    });
    if hang {
        std::thread::sleep(Duration::from_secs(60));
        return;
    }
    let answer = br#"{"errcode":0,"errmsg":"ok"}"#;
    let mut s = s;
    let _ = write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.len()
    );
    let _ = s.write_all(answer);
}

pub(crate) fn webhooks_file(dir: &Path, text: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("webhooks.toml");
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

fn start(dir: &Path, webhooks: &str) -> RunningConsole {
    let mut keys = Keys::default();
    keys.insert("hall-a", KEY);
    let hooks = Webhooks::load(&webhooks_file(dir, webhooks)).unwrap();
    let opts = ConsoleOptions {
        webhooks: Some(Arc::new(hooks)),
        ..ConsoleOptions::default()
    };
    let c = Console::new(ConsoleStore::open_sqlite(&dir.join("console.db")).unwrap(), keys, opts);
    kiosk::console::spawn(Arc::new(c), "127.0.0.1:0").unwrap()
}

/// `POST /v1/events` with one event; the status code.
fn post_event(c: &RunningConsole, seq: u64, kind: &str, code: Option<&str>) -> u16 {
    let body = serde_json::to_vec(&serde_json::json!({"kiosk_id": "hall-a", "events": [
        {"seq": seq, "kind": kind, "at": "2026-12-06T10:00:00+08:00", "screen": "see-staff",
         "code": code, "reasons": if code.is_some() { vec!["face_position", "glasses"] } else { vec![] }}]}))
    .unwrap();
    let mut s = TcpStream::connect(c.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\nContent-Type: application/json\r\nAuthorization: Bearer {KEY}\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(&body).unwrap();
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(secs), "{what} within {secs} s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The time as the texts give it, computed here apart from the crate.
fn beijing(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn alert_of(c: &RunningConsole, kind: &str) -> AlertRow {
    c.block_on(c.console.store().alerts(false))
        .unwrap()
        .into_iter()
        .find(|a| a.kind == kind)
        .unwrap()
}

#[test]
fn each_flavour_gets_its_exact_body() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(TcpListener::bind("127.0.0.1:0").unwrap(), false);
    let c = start(
        dir.path(),
        &format!(
            "[call_staff]\nurl = \"{}\"\nformat = \"wecom\"\n\n[hand_off]\nurl = \"{}\"\nformat = \"dingtalk\"\nsecret = \"SECtest0123456789\"\n\n[default]\nurl = \"{}\"\nformat = \"generic\"\n\n[camera_lost]\nenabled = false\n",
            rx.url("/cgi-bin/webhook/send?key=wecom-key"),
            rx.url("/robot/send?access_token=ding-token"),
            rx.url("/hooks/kiosk"),
        ),
    );
    assert_eq!(post_event(&c, 1, "call_staff", None), 200);
    wait_until("the WeCom message", 10, || rx.got().len() == 1);
    assert_eq!(post_event(&c, 2, "hand_off", Some("042917")), 200);
    wait_until("the DingTalk message", 10, || rx.got().len() == 2);
    assert_eq!(
        post_event(&c, 3, "camera_lost", None),
        200,
        "not forwarded: enabled = false"
    );
    assert_eq!(post_event(&c, 4, "paper_out", None), 200);
    wait_until("the generic message", 10, || rx.got().len() == 3);
    std::thread::sleep(Duration::from_millis(300));
    let got = rx.got();
    assert_eq!(got.len(), 3, "camera_lost is not forwarded: {got:?}");
    for g in &got {
        assert!(g.content_type.starts_with("application/json"), "{g:?}");
    }

    let call = alert_of(&c, "call_staff");
    let t = beijing(call.raised_ms);
    assert_eq!(got[0].target, "/cgi-bin/webhook/send?key=wecom-key");
    assert_eq!(
        got[0].body,
        serde_json::json!({"msgtype": "text", "text": {"content": format!(
            "【自助拍照终端告警】\n终端：hall-a\n事件：有人呼叫工作人员，请到终端旁协助\n时间：{t}（北京时间）\nKiosk hall-a: someone is calling for staff ({t} UTC+8)"
        )}})
    );

    let hand = alert_of(&c, "hand_off");
    let t = beijing(hand.raised_ms);
    // Signed as DingTalk's 加签 asks: timestamp (ms, near now) and sign added to the URL.
    let (path, query) = got[1].target.split_once('?').unwrap();
    assert_eq!(path, "/robot/send");
    let ts: u64 = query
        .split('&')
        .find_map(|p| p.strip_prefix("timestamp="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(ts.abs_diff(hand.raised_ms) < 60_000, "timestamp {ts} is now");
    assert_eq!(
        got[1].target,
        kiosk::console::webhook::dingtalk_signed_url("/robot/send?access_token=ding-token", "SECtest0123456789", ts)
    );
    assert_eq!(
        got[1].body,
        serde_json::json!({"msgtype": "text", "text": {"content": format!(
            "【自助拍照终端告警】\n终端：hall-a\n事件：有人需转到人工窗口办理，请凭交接码接待\n交接码：042917\n原因：face_position、glasses\n时间：{t}（北京时间）\nKiosk hall-a: a person was sent to a counter; receive them by the hand-off code, hand-off code 042917 ({t} UTC+8)"
        )}})
    );

    let paper = alert_of(&c, "paper_out");
    let t = beijing(paper.raised_ms);
    assert_eq!(got[2].target, "/hooks/kiosk");
    let at = chrono::DateTime::from_timestamp_millis(paper.raised_ms as i64)
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%dT%H:%M:%S+08:00")
        .to_string();
    assert_eq!(
        got[2].body,
        serde_json::json!({
            "source": "kiosk-console", "alert_id": paper.id, "kiosk": "hall-a", "kind": "paper_out",
            "seq": 4, "code": null, "reasons": [], "raised_ms": paper.raised_ms, "raised_at": at,
            "text": format!("【自助拍照终端告警】\n终端：hall-a\n事件：回执纸已用完，请换纸\n时间：{t}（北京时间）\nKiosk hall-a: receipt paper is out ({t} UTC+8)"),
        })
    );
    let stats = c.webhooks.as_ref().unwrap().stats();
    assert_eq!(stats.iter().map(|s| s.delivered).sum::<u64>(), 3, "{stats:?}");
}

#[test]
fn alerts_wait_for_a_receiver_that_is_down_and_arrive_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on yet.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let c = start(
        dir.path(),
        &format!(
            "[delivery]\nfirst_retry_s = 0.05\nmax_retry_s = 0.2\nmax_tries = 200\nconnect_timeout_s = 1\ntimeout_s = 2\n\n[default]\nurl = \"http://127.0.0.1:{port}/hook\"\nformat = \"generic\"\n"
        ),
    );
    let t0 = Instant::now();
    for seq in 1..=5 {
        assert_eq!(post_event(&c, seq, "call_staff", None), 200);
    }
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "a receiver that is down held up the kiosk"
    );
    // Tries fail for a while (connection refused)…
    std::thread::sleep(Duration::from_millis(800));
    let s = &c.webhooks.as_ref().unwrap().stats()[0];
    assert_eq!(
        (s.delivered, s.waiting, s.dropped),
        (0, 4, 0),
        "one in its retries, four waiting"
    );
    // …then the receiver comes up on that port.
    let rx = Receiver::start(TcpListener::bind(("127.0.0.1", port)).unwrap(), false);
    wait_until("all five delivered", 15, || rx.got().len() >= 5);
    std::thread::sleep(Duration::from_millis(500));
    let seqs: Vec<u64> = rx.got().iter().map(|g| g.body["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5], "each once, in order");
    assert_eq!(c.webhooks.as_ref().unwrap().stats()[0].delivered, 5);
}

#[test]
fn a_hanging_receiver_does_not_hold_up_the_kiosks() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let c = start(
        dir.path(),
        &format!(
            "[delivery]\nmax_tries = 1\ntimeout_s = 30\nqueue = 10\n\n[default]\nurl = \"{}\"\nformat = \"wecom\"\n",
            rx.url("/hang")
        ),
    );
    assert_eq!(post_event(&c, 1, "call_staff", None), 200);
    wait_until("the receiver holds the first alert", 10, || rx.got().len() == 1);
    let mut slowest = Duration::ZERO;
    for seq in 2..=50 {
        let t = Instant::now();
        assert_eq!(post_event(&c, seq, "call_staff", None), 200);
        slowest = slowest.max(t.elapsed());
    }
    // The receiver hangs for 30 s per try; every kiosk request is answered meanwhile.
    assert!(
        slowest < Duration::from_secs(2),
        "slowest POST /v1/events took {slowest:?}"
    );
    // One in flight, ten waiting, the 39 oldest of the rest dropped; the heartbeat path is free too.
    let hooks = c.webhooks.as_ref().unwrap();
    wait_until("all 50 routed", 10, || {
        let s = &hooks.stats()[0];
        s.waiting + s.dropped as usize == 49
    });
    let s = &hooks.stats()[0];
    assert_eq!((s.delivered, s.waiting, s.dropped), (0, 10, 39), "{s:?}");
    assert_eq!(rx.got().len(), 1, "nothing else was sent while the first try hangs");
    assert_eq!(c.block_on(c.console.store().alerts(true)).unwrap().len(), 50);
    // Stopping the console does not wait for the hanging try.
    let t = Instant::now();
    drop(c);
    assert!(t.elapsed() < Duration::from_secs(5), "stop took {:?}", t.elapsed());
}

#[test]
fn the_console_command_refuses_a_bad_webhooks_file_naming_the_line_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::write(&keys, format!("hall-a {KEY}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = |hooks: &Path| {
        let out = std::process::Command::new(kiosk_bin())
            .args(["console", "--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("c.db"))
            .arg("--keys")
            .arg(&keys)
            .arg("--webhooks")
            .arg(hooks)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let hooks = webhooks_file(
        dir.path(),
        "[default]\nformat = \"dingtalk\"\nurl = \"http://oapi.dingtalk.com/robot/send?access_token=t\"\n",
    );
    let (code, err) = run(&hooks);
    assert_eq!(code, Some(2), "{err}");
    let place = format!("{}:3", hooks.display());
    assert!(
        err.contains(&place) && err.contains("https://") && err.contains("Fix:"),
        "{err}"
    );
    assert!(!err.contains("access_token=t"), "the key is not printed: {err}");
    assert!(
        !dir.path().join("c.db").exists(),
        "refused before the database was made"
    );

    std::fs::write(&hooks, "[call-staff]\nurl = \"https://x.cn/h\"\nformat = \"wecom\"\n").unwrap();
    let (code, err) = run(&hooks);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:1", hooks.display())) && err.contains("call_staff"),
        "{err}"
    );

    std::fs::set_permissions(&hooks, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, err) = run(&hooks);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("chmod 600"), "{err}");

    let (code, err) = run(&dir.path().join("missing.toml"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("missing.toml") && err.contains("--webhooks"), "{err}");
}
