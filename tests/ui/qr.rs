//! The QR on the kiosk's screen after a session: decoded (zbar) from the image the UI
//! shows, it is the electronic receipt's URL with the approval's token — the same URL the
//! printed slip carries. The runtime runs on the test backends (the scripted approval
//! carries a token) and the person is driven through the screens by accessible label.

use crate::ui_support;
use kiosk::ui::AppState;
use slint::ComponentHandle;
use ui_support::*;

/// Decodes the QR image the screen shows now.
fn screen_qr(r: &Rig, dir: &std::path::Path) -> Vec<String> {
    let g = r.ui.window().global::<AppState>();
    assert!(g.get_has_qr(), "a QR is shown");
    let px = g.get_qr().to_rgb8().expect("an RGB QR image");
    let img = image::RgbImage::from_raw(px.width(), px.height(), px.as_bytes().to_vec()).unwrap();
    let png = dir.join("screen-qr.png");
    img.save(&png).unwrap();
    let out = std::process::Command::new("zbarimg")
        .arg("-q")
        .arg(&png)
        .output()
        .expect("zbarimg (zbar-tools)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_done_screen_shows_the_receipt_url_with_its_token() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|_| {});
    r.wait_for("开始", 5);
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
    r.wait_page(Page::Posing, 5);
    r.wait_for("请确认您的照片", 10);
    r.tap("使用这张照片");
    r.wait_for("请取走照片回执", 10);
    assert!(r.has("电子回执二维码"));

    let dir = tempfile::tempdir().unwrap();
    let codes = screen_qr(&r, dir.path());
    let url = format!(
        "QR-Code:https://review.example.gov.cn/v1/receipts/440100261126000017.pdf?token={}",
        kiosk::testkit::runtime::SCRIPTED_TOKEN
    );
    assert_eq!(codes, vec![url], "the screen's QR");
    // The printed slip's job carries the same token.
    let jobs = r.jobs.lock().unwrap();
    assert_eq!(
        jobs[0].token.as_ref().map(|t| t.expose()),
        Some(kiosk::testkit::runtime::SCRIPTED_TOKEN)
    );
    drop(jobs);
    r.tap("完成");
    r.wait_page(Page::Attract, 5);
    assert!(
        !r.ui.window().global::<AppState>().get_has_qr(),
        "no QR once the session ended"
    );
}
