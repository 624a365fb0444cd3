use super::*;
use crate::config::load::Origin;

/// Parses `text` as a file that asked for demo mode (the defaults' embedded centre needs
/// it), adding `demo = true` without moving any line the test names.
fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(&with_demo(text), Path::new("/etc/kiosk/kiosk.toml"))
}

fn with_demo(text: &str) -> String {
    if text.contains("demo =") {
        return text.to_string();
    }
    match text.find("[kiosk]") {
        None => format!("{text}\n[kiosk]\ndemo = true\n"),
        Some(i) => {
            let body = i + "[kiosk]".len();
            let end = text[body..].find("\n[").map(|j| body + j + 1).unwrap_or(text.len());
            let sep = if text[..end].ends_with('\n') { "" } else { "\n" };
            format!("{}{sep}demo = true\n{}", &text[..end], &text[end..])
        }
    }
}

/// Parses `text` exactly as written.
fn parse_as_is(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(text, Path::new("/etc/kiosk/kiosk.toml"))
}

fn invalid(text: &str) -> (Option<usize>, String, String) {
    match parse(text).unwrap_err() {
        ConfigError::Invalid {
            line, field, message, ..
        } => (line, field, message),
        e => panic!("unexpected {e}"),
    }
}

#[test]
fn builtin_defaults_validate_and_run_without_hardware() {
    let c = Config::builtin();
    c.validate(&Origin {
        path: "x".into(),
        text: None,
    })
    .unwrap();
    assert!(matches!(c.devices.camera.device(), Device::Replay { .. }));
    assert!(matches!(c.devices.printer.device(), Device::Pdf { .. }));
    assert_eq!(c.devices.review.device(), &Device::Embedded);
}

#[test]
fn empty_file_equals_defaults() {
    let c = parse("").unwrap();
    assert_eq!(c, Config::builtin());
}

#[test]
fn document_defaults_follow_the_spec() {
    let c = Config::builtin();
    let id = &c.documents[&DocumentId::IdCard];
    assert_eq!((id.width, id.height, id.dpi), (358, 441, 350));
    assert_eq!(id.face_width, Some(SpanU::new(193, 221)));
    assert_eq!(id.file_kb, SpanU::new(14, 20));
    assert_eq!(id.eye_line_min_from_bottom, Some(207));
    let dl = &c.documents[&DocumentId::DrivingLicence];
    assert_eq!((dl.width, dl.height, dl.dpi), (260, 378, 300));
    let ee = &c.documents[&DocumentId::ExitEntry];
    assert_eq!((ee.width, ee.height), (354, 472));
    assert_eq!(ee.file_kb, SpanU::new(20, 80));
    let ss = &c.documents[&DocumentId::SocialSecurity];
    assert_eq!(ss.file_kb, SpanU::new(14, 40));
    assert_eq!(ss.eye_mid_x, Some(SpanU::new(162, 196)));
    assert_eq!(id.limits.min_face_px, 100);
    assert_eq!(
        (id.limits.max_yaw_deg, id.limits.max_pitch_deg, id.limits.max_roll_deg),
        (5.0, 5.0, 8.0)
    );
}

#[test]
fn validity_follows_region_rules() {
    let c = Config::builtin();
    let gz = RegionCode::new("440100").unwrap();
    let gd = RegionCode::new("440000").unwrap();
    let sz = RegionCode::new("440300").unwrap();
    let hk = RegionCode::new("460100").unwrap();
    assert_eq!(c.validity_days(DocumentId::IdCard, &gd), 60);
    assert_eq!(c.validity_days(DocumentId::IdCard, &gz), 180);
    assert_eq!(c.validity_days(DocumentId::IdCard, &sz), 183);
    assert_eq!(c.validity_days(DocumentId::IdCard, &hk), 60);
    assert_eq!(c.validity_days(DocumentId::DrivingLicence, &gz), 180);
    assert_eq!(
        c.receipt_title(DocumentId::IdCard, &gd),
        "广东省居民身份证数字相片采集回执"
    );
}

#[test]
fn every_region_of_the_receipt_spec_is_built_in() {
    let c = Config::builtin();
    for code in [
        "440000", "440100", "460000", "460100", "430000", "520000", "630000", "340000", "360400", "360700", "210100",
        "211300", "211000", "210700", "500000", "530000", "510000", "450000",
    ] {
        assert!(c.regions.contains_key(&RegionCode::new(code).unwrap()), "{code}");
    }
    let ee: Vec<_> = c
        .regions_for(DocumentId::ExitEntry)
        .into_iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert!(ee.contains(&"500000") && ee.contains(&"440000"));
    assert_eq!(c.regions_for(DocumentId::DrivingLicence).len(), 3); // Guangdong, Guangzhou, Shenzhen
}

#[test]
fn file_overrides_merge_onto_defaults() {
    let c = parse(
        r#"
[kiosk]
id = "GZ-TH-001"
inactivity_timeout_s = 90

[devices]
printer = "serial:/dev/kiosk-printer,115200,58"

[documents.id-card]
file_kb = [14, 30]

[regions.440100]
validity_days = { id-card = 90 }
overrides.id-card = { file_kb = [14, 40] }
"#,
    )
    .unwrap();
    assert_eq!(c.kiosk.id, "GZ-TH-001");
    assert_eq!(c.kiosk.inactivity_timeout_s, 90);
    assert_eq!(c.kiosk.retake_limit, 3, "untouched defaults stay");
    assert_eq!(
        c.devices.printer.device(),
        &Device::Serial {
            path: "/dev/kiosk-printer".into(),
            baud: 115200,
            paper: PaperWidth::Mm58
        }
    );
    assert_eq!(c.documents[&DocumentId::IdCard].file_kb, SpanU::new(14, 30));
    let gz = RegionCode::new("440100").unwrap();
    let spec = c.spec_for(DocumentId::IdCard, Some(&gz));
    assert_eq!(spec.file_kb, SpanU::new(14, 40));
    assert_eq!(spec.validity_days, 90);
    assert_eq!(c.regions[&gz].name_zh, "广州市", "built-in name kept");
    // the province keeps the global value
    let gd = RegionCode::new("440000").unwrap();
    assert_eq!(c.spec_for(DocumentId::IdCard, Some(&gd)).file_kb, SpanU::new(14, 30));
}

#[test]
fn regions_can_replace_the_builtin_list() {
    let c = parse(
        r#"
[regions]
replace_builtin = true
[regions.440100]
name_zh = "广州市"
documents = ["id-card"]
"#,
    )
    .unwrap();
    assert_eq!(c.regions.len(), 1);
    assert_eq!(c.offered_documents(), vec![DocumentId::IdCard]);
}

#[test]
fn syntax_error_names_file_and_line() {
    let e = parse("[kiosk]\nid = \"A\"\ninactivity_timeout_s = = 3\n").unwrap_err();
    let s = e.to_string();
    assert!(s.starts_with("/etc/kiosk/kiosk.toml:3: syntax"), "{s}");
}

#[test]
fn unknown_field_names_line_field_and_allowed_ones() {
    let Err(ConfigError::Invalid {
        line,
        field,
        message: msg,
        ..
    }) = parse_as_is("[kiosk]\nid = \"A\"\n\n[devices]\ncamrea = \"v4l:0\"\n")
    else {
        panic!("accepted")
    };
    assert_eq!(line, Some(5));
    assert_eq!(field, "devices.camrea");
    assert!(msg.contains("camrea") && msg.contains("camera"), "{msg}");
}

#[test]
fn bad_device_string_names_line_and_grammar() {
    let (line, field, msg) = invalid("[devices]\nprinter = \"v4l:0\"\n");
    assert_eq!((line, field.as_str()), (Some(2), "devices.printer"));
    assert!(msg.contains("serial:PATH"), "{msg}");
}

#[test]
fn wrong_type_names_field() {
    let (line, field, msg) = invalid("[kiosk]\nretake_limit = \"three\"\n");
    assert_eq!((line, field.as_str()), (Some(2), "kiosk.retake_limit"));
    assert!(msg.contains("expected u32"), "{msg}");
}

#[test]
fn bad_ranges_and_codes_are_rejected() {
    let (_, field, msg) = invalid("[documents.id-card]\nfile_kb = [30, 14]\n");
    assert_eq!(field, "documents.id-card.file_kb");
    assert!(msg.contains("min > max"));
    let (line, field, _) = invalid("[regions.44010]\nname_zh = \"x\"\ndocuments = [\"id-card\"]\n");
    assert_eq!(field, "regions.44010");
    assert_eq!(line, Some(1));
    let (_, field, msg) = invalid("[regions.440100]\ndocuments = [\"passport\"]\n");
    assert_eq!(field, "regions.440100.documents[0]");
    assert!(msg.contains("exit-entry"), "{msg}");
    let (_, field, _) = invalid("[documents.id-card]\nbackgrounds = [\"white\"]\n");
    assert_eq!(field, "documents.id-card.backgrounds[0]");
}

#[test]
fn semantic_errors_name_the_field() {
    let (line, field, _) = invalid("[kiosk]\ninactivity_timeout_s = 3\n");
    assert_eq!((line, field.as_str()), (Some(2), "kiosk.inactivity_timeout_s"));
    let (_, field, msg) = invalid("[documents.id-card]\nfields = [\"name\", \"mobile\"]\n");
    assert_eq!(field, "documents.id-card.fields");
    assert!(msg.contains("decision_notifier"));
    let (_, field, _) = invalid("[devices]\nreview = \"https://review.example.cn\"\n");
    assert_eq!(field, "devices.review_key_file");
    let (_, field, _) = invalid("[regions.440100.overrides.id-card]\nwidth = 5\n");
    assert!(field.starts_with("regions.440100.overrides.id-card"), "{field}");
    let (_, field, _) = invalid("[printer]\ncut_command = \"GS V\"\n");
    assert_eq!(field, "printer.cut_command");
}

#[test]
fn validity_days_are_bounded() {
    // u32::MAX days used to load, then overflowed the date arithmetic at approval.
    let (_, field, msg) = invalid("[documents.id-card]\nvalidity_days = 4294967295\n");
    assert_eq!(field, "documents.id-card.validity_days");
    assert!(msg.contains("3653"), "{msg}");
    let (_, field, _) = invalid("[regions.440100]\nvalidity_days = { id-card = 4294967295 }\n");
    assert_eq!(field, "regions.440100.validity_days.id-card");
    let (_, field, _) = invalid("[regions.440100.overrides.id-card]\nvalidity_days = 3654\n");
    assert!(field.starts_with("regions.440100.overrides.id-card"), "{field}");
    assert!(parse("[documents.id-card]\nvalidity_days = 3653\n").is_ok());
}

#[test]
fn mobile_allowed_with_a_notifier() {
    let c = parse(
        "[kiosk]\ndecision_notifier = \"https://sms.example.cn\"\n[documents.exit-entry]\nfields = [\"name\", \"id-number\", \"mobile\"]\n",
    )
    .unwrap();
    assert!(c.documents[&DocumentId::ExitEntry].fields.contains(&Field::Mobile));
}

#[test]
fn unreadable_file_names_path() {
    let e = Config::from_file(Path::new("/nonexistent/kiosk.toml")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/kiosk.toml"));
}

#[test]
fn example_config_in_deploy_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kiosk.example.toml");
    let c = Config::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.kiosk.data_dir, PathBuf::from("/var/lib/kiosk"));
}

#[test]
fn region_code_rules() {
    assert!(RegionCode::new("440100").is_ok());
    for bad in ["44010", "4401000", "44a100", "000000"] {
        assert!(RegionCode::new(bad).is_err(), "{bad}");
    }
    assert_eq!(
        RegionCode::new("440100").unwrap().province().unwrap().as_str(),
        "440000"
    );
    assert!(RegionCode::new("440000").unwrap().province().is_none());
}

#[test]
fn default_pdf_printer_follows_the_data_dir() {
    let c = parse("[kiosk]\ndata_dir = \"/srv/kiosk\"\n").unwrap();
    assert_eq!(
        c.devices.printer.device(),
        &Device::Pdf {
            dir: "/srv/kiosk/receipts".into()
        }
    );
    let c = parse("[kiosk]\ndata_dir = \"/srv/kiosk\"\n[devices]\nprinter = \"none\"\n").unwrap();
    assert_eq!(c.devices.printer.device(), &Device::None);
}

#[test]
fn replace_builtin_must_be_a_boolean() {
    let text =
        "[regions]\nreplace_builtin = \"yes\"\n[regions.440100]\nname_zh = \"广州市\"\ndocuments = [\"id-card\"]\n";
    let e = parse(text).unwrap_err();
    let s = e.to_string();
    assert!(
        s.starts_with("/etc/kiosk/kiosk.toml:2: regions.replace_builtin:"),
        "{s}"
    );
    assert!(s.contains("true or false") && s.contains("string"), "{s}");
    let (line, field, _) = invalid("[regions]\nreplace_builtin = 1\n");
    assert_eq!((line, field.as_str()), (Some(2), "regions.replace_builtin"));
    // An explicit false keeps the built-in list, as leaving the key out does.
    let c = parse("[regions]\nreplace_builtin = false\n").unwrap();
    assert_eq!(c.regions, Config::builtin().regions);
}

#[test]
fn city_overrides_stack_on_the_province_ones() {
    let c = parse(
        r#"
[documents.id-card]
jpeg_quality_min = 80

[regions.440000.overrides.id-card]
file_kb = [14, 30]
dpi = 300

[regions.440100.overrides.id-card]
dpi = 350
"#,
    )
    .unwrap();
    let gz = RegionCode::new("440100").unwrap();
    let gd = RegionCode::new("440000").unwrap();
    let sz = RegionCode::new("440300").unwrap();
    let hk = RegionCode::new("460100").unwrap();
    let city = c.spec_for(DocumentId::IdCard, Some(&gz));
    assert_eq!(
        city.file_kb,
        SpanU::new(14, 30),
        "the province's override reaches the city"
    );
    assert_eq!(city.dpi, 350, "the city's own override wins");
    assert_eq!(
        city.jpeg_quality_min, 80,
        "the global [documents] value stays underneath"
    );
    assert_eq!(city.validity_days, 180, "the city's validity rule still applies");
    let province = c.spec_for(DocumentId::IdCard, Some(&gd));
    assert_eq!((province.file_kb, province.dpi), (SpanU::new(14, 30), 300));
    // A city without overrides of its own gets its province's.
    let other_city = c.spec_for(DocumentId::IdCard, Some(&sz));
    assert_eq!((other_city.file_kb, other_city.dpi), (SpanU::new(14, 30), 300));
    // Another province is untouched; so is a document without overrides.
    let elsewhere = c.spec_for(DocumentId::IdCard, Some(&hk));
    assert_eq!((elsewhere.file_kb, elsewhere.dpi), (SpanU::new(14, 20), 350));
    assert_eq!(elsewhere.jpeg_quality_min, 80);
    assert_eq!(
        c.spec_for(DocumentId::ExitEntry, Some(&gz)),
        c.documents[&DocumentId::ExitEntry]
    );
}

#[test]
fn the_combined_region_spec_is_validated() {
    // Each table alone is valid (defaults 55–235); together min ≥ max.
    let text = r#"
[regions.440000.overrides.id-card.limits.checks]
min_face_luma = 200.0

[regions.440100.overrides.id-card.limits.checks]
max_face_luma = 150.0
"#;
    let (line, field, msg) = invalid(text);
    assert_eq!(field, "regions.440100.overrides.id-card.limits.checks.min_face_luma");
    assert_eq!(line, Some(5), "the city's table is where the clash is written");
    assert!(msg.contains("min < max") && msg.contains("province 440000"), "{msg}");
    let s = parse(text).unwrap_err().to_string();
    assert!(s.starts_with("/etc/kiosk/kiosk.toml:5: regions.440100."), "{s}");
    // The same two values in one region's table are refused the same way.
    let (_, field, _) =
        invalid("[regions.440100.overrides.id-card.limits.checks]\nmin_face_luma = 200.0\nmax_face_luma = 150.0\n");
    assert_eq!(field, "regions.440100.overrides.id-card.limits.checks.min_face_luma");
    // A bad province value is reported at the province, not at its city.
    let (_, field, msg) =
        invalid("[regions.440000.overrides.id-card]\ndpi = 5000\n[regions.440100.overrides.id-card]\nwidth = 400\n");
    assert_eq!(field, "regions.440000.overrides.id-card.dpi");
    assert!(!msg.contains("province"), "{msg}");
    // A city whose own values fix the province's clash is fine.
    parse(
        "[regions.440000.overrides.id-card.limits.checks]\nmin_face_luma = 200.0\n[regions.440100.overrides.id-card.limits.checks]\nmax_face_luma = 230.0\n",
    )
    .unwrap();
}

#[test]
fn console_urls_are_https_unless_on_loopback() {
    use super::validate::console_url_ok;
    for ok in [
        "https://console.hall:8800",
        "http://127.0.0.1:8800",
        "http://localhost:1/x",
        "http://[::1]:8800",
    ] {
        assert!(console_url_ok(ok), "{ok}");
    }
    for bad in [
        "http://console.hall:8800",
        "http://10.0.0.5",
        "ftp://x",
        "https://",
        "127.0.0.1:8800",
        "http://127.0.0.1.evil.cn",
    ] {
        assert!(!console_url_ok(bad), "{bad}");
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.toml");
    std::fs::write(&p, "[console]\nurl = \"http://console.hall:8800\"\nkey_file = \"/k\"\n").unwrap();
    let e = Config::load(Some(&p)).unwrap_err().to_string();
    assert!(e.contains("console.url") && e.contains("https://"), "{e}");
    std::fs::write(&p, "[console]\nurl = \"https://console.hall:8800\"\n").unwrap();
    let e = Config::load(Some(&p)).unwrap_err().to_string();
    assert!(e.contains("console.key_file"), "{e}");
}

#[test]
fn example_config_names_every_setting() {
    // The example is the operator's reference: every key of the plain sections must be
    // in it, set or commented out (`key =` or `# key =`), so a new setting cannot be
    // forgotten there.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kiosk.example.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let builtin = toml::Table::try_from(Config::builtin()).unwrap();
    let mut missing = vec![];
    for section in [
        "kiosk", "devices", "camera", "printer", "idcard", "audio", "metrics", "console",
    ] {
        let header = format!("[{section}]");
        let start = text.find(&header).unwrap_or_else(|| panic!("{header} missing"));
        let body = &text[start + header.len()..];
        let body = &body[..body.find("\n[").unwrap_or(body.len())];
        let mut keys: Vec<&String> = builtin[section].as_table().unwrap().keys().collect();
        // Optional keys (None) are not serialised; name them here.
        let optional: &[&str] = match section {
            "kiosk" => &["public_receipt_url", "decision_notifier"],
            "devices" => &["review_key_file"],
            "metrics" => &["listen"],
            "console" => &["url", "key_file"],
            _ => &[],
        };
        let optional: Vec<String> = optional.iter().map(|s| s.to_string()).collect();
        keys.extend(optional.iter());
        for key in keys {
            let named = body.lines().any(|l| {
                let l = l.trim_start().trim_start_matches('#').trim_start();
                l.strip_prefix(key.as_str())
                    .is_some_and(|r| r.trim_start().starts_with('='))
            });
            if !named {
                missing.push(format!("{section}.{key}"));
            }
        }
    }
    assert!(missing.is_empty(), "not in deploy/kiosk.example.toml: {missing:?}");
    let c = Config::from_file(&path).unwrap();
    assert_eq!(c.printer.idle_poll_ms, 2000);
}

#[test]
fn the_errors_quoted_in_the_docs_are_the_real_ones() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md")).unwrap();
    for text in [
        "[kiosk]\nid = \"A\"\n\n[devices]\ncamrea = \"v4l:0\"\n",
        "[devices]\nprinter = \"v4l:0\"\n",
    ] {
        // The CLI prints `kiosk: error: ` before the error (src/cli.rs).
        let line = format!("kiosk: error: {}\n", parse_as_is(text).unwrap_err());
        assert!(doc.contains(&line), "docs/configuration.md does not quote:\n{line}");
    }
}

#[test]
fn the_embedded_centre_is_a_demo_a_config_file_must_ask_for() {
    // No config file (README's first command): demo mode with the embedded centre.
    assert!(Config::builtin().kiosk.demo);
    // A file that leaves the embedded centre on without saying demo = true is refused,
    // naming the fix.
    let Err(ConfigError::Invalid {
        field, message: msg, ..
    }) = parse_as_is("[kiosk]\nid = \"K1\"\n")
    else {
        panic!("accepted")
    };
    assert_eq!(field, "devices.review");
    assert!(msg.contains("demo = true") && msg.contains("https://"), "{msg}");
    let c = parse_as_is("[kiosk]\ndemo = true\n").unwrap();
    assert!(c.kiosk.demo);
    let c = parse_as_is("[devices]\nreview = \"https://r.example.cn\"\nreview_key_file = \"/k\"\n").unwrap();
    assert!(!c.kiosk.demo, "a file with a real centre is not a demo");
}

#[test]
fn the_idcard_reader_is_off_by_default_and_its_settings_are_checked() {
    let c = Config::builtin();
    assert_eq!(c.devices.idcard.device(), &Device::None);
    let c = parse("[devices]\nidcard = \"serial:/dev/kiosk-idcard\"\n").unwrap();
    assert_eq!(c.devices.idcard.to_string(), "serial:/dev/kiosk-idcard,115200");
    let (line, field, msg) = invalid("[devices]\nidcard = \"serial:/dev/kiosk-idcard,115200,80\"\n");
    assert_eq!((line, field.as_str()), (Some(2), "devices.idcard"));
    assert!(msg.contains("serial:PATH[,BAUD], none"), "{msg}");
    let (_, field, _) = invalid("[idcard]\nreply_timeout_ms = 10\n");
    assert_eq!(field, "idcard.reply_timeout_ms");
    let (_, field, _) = invalid("[idcard]\npoll_interval_ms = 0\n");
    assert_eq!(field, "idcard.poll_interval_ms");
    let c = parse("[idcard]\nreply_timeout_ms = 200\n").unwrap();
    assert_eq!(c.idcard.reply_timeout_ms, 200);
    assert_eq!(c.idcard.poll_interval_ms, 500);
}

#[test]
fn printer_noise_settings_are_bounded() {
    let e = parse("[printer]\nnoise_log_interval_ms = 10\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("printer.noise_log_interval_ms") && e.contains(":2"), "{e}");
    let e = parse("[printer]\nmax_queued_replies = 0\n").unwrap_err().to_string();
    assert!(e.contains("printer.max_queued_replies"), "{e}");
    let c = parse("[printer]\nmax_queued_replies = 8\nnoise_log_interval_ms = 1000\n").unwrap();
    assert_eq!(
        (c.printer.max_queued_replies, c.printer.noise_log_interval_ms),
        (8, 1000)
    );
}

mod props {
    //! Issue #13: config loading takes any text (a hand-edited file) without panicking:
    //! a config or a typed `ConfigError` that names the file.
    use super::*;
    use proptest::prelude::*;

    /// TOML-ish lines: real section and key names with values of every type and none.
    fn tomlish() -> impl Strategy<Value = String> {
        let section = prop::sample::select(vec![
            "[kiosk]",
            "[devices]",
            "[camera]",
            "[printer]",
            "[audio]",
            "[metrics]",
            "[documents.id-card]",
            "[regions]",
            "[regions.440100]",
            "[regions.440100.documents.id-card]",
            "[[x]]",
            "[",
        ]);
        let key = prop::sample::select(vec![
            "id",
            "data_dir",
            "camera",
            "printer",
            "review",
            "width",
            "height",
            "fps",
            "strip_rows",
            "gamma",
            "idle_poll_ms",
            "max_queued_replies",
            "noise_log_interval_ms",
            "replace_builtin",
            "volume",
            "listen",
            "dpi",
            "face_width",
            "offered",
            "name_zh",
        ]);
        let value = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| format!("{f:?}")),
            any::<bool>().prop_map(|b| b.to_string()),
            "[a-z0-9:/._@ -]{0,20}".prop_map(|s| format!("\"{s}\"")),
            Just("[1, \"a\", true]".to_string()),
            Just("{ a = 1 }".to_string()),
            Just("\"\\u{0}\"".to_string()),
            "\\PC{0,8}",
        ];
        let line = prop_oneof![
            2 => section.prop_map(str::to_string),
            5 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
            1 => "\\PC{0,30}",
        ];
        prop::collection::vec(line, 0..12).prop_map(|l| l.join("\n"))
    }

    fn typed(r: Result<Config, ConfigError>) -> Result<(), TestCaseError> {
        match r {
            Ok(_) => Ok(()),
            Err(e @ ConfigError::Invalid { .. }) => {
                prop_assert!(e.to_string().starts_with("/etc/kiosk/kiosk.toml"), "{e}");
                Ok(())
            }
            Err(e) => Err(TestCaseError::fail(format!("unexpected error kind: {e}"))),
        }
    }

    proptest! {
        // Cases: PROPTEST_CASES (default 256).
        #[test]
        fn any_tomlish_text_loads_or_fails_typed(text in tomlish()) {
            typed(parse(&text))?;
        }

        /// Arbitrary bytes in a file (not UTF-8, NULs, truncated): read through the file
        /// path like `--config` does.
        #[test]
        fn any_file_bytes_load_or_fail_typed(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("kiosk.toml");
            std::fs::write(&path, &bytes).unwrap();
            match Config::from_file(&path) {
                Ok(_) => {}
                Err(ConfigError::Read { path: p, .. }) => {
                    prop_assert_eq!(p, path.clone());
                    prop_assert!(std::str::from_utf8(&bytes).is_err(), "read error on UTF-8 text");
                }
                Err(ConfigError::Invalid { path: p, .. }) => prop_assert_eq!(p, path.clone()),
            }
        }
    }
}

#[test]
fn the_home_region_comes_first_and_the_rest_group_by_province() {
    let mut c = Config::builtin();
    let gz = RegionCode::new("440100").unwrap();
    c.kiosk.home_region = Some(gz.clone());
    let (home, groups) = c.region_groups(DocumentId::IdCard);
    assert_eq!(home, Some(&gz));
    let flat: Vec<&str> = groups.iter().flat_map(|(_, m)| m.iter().map(|c| c.as_str())).collect();
    assert!(!flat.contains(&"440100"), "not listed twice");
    let gd = groups.iter().find(|(p, _)| p.as_str() == "440000").unwrap();
    assert_eq!(
        gd.1.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        ["440000", "440300"]
    );
    let jx = groups.iter().find(|(p, _)| p.as_str() == "360000").unwrap();
    assert_eq!(jx.1.len(), 2, "Jiujiang and Ganzhou under Jiangxi");
    assert_eq!(crate::config::province_name(&jx.0), Some(("江西省", "Jiangxi")));
    // A home region that does not offer the document is not put first.
    assert_eq!(c.region_groups(DocumentId::ExitEntry).0, Some(&gz));
    c.kiosk.home_region = Some(RegionCode::new("360400").unwrap());
    assert_eq!(c.region_groups(DocumentId::ExitEntry).0, None);
    // An unknown home region is refused naming the field.
    let e = parse("[kiosk]\nhome_region = \"990100\"\n").unwrap_err().to_string();
    assert!(e.contains("kiosk.home_region"), "{e}");
}
