//! The kiosk window on a real X server (Xvfb, winit backend, software renderer):
//! sd-notify READY=1 then WATCHDOG=1 from the UI loop, the session reaching posing with
//! the replay camera (`state=posing` logged), and a non-blank window snapshot.
//!
//! This runs `kiosk::ui::run_with` in-process on the test backends, walking the screens
//! through the `--demo-walk` driver; `tests/ui/kiosk_xvfb.rs` runs the real `kiosk run`
//! binary with the real backends and clicks through the screens with xdotool.

use kiosk::camera::ReplaySource;
use kiosk::runtime::Backends;
use kiosk::testkit::runtime::{PlainMaker, RecordingPrinter, ScriptedGuide, ScriptedUploader};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use ui_support::xvfb::{assert_not_blank, assert_ready_then_watchdog, notify_socket, Xvfb};

mod ui_support;

static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
struct Capture;
impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Info
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            let line = format!("{}", r.args());
            eprintln!("{line}");
            LOG.lock().unwrap().push(line);
        }
    }
    fn flush(&self) {}
}

#[test]
fn in_process_window_reaches_posing() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    let x = Xvfb::start(1280, 1024);
    let tmp = tempfile::tempdir().unwrap();
    let (sock, sock_path) = notify_socket(tmp.path());
    // Only this test runs in this process, and it sets the environment before any thread
    // it starts reads it.
    std::env::set_var("DISPLAY", &x.display);
    std::env::set_var("NOTIFY_SOCKET", &sock_path);
    std::env::set_var("WATCHDOG_USEC", "300000");
    std::env::set_var("WATCHDOG_PID", std::process::id().to_string());
    std::env::remove_var("WAYLAND_DISPLAY");

    let mut cfg = kiosk::config::Config::builtin();
    cfg.kiosk.data_dir = tmp.path().join("data");
    cfg.audio.mute = true;
    let camera = ReplaySource::open(Path::new("builtin"), 30.0, true).unwrap().paced();
    let backends = Backends {
        camera: Box::new(camera),
        // Never satisfied: the kiosk stays on the posing screen with the live preview.
        guide: Box::new(ScriptedGuide::new(u64::MAX / 2, 10)),
        maker: Box::new(PlainMaker { refuse: false }),
        uploader: Box::new(ScriptedUploader::approving(3)),
        printer: Box::new(RecordingPrinter::default()),
        alerts: Box::new(kiosk::ports::NoConsole),
        idcard: None,
    };
    let shot = tmp.path().join("window.png");
    let args = kiosk::ui::WindowOptions {
        size: Some((540, 960)),
        demo_walk: true,
        screenshot: Some(shot.clone()),
        quit_after: Some(60.0),
    };
    let t0 = Instant::now();
    kiosk::ui::run_with(&cfg, &args, "winit", backends).unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(55),
        "gave up instead of reaching posing"
    );
    let log = LOG.lock().unwrap().clone();
    assert!(log.iter().any(|l| l == "state=posing"), "no state=posing in {log:?}");
    assert!(log.iter().any(|l| l.starts_with("smoke: window saved")), "{log:?}");
    assert_ready_then_watchdog(&sock);
    assert_not_blank(&shot, "xvfb-window.png");
}
