//! Whole-session faults over real processes: the printer runs out of paper mid-slip while
//! the person waits; after the operator reloads, exactly one good receipt comes out.

mod common;
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
    let port = free_port();
    let (keys, key_file) = write_keys(dir.path(), KIOSK_ID);
    let _review = review_center(dir.path(), &keys, 1, port);
    let _printer = printer_sim(dir.path(), &["--paper-out-after-mm", "60"]);
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[kiosk]\nid = \"{KIOSK_ID}\"\ndata_dir = {:?}\n[devices]\ncamera = \"replay:builtin\"\nprinter = \"serial:{},115200,80\"\nreview = \"http://127.0.0.1:{port}\"\nreview_key_file = {:?}\n",
            dir.path().join("data").display().to_string(),
            dir.path().join("printer").display(),
            key_file.display().to_string()
        ),
    )
    .unwrap();
    let child = Command::new(kiosk_bin())
        .arg("--config")
        .arg(&cfg)
        .args(["simulate", "--json"])
        .env_remove("KIOSK_CONFIG")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("kiosk.log")).unwrap())
        .spawn()
        .unwrap();
    let kiosk = Proc { child, name: "kiosk" };
    // Wait for the fault: the kiosk logs it, and no slip has been cut.
    let log = dir.path().join("kiosk.log");
    wait_for("the paper-out fault", Duration::from_secs(90), || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("state=waiting-for-printer"))
    });
    let good = |d: &std::path::Path| {
        std::fs::read_dir(d.join("slips"))
            .unwrap()
            .flatten()
            .filter(|e| {
                let n = e.file_name().to_string_lossy().to_string();
                n.ends_with(".png") && !n.contains("spoiled")
            })
            .map(|e| e.path())
            .collect::<Vec<_>>()
    };
    std::thread::sleep(Duration::from_millis(500));
    assert!(good(dir.path()).is_empty(), "nothing good comes out without paper");
    assert!(control(dir.path(), "reload").starts_with("ok"));
    let mut kiosk = kiosk;
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = kiosk.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "the kiosk never finished after the reload"
        );
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
    let number = v["receipt_number"].as_str().expect("a receipt").to_string();
    std::thread::sleep(Duration::from_millis(500));
    let slips = good(dir.path());
    assert_eq!(slips.len(), 1, "exactly one good receipt: {slips:?}");
    let codes = zbar(&slips[0]);
    assert!(codes.iter().any(|(k, d)| k == "CODE-128" && *d == number), "{codes:?}");
    assert!(codes.iter().any(|(k, d)| k == "QR-Code" && *d == number), "{codes:?}");
}
