//! A whole session driven through the screens as a person would: elements are found
//! only by accessible label and activated by their default action. The runtime runs on
//! the test backends with the built-in replay camera.

use crate::ui_support;
use ui_support::*;

#[test]
fn whole_session_through_the_screens() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|_| {});
    r.wait_for("开始", 5);
    r.tap("开始");
    r.wait_page(Page::ChooseDocument, 5);
    r.tap("居民身份证");
    r.wait_page(Page::ChooseRegion, 5);
    // The hall's own region first; the others grouped by province, the home province
    // first, each city naming its province, even where the province itself is not a
    // configured region (Jiujiang, Jiangxi).
    assert!(r.has("本地办理，点这里") && r.has("在其他地区办理"));
    assert_eq!(
        r.find("广州市").len(),
        r.find("深圳市").len(),
        "the home region is not listed twice"
    );
    let province_of = |city: &str| {
        r.find(city)[0]
            .accessible_description()
            .map(|d| d.to_string())
            .unwrap_or_default()
    };
    assert_eq!(province_of("深圳市"), "广东省");
    assert_eq!(province_of("九江市"), "江西省");
    let order: Vec<String> =
        r.ui.window()
            .global::<kiosk::ui::AppState>()
            .get_regions()
            .iter()
            .map(|c| c.label.to_string())
            .collect();
    assert_eq!(&order[..2], ["广东省", "深圳市"], "the home province first: {order:?}");
    r.tap("广州市");
    r.wait_page(Page::Consent, 5);
    r.tap("同意");
    r.wait_page(Page::Details, 5);

    // A wrong check digit is refused with the session's message.
    let id = valid_id_number();
    let wrong = format!("{}{}", &id[..17], if id.ends_with('0') { '1' } else { '0' });
    r.type_pinyin(&[("zhang", "张"), ("san", "三")]);
    assert_eq!(r.field_value("姓名"), "张三");
    r.type_id(&wrong);
    r.tap("下一步");
    r.wait_for("身份证号码有误，请逐位核对", 5);
    for _ in 0..18 {
        r.tap("删除");
    }
    r.type_keys(&id);
    assert_eq!(r.field_value("身份证号码"), id);
    assert_eq!(r.field_value("姓名"), "张三", "the keypad's 删除 left the name alone");
    r.tap("下一步");

    r.wait_page(Page::Posing, 5);
    r.wait_for("请确认您的照片", 10);
    assert!(r.has("证件照"), "the made photo is shown");
    r.wait_for("还可以重拍 3 次", 2);
    r.tap("重拍");
    r.wait_page(Page::Posing, 5);
    r.wait_for("还可以重拍 2 次", 10);
    r.tap("使用这张照片");
    r.wait_for("请取走照片回执", 10);
    assert!(r.has("440100261126000017"), "receipt number on screen");
    assert!(r.has("电子回执二维码"), "QR to the electronic receipt");
    assert!(
        r.has("下一步：请在有效期内，带上本回执，以及户口簿或旧身份证，到广州市办证窗口办理。"),
        "the next steps: what to bring and where"
    );
    assert_eq!(r.jobs.lock().unwrap().len(), 1, "one slip printed");

    // English on this screen too, and back.
    r.tap("English");
    r.wait_for("Please take your photo receipt", 2);
    // The voice follows the language: the done screen's prompt again, in English.
    assert_eq!(
        r.played_in().last(),
        Some(&("take_receipt".to_string(), kiosk::config::Language::En))
    );
    assert!(r.has("Another document") && r.has("Call staff"));
    assert!(r.label_starting("Next: take this slip").is_some());
    r.tap("中文");
    r.wait_for("再办一项", 2);
    // No hall console in this rig: the kiosk must not claim staff were reached.
    r.tap("呼叫工作人员");
    r.wait_for("请到服务台求助", 5);
    assert!(!r.has("已呼叫工作人员"));
    r.tap("完成");
    r.wait_page(Page::Attract, 5);
    assert!(r.has("开始"));
    // Typed details are gone from the UI once the session ended.
    assert_eq!(r.ui.window().global::<kiosk::ui::AppState>().get_id_number(), "");

    let played = r.played();
    for id in [
        "welcome",
        "choose_document",
        "details",
        "posing",
        "face_size",
        "review_photo",
        "uploading",
        // (printing to the PDF printer is too quick to show: its prompt is checked in
        // src/ui/convert.rs for every screen state)
        "take_receipt",
    ] {
        assert!(
            played.iter().any(|p| p == id),
            "voice prompt {id} not played: {played:?}"
        );
    }
}

#[test]
fn still_there_countdown_returns_to_attract() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|c| {
        c.kiosk.inactivity_timeout_s = 15;
        c.kiosk.still_there_s = 1;
    });
    r.tap("开始");
    r.wait_page(Page::ChooseDocument, 5);
    // The session's clock is real time: 15 s of inactivity, then a 1 s countdown.
    r.wait_for("还在吗？", 20);
    assert!(r.played().iter().any(|p| p == "still_there"));
    r.wait_page(Page::Attract, 5);
}

#[test]
fn camera_loss_shows_out_of_service() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|c| c.kiosk.help_desk_zh = Some("请到一楼3号服务台办理".into()));
    r.unplug.store(true, std::sync::atomic::Ordering::SeqCst);
    r.tap("开始");
    r.wait_page(Page::ChooseDocument, 5);
    r.tap("居民身份证");
    r.wait_page(Page::ChooseRegion, 5);
    r.tap("广州市");
    r.wait_page(Page::Consent, 5);
    r.tap("同意");
    r.wait_page(Page::Details, 5);
    r.type_pinyin(&[("zhang", "张"), ("san", "三")]);
    r.type_id(&valid_id_number());
    r.tap("下一步");
    r.wait_for("本机暂停服务", 10);
    assert!(r.has("请到一楼3号服务台办理"), "the hall's own words for where to go");
    assert!(r.label_starting("摄像头故障").is_some(), "says the camera is at fault");
}

use slint::ComponentHandle as _;
use slint::Model as _;

#[test]
fn demo_mode_is_said_on_every_screen_and_a_real_config_says_nothing() {
    i_slint_backend_testing::init_no_event_loop();
    const BANNER: &str = "演示模式：照片不送审，回执不能使用";
    // The built-in defaults (no config file): the embedded centre, demo mode.
    let r = rig(|c| assert!(c.kiosk.demo, "the built-in defaults are a demo"));
    r.wait_for(BANNER, 5);
    r.tap("开始");
    r.wait_page(Page::ChooseDocument, 5);
    assert!(r.has(BANNER), "the banner stays past the first screen");
    drop(r);
    let r = rig(|c| c.kiosk.demo = false);
    r.tap("开始");
    r.wait_page(Page::ChooseDocument, 5);
    assert!(!r.has(BANNER));
}
