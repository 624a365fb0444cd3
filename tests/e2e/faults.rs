//! Whole-session faults over real processes (review centre, printer emulator on a pty, the
//! kiosk running `simulate`): the printer runs out of paper mid-slip, the printer is
//! unplugged mid-slip, the review centre is killed mid-review and restarted. Each ends with
//! exactly one good receipt for the person and one submission at the centre.
//! (The kiosk itself killed at each stage: `tests/e2e/restart.rs`.)

use crate::common;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KIOSK_ID: &str = "KIOSK-E2E-2";

fn control(dir: &std::path::Path, cmd: &str) -> String {
    let mut s = UnixStream::connect(dir.join("slips/control.sock")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    writeln!(s, "{cmd}").unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    line
}

#[test]
fn paper_out_mid_slip_then_reload_gives_exactly_one_good_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let (keys, key_file) = write_keys(d, KIOSK_ID);
    let _review = review_center(d, &keys, 1, port);
    let _printer = printer_sim(d, &["--paper-out-after-mm", "60"]);
    let cfg = kiosk_config(d, KIOSK_ID, port, &key_file);
    let kiosk = start_kiosk(d, &cfg);
    // Wait for the fault: the kiosk logs it, and no slip has been cut.
    wait_for("the paper-out fault", Duration::from_secs(90), || {
        log_has(d, "state=waiting-for-printer")
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(good_slips(d).is_empty(), "nothing good comes out without paper");
    assert!(control(d, "reload").starts_with("ok"));
    let number = finished_receipt(d, kiosk);
    assert_one_good_slip(d, &number);
}

fn start_kiosk(dir: &std::path::Path, cfg: &std::path::Path) -> Proc {
    let child = Command::new(kiosk_bin())
        .arg("--config")
        .arg(cfg)
        .args(["simulate", "--json"])
        .env_remove("KIOSK_CONFIG")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("kiosk.log")).unwrap())
        .spawn()
        .unwrap();
    Proc { child, name: "kiosk" }
}

/// Waits for the kiosk to exit successfully and returns its receipt number.
fn finished_receipt(dir: &std::path::Path, mut kiosk: Proc) -> String {
    let log = dir.join("kiosk.log");
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = kiosk.child.try_wait().unwrap() {
            break s;
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "the kiosk never finished");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    std::io::Read::read_to_string(kiosk.child.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(
        status.success(),
        "{out}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    v["receipt_number"].as_str().expect("a receipt").to_string()
}

fn log_has(dir: &std::path::Path, needle: &str) -> bool {
    std::fs::read_to_string(dir.join("kiosk.log")).is_ok_and(|l| l.contains(needle))
}

/// Exactly one good slip, both of its codes decoding to `number`.
fn assert_one_good_slip(dir: &std::path::Path, number: &str) {
    std::thread::sleep(Duration::from_millis(500));
    let good = good_slips(dir);
    assert_eq!(good.len(), 1, "exactly one good receipt: {good:?}");
    let codes = zbar(&good[0]);
    assert!(codes.iter().any(|(k, d)| k == "CODE-128" && *d == number), "{codes:?}");
    assert!(
        codes
            .iter()
            .any(|(k, d)| k == "QR-Code" && qr_is_receipt_url(d, number)),
        "{codes:?}"
    );
}

fn submissions(dir: &std::path::Path) -> i64 {
    let c = rusqlite::Connection::open(dir.join("review.db")).unwrap();
    c.query_row("SELECT COUNT(*) FROM submissions", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn printer_unplugged_mid_slip_then_replugged_gives_exactly_one_good_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let (keys, key_file) = write_keys(d, "KIOSK-E2E-4");
    let _review = review_center(d, &keys, 0, port);
    // A slow line (about 2 KB/s), so the slip is still going through when the cable goes.
    let _printer = printer_sim(d, &["--baud", "19200"]);
    let cfg = kiosk_config(d, "KIOSK-E2E-4", port, &key_file);
    let kiosk = start_kiosk(d, &cfg);
    wait_for("the slip to start", Duration::from_secs(90), || {
        log_has(d, "state=printing") && log_has(d, "printer: job")
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(control(d, "unplug").starts_with("ok"));
    wait_for("the kiosk to see the fault", Duration::from_secs(60), || {
        log_has(d, "state=waiting-for-printer")
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(control(d, "replug").starts_with("ok"));
    let number = finished_receipt(d, kiosk);
    assert_one_good_slip(d, &number);
    assert_eq!(submissions(d), 1);
}

#[test]
fn review_centre_killed_mid_review_then_restarted_gives_exactly_one_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let (keys, key_file) = write_keys(d, "KIOSK-E2E-5");
    // Approval takes 3 s: long enough to kill the centre while the person waits.
    let review = review_center(d, &keys, 3, port);
    let _printer = printer_sim(d, &[]);
    let cfg = kiosk_config(d, "KIOSK-E2E-5", port, &key_file);
    let kiosk = start_kiosk(d, &cfg);
    wait_for("the upload to be acknowledged", Duration::from_secs(90), || {
        log_has(d, "acknowledged as submission")
    });
    drop(review); // SIGKILL, mid-review
    std::thread::sleep(Duration::from_secs(2));
    assert!(log_has(d, "state=uploading"), "the person is still waiting");
    let _review = review_center(d, &keys, 3, port);
    let number = finished_receipt(d, kiosk);
    assert_one_good_slip(d, &number);
    assert_eq!(submissions(d), 1, "one submission, never a second receipt");
    let text = std::fs::read_to_string(d.join("kiosk.log")).unwrap();
    assert!(text.contains("retry"), "the kiosk retried while the centre was down");
}
