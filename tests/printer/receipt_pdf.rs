//! The receipt renderers, checked with real tools: poppler (`pdftoppm`, `pdftotext`) and
//! zbar (`zbarimg`).

use assert_cmd::Command;
use kiosk::config::Config;
use kiosk::domain::Slip;
use kiosk::domain::SlipJob;
use kiosk::domain::{ClaimCode, PhotoJpeg, ReceiptNumber};
use kiosk::receipt::pdf::{render, PageSize};
use kiosk::receipt::Receipt;
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
        issued_at: chrono::Utc::now().with_timezone(&kiosk::domain::china_time()),
        token: None,
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

/// `kiosk receipt --pdf` with `--config`: the PDF's text as pdftotext reads it (squashed).
fn cli_pdf_text(config: &Path, region: &str, doc: &str, out: &Path) -> String {
    Command::cargo_bin("kiosk")
        .unwrap()
        .env_remove("KIOSK_CONFIG")
        .arg("--config")
        .arg(config)
        .args([
            "receipt", "--number", NUMBER, "--doc", doc, "--region", region, "--photo",
        ])
        .arg(photo_path())
        .arg("--pdf")
        .arg(out)
        .assert()
        .success();
    squash(&pdf_text(out))
}

#[test]
fn per_region_title_and_notes_override_the_template_in_the_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            r#"[kiosk]
demo = true
data_dir = "{}"

[regions.440300.receipt.id-card]
title = "深圳市{{document}}照片回执"
notes = ["请携带本回执到深圳市任一户政窗口。", "Bring this slip to any Shenzhen counter."]

# A province's layout applies to its cities unless they set their own.
[regions.440000.receipt.exit-entry]
notes = ["广东省出入境窗口专用。"]
"#,
            dir.path().join("data").display()
        ),
    )
    .unwrap();

    // Shenzhen ID card: the region's own title and notes, none of the defaults.
    let sz = cli_pdf_text(&config, "440300", "id-card", &dir.path().join("sz.pdf"));
    assert!(sz.contains("深圳市居民身份证照片回执"), "{sz}");
    assert!(!sz.contains("数字相片采集回执"), "default title still printed: {sz}");
    assert!(sz.contains("请携带本回执到深圳市任一户政窗口。"), "{sz}");
    assert!(sz.contains("Bringthisslipto"), "{sz}");
    assert!(!sz.contains("办证窗口使用本回执"), "default notice still printed: {sz}");
    assert!(
        !sz.contains("无需另交照片"),
        "default document note still printed: {sz}"
    );

    // Guangzhou ID card: untouched defaults (receipt.md §5).
    let gz = cli_pdf_text(&config, "440100", "id-card", &dir.path().join("gz.pdf"));
    assert!(gz.contains("广州市居民身份证数字相片采集回执"), "{gz}");
    assert!(gz.contains("请在有效期内到广州市办证窗口使用本回执。"), "{gz}");
    assert!(gz.contains("无需另交照片"), "{gz}");

    // Guangzhou exit-entry: the province's notes, the default title.
    let ee = cli_pdf_text(&config, "440100", "exit-entry", &dir.path().join("ee.pdf"));
    assert!(ee.contains("广州市出入境证件数字相片采集回执"), "{ee}");
    assert!(ee.contains("广东省出入境窗口专用。"), "{ee}");
    assert!(
        !ee.contains("回执号即图像号"),
        "default exit-entry note still printed: {ee}"
    );

    // An empty title is a config error naming the field; nothing is written.
    std::fs::write(&config, "[regions.440300.receipt.id-card]\ntitle = \" \"\n").unwrap();
    Command::cargo_bin("kiosk")
        .unwrap()
        .env_remove("KIOSK_CONFIG")
        .arg("--config")
        .arg(&config)
        .args([
            "receipt", "--number", NUMBER, "--doc", "id-card", "--region", "440300", "--photo",
        ])
        .arg(photo_path())
        .arg("--pdf")
        .arg(dir.path().join("bad.pdf"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("regions.440300.receipt.id-card.title"));
    assert!(!dir.path().join("bad.pdf").exists());
}

/// Every code zbar finds on the thermal slip of `r` at `dots` wide.
fn slip_codes(r: &Receipt, cfg: &Config, dots: u32, dir: &Path) -> Vec<String> {
    let png = dir.join(format!("slip-{dots}-{}.png", r.key));
    kiosk::receipt::raster::render(r, dots, &cfg.printer)
        .save(&png)
        .unwrap();
    let o = std::process::Command::new("zbarimg")
        .arg("-q")
        .arg(&png)
        .output()
        .expect("zbarimg (zbar-tools)");
    String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
}

fn slip_text(r: &Receipt) -> String {
    r.elements
        .iter()
        .filter_map(|e| match e {
            kiosk::receipt::model::Element::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_qr_opens_the_receipt_with_its_token_and_the_claim_slip_the_claim_page() {
    const TOKEN: &str = "0123456789abcdef0123456789abcdef";
    let dir = tempfile::tempdir().unwrap();
    let token = kiosk::domain::ReceiptToken::new(TOKEN).unwrap();
    let mut with_token = job(receipt_slip());
    with_token.token = Some(token.clone());
    let mut cfg = Config::builtin();
    cfg.printer.qr_content = kiosk::config::QrContent::Url;
    cfg.kiosk.public_receipt_url = Some("https://review.example.gov.cn/".into());
    let url = format!("https://review.example.gov.cn/v1/receipts/{NUMBER}.pdf?token={TOKEN}");

    // The receipt: the QR is the electronic receipt's URL, the Code128 the bare number —
    // both decodable on 58 mm and 80 mm paper.
    let r = Receipt::build(&with_token, &cfg, None).unwrap();
    for dots in [384, 576] {
        let codes = slip_codes(&r, &cfg, dots, dir.path());
        assert!(codes.contains(&format!("QR-Code:{url}")), "{dots}: {codes:?}");
        assert!(codes.contains(&format!("CODE-128:{NUMBER}")), "{dots}: {codes:?}");
    }
    assert_eq!(
        kiosk::receipt::model::screen_qr(&cfg, &with_token.slip, Some(&token)).as_deref(),
        Some(url.as_str()),
        "the screen shows the same URL"
    );
    // Without a token (a hand-made slip) or with `qr_content = "number"`: the number.
    let r = Receipt::build(&job(receipt_slip()), &cfg, None).unwrap();
    assert!(slip_codes(&r, &cfg, 576, dir.path()).contains(&format!("QR-Code:{NUMBER}")));
    let mut numbers = cfg.clone();
    numbers.printer.qr_content = kiosk::config::QrContent::Number;
    let r = Receipt::build(&with_token, &numbers, None).unwrap();
    assert!(slip_codes(&r, &numbers, 576, dir.path()).contains(&format!("QR-Code:{NUMBER}")));
    // No public address: the base is the http(s) review service the kiosk uses.
    let mut via_service = cfg.clone();
    via_service.kiosk.public_receipt_url = None;
    via_service.devices.review = "https://10.0.0.5:8700".parse().unwrap();
    let r = Receipt::build(&with_token, &via_service, None).unwrap();
    assert!(slip_codes(&r, &via_service, 576, dir.path()).contains(&format!(
        "QR-Code:https://10.0.0.5:8700/v1/receipts/{NUMBER}.pdf?token={TOKEN}"
    )),);
    // The embedded service has no address a phone can reach: the number, and no screen QR.
    let embedded = {
        let mut c = cfg.clone();
        c.kiosk.public_receipt_url = None;
        c
    };
    let r = Receipt::build(&with_token, &embedded, None).unwrap();
    assert!(slip_codes(&r, &embedded, 576, dir.path()).contains(&format!("QR-Code:{NUMBER}")));
    assert_eq!(
        kiosk::receipt::model::screen_qr(&embedded, &with_token.slip, Some(&token)),
        None
    );

    // The claim slip: the claim page's URL, and words that say what it does.
    let code = ClaimCode("00112233445566778899aabbccddeeff".into());
    let claim = job(Slip::Claim {
        code: code.clone(),
        doc: kiosk::config::DocumentId::IdCard,
        region: "440100".parse().unwrap(),
    });
    let r = Receipt::build(&claim, &cfg, None).unwrap();
    let claim_url = format!("https://review.example.gov.cn/v1/claims/{}", code.0);
    assert!(slip_codes(&r, &cfg, 384, dir.path()).contains(&format!("QR-Code:{claim_url}")));
    let text = slip_text(&r);
    assert!(
        text.contains("用手机扫描此码") && text.contains("scan this code with a phone"),
        "{text}"
    );
    assert!(
        !text.contains("取回执”") && !text.contains("Get receipt"),
        "no promise of a kiosk feature: {text}"
    );
    assert_eq!(
        kiosk::receipt::model::screen_qr(&cfg, &claim.slip, None).as_deref(),
        Some(claim_url.as_str())
    );
    // Without a public address: the bare code, and staff look it up.
    let r = Receipt::build(&claim, &embedded, None).unwrap();
    assert!(slip_codes(&r, &embedded, 576, dir.path()).contains(&format!("QR-Code:{}", code.0)));
    let text = slip_text(&r);
    assert!(text.contains("向工作人员查询") && text.contains("Ask staff"), "{text}");
}
