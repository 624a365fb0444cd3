//! `kiosk run --headless` (what `kiosk run` falls back to without a display) under the
//! systemd unit's `Type=notify` + `WatchdogSec=`: the real binary, a real unix datagram
//! socket as `$NOTIFY_SOCKET`. READY=1 must come once the engine is up, then WATCHDOG=1
//! from the session loop at the pace systemd asked for; without a watchdog configured,
//! READY=1 alone.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::notify::notify_socket;

struct Run {
    stdout: String,
    stderr: String,
    ok: bool,
    elapsed: Duration,
    slips: PathBuf,
}

/// Runs `kiosk run --headless` on the built-in replay frames, the embedded review
/// service and a PDF printer, all under `dir`, with `NOTIFY_SOCKET` set and, when
/// `watchdog_usec` is given, `WATCHDOG_USEC` and `WATCHDOG_PID` as systemd sets them.
fn run_headless(dir: &Path, sock: &Path, watchdog_usec: Option<u64>) -> Run {
    let slips = dir.join("slips");
    let cfg = dir.join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[kiosk]\ndemo = true\ndata_dir = \"{}\"\n[devices]\ncamera = \"replay:builtin\"\nprinter = \"pdf:{}\"\nreview = \"embedded\"\n[audio]\nmute = true\n",
            dir.join("data").display(),
            slips.display()
        ),
    )
    .unwrap();
    // WATCHDOG_PID must be the kiosk's own pid, as systemd sets it: exec keeps the shell's.
    let script = match watchdog_usec {
        Some(_) => "export WATCHDOG_PID=$$; exec \"$0\" \"$@\"",
        None => "exec \"$0\" \"$@\"",
    };
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_kiosk"))
        .args(["--config", cfg.to_str().unwrap(), "run", "--headless"])
        .env("NOTIFY_SOCKET", sock)
        .env("RUST_LOG", "info")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WATCHDOG_PID")
        .env_remove("WATCHDOG_USEC")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(usec) = watchdog_usec {
        cmd.env("WATCHDOG_USEC", usec.to_string());
    }
    let t0 = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).unwrap();
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).unwrap();
        s
    });
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t0.elapsed() > Duration::from_secs(300) {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("kiosk run --headless did not finish in 300 s:\n{}", e.join().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = t0.elapsed();
    Run {
        stdout: o.join().unwrap(),
        stderr: e.join().unwrap(),
        ok: status.success(),
        elapsed,
        slips,
    }
}

fn assert_session_printed(r: &Run) {
    assert!(r.ok, "exit status not 0:\n{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("receipt ") && r.stdout.contains(" printed to "),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    let pdfs = std::fs::read_dir(&r.slips)
        .map(|d| d.filter_map(Result::ok).count())
        .unwrap_or(0);
    assert!(pdfs >= 1, "no slip in {}", r.slips.display());
}

#[test]
fn headless_run_notifies_ready_then_paced_watchdog_pings() {
    let tmp = tempfile::tempdir().unwrap();
    let (got, sock) = notify_socket(tmp.path());
    // WatchdogSec=0.2 s: the kiosk must ping every 100 ms (half of it).
    let r = run_headless(tmp.path(), &sock, Some(200_000));
    assert_session_printed(&r);
    // The last datagrams may still be in the socket when the process exits.
    std::thread::sleep(Duration::from_millis(200));
    let msgs = got.lock().unwrap().clone();
    let texts: Vec<&str> = msgs.iter().map(|(_, m)| m.as_str()).collect();
    let is = |m: &str, what: &str| m.lines().any(|l| l == what);
    let ready = texts.iter().position(|m| is(m, "READY=1"));
    let first_wd = texts.iter().position(|m| is(m, "WATCHDOG=1"));
    let (Some(ready), Some(first_wd)) = (ready, first_wd) else {
        panic!("expected READY=1 then WATCHDOG=1, got {texts:?}\n{}", r.stderr);
    };
    assert!(ready < first_wd, "WATCHDOG=1 before READY=1: {texts:?}");
    assert_eq!(
        texts.iter().filter(|m| is(m, "READY=1")).count(),
        1,
        "READY=1 once: {texts:?}"
    );
    let pings = texts.iter().filter(|m| is(m, "WATCHDOG=1")).count();
    assert!(pings >= 2, "the watchdog pings repeat from the loop: {texts:?}");
    // Paced, not one per engine step (a step is ~5 ms): at most one per 100 ms of the
    // whole run, plus the first.
    let bound = (r.elapsed.as_millis() / 100) as usize + 1;
    assert!(
        pings <= bound,
        "{pings} pings in {:?}: not paced at WATCHDOG_USEC/2",
        r.elapsed
    );
}

#[test]
fn headless_run_without_a_watchdog_sends_ready_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (got, sock) = notify_socket(tmp.path());
    let r = run_headless(tmp.path(), &sock, None);
    assert_session_printed(&r);
    std::thread::sleep(Duration::from_millis(200));
    let texts: Vec<String> = got.lock().unwrap().iter().map(|(_, m)| m.clone()).collect();
    assert!(
        texts.iter().any(|m| m.lines().any(|l| l == "READY=1")),
        "{texts:?}\n{}",
        r.stderr
    );
    assert!(
        !texts.iter().any(|m| m.contains("WATCHDOG=1")),
        "no watchdog configured, yet pinged: {texts:?}"
    );
    demo_console_was_there(tmp.path(), &r);
}

/// In demo mode without a `[console] url`, `kiosk run` started a hall console of its own:
/// it printed the address and a staff login (the one kept 0600 in the data dir), and the
/// kiosk's heartbeat reached it.
fn demo_console_was_there(dir: &Path, r: &Run) {
    use std::os::unix::fs::PermissionsExt;
    let line = r
        .stderr
        .lines()
        .find(|l| l.contains("demo hall console: http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no demo console line:\n{}", r.stderr));
    let demo = dir.join("data").join(kiosk::console::demo::DIR);
    let login = demo.join("staff-login.txt");
    let password = std::fs::read_to_string(&login).unwrap();
    assert!(password.trim().len() >= 10, "a usable password");
    assert!(line.contains(&format!("login: demo / {} ", password.trim())), "{line}");
    assert_eq!(std::fs::metadata(&login).unwrap().permissions().mode() & 0o777, 0o600);
    let store = kiosk::console::SqliteConsole::open(&demo.join("console.db")).unwrap();
    let kiosks = store.kiosks().unwrap();
    assert_eq!(
        kiosks.len(),
        1,
        "the kiosk's heartbeat reached the demo console:\n{}",
        r.stderr
    );
}

#[test]
fn under_systemd_without_a_display_run_refuses_instead_of_printing_demo_slips() {
    // systemd sets INVOCATION_ID for every service. With Restart=always, a fallback to the
    // one-session headless demo would print a slip at every restart; the kiosk must say
    // that its screen is missing and exit 2 instead.
    if std::fs::read_dir("/dev/dri")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with("card"))
        })
        .unwrap_or(false)
    {
        eprintln!("SKIPPED: this machine has a /dev/dri/card* device, so `kiosk run` would open it");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let slips = dir.path().join("slips");
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[kiosk]\ndemo = true\ndata_dir = \"{}\"\n[devices]\nprinter = \"pdf:{}\"\n[audio]\nmute = true\n",
            dir.path().join("data").display(),
            slips.display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(["--config", cfg.to_str().unwrap(), "run"])
        .env("INVOCATION_ID", "0123456789abcdef0123456789abcdef")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("NOTIFY_SOCKET")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no display") && stderr.contains("/dev/dri"), "{stderr}");
    assert!(
        !slips.exists() || std::fs::read_dir(&slips).unwrap().next().is_none(),
        "a slip was printed"
    );
}
