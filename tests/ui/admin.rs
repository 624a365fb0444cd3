//! The hidden admin entry (hold a corner 5 s), the PIN lock-out, and the operator's
//! paper-reload wizard, driven through the screens by accessible label.

use crate::ui_support;
use std::time::Duration;
use ui_support::*;

const PIN: &str = "246810";

fn enter_pin(r: &Rig, pin: &str) {
    r.type_keys(pin);
    r.tap("确定");
}

#[test]
fn corner_needs_five_seconds_and_wrong_pins_lock_out() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|_| {});
    kiosk::ops::pin::set_pin(r.data.path(), PIN).unwrap();
    r.wait_for("开始", 5);

    // A short press does nothing.
    r.long_press("admin-corner", Duration::from_millis(1500));
    assert!(!r.has("管理密码"), "PIN pad opened after 1.5 s");
    r.long_press("admin-corner", Duration::from_millis(5100));
    r.wait_for("管理密码", 2);

    enter_pin(&r, "111111");
    r.wait_for("密码错误", 2);
    enter_pin(&r, "222222");
    r.wait_for("密码错误", 2);
    enter_pin(&r, "333333");
    r.wait_for("尝试次数过多，请 30 秒后再试", 2);
    // Even the right PIN is refused while locked out.
    enter_pin(&r, PIN);
    assert!(
        r.label_starting("维护菜单").is_none(),
        "admin menu opened while locked out"
    );
    assert!(r.label_starting("尝试次数过多").is_some());
    r.tap("关闭");
    assert!(!r.has("管理密码"));
    // Re-opening keeps the lock.
    r.long_press("admin-corner", Duration::from_millis(5100));
    r.wait_for("管理密码", 2);
    assert!(
        r.label_starting("尝试次数过多").is_some(),
        "lock-out forgotten on reopen"
    );
}

#[test]
fn right_pin_opens_the_menu_and_the_reload_wizard_resets_paper() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|_| {});
    kiosk::ops::pin::set_pin(r.data.path(), PIN).unwrap();
    // A slip already printed on this roll.
    r.jobs.lock().unwrap().push(kiosk::domain::SlipJob {
        slip: kiosk::domain::Slip::Claim {
            code: kiosk::domain::ClaimCode("00".repeat(16)),
            doc: kiosk::config::DocumentId::IdCard,
            region: kiosk::config::RegionCode::new("440100").unwrap(),
        },
        photo: None,
        masked_name: None,
        issued_at: chrono::Utc::now().with_timezone(&kiosk::domain::china_time()),
        token: None,
    });
    // The runtime polls the paper counters every 5 s.
    let t0 = std::time::Instant::now();
    while r.ui.view().paper.slips_since_reload != 1 {
        assert!(t0.elapsed() < Duration::from_secs(8), "paper counter never updated");
        std::thread::sleep(Duration::from_millis(50));
    }
    r.long_press("admin-corner", Duration::from_millis(5100));
    r.wait_for("管理密码", 2);
    enter_pin(&r, PIN);
    let title = r.label_starting("维护菜单").expect("admin menu");
    assert!(title.contains(env!("CARGO_PKG_VERSION")), "{title}");
    // Diagnostics: storage, paper, counters are listed.
    assert!(r.label_starting("正常 ok storage").is_some(), "storage check listed");
    let paper = r.label_starting("纸张 paper:").expect("paper line");
    assert!(paper.contains("1 slips since reload"), "{paper}");

    r.tap("换纸向导");
    r.wait_for("打开打印机上盖", 2);
    r.tap("已完成，下一步");
    r.wait_for("放入新纸卷，纸头朝外", 2);
    r.tap("已完成，下一步");
    r.wait_for("合上上盖，撕去多余纸头", 2);
    r.tap("已完成，下一步");
    r.wait_for("打印测试页并检查", 2);
    let before = r.jobs.lock().unwrap().len();
    r.tap("打印测试页");
    let t0 = std::time::Instant::now();
    while r.jobs.lock().unwrap().len() == before {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the test print never reached the printer"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(matches!(
        &r.jobs.lock().unwrap().last().unwrap().slip,
        kiosk::domain::Slip::Receipt { number, .. } if number.as_str() == "TEST-PRINT"
    ));
    r.tap("测试页正常，完成换纸");
    r.wait_for("纸张计数已重置 / paper counter reset", 2);
    // The printer's counter really was reset (the runtime called reloaded()).
    let t0 = std::time::Instant::now();
    while !r.jobs.lock().unwrap().is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "printer_reloaded() never reached the printer"
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    // Daily counters export.
    r.tap("导出今日统计");
    let msg = r.label_starting("已导出 / exported:").expect("export message");
    let path = msg.trim_start_matches("已导出 / exported:").trim();
    let csv = std::fs::read_to_string(path).unwrap();
    assert!(csv.starts_with("date,kiosk,sessions,receipts"), "{csv}");

    r.tap("退出维护");
    assert!(r.label_starting("维护菜单").is_none());
    assert!(r.has("开始"));
}

/// One walk-up that cancels on the document screen: a session started.
fn start_and_cancel(r: &Rig) {
    r.wait_for("开始", 5);
    r.tap("开始");
    r.wait_page(Page::ChooseDocument, 5);
    r.tap("取消");
    r.wait_page(Page::Attract, 5);
}

#[test]
fn daily_counters_survive_a_restart_and_export_per_day() {
    i_slint_backend_testing::init_no_event_loop();
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    {
        let r = rig(|c| c.kiosk.data_dir = dir.clone());
        start_and_cancel(&r);
        start_and_cancel(&r);
        r.wait_for("开始", 1);
    } // the kiosk stops here
    let day = kiosk::ops::daily::today();
    let stored = kiosk::ops::daily::load_day(&dir, day).unwrap();
    assert_eq!(stored.sessions, 2, "today's sessions on disk before the restart");

    let r = rig(|c| c.kiosk.data_dir = dir.clone());
    kiosk::ops::pin::set_pin(&dir, PIN).unwrap();
    start_and_cancel(&r);
    r.long_press("admin-corner", Duration::from_millis(5100));
    r.wait_for("管理密码", 2);
    enter_pin(&r, PIN);
    let today = r.label_starting("今日 today").expect("today's counters line");
    assert!(
        today.contains(&day.format("%Y-%m-%d").to_string()) && today.contains("sessions 3,"),
        "{today}"
    );
    r.tap("导出今日统计");
    let msg = r.label_starting("已导出 / exported:").expect("export message");
    let path = msg.trim_start_matches("已导出 / exported:").trim();
    assert!(
        path.ends_with(&format!("counters-{}.csv", day.format("%Y-%m-%d"))),
        "{path}"
    );
    let csv = std::fs::read_to_string(path).unwrap();
    let row = csv.lines().nth(1).expect("a row for today");
    assert!(
        row.starts_with(&format!("{},{},3,0,", day.format("%Y-%m-%d"), "KIOSK-DEV-0001")),
        "{row}"
    );
}

#[test]
fn diagnostics_show_outbox_depth_masked_log_lines_and_version() {
    i_slint_backend_testing::init_no_event_loop();
    kiosk::ops::logging::init();
    // Three submissions queued: one not yet sent, two awaiting a decision (how the real
    // outbox counts them is `review::outbox`'s own test).
    let up = kiosk::testkit::runtime::ScriptedUploader::approving(3);
    let depth = up.outbox.clone();
    *depth.lock().unwrap() = kiosk::ports::OutboxDepth {
        entries: 3,
        unsent: 1,
        undecided: 2,
        quarantined: 0,
    };
    let r = rig_with(|_| {}, up);
    kiosk::ops::pin::set_pin(r.data.path(), PIN).unwrap();
    // A careless log line with an ID number in it.
    log::warn!("diag test: holder 44010619900101123X at the counter");

    r.long_press("admin-corner", Duration::from_millis(5100));
    r.wait_for("管理密码", 2);
    enter_pin(&r, PIN);
    assert!(r.label_starting("维护菜单").is_some());
    assert!(
        r.has("发件箱 outbox: 1 待发送 not yet sent, 2 待审核 awaiting a decision"),
        "outbox line: {:?}",
        r.label_starting("发件箱")
    );
    assert!(r.has(&format!("版本 version: kiosk {}", env!("CARGO_PKG_VERSION"))));
    let line = r.label_starting("日志 log:").expect("recent log lines listed");
    assert!(!line.contains("暂无"), "{line}");
    let masked = find_label_containing(&r, "diag test: holder").expect("the diag test line is listed");
    assert!(masked.contains("4401**********123X"), "{masked}");
    assert!(
        find_label_containing(&r, "44010619900101123X").is_none(),
        "an ID number in clear on screen"
    );
    // The menu's own actions show up in the ring too.
    assert!(find_label_containing(&r, "admin: PIN accepted").is_some());

    // Another submission arrives; refreshing the diagnostics shows it.
    *depth.lock().unwrap() = kiosk::ports::OutboxDepth {
        entries: 4,
        unsent: 2,
        undecided: 3,
        quarantined: 1,
    };
    r.tap("刷新诊断");
    r.wait_for(
        "发件箱 outbox: 2 待发送 not yet sent, 3 待审核 awaiting a decision, 1 无法发送请处理 can never be sent: run kiosk diag",
        2,
    );
}

fn find_label_containing(r: &Rig, needle: &str) -> Option<String> {
    use i_slint_backend_testing::ElementRoot;
    let needle = needle.to_string();
    r.ui.window()
        .root_element()
        .query_descendants()
        .match_predicate(move |e| e.accessible_label().is_some_and(|l| l.contains(&needle)))
        .find_first()
        .and_then(|e| e.accessible_label())
        .map(|l| l.to_string())
}

/// Issue #15: the admin screens close by themselves after `admin_idle_s` untouched, so a
/// menu left open is not there for the next person; keys count as touches.
#[test]
fn admin_screens_close_themselves_when_left_untouched() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|c| c.kiosk.admin_idle_s = 2);
    kiosk::ops::pin::set_pin(r.data.path(), PIN).unwrap();
    r.wait_for("开始", 5);
    r.long_press("admin-corner", Duration::from_millis(5100));
    r.wait_for("管理密码", 2);
    // Typing slowly keeps it open: each key is a touch.
    for k in PIN.chars() {
        std::thread::sleep(Duration::from_millis(500));
        r.type_keys(&k.to_string());
    }
    r.tap("确定");
    r.label_starting("维护菜单").expect("admin menu after 3 s of typing");
    let t0 = std::time::Instant::now();
    while r.label_starting("维护菜单").is_some() {
        assert!(t0.elapsed() < Duration::from_secs(6), "the menu stayed open");
        std::thread::sleep(Duration::from_millis(100));
        r.pump();
    }
    assert!(t0.elapsed() >= Duration::from_millis(1500), "closed too early");
    assert!(r.has("开始"), "back to the attract screen");
}
