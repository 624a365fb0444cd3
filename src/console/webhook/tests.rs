use super::*;

fn alert(id: i64, kind: &str, code: Option<&str>) -> AlertRow {
    AlertRow {
        id,
        kiosk: "hall-a".into(),
        kind: kind.into(),
        seq: Some(7),
        code: code.map(str::to_string),
        reasons: vec!["face_position".into()],
        // 2026-12-06 02:00:00 UTC = 10:00:00 in Beijing
        raised_ms: 1_796_522_400_000,
        acked_by: None,
        acked_ms: None,
        resolved_ms: None,
    }
}

fn parse(text: &str) -> Result<Webhooks, String> {
    Webhooks::parse(text, Path::new("/etc/kiosk/webhooks.toml")).map_err(|e| e.to_string())
}

#[test]
fn hmac_sha256_matches_rfc_4231_and_dingtalk_signs_as_its_docs_say() {
    assert_eq!(
        hex::encode(hmac_sha256(&[0x0b; 20], b"Hi There")),
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    );
    // A key longer than the block is hashed first (RFC 4231 case 6).
    assert_eq!(
        hex::encode(hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First"
        )),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
    // Python's hmac + base64 + urllib.parse.quote_plus, as in DingTalk's docs.
    assert_eq!(
        dingtalk_signed_url(
            "https://oapi.dingtalk.com/robot/send?access_token=abc",
            "SECtest0123456789",
            1_764_990_000_000
        ),
        "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1764990000000&sign=p74xrtYsgGhhWIDnj%2Fm0nKOnGVekXn%2Bxf%2Bd4oVr%2BPY4%3D"
    );
    assert!(dingtalk_signed_url("http://127.0.0.1:9/hook", "SECx", 1)
        .starts_with("http://127.0.0.1:9/hook?timestamp=1&sign="));
}

#[test]
fn the_text_is_chinese_first_with_code_checks_and_beijing_time() {
    let t = text(&alert(1, "hand_off", Some("042917")));
    assert_eq!(
        t,
        "【自助拍照终端告警】\n终端：hall-a\n事件：有人需转到人工窗口办理，请凭交接码接待\n交接码：042917\n原因：face_position\n时间：2026-12-06 10:00:00（北京时间）\nKiosk hall-a: a person was sent to a counter; receive them by the hand-off code, hand-off code 042917 (2026-12-06 10:00:00 UTC+8)"
    );
    for kind in ALERT_KINDS {
        assert_ne!(what(kind).0, "其他告警", "{kind} has its own words");
    }
    let md = body(Format::WecomMarkdown, &alert(2, "offline", None));
    assert_eq!(md["msgtype"], "markdown");
    let content = md["markdown"]["content"].as_str().unwrap();
    assert!(
        content.contains("> 事件：终端离线") && !content.contains("交接码"),
        "{content}"
    );
    let long = AlertRow {
        reasons: vec!["长".repeat(21); 16],
        ..alert(3, "printer_fault", None)
    };
    let t = text(&long);
    assert!(t.len() <= 2000 && t.starts_with("【自助拍照终端告警】"), "{}", t.len());
}

#[test]
fn a_webhooks_file_routes_kinds_with_a_default_and_shares_receivers() {
    let w = parse(
        r#"
[delivery]
first_retry_s = 0.5
max_tries = 3

[default]
url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1"
format = "wecom"

[call_staff]
url = "https://oapi.dingtalk.com/robot/send?access_token=t1"
format = "dingtalk"
secret = "SECabc"

[pin_locked_out]
enabled = false
"#,
    )
    .unwrap();
    assert_eq!(w.targets.len(), 2, "the default is one receiver for all its kinds");
    let ding = w.target_for("call_staff").unwrap();
    assert_eq!(w.targets[ding].format, Format::Dingtalk);
    assert_eq!(w.target_for("paper_out"), w.target_for("offline"));
    assert_eq!(w.targets[w.target_for("paper_out").unwrap()].format, Format::Wecom);
    assert_eq!(w.target_for("pin_locked_out"), None);
    assert_eq!(w.delivery.first_retry, Duration::from_millis(500));
    assert_eq!(w.delivery.max_tries, 3);
    assert_eq!(w.delivery.max_retry, Delivery::default().max_retry);
    let d = &w.delivery;
    assert_eq!(
        (1..=5).map(|n| d.backoff(n).as_millis()).collect::<Vec<_>>(),
        [500, 1000, 2000, 4000, 8000]
    );
    assert_eq!(Delivery::default().backoff(40), Duration::from_secs(300));
    // Debug and logs never show the key.
    let shown = format!("{w:?}");
    assert!(
        !shown.contains("key=k1") && !shown.contains("t1") && !shown.contains("SECabc"),
        "{shown}"
    );
}

#[test]
fn bad_webhooks_files_name_the_line_and_the_fix() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "[call-staff]\nurl = \"https://x.cn/h\"\nformat = \"wecom\"\n",
            "webhooks.toml:1",
            &["unknown field `call-staff`", "call_staff"],
        ),
        (
            "[default]\nurl = \"https://x.cn/h\"\nformat = \"slack\"\n",
            "webhooks.toml:3",
            &["slack", "wecom, wecom-markdown, dingtalk, generic"],
        ),
        (
            "\n[paper_out]\nformat = \"generic\"\nurl = \"http://10.0.0.5/hook\"\n",
            "webhooks.toml:4",
            &["https://", "loopback"],
        ),
        (
            "[default]\nurl = \"https://x.cn/h\"\nformat = \"wecom\"\nsecret = \"SECx\"\n",
            "webhooks.toml:4",
            &["only DingTalk", "remove `secret`"],
        ),
        (
            "[default]\nformat = \"wecom\"\n",
            "webhooks.toml:1",
            &["no url", "enabled = false"],
        ),
        (
            "[delivery]\nmax_tries = 0\n[default]\nurl = \"https://x.cn/h\"\nformat = \"wecom\"\n",
            "webhooks.toml:2",
            &["max_tries", "1–1000"],
        ),
        (
            "[default]\nurl = \"https://x.cn/h\"\nformat = \"wecom\"\nurgent = true\n",
            "webhooks.toml:4",
            &["urgent", "url, format, secret, enabled"],
        ),
        ("# nothing yet\n", "webhooks.toml:", &["no alert kind", "[default]"]),
        ("[default\n", "webhooks.toml:1", &["Fix:"]),
    ];
    for (text, place, words) in cases {
        let e = parse(text).expect_err(text);
        assert!(e.starts_with(&format!("/etc/kiosk/{place}")), "{text:?}: {e}");
        assert!(e.contains("Fix:"), "{text:?}: {e}");
        for w in *words {
            assert!(e.contains(w), "{text:?} → {e}: wants {w:?}");
        }
    }
    // Loopback may be plain http; anything else must be https.
    for ok in [
        "http://127.0.0.1:9/h",
        "http://localhost/h",
        "http://[::1]:80/h",
        "https://x.cn",
    ] {
        parse(&format!("[default]\nurl = \"{ok}\"\nformat = \"generic\"\n")).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in [
        "http://127.0.0.1.evil.cn/h",
        "http://user@10.0.0.1/",
        "ftp://x.cn",
        "https://",
        "https://x.cn/a b",
    ] {
        assert!(
            parse(&format!("[default]\nurl = \"{bad}\"\nformat = \"generic\"\n")).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn a_full_queue_drops_the_oldest() {
    let (push, look) = deliver::test_queue(Target {
        url: "https://x.cn/h".into(),
        format: Format::Generic,
        secret: None,
    });
    for id in 1..=5 {
        push(alert(id, "call_staff", None), 3);
    }
    assert_eq!(look(), (vec![3, 4, 5], 2));
}
