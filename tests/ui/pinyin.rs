//! The on-screen pinyin name keyboard (issue #14), by accessible label only: letters are
//! keys labelled `z`, `h`…, candidates are buttons labelled with their character, the
//! other keys 删除, 上一页/下一页, 间隔号, 英文字母/拼音, 空格, 清空; the name field is the
//! text input labelled 姓名, its pinyin not yet picked the text labelled 待选拼音.

use crate::ui_support::*;
use kiosk::config::RegionCode;
use kiosk::pinyin::{Dict, PAGE_SIZE};

fn to_details(r: &Rig) {
    r.wait_for("开始", 5);
    r.tap("开始");
    r.wait_page(Page::ChooseDocument, 5);
    r.tap("居民身份证");
    r.wait_page(Page::ChooseRegion, 5);
    r.tap("广州市");
    r.wait_page(Page::Consent, 5);
    r.tap("同意");
    r.wait_page(Page::Details, 5);
}

/// The pinyin waiting for its character ("" when none).
fn pending(r: &Rig) -> String {
    r.find("待选拼音")
        .into_iter()
        .find_map(|e| e.accessible_value())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

#[test]
fn zhang_san_typed_in_pinyin() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|_| {});
    to_details(&r);
    // The name comes first: the pinyin keyboard shows, not the keypad.
    assert!(r.button("z").is_some() && r.button("1").is_none());
    assert!(r.has("请输入姓名的拼音，例如 zhang"));
    for k in ["z", "h", "a", "n", "g"] {
        r.tap(k);
    }
    assert_eq!(pending(&r), "zhang");
    assert_eq!(r.field_value("姓名"), "", "pinyin is not the name");
    r.tap("张");
    assert_eq!((r.field_value("姓名").as_str(), pending(&r).as_str()), ("张", ""));
    for k in ["s", "a", "n"] {
        r.tap(k);
    }
    r.tap("三");
    assert_eq!(r.field_value("姓名"), "张三");
    assert!(!r.has("待选拼音"));
}

#[test]
fn backspace_takes_pinyin_first_then_characters() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|_| {});
    to_details(&r);
    r.type_pinyin(&[("wang", "王")]);
    r.type_keys("xiao");
    assert_eq!(pending(&r), "xiao");
    r.tap("删除");
    assert_eq!((r.field_value("姓名").as_str(), pending(&r).as_str()), ("王", "xia"));
    for _ in 0..3 {
        r.tap("删除");
    }
    assert_eq!((r.field_value("姓名").as_str(), pending(&r).as_str()), ("王", ""));
    r.tap("删除");
    assert_eq!(r.field_value("姓名"), "");
    // 清空 empties both at once.
    r.type_pinyin(&[("wang", "王")]);
    r.type_keys("fang");
    r.tap("清空");
    assert_eq!((r.field_value("姓名").as_str(), pending(&r).as_str()), ("", ""));
}

#[test]
fn paging_reaches_a_later_candidate() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|_| {});
    to_details(&r);
    r.type_pinyin(&[("li", "李")]);
    r.type_keys("li");
    // The third page's first character, as ranked for a name's second character.
    let all = Dict::shared().candidates("li", false);
    let want = all[2 * PAGE_SIZE].to_string();
    assert!(r.button(&want).is_none(), "{want} is not on the first page");
    let prev = r.button("上一页").unwrap();
    assert_eq!(prev.accessible_enabled(), Some(false), "no page before the first");
    r.tap("下一页");
    r.tap("下一页");
    assert!(r.button(&want).is_some());
    r.tap("上一页");
    assert!(r.button(&want).is_none());
    r.tap("下一页");
    r.tap(&want);
    assert_eq!(r.field_value("姓名"), format!("李{want}"));
}

#[test]
fn minority_name_with_the_name_dot() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|_| {});
    to_details(&r);
    r.type_pinyin(&[("a", "阿"), ("yi", "依"), ("gu", "古"), ("li", "丽")]);
    r.tap("间隔号");
    r.type_pinyin(&[("mai", "买"), ("mai", "买"), ("ti", "提")]);
    assert_eq!(r.field_value("姓名"), "阿依古丽·买买提");
}

#[test]
fn latin_letters_for_a_foreign_name() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|_| {});
    to_details(&r);
    assert!(r.button("空格").is_none(), "no space in pinyin mode");
    r.tap("英文字母");
    assert!(r.has("英文字母：按证件上的顺序输入"));
    // The keys show (and are labelled) upper case now.
    assert!(r.button("S").is_some() && r.button("s").is_none());
    r.type_keys("SMITH");
    r.tap("空格");
    r.type_keys("JOHN");
    assert_eq!(r.field_value("姓名"), "SMITH JOHN");
    r.tap("删除");
    assert_eq!(r.field_value("姓名"), "SMITH JOH");
    r.tap("拼音");
    assert!(r.button("z").is_some() && r.button("空格").is_none());
}

#[test]
fn pinyin_not_yet_picked_is_not_submitted() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|_| {});
    to_details(&r);
    r.type_pinyin(&[("zhang", "张")]);
    r.type_keys("san");
    r.type_id(&valid_id_number());
    r.tap("下一步");
    r.wait_for("请先点选候选的汉字，再点“下一步”", 2);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(r.page(), Page::Details, "half a name was not submitted");
    // The keyboards share the screen one at a time: back to the name, pick, go on.
    assert!(r.button("z").is_none());
    r.tap_field("姓名");
    r.pick("三");
    assert!(!r.has("请先点选候选的汉字，再点“下一步”"));
    assert_eq!(r.field_value("姓名"), "张三");
    r.tap("下一步");
    r.wait_page(Page::Posing, 5);
}

#[test]
fn a_name_filled_from_the_card_can_be_corrected() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let (r, sim) = crate::walkup::rig_with_card_reader(dir.path());
    to_details(&r);
    r.wait_for("请把身份证放在读卡区，或者在下面手动输入", 5);
    assert!(sim.command("place").starts_with("ok"));
    r.wait_for("已读取身份证，请核对姓名和号码，然后点“下一步”", 10);
    assert_eq!(r.field_value("姓名"), "张三");
    // The card's name is in the composer: 删除 takes its last character.
    r.tap_field("姓名");
    r.tap("删除");
    r.type_pinyin(&[("si", "四")]);
    assert_eq!(r.field_value("姓名"), "张四");
    // A second poll of the same card does not undo the correction.
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(10));
        r.pump();
    }
    assert_eq!(r.field_value("姓名"), "张四");
    assert_eq!(r.field_value("身份证号码"), "440104198001010016");
    r.tap("下一步");
    r.wait_page(Page::Posing, 5);
}

#[test]
fn the_whole_flow_to_a_receipt_on_the_keyboards_alone() {
    i_slint_backend_testing::init_no_event_loop();
    // Guangzhou prints the (masked) name here, so the slip shows what was typed.
    let r = rig(|c| {
        c.regions
            .get_mut(&RegionCode::new("440100").unwrap())
            .unwrap()
            .print_name = true;
    });
    to_details(&r);
    // Several syllables at once: longest match, one character at a time.
    r.tap_field("姓名");
    r.type_keys("ouyangnana");
    r.pick("欧");
    assert_eq!(pending(&r), "yangnana");
    r.pick("阳");
    r.pick("娜");
    r.pick("娜");
    assert_eq!(r.field_value("姓名"), "欧阳娜娜");
    r.type_id(&valid_id_number());
    r.tap("下一步");
    r.wait_page(Page::Posing, 5);
    r.wait_for("请确认您的照片", 10);
    r.tap("使用这张照片");
    r.wait_for("请取走照片回执", 10);
    let jobs = r.jobs.lock().unwrap().clone();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].masked_name.as_deref(), Some("欧***"));
    r.tap("完成");
    r.wait_page(Page::Attract, 5);
    // The name is gone from the UI with the session.
    use slint::ComponentHandle as _;
    assert_eq!(r.ui.window().global::<kiosk::ui::AppState>().get_name(), "");
}
