//! Crash safety of the print journal: the process is SIGKILLed at each journal crash
//! point (`KIOSK_FAILPOINT`), restarted, and the slips the emulator cut are counted.
//! The child is this test binary re-run with `KIOSK_TEST_CHILD` set.

use kiosk::config::Config;
use kiosk::domain::Slip;
use kiosk::domain::SlipJob;
use kiosk::domain::{PhotoJpeg, ReceiptNumber};
use kiosk::ports::{PrinterEvent, SlipPrinter};
use kiosk::printer::journal::{JobState, Journal};
use kiosk::printer_sim::{self, SimArgs};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const NUMBER: &str = "20261126000077";

fn cfg(link: &Path, data: &Path) -> Config {
    let mut cfg = Config::builtin();
    cfg.kiosk.data_dir = data.to_path_buf();
    cfg.devices.printer = format!("serial:{},115200,80", link.display()).parse().unwrap();
    cfg.printer.job_timeout_s = 8;
    cfg
}

fn job() -> SlipJob {
    let photo = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/frames/demo/0002.jpg")).unwrap();
    SlipJob {
        slip: Slip::Receipt {
            number: ReceiptNumber::new(NUMBER).unwrap(),
            valid_until: chrono::NaiveDate::from_ymd_opt(2027, 5, 25).unwrap(),
            doc: kiosk::config::DocumentId::IdCard,
            region: "440300".parse().unwrap(),
        },
        photo: Some(PhotoJpeg(photo)),
        masked_name: None,
        issued_at: chrono::Utc::now().with_timezone(&kiosk::domain::china_time()),
        token: None,
    }
}

fn wait_printed(p: &mut dyn SlipPrinter, limit: Duration) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Some(PrinterEvent::Printed { .. }) = p.poll() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// The child: prints one receipt (and is killed at the failpoint on the way).
#[test]
fn child_print() {
    let Ok(spec) = std::env::var("KIOSK_TEST_CHILD") else {
        return;
    };
    let (link, data) = spec.split_once('|').unwrap();
    let cfg = cfg(Path::new(link), Path::new(data));
    let mut p = kiosk::printer::open(&cfg).unwrap();
    p.print(job()).unwrap();
    assert!(wait_printed(p.as_mut(), Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(300));
}

fn good_slips(out: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.len() == 8 && n.ends_with(".png")
        })
        .collect();
    v.sort();
    v
}

/// Kills a printing process at `point`, restarts, and returns the good slips.
/// Returns the heights of the good slips (the temp dir is gone afterwards) and the rows.
fn crash_at(point: &str) -> (Vec<u32>, Vec<(i64, JobState)>) {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("lp");
    let out = dir.path().join("slips");
    let data = dir.path().join("data");
    let _sim = printer_sim::start(&SimArgs::new(&link, &out)).unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["journal::child_print", "--exact", "--nocapture", "--test-threads=1"])
        .env("KIOSK_TEST_CHILD", format!("{}|{}", link.display(), data.display()))
        .env("KIOSK_FAILPOINT", point)
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(9), "{point}: the child must die at the failpoint");
    std::thread::sleep(Duration::from_millis(1500));
    // Restart: whatever was not confirmed prints now.
    let c = cfg(&link, &data);
    let mut p = kiosk::printer::open(&c).unwrap();
    let printed = wait_printed(p.as_mut(), Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(400));
    drop(p);
    let j = Journal::open(&kiosk::printer::backend::journal_path(&c), 50_000).unwrap();
    let rows = j.find(NUMBER).unwrap();
    let slips = good_slips(&out)
        .iter()
        .map(|p| image::image_dimensions(p).unwrap().1)
        .collect();
    assert_eq!(printed, point != "print:after-confirm", "{point}: restart printing");
    (slips, rows)
}

#[test]
fn crash_before_send_prints_once_after_restart() {
    let (slips, rows) = crash_at("print:before-send");
    assert_eq!(slips.len(), 1);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, JobState::Confirmed);
}

#[test]
fn crash_after_confirm_never_prints_again() {
    let (slips, rows) = crash_at("print:after-confirm");
    assert_eq!(slips.len(), 1);
    assert_eq!(rows[0].1, JobState::Confirmed);
}

#[test]
fn crash_after_send_reprints_marked_bupda() {
    // The bytes were out when the process died: the slip came out, but its cut was
    // never confirmed. The restart reprints it marked 补打 (one line taller), so
    // there is never a second unmarked original.
    let (slips, rows) = crash_at("print:after-send");
    assert_eq!(slips.len(), 2);
    assert_eq!(rows, vec![(rows[0].0, JobState::Confirmed)]);
    let (h1, h2) = (slips[0], slips[1]);
    assert!(h2 > h1, "the reprint carries the 补打 line: {h1} vs {h2}");
}
