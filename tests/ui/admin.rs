//! The hidden admin entry (hold a corner 5 s), the PIN lock-out, and the operator's
//! paper-reload wizard, driven through the screens by accessible label.

use crate::ui_support;
use std::time::Duration;
use ui_support::*;

const PIN: &str = "246810";

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(secs), "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn enter_pin(r: &Rig, pin: &str) {
    r.type_keys(pin);
    r.tap("确定");
}

#[test]
fn corner_needs_five_seconds_and_wrong_pins_lock_out() {
    i_slint_backend_testing::init_no_event_loop();
    let alerts = kiosk::testkit::runtime::RecordingAlerts::console();
    let told = alerts.admin.clone();
    let r = rig_backends(|_| {}, |_, b| b.alerts = Box::new(alerts));
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
    // The hall console hears of each wrong PIN and of the lock-out (not of the refused
    // right PIN: nobody got in).
    use kiosk::ports::AdminEvent::{LockedOut, PinFailed};
    wait_until("the admin events reach the alerts port", 2, || {
        told.lock().unwrap().len() >= 4
    });
    assert_eq!(*told.lock().unwrap(), [PinFailed, PinFailed, PinFailed, LockedOut]);
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
    let alerts = kiosk::testkit::runtime::RecordingAlerts::console();
    let told = alerts.admin.clone();
    let r = rig_backends(|_| {}, |_, b| b.alerts = Box::new(alerts));
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
    wait_until("the admin login reaches the alerts port", 2, || {
        !told.lock().unwrap().is_empty()
    });
    assert_eq!(*told.lock().unwrap(), [kiosk::ports::AdminEvent::Login]);
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

/// `kiosk diag --setup-code` (the real binary) over the rig's data directory: the code
/// it prints.
fn console_setup_code(data: &std::path::Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!("[kiosk]\ndemo = true\ndata_dir = {:?}\n", data.display().to_string()),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .env_remove("KIOSK_CONFIG")
        .env("XDG_STATE_HOME", dir.path())
        .arg("--config")
        .arg(&cfg)
        .args(["diag", "--setup-code"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let code = text
        .lines()
        .find_map(|l| l.strip_prefix("设置码 setup code: "))
        .unwrap_or_else(|| panic!("no setup code printed: {text}"))
        .trim()
        .to_string();
    assert!(code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit()), "{code:?}");
    code
}

fn open_pad(r: &Rig, field: &str) {
    r.long_press("admin-corner", Duration::from_millis(5100));
    r.wait_for(field, 2);
}

/// Issue #15: with no PIN set, the first one is set on the touchscreen with the one-time
/// code `kiosk diag --setup-code` printed on the console, typed twice; the code works once.
#[test]
fn the_first_pin_is_set_on_the_touchscreen_with_the_consoles_one_time_code() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|c| c.kiosk.demo = false);
    let dir = r.data.path().to_path_buf();
    r.wait_for("开始", 5);
    open_pad(&r, "设置码");
    r.wait_for("首次设置管理密码：请输入设置码", 1);
    // No code asked for on the console yet: nothing to type.
    enter_pin(&r, "12345678");
    r.wait_for("还没有设置码：请在控制台运行 kiosk diag --setup-code", 1);
    assert!(!kiosk::ops::pin::pin_path(&dir).exists());

    let code = console_setup_code(&dir);
    let wrong = if code == "87654321" { "12345678" } else { "87654321" };
    enter_pin(&r, wrong);
    r.wait_for("设置码错误", 2);
    assert!(r.has("设置码"), "still asking for the code");
    enter_pin(&r, &code);
    r.wait_for("新管理密码", 2);
    r.wait_for("请设置新的管理密码（6 到 12 位数字）", 1);
    enter_pin(&r, "13579");
    r.wait_for("新密码要 6 到 12 位数字", 1);
    // Typed twice; a different second one starts the new PIN again.
    enter_pin(&r, "135791");
    r.wait_for("再次输入新管理密码", 1);
    enter_pin(&r, "135792");
    r.wait_for("两次输入的密码不一样，请重新设置", 1);
    assert!(r.has("新管理密码"));
    assert!(!kiosk::ops::pin::pin_path(&dir).exists(), "a PIN set from a mismatch");
    enter_pin(&r, "135791");
    r.wait_for("再次输入新管理密码", 1);
    enter_pin(&r, "135791");
    r.wait_for("管理密码已设置 / admin PIN set", 2);
    assert!(r.label_starting("维护菜单").is_some());
    assert!(kiosk::ops::pin::verify_pin(&dir, "135791").unwrap());
    assert!(
        !kiosk::ops::setup_code::setup_path(&dir).exists(),
        "the used code is deleted"
    );
    r.tap("退出维护");

    // From now on the pad asks for the PIN, and the code is refused.
    open_pad(&r, "管理密码");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(matches!(
        kiosk::ops::setup_code::check(&dir, &code, now),
        Err(kiosk::ops::setup_code::SetupError::PinAlreadySet(_))
    ));
    enter_pin(&r, "135791");
    r.label_starting("维护菜单").expect("the new PIN opens the menu");
    r.tap("退出维护");
    // Even with the PIN gone again, the used code does not come back.
    std::fs::remove_file(kiosk::ops::pin::pin_path(&dir)).unwrap();
    open_pad(&r, "设置码");
    enter_pin(&r, &code);
    r.wait_for("还没有设置码：请在控制台运行 kiosk diag --setup-code", 1);
    assert!(!kiosk::ops::pin::pin_path(&dir).exists());
}

/// Wrong setup codes count in the PIN pad's lock-out like wrong PINs.
#[test]
fn wrong_setup_codes_lock_the_pad_like_wrong_pins() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|c| c.kiosk.demo = false);
    let dir = r.data.path().to_path_buf();
    r.wait_for("开始", 5);
    let code = console_setup_code(&dir);
    open_pad(&r, "设置码");
    let wrongs: Vec<String> = ["11111111", "22222222", "33333333", "44444444"]
        .into_iter()
        .filter(|w| *w != code)
        .take(3)
        .map(String::from)
        .collect();
    enter_pin(&r, &wrongs[0]);
    r.wait_for("设置码错误", 2);
    enter_pin(&r, &wrongs[1]);
    r.wait_for("设置码错误", 2);
    enter_pin(&r, &wrongs[2]);
    r.wait_for("尝试次数过多，请 30 秒后再试", 2);
    // The right code is refused while locked, and the lock is on disk for a restart.
    enter_pin(&r, &code);
    assert!(r.label_starting("尝试次数过多").is_some());
    assert!(r.has("设置码"), "no new PIN asked for while locked");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(kiosk::ops::pin::Lockout::load(&dir, now).remaining_ms(now) > 0);
}

/// In demo mode (no config file) the first PIN is set on the touchscreen without a code.
#[test]
fn in_demo_mode_the_first_pin_needs_no_setup_code() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|c| assert!(c.kiosk.demo, "the built-in config is a demo"));
    let dir = r.data.path().to_path_buf();
    r.wait_for("开始", 5);
    open_pad(&r, "新管理密码");
    assert!(!r.has("设置码"));
    enter_pin(&r, PIN);
    r.wait_for("再次输入新管理密码", 1);
    enter_pin(&r, PIN);
    r.wait_for("管理密码已设置 / admin PIN set", 2);
    assert!(kiosk::ops::pin::verify_pin(&dir, PIN).unwrap());
}

/// A sink that records the volumes set on it as well as the clips played.
struct VolumeSink {
    played: kiosk::ui::audio::RecordingSink,
    volumes: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl kiosk::ui::audio::AudioSink for VolumeSink {
    fn play(&mut self, id: &str, lang: kiosk::config::Language) {
        self.played.play(id, lang);
    }
    fn set_volume(&mut self, volume: u8) {
        self.volumes.lock().unwrap().push(volume);
    }
}

fn rig_recording_volume(dir: &std::path::Path) -> (Rig, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    let volumes = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
    let v = volumes.clone();
    let dir = dir.to_path_buf();
    let r = rig_with_audio(
        |c| c.kiosk.data_dir = dir,
        |played| Box::new(VolumeSink { played, volumes: v }),
    );
    (r, volumes)
}

fn open_menu(r: &Rig) {
    r.wait_for("开始", 5);
    open_pad(r, "管理密码");
    enter_pin(r, PIN);
    r.label_starting("维护菜单").expect("admin menu");
}

/// Issue #15: the volume set on the admin menu goes to the live sink at once (with the
/// chime), is kept in the data directory and applied at the next start; a corrupt file
/// falls back to the config's `[audio] volume`.
#[test]
fn the_volume_set_on_the_menu_reaches_the_sink_and_survives_a_restart() {
    i_slint_backend_testing::init_no_event_loop();
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    kiosk::ops::pin::set_pin(dir, PIN).unwrap();
    {
        let (r, volumes) = rig_recording_volume(dir);
        assert!(volumes.lock().unwrap().is_empty(), "nothing saved: the config's volume");
        open_menu(&r);
        r.wait_for("音量：80", 1);
        let chimes = || r.played().iter().filter(|c| *c == "chime").count();
        let before = chimes();
        r.tap("音量 −10");
        r.wait_for("音量：70", 1);
        r.tap("音量 −10");
        r.wait_for("音量：60", 1);
        assert_eq!(*volumes.lock().unwrap(), [70, 60]);
        assert_eq!(chimes(), before + 2, "a test chime at each step");
        r.tap("音量 +10");
        r.tap("音量 −10");
        assert_eq!(*volumes.lock().unwrap(), [70, 60, 70, 60]);
        let file = kiosk::ops::volume::volume_path(dir);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    } // the kiosk stops here

    let (r, volumes) = rig_recording_volume(dir);
    assert_eq!(*volumes.lock().unwrap(), [60], "the saved volume applied at start-up");
    open_menu(&r);
    r.wait_for("音量：60", 1);
    drop(r);

    std::fs::write(kiosk::ops::volume::volume_path(dir), b"{\"volume\":").unwrap();
    let (r, volumes) = rig_recording_volume(dir);
    assert!(volumes.lock().unwrap().is_empty(), "a corrupt file is not applied");
    open_menu(&r);
    r.wait_for("音量：80", 1);
}

/// Issue #15: a V4L camera belongs to the runtime's capture thread, so the admin menu's
/// camera check reads frames from the runtime instead of opening the device again (here
/// the config names a V4L camera that does not exist; the runtime holds the replay).
#[test]
fn the_camera_check_of_a_v4l_camera_borrows_the_runtimes_frames() {
    i_slint_backend_testing::init_no_event_loop();
    let r = rig(|c| c.devices.camera = "v4l:/dev/video99".parse().unwrap());
    kiosk::ops::pin::set_pin(r.data.path(), PIN).unwrap();
    open_menu(&r);
    let line = wait_prefix(&r, "正常 ok camera:", 5);
    assert!(line.contains("builtin") && line.contains("10 frames"), "{line}");
    assert!(line.contains("read from the running kiosk's capture"), "{line}");
    assert!(r.label_starting("检查中").is_none());
    // 刷新诊断 checks again.
    r.tap("刷新诊断");
    assert!(r.label_starting("检查中 checking camera: v4l:/dev/video99").is_some());
    wait_prefix(&r, "正常 ok camera:", 5);
}

/// Waits until a label starting with `prefix` shows; the camera's line when it does not.
fn wait_prefix(r: &Rig, prefix: &str, secs: u64) -> String {
    let t0 = std::time::Instant::now();
    loop {
        r.pump();
        if let Some(l) = r.label_starting(prefix) {
            return l;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{prefix:?} did not show; camera line: {:?}",
            find_label_containing(r, "camera:")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
