//! Walk-up completion (issue #14) through the screens, by accessible label only: the
//! consent screen and declining it, a card placed on `idcard-sim` (a real pty) filling
//! the details, the hand-off after three failed captures, and an honest 呼叫工作人员.

use crate::ui_support::*;
use kiosk::config::DocumentId;
use kiosk::domain::Slip;
use kiosk::idcard_sim::{self, SimArgs};
use kiosk::ports::AlertKind;
use kiosk::testkit::runtime::{PlainMaker, RecordingAlerts};
use slint::ComponentHandle as _;

pub(crate) const CARD: &str = r#"
name = "张三"
sex = "1"
nation = "01"
birth = "19800101"
address = "广东省广州市越秀区某路1号"
id_number = "440104198001010016"
authority = "广州市公安局越秀分局"
valid_from = "20200101"
valid_to = "20400101"
"#;

/// The testing platform; with `KIOSK_WRITE_SCREENSHOTS` it also renders (software), so
/// [`shot`] can save the screens these tests reach.
fn init() {
    if std::env::var_os("KIOSK_WRITE_SCREENSHOTS").is_none() {
        return i_slint_backend_testing::init_no_event_loop();
    }
    use i_slint_backend_testing::{TestingBackend, TestingBackendOptions};
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .unwrap();
}

/// Saves the window as `docs/screenshots/NAME.png` when `KIOSK_WRITE_SCREENSHOTS` is set.
fn shot(r: &Rig, name: &str) {
    if std::env::var_os("KIOSK_WRITE_SCREENSHOTS").is_none() {
        return;
    }
    let buf = r.ui.window().window().take_snapshot().expect("software snapshot");
    let img = image::RgbaImage::from_raw(buf.width(), buf.height(), buf.as_bytes().to_vec()).unwrap();
    let small = image::imageops::resize(
        &img,
        buf.width() / 2,
        buf.height() / 2,
        image::imageops::FilterType::Triangle,
    );
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    small.save(dir.join(format!("{name}.png"))).unwrap();
}

/// A rig whose ID-card reader is `idcard-sim` on a pty in `dir`, holding [`CARD`] but
/// with no card placed yet (the sim's handle places and removes it).
pub(crate) fn rig_with_card_reader(dir: &std::path::Path) -> (Rig, idcard_sim::SimHandle) {
    let link = dir.join("kiosk-idcard");
    let card = dir.join("card.toml");
    std::fs::write(&card, CARD).unwrap();
    let mut args = SimArgs::new(&link);
    args.card = Some(card);
    let sim = idcard_sim::start(&args).expect("idcard-sim starts on a pty");
    sim.command("remove");
    let r = rig_backends(
        |c| {
            c.devices.idcard = format!("serial:{}", link.display()).parse().unwrap();
            c.idcard.reply_timeout_ms = 200;
            c.idcard.poll_interval_ms = 100;
        },
        |c, b| b.idcard = kiosk::idcard::open(c),
    );
    (r, sim)
}

fn to_consent(r: &Rig) {
    r.wait_for("开始", 5);
    r.tap("开始");
    r.wait_page(Page::ChooseDocument, 5);
    r.tap("居民身份证");
    r.wait_page(Page::ChooseRegion, 5);
    r.tap("广州市");
    r.wait_page(Page::Consent, 5);
}

fn field_value(r: &Rig, label: &str) -> String {
    r.find(label)
        .into_iter()
        .find_map(|e| e.accessible_value())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

#[test]
fn consent_says_what_is_kept_and_declining_ends_politely() {
    init();
    let r = rig(|_| {});
    to_consent(&r);
    assert!(r.has("同意") && r.has("不同意") && r.has("个人信息使用说明"));
    let text = r.ui.window().global::<kiosk::ui::AppState>().get_consent_text();
    for part in [
        "人脸照片",
        "身份证号码",
        "广州市照片审核中心",
        "180天",
        "打印回执后立即删除",
    ] {
        assert!(text.contains(part), "the consent text says {part:?}: {text}");
    }
    shot(&r, "31-walkup-consent");
    // 再听一遍 plays the screen's prompt again (issue #15), not the chime.
    let heard = |r: &Rig| r.played().iter().filter(|p| *p == "consent").count();
    let before = heard(&r);
    assert!(before >= 1, "the consent screen speaks: {:?}", r.played());
    r.tap("再听一遍");
    assert_eq!(heard(&r), before + 1, "{:?}", r.played());
    r.tap("不同意");
    r.wait_for("好的，本次不办理了", 5);
    assert!(r.played().iter().any(|p| p == "declined"));
    shot(&r, "32-walkup-declined");
    r.tap("完成");
    r.wait_page(Page::Attract, 5);
}

#[test]
fn a_card_placed_on_the_reader_fills_the_details() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let (r, sim) = rig_with_card_reader(dir.path());
    to_consent(&r);
    r.tap("同意");
    r.wait_page(Page::Details, 5);
    r.wait_for("请把身份证放在读卡区，或者在下面手动输入", 5);
    assert!(r.played().iter().any(|p| p == "card"));
    shot(&r, "33-walkup-card-prompt");
    assert!(sim.command("place").starts_with("ok"));
    r.wait_for("已读取身份证，请核对姓名和号码，然后点“下一步”", 10);
    assert_eq!(field_value(&r, "身份证号码"), "440104198001010016");
    assert_eq!(field_value(&r, "姓名"), "张三");
    shot(&r, "34-walkup-card-read");
    r.tap("下一步");
    r.wait_page(Page::Posing, 5);
    // The card's details are gone from the screens once the details are taken.
    let g = r.ui.window().global::<kiosk::ui::AppState>();
    assert_eq!((g.get_name().as_str(), g.get_id_number().as_str()), ("", ""));
    r.tap("取消");
    r.wait_page(Page::Attract, 5);

    // The person takes their card; then the reader is unplugged: plain words, and
    // typing stays possible.
    assert!(sim.command("remove").starts_with("ok"));
    r.tap("开始");
    r.wait_page(Page::ChooseDocument, 5);
    r.tap("居民身份证");
    r.wait_page(Page::ChooseRegion, 5);
    r.tap("广州市");
    r.wait_page(Page::Consent, 5);
    r.tap("同意");
    r.wait_page(Page::Details, 5);
    assert_eq!(
        field_value(&r, "身份证号码"),
        "",
        "nothing left over from the last person"
    );
    assert!(sim.command("unplug").starts_with("ok"));
    r.wait_for("读卡器故障，请手动输入", 10);
    shot(&r, "35-walkup-card-fault");
    r.type_id("1");
    assert_eq!(field_value(&r, "身份证号码"), "1", "the keypad still types");
}

#[test]
fn three_failed_captures_print_a_hand_off_slip_and_raise_an_alert() {
    init();
    let alerts = RecordingAlerts::console();
    let raised = alerts.alerts.clone();
    let r = rig_backends(
        // A document that asks for no details: straight from consent to posing.
        |c| c.documents.get_mut(&DocumentId::IdCard).unwrap().fields.clear(),
        |_, b| {
            b.maker = Box::new(PlainMaker { refuse: true });
            b.alerts = Box::new(alerts);
        },
    );
    to_consent(&r);
    r.tap("同意");
    r.wait_page(Page::Posing, 5);
    r.wait_for("请到人工窗口办理", 30);
    let code = r.label_starting("转人工号 ").expect("the hand-off code on screen");
    let code = code.trim_start_matches("转人工号 ").to_string();
    assert_eq!(code.len(), 6, "{code}");
    assert!(r.label_starting("没有通过的原因：").is_some(), "says what kept failing");
    r.wait_for("已通知工作人员，请稍候", 5);
    assert!(r.has("已呼叫工作人员"), "the console took the alert");
    shot(&r, "36-walkup-hand-off");
    let jobs = r.jobs.lock().unwrap().clone();
    assert_eq!(jobs.len(), 1, "one slip");
    match &jobs[0].slip {
        Slip::HandOff { code: c, reasons, .. } => {
            assert_eq!(c.as_str(), code);
            assert_eq!(reasons[0].id, "face_position");
        }
        other => panic!("not a hand-off slip: {other:?}"),
    }
    let raised = raised.lock().unwrap().clone();
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].kind, AlertKind::HandOff);
    assert_eq!(raised[0].code.as_ref().map(|c| c.as_str()), Some(code.as_str()));
    r.tap("我知道了");
    r.wait_page(Page::Attract, 5);
    assert!(r.has("呼叫工作人员"), "the next person starts afresh");
}

#[test]
fn call_staff_says_reached_only_when_a_console_took_it() {
    init();
    // No console: a chime and 请到服务台求助, never 已呼叫工作人员.
    let r = rig(|_| {});
    r.tap("开始");
    r.wait_page(Page::ChooseDocument, 5);
    r.tap("呼叫工作人员");
    r.wait_for("请到服务台求助", 5);
    assert!(!r.has("已呼叫工作人员"));
    let played = r.played();
    assert!(
        played.iter().any(|p| p == "chime") && played.iter().any(|p| p == "see_desk"),
        "{played:?}"
    );
    shot(&r, "37-walkup-call-staff-no-console");
    drop(r);
    // A console that takes the alert.
    let alerts = RecordingAlerts::console();
    let raised = alerts.alerts.clone();
    let r = rig_backends(|_| {}, |_, b| b.alerts = Box::new(alerts));
    r.tap("开始");
    r.wait_page(Page::ChooseDocument, 5);
    r.tap("呼叫工作人员");
    r.wait_for("已呼叫工作人员", 5);
    let raised = raised.lock().unwrap().clone();
    assert_eq!(raised.len(), 1);
    assert_eq!(
        (raised[0].kind, raised[0].screen),
        (AlertKind::CallStaff, "choose-document")
    );
}
