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
    assert!(text.contains("用手机扫描此码"), "{text}");
    assert!(!text.contains("scan this code"), "Chinese only by default: {text}");
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
    assert!(text.contains("向工作人员查询") && !text.contains("Ask staff"), "{text}");
}

/// Every word's box as poppler reads the PDF: (page width, [(word, xMin, xMax)]).
fn pdf_word_boxes(pdf: &Path) -> (f64, Vec<(String, f64, f64)>) {
    let o = std::process::Command::new("pdftotext")
        .arg("-bbox")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(o.status.success());
    let html = String::from_utf8_lossy(&o.stdout).to_string();
    let attr = |tag: &str, name: &str| -> f64 {
        let k = format!("{name}=\"");
        let i = tag.find(&k).unwrap_or_else(|| panic!("no {name} in {tag}")) + k.len();
        tag[i..].split('"').next().unwrap().parse().unwrap()
    };
    let page = html.lines().find(|l| l.contains("<page ")).expect("a page");
    let width = attr(page, "width");
    let words = html
        .lines()
        .filter(|l| l.contains("<word "))
        .map(|l| {
            let text = l
                .split('>')
                .nth(1)
                .unwrap_or("")
                .split('<')
                .next()
                .unwrap_or("")
                .to_string();
            (text, attr(l, "xMin"), attr(l, "xMax"))
        })
        .collect();
    (width, words)
}

/// Issue #15: the PDF title was cut at the right edge for the ID card and exit-entry
/// documents. Every document × region of the configuration, both page sizes, Chinese
/// labels and bilingual ones, and the claim and hand-off slips: no word leaves the page.
#[test]
fn no_text_leaves_the_pdf_page_for_any_document_and_region() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::builtin();
    let pairs: Vec<(kiosk::config::DocumentId, kiosk::config::RegionCode)> = cfg
        .regions
        .iter()
        .flat_map(|(code, r)| r.documents.iter().map(move |d| (*d, code.clone())))
        .collect();
    assert!(pairs.len() >= 20, "{pairs:?}");
    let mut checked = 0;
    for english in [false, true] {
        cfg.printer.english_labels = english;
        let mut slips: Vec<Slip> = pairs
            .iter()
            .map(|(doc, region)| Slip::Receipt {
                number: ReceiptNumber::new("A1B2C3D4E5F6G7H8J9K0L1M2N3P4Q5R6").unwrap(),
                valid_until: chrono::NaiveDate::from_ymd_opt(2027, 5, 25).unwrap(),
                doc: *doc,
                region: region.clone(),
            })
            .collect();
        let (doc, region) = pairs[0].clone();
        slips.push(Slip::Claim {
            code: ClaimCode("K7M2Q9".into()),
            doc,
            region: region.clone(),
        });
        slips.push(Slip::HandOff {
            code: kiosk::domain::HandOffCode::random(),
            doc,
            region,
            reasons: vec![kiosk::domain::Prompt::new(
                "glasses_glare",
                "眼镜反光，请摘下眼镜或调整角度后再拍",
                "Glare on the glasses: take them off or tilt them slightly",
            )],
        });
        for (i, slip) in slips.into_iter().enumerate() {
            let r = Receipt::build(&job(slip), &cfg, Some(chrono::Utc::now().fixed_offset())).unwrap();
            for size in [PageSize::Roll80, PageSize::A6] {
                let pdf = dir.path().join(format!("{english}-{i}-{size:?}.pdf"));
                std::fs::write(&pdf, render(&r, size).unwrap()).unwrap();
                let (width, words) = pdf_word_boxes(&pdf);
                assert!(!words.is_empty());
                for (w, x0, x1) in &words {
                    assert!(
                        *x0 >= 0.0 && *x1 <= width,
                        "{} ({size:?}, english {english}): `{w}` spans {x0:.1}–{x1:.1} pt of {width:.1}",
                        r.title
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 4 * pairs.len());
}

/// `kiosk receipt --test-print`: no number, no photo; the slip says it cannot be used and
/// its barcode decodes (the operator checks paper and print head with it).
#[test]
fn a_test_print_needs_no_number_or_photo_and_its_codes_decode() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("t.png");
    let pdf = dir.path().join("t.pdf");
    for (flag, out) in [("--png", &png), ("--pdf", &pdf)] {
        Command::cargo_bin("kiosk")
            .unwrap()
            .env_remove("KIOSK_CONFIG")
            .args([
                "receipt",
                "--test-print",
                "--doc",
                "exit-entry",
                "--region",
                "440300",
                flag,
            ])
            .arg(out)
            .assert()
            .success();
    }
    let o = std::process::Command::new("zbarimg")
        .arg("-q")
        .arg(&png)
        .output()
        .expect("zbarimg (zbar-tools)");
    let codes = String::from_utf8_lossy(&o.stdout);
    assert!(codes.contains("CODE-128:TEST-PRINT"), "{codes}");
    let text = squash(&pdf_text(&pdf));
    assert!(text.contains("测试打印，不能使用"), "{text}");
    assert!(text.contains("深圳市出入境证件数字相片采集回执"), "{text}");
    assert!(pdf_barcodes(&pdf, dir.path()).contains(&"CODE-128:TEST-PRINT".to_string()));
    // A test print with a number or a photo is a usage error.
    Command::cargo_bin("kiosk")
        .unwrap()
        .env_remove("KIOSK_CONFIG")
        .args([
            "receipt",
            "--test-print",
            "--number",
            "1",
            "--doc",
            "id-card",
            "--region",
            "440100",
            "--png",
        ])
        .arg(dir.path().join("x.png"))
        .assert()
        .code(2);
}

/// Issue #15: the region's facts on the receipt — the review centre, 仅限使用一次, what
/// to bring and the enquiry number — from the config, with defaults; labels are Chinese
/// only unless `english_labels` is on.
#[test]
fn the_receipt_names_the_centre_what_to_bring_and_the_enquiry_number() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::builtin();
    let text_of = |cfg: &Config, slip: Slip, name: &str| {
        let r = Receipt::build(&job(slip), cfg, None).unwrap();
        let pdf = dir.path().join(name);
        std::fs::write(&pdf, render(&r, PageSize::Roll80).unwrap()).unwrap();
        squash(&pdf_text(&pdf))
    };
    let t = text_of(&cfg, receipt_slip(), "gd.pdf");
    for want in [
        "回执号（图像号）仅限使用一次",
        "审核单位：广东省证件用数字相片采集服务中心",
        "请携带：本回执，以及户口簿或旧身份证",
        "咨询电话：12345",
    ] {
        assert!(t.contains(want), "`{want}` missing in {t}");
    }
    assert!(
        !t.contains("ReceiptNo") && !t.contains("Validuntil"),
        "English by default: {t}"
    );

    let hunan: kiosk::config::RegionCode = "430000".parse().unwrap();
    let r = cfg.regions.get_mut(&hunan).unwrap();
    r.enquiry_phone = Some("0731-12345678".into());
    r.receipt.insert(
        kiosk::config::DocumentId::IdCard,
        kiosk::config::ReceiptLayout {
            bring: Some("本回执和户口簿".into()),
            ..Default::default()
        },
    );
    cfg.printer.english_labels = true;
    let slip = Slip::Receipt {
        number: ReceiptNumber::new(NUMBER).unwrap(),
        valid_until: chrono::NaiveDate::from_ymd_opt(2027, 5, 25).unwrap(),
        doc: kiosk::config::DocumentId::IdCard,
        region: hunan,
    };
    let t = text_of(&cfg, slip, "hn.pdf");
    for want in [
        "审核单位Reviewcentre：湖南省证件照片审核中心",
        "请携带：本回执和户口簿",
        "咨询电话Enquiries：0731-12345678",
        "回执号（图像号）ReceiptNo.",
    ] {
        assert!(t.contains(want), "`{want}` missing in {t}");
    }
}
