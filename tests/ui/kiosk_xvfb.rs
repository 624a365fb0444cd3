//! The real `kiosk run` binary with the real backends (replay camera, vision guide,
//! embedded review centre, PDF printer) in a window on a private X server, driven to the
//! posing screen the way a person would: pointer clicks on the buttons, sent to the X
//! server with `xdotool` (XTEST), the name typed on the on-screen pinyin keyboard and the
//! ID number on the keypad. Asserts the
//! `state=posing` log line, systemd READY/WATCHDOG, and a non-blank screenshot of the
//! window taken from the X server with ImageMagick's `import`.
//!
//! Where to click comes from the same `.slint` layout at the same size (1080×1920,
//! scale 1): this test first lays the screens out with Slint's testing backend and the
//! software renderer (real font metrics) and reads each button's box by its accessible
//! label, so a layout change moves the clicks with it instead of breaking them.
//!
//! Needs `Xvfb`, `xdotool` and `import` (`deploy/deps.sh test` installs them).
//!
//! It also prints the figures of docs/performance-ui.md for the binary it runs: cold
//! start (spawn → READY=1), resident memory at posing, the preview rate shown. For the
//! release figures at 1280×720:
//!   cargo build --release --bin kiosk
//!   KIOSK_BIN=$CARGO_TARGET_DIR/release/kiosk KIOSK_UI_MEASURE=1 \
//!     cargo test --test ui kiosk_xvfb:: -- --nocapture
//! (`KIOSK_UI_MEASURE=1`: the replay camera plays the built-in frames scaled to 1280×720
//! at 30 fps, and posing is held for 10 s before 取消.)

use crate::ui_support;
use i_slint_backend_testing::{AccessibleRole, TestingBackend, TestingBackendOptions};
use slint::ComponentHandle;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ui_support::xvfb::{assert_not_blank, assert_ready_then_watchdog, notify_socket, Xvfb};
use ui_support::*;

const W: u32 = 1080;
const H: u32 = 1920;
/// A syntactically valid resident ID number (GB 11643 check digit) of nobody.
const ID: &str = "11010519491231002X";
/// The name, typed in pinyin syllable by syllable, each followed by its character.
const NAME: &[(&str, &str)] = &[("zhang", "张"), ("san", "三")];

/// Centre of the button (or field) labelled `label` on the current page, in logical px.
fn centre(r: &Rig, label: &str) -> (i32, i32) {
    let all = r.find(label);
    let e = all
        .iter()
        .find(|e| {
            matches!(
                e.accessible_role(),
                Some(AccessibleRole::Button | AccessibleRole::TextInput)
            )
        })
        .unwrap_or_else(|| panic!("no button or field labelled {label:?} on page {:?}", r.page()));
    let (p, s) = (e.absolute_position(), e.size());
    ((p.x + s.width / 2.0) as i32, (p.y + s.height / 2.0) as i32)
}

/// Lays the screens out headless and returns where each control is, page by page.
fn layout() -> HashMap<String, (i32, i32)> {
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .unwrap();
    let r = rig(|_| {});
    assert_eq!(r.ui.window().window().size(), slint::PhysicalSize::new(W, H));
    let mut at = HashMap::new();
    r.wait_for("开始", 5);
    at.insert("开始".to_string(), centre(&r, "开始"));
    r.tap("开始");
    r.wait_page(Page::ChooseDocument, 5);
    at.insert("居民身份证".into(), centre(&r, "居民身份证"));
    r.tap("居民身份证");
    r.wait_page(Page::ChooseRegion, 5);
    at.insert("广州市".into(), centre(&r, "广州市"));
    r.tap("广州市");
    r.wait_page(Page::Consent, 5);
    at.insert("同意".into(), centre(&r, "同意"));
    r.tap("同意");
    r.wait_page(Page::Details, 5);
    for label in ["姓名", "身份证号码", "下一步"] {
        at.insert(label.into(), centre(&r, label));
    }
    // The pinyin keyboard shows first; the candidates' places are read once they show.
    for (py, ch) in NAME {
        for c in py.chars() {
            at.insert(c.to_string(), centre(&r, &c.to_string()));
            r.tap(&c.to_string());
        }
        at.insert(ch.to_string(), centre(&r, ch));
        r.tap(ch);
    }
    assert_eq!(r.field_value("姓名"), "张三");
    r.tap_field("身份证号码");
    for c in ID.chars() {
        at.insert(c.to_string(), centre(&r, &c.to_string()));
    }
    r.type_keys(ID);
    r.tap("下一步");
    r.wait_page(Page::Posing, 5);
    at.insert("取消".into(), centre(&r, "取消"));
    at
}

/// The kiosk process; killed if the test fails half-way.
struct Kiosk {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Kiosk {
    fn logged(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    fn wait_log(&mut self, needle: &str, secs: u64) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            if self.logged(needle) {
                return true;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("kiosk exited ({st}) waiting for {needle:?}:\n{}", self.dump());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn dump(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

fn xdotool(display: &str, args: &[&str]) -> String {
    let out = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .expect("xdotool is needed for this test: deploy/deps.sh test installs it");
    assert!(
        out.status.success(),
        "xdotool {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The kiosk's top-level window id, once it is mapped.
fn find_window(display: &str, k: &Kiosk) -> String {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(30) {
        let out = Command::new("xdotool")
            .args(["search", "--onlyvisible", "--name", "Photo receipt kiosk"])
            .env("DISPLAY", display)
            .output()
            .expect("xdotool is needed for this test: deploy/deps.sh test installs it");
        if let Some(id) = String::from_utf8_lossy(&out.stdout).lines().next() {
            return id.trim().to_string();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the kiosk window never appeared:\n{}", k.dump());
}

#[test]
fn kiosk_binary_reaches_posing_by_clicks() {
    let at = layout();
    let x = Xvfb::start(W + 40, H + 40);
    let tmp = tempfile::tempdir().unwrap();
    let (sock, sock_path) = notify_socket(tmp.path());
    let measure = std::env::var_os("KIOSK_UI_MEASURE").is_some();
    let camera = if measure {
        format!("replay:{}@30", frames_1280x720(&tmp.path().join("frames")).display())
    } else {
        "replay:builtin".to_string()
    };
    let cfg = tmp.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[kiosk]\ndemo = true\ndata_dir = \"{}\"\n[devices]\ncamera = \"{camera}\"\nprinter = \"pdf:{}\"\nreview = \"embedded\"\n[audio]\nmute = true\n",
            tmp.path().join("data").display(),
            tmp.path().join("slips").display()
        ),
    )
    .unwrap();
    // WATCHDOG_PID must be the kiosk's own pid, as systemd sets it: exec keeps the shell's.
    let bin = std::env::var("KIOSK_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_kiosk").to_string());
    let spawned = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("export WATCHDOG_PID=$$; exec \"$0\" \"$@\"")
        .arg(&bin)
        .args(["--config", cfg.to_str().unwrap(), "run", "--size", &format!("{W}x{H}")])
        // A safety net: the test kills it once done.
        .args(["--quit-after", "120"])
        .env("DISPLAY", &x.display)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "300000")
        .env("RUST_LOG", "info")
        // The layout above is at scale 1; winit would otherwise follow Xft.dpi.
        .env("WINIT_X11_SCALE_FACTOR", "1")
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log: Arc<Mutex<Vec<String>>> = Default::default();
    let l = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("kiosk: {line}");
            l.lock().unwrap().push(line);
        }
    });
    let mut k = Kiosk { child, log };
    let t0 = Instant::now();
    while !sock.lock().unwrap().iter().any(|(_, m)| m.contains("READY=1")) {
        assert!(t0.elapsed() < Duration::from_secs(60), "no READY=1:\n{}", k.dump());
        std::thread::sleep(Duration::from_millis(2));
    }
    let cold_ms = spawned.elapsed().as_millis();
    // The session starts on attract without a transition, so no state= line yet.
    assert!(
        k.wait_log("attract screen after", 60),
        "no attract screen:\n{}",
        k.dump()
    );
    let win = find_window(&x.display, &k);

    let shoot = |path: &Path| {
        Command::new("import")
            .args(["-window", &win])
            .arg(path)
            .env("DISPLAY", &x.display)
            .status()
            .expect("ImageMagick's import is needed for this test: deploy/deps.sh test installs it")
            .success()
    };
    let click = |label: &str| {
        let (cx, cy) = at[label];
        xdotool(
            &x.display,
            &[
                "mousemove",
                "--window",
                &win,
                &cx.to_string(),
                &cy.to_string(),
                "click",
                "1",
            ],
        );
    };
    // A click on a page that is still drawing may be lost: re-click until the next
    // state is logged (the buttons are idempotent while their page is up).
    let mut click_until = |label: &str, state: &str| {
        for _ in 0..5 {
            click(label);
            if k.wait_log(&format!("state={state}"), 4) {
                return;
            }
        }
        // What the screen showed, for the CI log's artefacts.
        let seen = std::env::temp_dir().join(format!("kiosk-xvfb-stuck-{}.png", std::process::id()));
        if shoot(&seen) {
            eprintln!("the window at this point: {}", seen.display());
        }
        panic!("clicking {label:?} never led to state={state}:\n{}", k.dump());
    };
    click_until("开始", "choose-document");
    click_until("居民身份证", "choose-region");
    click_until("广州市", "consent");
    click_until("同意", "details");
    std::thread::sleep(Duration::from_millis(500));
    click("姓名");
    for (py, ch) in NAME {
        for c in py.chars() {
            click(&c.to_string());
            std::thread::sleep(Duration::from_millis(60));
        }
        click(ch);
        std::thread::sleep(Duration::from_millis(60));
    }
    click("身份证号码");
    std::thread::sleep(Duration::from_millis(60));
    for c in ID.chars() {
        click(&c.to_string());
        std::thread::sleep(Duration::from_millis(60));
    }
    click_until("下一步", "posing");
    assert!(!k.logged("44010") && !k.logged(ID), "the ID number was logged in clear");

    // Let the live preview run, then photograph the window from the X server.
    std::thread::sleep(Duration::from_millis(1500));
    let rss = proc_status_mb(k.child.id(), "VmRSS:");
    let shot = tmp.path().join("window.png");
    assert!(shoot(&shot), "import -window {win} failed");
    assert_not_blank(&shot, "xvfb-kiosk-posing.png");
    assert_ready_then_watchdog(&sock);

    if measure {
        std::thread::sleep(Duration::from_secs(8));
    }
    let rss_late = proc_status_mb(k.child.id(), "VmRSS:");
    let peak = proc_status_mb(k.child.id(), "VmHWM:");
    // Leave posing as a person would (unless auto-capture already did), which logs the
    // preview rate of this posing screen.
    if !k.logged("posing: ") {
        click("取消");
    }
    assert!(k.wait_log("posing: ", 10), "no posing figure logged:\n{}", k.dump());
    let line = k
        .log
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.contains("posing: "))
        .cloned()
        .unwrap();
    eprintln!(
        "figures ({bin}): cold start spawn→READY=1 {cold_ms} ms; resident memory at posing {rss:.1} MB, \
         {rss_late:.1} MB later, peak {peak:.1} MB; {}",
        &line[line.find("posing: ").unwrap()..]
    );
    drop(k);
}

/// A field of /proc/PID/status in MB (`VmRSS:`, `VmHWM:`).
fn proc_status_mb(pid: u32, field: &str) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The built-in replay frames scaled (cropped to fill) to 1280×720, as JPEGs in `dir`.
fn frames_1280x720(dir: &Path) -> std::path::PathBuf {
    use kiosk::ports::FrameSource;
    std::fs::create_dir_all(dir).unwrap();
    let mut src = kiosk::camera::ReplaySource::open(Path::new("builtin"), 30.0, false).unwrap();
    let mut i = 0;
    while let Ok(f) = src.next_frame() {
        let big = image::imageops::resize(&f.image, 1280, 960, image::imageops::FilterType::Triangle);
        let crop = image::imageops::crop_imm(&big, 0, 120, 1280, 720).to_image();
        crop.save(dir.join(format!("{i:04}.jpg"))).unwrap();
        i += 1;
    }
    assert!(i > 0, "no built-in frames");
    dir.to_path_buf()
}
