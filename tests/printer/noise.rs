//! Issue #13: noise on the printer's serial line. Garbage once logged a WARN per byte,
//! and unread replies piled up between prints. Both are bounded now: one log line per
//! `printer.noise_log_interval_ms` with the count, and at most
//! `printer.max_queued_replies` replies kept. A real pty pushes the bytes.

use kiosk::config::Config;
use kiosk::printer::serial::{Link, LinkSettings};
use nix::sys::termios;
use std::io::Write;
use std::os::fd::AsFd;

/// A pty whose slave end the link opens at `dir/lp`; the master end is the "printer".
struct Line {
    master: std::fs::File,
    _slave: std::os::fd::OwnedFd,
    link: std::path::PathBuf,
}

fn line(dir: &std::path::Path) -> Line {
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut t = termios::tcgetattr(pty.slave.as_fd()).unwrap();
    termios::cfmakeraw(&mut t);
    termios::tcsetattr(pty.slave.as_fd(), termios::SetArg::TCSANOW, &t).unwrap();
    let name = nix::unistd::ttyname(pty.slave.as_fd()).unwrap();
    let link = dir.join("lp");
    std::os::unix::fs::symlink(&name, &link).unwrap();
    Line {
        master: std::fs::File::from(pty.master),
        _slave: pty.slave,
        link,
    }
}

fn settings(max_queued: u32) -> LinkSettings {
    let mut cfg = Config::builtin();
    cfg.printer.status_timeout_ms = 400;
    cfg.printer.noise_log_interval_ms = 60_000;
    cfg.printer.max_queued_replies = max_queued;
    LinkSettings::new(&cfg.printer, 115_200)
}

/// Lines in the crate logger's ring (already redacted) that report noise from `path`.
fn noise_lines_logged(path: &std::path::Path) -> usize {
    let p = path.display().to_string();
    kiosk::ops::logging::recent(kiosk::ops::logging::RING_LINES)
        .iter()
        .filter(|l| l.contains(&p) && l.contains("unexpected byte"))
        .count()
}

#[test]
fn garbage_on_the_line_is_logged_once_per_interval_with_a_count() {
    kiosk::ops::logging::init();
    assert!(
        log::max_level() >= log::LevelFilter::Warn,
        "this test reads WARN lines from the crate's log ring: unset RUST_LOG or set it to warn or more"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut l = line(dir.path());
    let mut link = Link::new(&l.link, settings(64));
    // Nobody answers: the first query opens the port and times out as offline.
    assert!(link.status().is_err());
    // 3000 bytes that fit no reply (0xFF: no DLE EOT, GS r or ASB shape).
    for _ in 0..3 {
        l.master.write_all(&[0xFF; 1000]).unwrap();
        assert!(link.status().is_err(), "no reply: offline");
    }
    assert_eq!(link.garbage, 3000, "every byte is counted");
    assert_eq!(
        link.noise_log_lines(),
        1,
        "one line for the first burst, none until the interval ends"
    );
    assert_eq!(noise_lines_logged(&l.link), 1, "one line in the log, not one per byte");
}

#[test]
fn unread_replies_are_bounded_between_prints() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = line(dir.path());
    let mut link = Link::new(&l.link, settings(16));
    assert!(link.status().is_err());
    // 0x00 is a GS r reply's shape; 10 00 00 00 an ASB frame's: nothing reads them
    // between prints.
    l.master.write_all(&[0x00; 2000]).unwrap();
    assert!(link.status().is_err());
    for _ in 0..200 {
        l.master.write_all(&[0x10, 0x00, 0x00, 0x00]).unwrap();
    }
    assert!(link.status().is_err());
    assert!(link.queued_replies() <= 16, "{} replies kept", link.queued_replies());
    assert!(
        link.dropped_replies >= 2000 + 200 - 16,
        "{} dropped",
        link.dropped_replies
    );
}
