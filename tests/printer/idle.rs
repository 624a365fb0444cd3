//! An idle printer is polled (`printer.idle_poll_ms`): faults between sessions — unplug,
//! paper out, cover open, paper near end — are seen within the interval and so is the
//! return to ready, through the emulator's control channel on a real pty. Once at the
//! printer's own events, once through the engine (out-of-service screen, operator badge).

use kiosk::camera::ReplaySource;
use kiosk::config::Config;
use kiosk::domain::PrinterFault;
use kiosk::ports::{PrinterEvent, SlipPrinter};
use kiosk::printer_sim::{self, SimArgs, SimHandle};
use kiosk::runtime::{Backends, Engine};
use kiosk::session::{Device, State};
use kiosk::testkit::runtime::{PlainMaker, ScriptedGuide, ScriptedUploader};
use std::path::Path;
use std::time::{Duration, Instant};

const POLL_MS: u32 = 200;
/// One interval, plus one status query's timeout, plus scheduling slack on 2 busy cores.
const WITHIN: Duration = Duration::from_millis(POLL_MS as u64 + 500 + 800);

fn cfg(link: &Path, data: &Path) -> Config {
    let mut cfg = Config::builtin();
    cfg.kiosk.data_dir = data.to_path_buf();
    cfg.devices.printer = format!("serial:{},115200,80", link.display()).parse().unwrap();
    cfg.printer.idle_poll_ms = POLL_MS;
    cfg
}

fn sim(dir: &Path) -> SimHandle {
    printer_sim::start(&SimArgs::new(&dir.join("lp"), &dir.join("slips"))).unwrap()
}

/// The next event within `limit`, and how long it took.
fn next_event(p: &mut dyn SlipPrinter, limit: Duration) -> Option<(PrinterEvent, Duration)> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Some(e) = p.poll() {
            return Some((e, t.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

fn expect_fault(p: &mut dyn SlipPrinter, want: PrinterFault, what: &str) {
    match next_event(p, WITHIN) {
        Some((PrinterEvent::Fault(f), t)) => assert_eq!(f, want, "{what}: fault {f:?} after {t:?}"),
        other => panic!("{what}: expected {want:?} within {WITHIN:?}, got {other:?}"),
    }
}

fn expect_ready(p: &mut dyn SlipPrinter, what: &str) {
    match next_event(p, WITHIN) {
        Some((PrinterEvent::Ready, _)) => {}
        other => panic!("{what}: expected Ready within {WITHIN:?}, got {other:?}"),
    }
}

#[test]
fn idle_faults_and_recovery_are_seen_within_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path());
    let c = cfg(&dir.path().join("lp"), &dir.path().join("data"));
    let mut p = kiosk::printer::open(&c).unwrap();
    // A healthy printer: polls say nothing.
    assert_eq!(next_event(p.as_mut(), Duration::from_millis(800)), None);

    assert!(sim.command("unplug").starts_with("ok"));
    expect_fault(p.as_mut(), PrinterFault::Disconnected, "unplug");
    assert!(sim.command("replug").starts_with("ok"));
    expect_ready(p.as_mut(), "replug");

    assert!(sim.command("paper-out").starts_with("ok"));
    expect_fault(p.as_mut(), PrinterFault::PaperOut, "paper out");
    // Reported once, not on every poll.
    assert_eq!(next_event(p.as_mut(), Duration::from_millis(3 * POLL_MS as u64)), None);
    assert!(sim.command("reload").starts_with("ok"));
    expect_ready(p.as_mut(), "reload");

    assert!(sim.command("cover-open").starts_with("ok"));
    expect_fault(p.as_mut(), PrinterFault::CoverOpen, "cover open");
    assert!(sim.command("cover-close").starts_with("ok"));
    expect_ready(p.as_mut(), "cover close");

    assert!(!p.paper().near_end);
    assert!(sim.command("near-end").starts_with("ok"));
    assert!(matches!(
        next_event(p.as_mut(), WITHIN),
        Some((PrinterEvent::NearEnd, _))
    ));
    assert!(p.paper().near_end, "the paper status carries the sensor");
}

#[test]
fn poll_off_sees_nothing_until_the_next_print() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path());
    let mut c = cfg(&dir.path().join("lp"), &dir.path().join("data"));
    c.printer.idle_poll_ms = 0;
    let mut p = kiosk::printer::open(&c).unwrap();
    assert!(sim.command("paper-out").starts_with("ok"));
    assert_eq!(next_event(p.as_mut(), Duration::from_millis(1500)), None);
}

fn engine(c: &Config) -> Engine {
    let camera = ReplaySource::open(Path::new("builtin"), 15.0, false).unwrap();
    Engine::new(
        c,
        Backends {
            camera: Box::new(camera),
            guide: Box::new(ScriptedGuide::new(0, 1)),
            maker: Box::new(PlainMaker { refuse: false }),
            uploader: Box::new(ScriptedUploader::approving(1)),
            printer: kiosk::printer::open(c).unwrap(),
            alerts: Box::new(kiosk::ports::NoConsole),
            idcard: None,
        },
    )
}

/// Steps the engine until `ok(state)` or `limit`.
fn step_until(e: &mut Engine, limit: Duration, ok: impl Fn(&State) -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        e.step();
        if ok(e.session().state()) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn the_out_of_service_screen_and_the_badge_follow_the_idle_printer() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(dir.path());
    let c = cfg(&dir.path().join("lp"), &dir.path().join("data"));
    let mut e = engine(&c);
    assert!(matches!(e.session().state(), State::Attract));

    assert!(sim.command("unplug").starts_with("ok"));
    assert!(
        step_until(
            &mut e,
            WITHIN,
            |s| matches!(s, State::OutOfService { faults } if faults.contains(&Device::Printer))
        ),
        "unplugged while idle: out of service within {WITHIN:?}, state {}",
        e.session().state().name()
    );
    assert!(sim.command("replug").starts_with("ok"));
    assert!(
        step_until(&mut e, WITHIN, |s| matches!(s, State::Attract)),
        "replugged: back to attract, state {}",
        e.session().state().name()
    );

    assert!(sim.command("paper-out").starts_with("ok"));
    assert!(step_until(&mut e, WITHIN, |s| matches!(s, State::OutOfService { .. })));
    assert!(sim.command("reload").starts_with("ok"));
    assert!(step_until(&mut e, WITHIN, |s| matches!(s, State::Attract)));

    // Near end: the operator badge (view.paper.near_end), while the kiosk keeps working.
    assert!(!e.view().paper.near_end);
    assert!(sim.command("near-end").starts_with("ok"));
    let t = Instant::now();
    while !e.view().paper.near_end {
        assert!(t.elapsed() < WITHIN, "near end never reached the badge");
        e.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        matches!(e.session().state(), State::Attract),
        "near end is a warning only"
    );
}

#[test]
fn a_printer_that_stops_answering_is_offline_from_the_second_silent_poll() {
    // A pty nobody answers on (the master is held open but never read).
    let dir = tempfile::tempdir().unwrap();
    let pty = nix::pty::openpty(None, None).unwrap();
    let name = nix::unistd::ttyname(&pty.slave).unwrap();
    let link = dir.path().join("silent");
    std::os::unix::fs::symlink(&name, &link).unwrap();
    let c = cfg(&link, &dir.path().join("data"));
    let mut p = kiosk::printer::open(&c).unwrap();
    // The first silent poll ends ≥ 700 ms in (200 ms wait + 500 ms status timeout), the
    // second not before 1400 ms: nothing may be reported in between…
    let first = next_event(p.as_mut(), Duration::from_millis(1200));
    assert_eq!(first, None, "offline reported after a single unanswered poll");
    // …the second in a row is.
    match next_event(p.as_mut(), 2 * WITHIN) {
        Some((PrinterEvent::Fault(f), _)) => assert_eq!(f, PrinterFault::Offline),
        other => panic!("expected printer_offline, got {other:?}"),
    }
    drop(pty);
}
