//! Operator reprint by number, end to end over real parts: a receipt issued by the real
//! reference review service (HTTP on 127.0.0.1), fetched again with the kiosk key, and
//! printed on the emulator over a real pty — through the runtime's printer and through
//! `kiosk receipt --reprint`. The slip's PNG must decode (zbarimg) to the number and the
//! slip must carry 补打; an unknown number gives a clear error and prints nothing.

use crate::common;
use common::zbar;
use kiosk::config::{Config, DocumentId, RegionCode};
use kiosk::domain::ReceiptNumber;
use kiosk::domain::ReceiptToken;
use kiosk::ports::{Decision, PrinterEvent, SlipPrinter, Uploader};
use kiosk::printer::journal::{JobState, Journal};
use kiosk::printer_sim::{self, SimArgs};
use kiosk::review::server::ServerOptions;
use kiosk::review::ReviewClient;
use kiosk::testkit::review::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const KIOSK: &str = "KIOSK-GZ-0001";
const KEY: &str = "reprint-test-key-0123456789abcdef0123456789";
/// Well formed (20 digits, Luhn) but never issued.
const UNKNOWN: &str = "44010026010100000018";

fn service() -> TestService {
    let opts = ServerOptions {
        auto_approve_after: Some(Duration::ZERO),
        tick: Duration::from_millis(50),
        ..ServerOptions::default()
    };
    start_service(opts, &[(KIOSK, KEY)])
}

/// Submits a real made photo and waits for the approval: the issued number and token.
fn issue_receipt(svc: &TestService, client: &mut ReviewClient) -> (ReceiptNumber, ReceiptToken) {
    let region = RegionCode::new("440100").unwrap();
    client
        .submit(sample_submission(&svc.cfg, DocumentId::IdCard, &region))
        .expect("queued");
    match wait_decision(client, Duration::from_secs(30)).expect("a decision") {
        Decision::Approved { number, token, .. } => (number, token),
        d => panic!("not approved: {d:?}"),
    }
}

/// The QR a reprint carries: the same electronic-receipt URL as the original's.
fn receipt_qr(base: &str, number: &ReceiptNumber, token: &ReceiptToken) -> String {
    format!("{base}/v1/receipts/{number}.pdf?token={}", token.expose())
}

/// Opens `url` like a phone (no key): the PDF of `number`.
fn assert_opens_pdf(url: &str, number: &ReceiptNumber) {
    let agent = ureq::Agent::new_with_config(ureq::Agent::config_builder().http_status_as_error(false).build());
    let mut r = agent.get(url).call().expect("GET the QR's URL");
    assert_eq!(r.status().as_u16(), 200, "{url}");
    let pdf = r.body_mut().with_config().limit(8 << 20).read_to_vec().unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(f.path())
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    let text: String = String::from_utf8_lossy(&out.stdout).split_whitespace().collect();
    assert!(text.contains(number.as_str()), "{text}");
}

fn kiosk_cfg(data: &Path, link: &Path) -> Config {
    let mut cfg = Config::builtin();
    cfg.kiosk.id = KIOSK.into();
    cfg.kiosk.data_dir = data.to_path_buf();
    cfg.devices.printer = format!("serial:{},115200,80", link.display()).parse().unwrap();
    cfg.printer.job_timeout_s = 10;
    cfg
}

fn slips(out: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(out)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "png"));
    v.sort();
    v
}

fn wait_printed(p: &mut dyn SlipPrinter, limit: Duration) {
    let t = Instant::now();
    while t.elapsed() < limit {
        match p.poll() {
            Some(PrinterEvent::Printed { .. }) => return,
            Some(PrinterEvent::Fault(f)) => panic!("printer fault: {f}"),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    panic!("no confirmed cut within {limit:?}");
}

/// The slip is the reprint of `number`: the Code128 decodes to it, the QR to `qr`, its
/// text says 补打.
fn assert_reprint_slip(png: &Path, number: &ReceiptNumber, qr: &str) {
    let codes = zbar(png);
    assert!(
        codes.contains(&("CODE-128".into(), number.to_string())),
        "Code128 of {number} in {codes:?}"
    );
    assert!(
        codes.contains(&("QR-Code".into(), qr.to_string())),
        "QR {qr} in {codes:?}"
    );
    let text = std::fs::read_to_string(png.with_extension("txt")).unwrap();
    assert!(text.contains("【补打】"), "no 补打 line on the slip:\n{text}");
    assert!(text.contains(number.as_str()), "{text}");
    // The double-size title wraps on 80 mm paper.
    assert!(
        text.replace('\n', "").contains("广州市居民身份证数字相片采集回执"),
        "{text}"
    );
}

#[test]
fn runtime_reprint_fetches_prints_marked_and_journals_a_reprint() {
    let svc = service();
    let dir = tempfile::tempdir().unwrap();
    let (link, out, data) = (dir.path().join("lp"), dir.path().join("slips"), dir.path().join("data"));
    let _sim = printer_sim::start(&SimArgs::new(&link, &out)).unwrap();
    let mut cfg = kiosk_cfg(&data, &link);
    // The QR is the electronic receipt under the configured public address.
    cfg.printer.qr_content = kiosk::config::QrContent::Url;
    cfg.kiosk.public_receipt_url = Some(format!("{}/", svc.url()));
    let mut client = ReviewClient::start(fast_options(&svc.url(), KIOSK, KEY, &data)).unwrap();
    let (number, token) = issue_receipt(&svc, &mut client);
    let mut printer = kiosk::printer::open(&cfg).unwrap();

    kiosk::runtime::reprint(&mut client, printer.as_mut(), &cfg, &number).expect("reprint queued");
    wait_printed(printer.as_mut(), Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    let s = slips(&out);
    assert_eq!(s.len(), 1, "exactly one slip: {s:?}");
    // The kiosk fetched the receipt with its key and got the token back: the reprint's
    // QR opens the electronic receipt like the original's.
    let qr = receipt_qr(&svc.url(), &number, &token);
    assert_reprint_slip(&s[0], &number, &qr);
    assert_opens_pdf(&qr, &number);

    // An unknown number: a clear error, nothing queued, nothing printed.
    let unknown = ReceiptNumber::new(UNKNOWN).unwrap();
    let err = kiosk::runtime::reprint(&mut client, printer.as_mut(), &cfg, &unknown).unwrap_err();
    assert_eq!(err.id, "receipt_not_found");
    assert!(err.zh.contains(UNKNOWN) && err.en.contains("no receipt"), "{err:?}");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        printer.poll().is_none(),
        "the printer reported something for an unknown number"
    );
    assert_eq!(slips(&out).len(), 1, "a slip came out for an unknown number");
    drop(printer);

    // The journal: one `reprint` entry, confirmed, holding nothing personal.
    let j = Journal::open(&kiosk::printer::backend::journal_path(&cfg), 50_000).unwrap();
    let rows = j.rows(number.as_str()).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].kind.as_str(), rows[0].state, rows[0].holds_payload),
        ("reprint", JobState::Confirmed, false)
    );
    assert!(j.rows(UNKNOWN).unwrap().is_empty());
}

fn write_config(dir: &Path, url: &str, data: &Path) -> PathBuf {
    let key_file = dir.join("kiosk.key");
    std::fs::write(&key_file, KEY).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = dir.join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[kiosk]\nid = \"{KIOSK}\"\ndata_dir = \"{}\"\n\n[devices]\nreview = \"{url}\"\nreview_key_file = \"{}\"\n\n[printer]\nqr_content = \"url\"\n",
            data.display(),
            key_file.display()
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn cli_reprint_by_number_and_unknown_number_prints_nothing() {
    let svc = service();
    let dir = tempfile::tempdir().unwrap();
    let (link, out, data) = (dir.path().join("lp"), dir.path().join("slips"), dir.path().join("data"));
    let _sim = printer_sim::start(&SimArgs::new(&link, &out)).unwrap();
    let number = {
        let mut client = ReviewClient::start(fast_options(&svc.url(), KIOSK, KEY, &dir.path().join("issuer"))).unwrap();
        issue_receipt(&svc, &mut client)
    };
    let (number, token) = number;
    let config = write_config(dir.path(), &svc.url(), &data);
    let printer = format!("serial:{},115200,80", link.display());
    let run = |n: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .arg("--config")
            .arg(&config)
            .args(["receipt", "--reprint", n, "--printer", &printer])
            .env_remove("KIOSK_CONFIG")
            .output()
            .unwrap()
    };

    let ok = run(number.as_str());
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&ok.stderr));
    assert!(stdout.contains("已补打回执"), "{stdout}");
    let s = slips(&out);
    assert_eq!(s.len(), 1, "{s:?}");
    // No public_receipt_url: the QR's base is the review service the kiosk uses.
    let qr = receipt_qr(&svc.url(), &number, &token);
    assert_reprint_slip(&s[0], &number, &qr);
    assert_opens_pdf(&qr, &number);

    let bad = run(UNKNOWN);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("审核中心没有本机签发的回执号 {UNKNOWN}")) && stderr.contains("has no receipt"),
        "{stderr}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(slips(&out).len(), 1, "a slip came out for an unknown number");

    // Not a receipt number at all: refused before any request.
    let junk = run("12 34");
    assert_eq!(junk.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&junk.stderr).contains("receipt_number_invalid"));

    let cfg = Config::from_file(&config).unwrap();
    let j = Journal::open(&kiosk::printer::backend::journal_path(&cfg), 50_000).unwrap();
    let rows = j.rows(number.as_str()).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].kind.as_str(), rows[0].state), ("reprint", JobState::Confirmed));
}

/// `review = "embedded"` (the default): the CLI reads the kiosk's own embedded service's
/// database while that service is running, and writes the reprint as a PDF.
#[test]
fn cli_reprint_from_the_embedded_service_beside_a_running_kiosk_to_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut cfg = Config::builtin();
    cfg.kiosk.data_dir = data.clone();
    // The "running kiosk": its embedded service and client on the same data directory.
    let running = kiosk::review::embedded::start(&cfg).unwrap();
    let mut client = ReviewClient::start(fast_options(&running.url, &cfg.kiosk.id, &running.key, &data)).unwrap();
    let region = RegionCode::new("440100").unwrap();
    client
        .submit(sample_submission(&cfg, DocumentId::IdCard, &region))
        .expect("queued");
    let number = match wait_decision(&mut client, Duration::from_secs(30)).expect("a decision") {
        Decision::Approved { number, .. } => number,
        d => panic!("not approved: {d:?}"),
    };
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!("[kiosk]\ndemo = true\ndata_dir = \"{}\"\n", data.display()),
    )
    .unwrap();
    let pdf = dir.path().join("reprint.pdf");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .arg("--config")
        .arg(&config)
        .args(["receipt", "--reprint", number.as_str(), "--pdf"])
        .arg(&pdf)
        .env_remove("KIOSK_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::process::Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text: String = String::from_utf8_lossy(&text.stdout)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(text.contains("【补打】"), "{text}");
    assert!(text.contains(number.as_str()), "{text}");
    // The running kiosk's outbox and service were left alone: the approved entry waits for
    // the kiosk's own cut (the reprint does not settle it), and the client still works.
    assert_eq!(client.outbox_entries().unwrap().len(), 1);
    assert!(client.fetch_receipt(&number).is_ok());
}
