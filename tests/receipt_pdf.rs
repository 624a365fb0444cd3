//! The receipt renderers, checked with real tools: poppler (`pdftoppm`, `pdftotext`) and
//! zbar (`zbarimg`).

use assert_cmd::Command;
use kiosk::config::Config;
use kiosk::domain::{ClaimCode, PhotoJpeg, ReceiptNumber};
use kiosk::receipt::pdf::{render, PageSize};
use kiosk::receipt::Receipt;
use kiosk::runtime::SlipJob;
use kiosk::session::Slip;
use std::path::{Path, PathBuf};

const NUMBER: &str = "20261126000042";

fn photo_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/frames/demo/0001.jpg")
}

fn job(slip: Slip) -> SlipJob {
    SlipJob {
        slip,
        photo: Some(PhotoJpeg(std::fs::read(photo_path()).unwrap())),
        masked_name: Some("张**".into()),
        issued_at: chrono::Utc::now().with_timezone(&kiosk::ops::china_time()),
    }
}

fn receipt_slip() -> Slip {
    Slip::Receipt {
        number: ReceiptNumber::new(NUMBER).unwrap(),
        valid_until: chrono::NaiveDate::from_ymd_opt(2027, 5, 25).unwrap(),
        doc: kiosk::config::DocumentId::IdCard,
        region: "440000".parse().unwrap(),
    }
}

fn pdf_text(pdf: &Path) -> String {
    let o = std::process::Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(o.status.success());
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// pdftotext keeps line breaks where the layout wraps; compare without them.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn pdf_barcodes(pdf: &Path, dir: &Path) -> Vec<String> {
    let prefix = dir.join("page");
    let st = std::process::Command::new("pdftoppm")
        .args(["-r", "300", "-png", "-singlefile"])
        .arg(pdf)
        .arg(&prefix)
        .status()
        .expect("pdftoppm (poppler-utils)");
    assert!(st.success());
    let o = std::process::Command::new("zbarimg")
        .arg("-q")
        .arg(prefix.with_extension("png"))
        .output()
        .expect("zbarimg (zbar-tools)");
    String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
}

#[test]
fn pdf_roll_and_a6_carry_title_validity_and_decodable_codes() {
    let cfg = Config::builtin();
    let r = Receipt::build(&job(receipt_slip()), &cfg, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for size in [PageSize::Roll80, PageSize::A6] {
        let pdf = dir.path().join(format!("{size:?}.pdf"));
        std::fs::write(&pdf, render(&r, size).unwrap()).unwrap();
        let text = squash(&pdf_text(&pdf));
        assert!(
            text.contains("广东省居民身份证数字相片采集回执"),
            "{size:?}: title missing in {text}"
        );
        assert!(text.contains("2027-05-25"), "{size:?}: validity date missing in {text}");
        assert!(text.contains(NUMBER));
        // The name is printed only where the region asks for it (Guangdong does not).
        assert!(!text.contains("张**"));
        let codes = pdf_barcodes(&pdf, dir.path());
        assert!(codes.contains(&format!("CODE-128:{NUMBER}")), "{size:?}: {codes:?}");
        assert!(codes.contains(&format!("QR-Code:{NUMBER}")), "{size:?}: {codes:?}");
        // The font is subset: a whole 4.6 MB CJK font would make a multi-megabyte file.
        assert!(std::fs::metadata(&pdf).unwrap().len() < 300_000);
    }
}

#[test]
fn reprint_is_marked_and_claim_slip_carries_the_code() {
    let cfg = Config::builtin();
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T09:30:00+08:00").unwrap();
    let r = Receipt::build(&job(receipt_slip()), &cfg, Some(at)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("reprint.pdf");
    std::fs::write(&pdf, render(&r, PageSize::Roll80).unwrap()).unwrap();
    let text = squash(&pdf_text(&pdf));
    assert!(text.contains("补打") && text.contains("2026-12-0109:30"), "{text}");

    let code = ClaimCode("0123456789abcdef0123456789abcdef".into());
    let claim = Slip::Claim {
        code: code.clone(),
        doc: kiosk::config::DocumentId::IdCard,
        region: "440100".parse().unwrap(),
    };
    let r = Receipt::build(&job(claim), &cfg, None).unwrap();
    assert!(r
        .elements
        .iter()
        .all(|e| !matches!(e, kiosk::receipt::model::Element::Photo(_))));
    let pdf = dir.path().join("claim.pdf");
    std::fs::write(&pdf, render(&r, PageSize::Roll80).unwrap()).unwrap();
    let text = squash(&pdf_text(&pdf));
    assert!(text.contains("受理凭条") && text.contains(&code.0), "{text}");
    let codes = pdf_barcodes(&pdf, dir.path());
    assert!(codes.contains(&format!("QR-Code:{}", code.0)), "{codes:?}");
}

#[test]
fn masked_name_prints_only_where_the_region_asks() {
    let mut cfg = Config::builtin();
    cfg.regions.get_mut(&"440000".parse().unwrap()).unwrap().print_name = true;
    let r = Receipt::build(&job(receipt_slip()), &cfg, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("named.pdf");
    std::fs::write(&pdf, render(&r, PageSize::Roll80).unwrap()).unwrap();
    assert!(squash(&pdf_text(&pdf)).contains("张**"));
}

#[test]
fn cli_writes_png_and_pdf_and_refuses_bad_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("r.png");
    Command::cargo_bin("kiosk")
        .unwrap()
        .env_remove("KIOSK_CONFIG")
        .args([
            "receipt", "--number", NUMBER, "--doc", "id-card", "--region", "440100", "--photo",
        ])
        .arg(photo_path())
        .arg("--png")
        .arg(&png)
        .assert()
        .success();
    let o = std::process::Command::new("zbarimg")
        .arg("-q")
        .arg(&png)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("CODE-128:{NUMBER}")) && out.contains(&format!("QR-Code:{NUMBER}")),
        "{out}"
    );

    let pdf = dir.path().join("r.pdf");
    Command::cargo_bin("kiosk")
        .unwrap()
        .env_remove("KIOSK_CONFIG")
        .args([
            "receipt", "--number", NUMBER, "--doc", "id-card", "--region", "440100", "--photo",
        ])
        .arg(photo_path())
        .arg("--pdf")
        .arg(&pdf)
        .assert()
        .success();
    assert!(squash(&pdf_text(&pdf)).contains("广州市居民身份证数字相片采集回执"));

    Command::cargo_bin("kiosk")
        .unwrap()
        .env_remove("KIOSK_CONFIG")
        .args([
            "receipt", "--number", "12 34", "--doc", "id-card", "--region", "440100", "--photo",
        ])
        .arg(photo_path())
        .arg("--png")
        .arg(dir.path().join("bad.png"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("receipt_number_invalid"));
    assert!(!dir.path().join("bad.png").exists());
}
