//! End-to-end: real processes (review centre, printer emulator on a pty, the kiosk running
//! `simulate`), real HTTP on 127.0.0.1, real files. One receipt per person, including the
//! person whose kiosk was killed mid-upload.

use crate::common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const KIOSK_ID: &str = "KIOSK-E2E-1";
/// A synthetic person: a name that appears nowhere else, and the GB 11643 worked example.
const NAME: &str = "端到端测";
const ID_NUMBER: &str = "11010519491231002X";

fn write_config(dir: &Path, port: u16, key_file: &Path) -> PathBuf {
    let cfg = dir.join("kiosk.toml");
    let text = format!(
        r#"[kiosk]
id = "{KIOSK_ID}"
data_dir = "{data}"
decision_deadline_s = 60

[devices]
camera = "replay:builtin"
printer = "serial:{printer},115200,80"
review = "http://127.0.0.1:{port}"
review_key_file = "{key}"

[printer]
qr_content = "url"
"#,
        data = dir.join("data").display(),
        printer = dir.join("printer").display(),
        key = key_file.display(),
    );
    std::fs::write(&cfg, text).unwrap();
    cfg
}

fn simulate(cfg: &Path, failpoint: Option<&str>) -> std::process::Output {
    let details = format!(r#"{{"name":"{NAME}","id_number":"{ID_NUMBER}"}}"#);
    let mut c = Command::new(kiosk_bin());
    c.arg("--config")
        .arg(cfg)
        .args(["simulate", "--frames"])
        .arg(shared().join("corpus/frames/good"));
    c.args([
        "--doc",
        "id-card",
        "--region",
        "440100",
        "--json",
        "--details",
        &details,
    ]);
    c.env_remove("KIOSK_CONFIG").env("RUST_LOG", "debug");
    if let Some(fp) = failpoint {
        c.env("KIOSK_FAILPOINT", fp);
    }
    c.output().unwrap()
}

/// The first 32 bytes of each sealed photo+details body in the outbox right now.
fn sealed_prefixes(data: &Path) -> Vec<Vec<u8>> {
    let db = rusqlite::Connection::open(data.join("outbox.sqlite")).unwrap();
    let mut st = db
        .prepare("SELECT sealed FROM outbox WHERE sealed IS NOT NULL")
        .unwrap();
    let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0)).unwrap();
    rows.map(|b| b.unwrap()[..32].to_vec()).collect()
}

fn outbox_rows(data: &Path) -> i64 {
    let db = rusqlite::Connection::open(data.join("outbox.sqlite")).unwrap();
    db.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0)).unwrap()
}

/// A plain GET, no key, as a phone's browser: (status, content type, body).
fn plain_get(url: &str) -> (u16, String, Vec<u8>) {
    let agent = ureq::Agent::new_with_config(ureq::Agent::config_builder().http_status_as_error(false).build());
    let mut r = agent.get(url).call().expect("GET");
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (
        r.status().as_u16(),
        ct,
        r.body_mut().with_config().limit(8 << 20).read_to_vec().unwrap(),
    )
}

/// The QR's URL gives the receipt PDF of `number` to anyone holding the slip.
fn opens_the_receipt_without_a_key(url: &str, number: &str) {
    let (st, ct, pdf) = plain_get(url);
    assert_eq!((st, ct.as_str()), (200, "application/pdf"), "{url}");
    assert!(pdf.starts_with(b"%PDF"));
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), &pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(f.path())
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    let text: String = String::from_utf8_lossy(&out.stdout).split_whitespace().collect();
    assert!(text.contains(number), "the PDF is receipt {number}: {text}");
}

#[test]
fn a_full_session_prints_the_number_the_centre_issued_and_leaves_nothing_personal() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (keys, key_file) = write_keys(dir.path(), KIOSK_ID);
    let _review = review_center(dir.path(), &keys, 1, port);
    let _printer = printer_sim(dir.path(), &[]);
    let cfg = write_config(dir.path(), port, &key_file);
    let data = dir.path().join("data");

    // First, a kiosk that dies right after writing the outbox: record the ciphertext.
    let crashed = simulate(&cfg, Some("upload:before-send"));
    assert!(!crashed.status.success(), "the failpoint kills the process");
    let prefixes = sealed_prefixes(&data);
    assert_eq!(
        prefixes.len(),
        1,
        "the submission is durably in the outbox before any byte is sent"
    );

    // Then a whole session.
    let out = simulate(&cfg, None);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "simulate failed: {}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let number = v["receipt_number"].as_str().expect("a receipt number").to_string();
    assert!(
        number.len().is_multiple_of(2) && number.bytes().all(|b| b.is_ascii_digit()),
        "{number}"
    );
    assert!(v["stages_ms"]["posing"].as_f64().unwrap() > 0.0);
    let captured = v["captured_frame"].as_u64().unwrap();
    assert!(
        (18..40).contains(&captured),
        "captured inside the compliant stretch: {captured}"
    );

    // Two slips: the receipt of the crashed kiosk's person (its upload resumed and was
    // approved; printed while idle, before the new session) and this session's. Each
    // barcode decodes to a number the centre issued; no number comes out twice.
    let slips = dir.path().join("slips");
    wait_for("two cut slips", Duration::from_secs(20), || {
        slips.join("0001.png").exists() && slips.join("0002.png").exists()
    });
    std::thread::sleep(Duration::from_millis(300));
    let good: Vec<PathBuf> = files_under(&slips)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png") && !p.to_string_lossy().contains("spoiled"))
        .collect();
    assert_eq!(good.len(), 2, "one receipt per person: {good:?}");
    let mut printed = vec![];
    for png in &good {
        let codes = zbar(png);
        let code128: Vec<&String> = codes.iter().filter(|(k, _)| k == "CODE-128").map(|(_, d)| d).collect();
        let qr: Vec<&String> = codes.iter().filter(|(k, _)| k == "QR-Code").map(|(_, d)| d).collect();
        assert_eq!(code128.len(), 1, "{codes:?}");
        assert_eq!(qr.len(), 1, "{codes:?}");
        let n = code128[0].clone();
        // The Code128 is the bare number (scanned at the counter); the QR is the
        // electronic receipt a phone opens: the service's PDF route with the token.
        let prefix = format!("http://127.0.0.1:{port}/v1/receipts/{n}.pdf?token=");
        let token = qr[0]
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("QR {} is not {prefix}TOKEN", qr[0]));
        assert!(
            token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
            "a 128-bit token: {token}"
        );
        opens_the_receipt_without_a_key(qr[0], &n);
        let mut guessed = token.as_bytes().to_vec();
        guessed[31] = if guessed[31] == b'0' { b'1' } else { b'0' };
        let guessed = format!("{prefix}{}", String::from_utf8(guessed).unwrap());
        assert_eq!(plain_get(&guessed).0, 404, "a guessed token opens nothing");
        assert_eq!(plain_get(&prefix[..prefix.len() - 7]).0, 404, "no token, no receipt");
        assert!(!stderr.contains(token), "the token is a secret: never logged");
        printed.push(n);
    }
    assert!(
        printed.contains(&number),
        "this session's receipt {number} printed: {printed:?}"
    );
    let resumed = printed.iter().find(|n| **n != number).expect("the resumed receipt");
    for n in &printed {
        let verify = http_get(port, &format!("/v1/receipts/{n}/verify")).unwrap();
        assert!(verify.contains("valid"), "{verify}");
    }
    assert!(
        stderr.contains(&format!("printing receipt {resumed} for a session of an earlier run")),
        "{stderr}"
    );

    // Nothing is left in the outbox; nothing personal remains anywhere.
    assert_eq!(outbox_rows(&data), 0, "the outbox is empty afterwards");
    let test_name_bytes = NAME.as_bytes();
    for f in files_under(&data) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(!contains(&bytes, &[0xFF, 0xD8, 0xFF]), "JPEG in {}", f.display());
        assert!(!contains(&bytes, test_name_bytes), "name in {}", f.display());
        assert!(!contains(&bytes, ID_NUMBER.as_bytes()), "ID number in {}", f.display());
        for p in &prefixes {
            assert!(!contains(&bytes, p), "photo ciphertext survives in {}", f.display());
        }
    }
    assert!(
        !stderr.contains(NAME) && !stderr.contains(ID_NUMBER),
        "personal data in the log"
    );
    assert!(!stderr.contains("0105194912"), "ID number fragment in the log");
}

/// `kiosk simulate` over every walk-in sequence of `../shared/corpus/frames/walkup/` (too
/// far and off-centre, walking in, then holding a compliant pose): each one ends with a
/// printed receipt. Embedded review centre, PDF printer.
#[test]
fn every_walkup_sequence_ends_with_a_printed_receipt() {
    let walkup = shared().join("corpus/frames/walkup");
    let mut people: Vec<PathBuf> = std::fs::read_dir(&walkup)
        .expect("../shared/corpus/frames/walkup beside the checkout")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    people.sort();
    assert!(people.len() >= 9, "walk-up sequences: {people:?}");
    let mut failed = vec![];
    for seq in &people {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("kiosk.toml");
        std::fs::write(
            &cfg,
            format!(
                "[kiosk]\ndemo = true\nid = \"KIOSK-WALKUP\"\ndata_dir = \"{}\"\n\n[devices]\ncamera = \"replay:builtin\"\nprinter = \"pdf:{}\"\nreview = \"embedded\"\n",
                dir.path().join("data").display(),
                dir.path().join("slips").display()
            ),
        )
        .unwrap();
        let out = Command::new(kiosk_bin())
            .arg("--config")
            .arg(&cfg)
            .args(["simulate", "--frames"])
            .arg(seq)
            .args(["--doc", "id-card", "--region", "440100", "--json"])
            .env_remove("KIOSK_CONFIG")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap_or_default();
        let printed = v["printed"].as_str().map(PathBuf::from);
        let name = seq.file_name().unwrap().to_string_lossy().to_string();
        println!(
            "{name}: status {:?} receipt {:?} captured at {:?} printed {:?} failed {:?}",
            out.status.code(),
            v["receipt_number"],
            v["captured_frame"],
            printed,
            v["failed"]
        );
        let ok = out.status.success()
            && v["receipt_number"].as_str().is_some_and(|n| !n.is_empty())
            && files_under(&dir.path().join("slips"))
                .iter()
                .any(|p| p.extension().is_some_and(|e| e == "pdf"));
        if !ok {
            failed.push(format!("{name}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
        }
    }
    assert!(failed.is_empty(), "sequences without a receipt: {failed:#?}");
}
