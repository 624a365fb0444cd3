//! Shared helpers for the UI tests: a kiosk on test backends and the built-in replay
//! camera, and user-like actions that find elements ONLY by accessible label.
#![allow(dead_code)]

#[path = "../common/notify.rs"]
pub mod notify;
pub mod xvfb;

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk::camera::ReplaySource;
use kiosk::config::Config;
use kiosk::domain::SlipJob;
use kiosk::runtime::Backends;
use kiosk::testkit::runtime::{PlainMaker, RecordingPrinter, ScriptedGuide, ScriptedUploader};
use kiosk::ui::audio::{AudioSink, RecordingSink};
pub use kiosk::ui::{AdminPage, Page};
use kiosk::ui::{AppState, KioskUi};
use slint::ComponentHandle;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Rig {
    pub ui: KioskUi,
    pub audio: RecordingSink,
    pub jobs: Arc<Mutex<Vec<SlipJob>>>,
    pub unplug: Arc<std::sync::atomic::AtomicBool>,
    pub data: tempfile::TempDir,
}

pub fn config(data: &Path) -> Config {
    let mut cfg = Config::builtin();
    cfg.kiosk.data_dir = data.to_path_buf();
    cfg.kiosk.public_receipt_url = Some("https://review.example.gov.cn".into());
    // A Guangzhou hall: its own region first on the region screen.
    cfg.kiosk.home_region = Some("440100".parse().unwrap());
    cfg
}

/// A kiosk window (shown, portrait 1080×1920) over the test backends.
pub fn rig(tweak: impl FnOnce(&mut Config)) -> Rig {
    rig_with(tweak, ScriptedUploader::approving(3))
}

/// [`rig`] over the given uploader.
pub fn rig_with(tweak: impl FnOnce(&mut Config), uploader: ScriptedUploader) -> Rig {
    rig_backends(tweak, |_, b| b.uploader = Box::new(uploader))
}

/// [`rig`] with backends changed by `customise` (a refusing maker, a console, a reader).
pub fn rig_backends(tweak: impl FnOnce(&mut Config), customise: impl FnOnce(&Config, &mut Backends)) -> Rig {
    rig_full(tweak, customise, |rec| Box::new(rec))
}

/// [`rig`] whose voice goes through the sink `wrap` makes of the rig's recording sink (a
/// test sink that also records `set_volume`).
pub fn rig_with_audio(tweak: impl FnOnce(&mut Config), wrap: impl FnOnce(RecordingSink) -> Box<dyn AudioSink>) -> Rig {
    rig_full(tweak, |_, _| {}, wrap)
}

fn rig_full(
    tweak: impl FnOnce(&mut Config),
    customise: impl FnOnce(&Config, &mut Backends),
    wrap: impl FnOnce(RecordingSink) -> Box<dyn AudioSink>,
) -> Rig {
    let uploader = ScriptedUploader::approving(3);
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    tweak(&mut cfg);
    // Paced like a live camera: the kiosk analyses on its own thread and drops frames it
    // has no time for, so an unpaced replay would be used up before the guide saw it.
    let camera = ReplaySource::open(Path::new("builtin"), 15.0, false).unwrap().paced();
    let unplug = camera.unplug_switch();
    let printer = RecordingPrinter::default();
    let jobs = printer.jobs.clone();
    let backends = Backends {
        camera: Box::new(camera),
        guide: Box::new(ScriptedGuide::new(4, 4)),
        maker: Box::new(PlainMaker { refuse: false }),
        uploader: Box::new(uploader),
        printer: Box::new(printer),
        alerts: Box::new(kiosk::ports::NoConsole),
        idcard: None,
    };
    let mut backends = backends;
    customise(&cfg, &mut backends);
    let audio = RecordingSink::default();
    let ui = KioskUi::new(&cfg, backends, wrap(audio.clone())).unwrap();
    ui.window().window().set_size(slint::PhysicalSize::new(1080, 1920));
    ui.window().show().unwrap();
    Rig {
        ui,
        audio,
        jobs,
        unplug,
        data,
    }
}

impl Rig {
    /// Copies the runtime's view into the window and lets 16 ms of mock time pass.
    pub fn pump(&self) {
        self.ui.sync();
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(16));
    }

    /// Elements whose accessible label is exactly `label`.
    pub fn find(&self, label: &str) -> Vec<ElementHandle> {
        ElementHandle::find_by_accessible_label(self.ui.window(), label).collect()
    }

    pub fn has(&self, label: &str) -> bool {
        !self.find(label).is_empty()
    }

    /// Any element whose accessible label starts with `prefix`.
    pub fn label_starting(&self, prefix: &str) -> Option<String> {
        use i_slint_backend_testing::ElementRoot;
        let prefix = prefix.to_string();
        self.ui
            .window()
            .root_element()
            .query_descendants()
            .match_predicate(move |e| e.accessible_label().is_some_and(|l| l.starts_with(&prefix)))
            .find_first()
            .and_then(|e| e.accessible_label())
            .map(|l| l.to_string())
    }

    /// Taps the button labelled `label` through its accessible default action.
    pub fn tap(&self, label: &str) {
        let b: Vec<_> = self
            .find(label)
            .into_iter()
            .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
            .collect();
        assert!(!b.is_empty(), "no button labelled {label:?} on page {:?}", self.page());
        assert_eq!(b[0].accessible_enabled(), Some(true), "button {label:?} is disabled");
        b[0].invoke_accessible_default_action();
        self.pump();
    }

    /// Types `text` on the on-screen keyboard that shows, key by key (each character is a
    /// key's label: `1`, `X`, `z`, `S`).
    pub fn type_keys(&self, text: &str) {
        for c in text.chars() {
            self.tap(&c.to_string());
        }
    }

    /// The text field labelled `label` (姓名, 身份证号码).
    pub fn field(&self, label: &str) -> ElementHandle {
        self.find(label)
            .into_iter()
            .find(|e| e.accessible_role() == Some(AccessibleRole::TextInput))
            .unwrap_or_else(|| panic!("no field labelled {label:?} on page {:?}", self.page()))
    }

    /// What the field labelled `label` holds.
    pub fn field_value(&self, label: &str) -> String {
        self.field(label)
            .accessible_value()
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    /// Taps the field labelled `label`: its keyboard shows (the pinyin keyboard for 姓名,
    /// the keypad for 身份证号码).
    pub fn tap_field(&self, label: &str) {
        self.field(label).invoke_accessible_default_action();
        self.pump();
    }

    /// Types the ID number on the keypad (tapping its field first).
    pub fn type_id(&self, id: &str) {
        self.tap_field("身份证号码");
        self.type_keys(id);
    }

    /// Types a name on the pinyin keyboard as a person does: for each `(pinyin, 字)`, the
    /// letters, then the character from the candidate bar, paging with 下一页 until it
    /// shows. Taps the 姓名 field first.
    pub fn type_pinyin(&self, syllables: &[(&str, &str)]) {
        self.tap_field("姓名");
        for (py, ch) in syllables {
            self.type_keys(py);
            self.pick(ch);
        }
    }

    /// Taps the candidate `ch`, paging forward (下一页) until it is on the bar.
    pub fn pick(&self, ch: &str) {
        for _ in 0..100 {
            if self.button(ch).is_some() {
                self.tap(ch);
                return;
            }
            self.tap("下一页");
        }
        panic!("candidate {ch:?} never showed");
    }

    /// The enabled or disabled button labelled `label`, if one shows.
    pub fn button(&self, label: &str) -> Option<ElementHandle> {
        self.find(label)
            .into_iter()
            .find(|e| e.accessible_role() == Some(AccessibleRole::Button))
    }

    pub fn page(&self) -> Page {
        self.ui.window().global::<AppState>().get_page()
    }

    /// Waits (real time: the runtime runs on its own thread) until `label` shows.
    pub fn wait_for(&self, label: &str, secs: u64) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            self.pump();
            if self.has(label) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{label:?} did not show within {secs} s (page {:?})", self.page());
    }

    pub fn wait_page(&self, page: Page, secs: u64) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            self.pump();
            if self.page() == page {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("page {page:?} did not show within {secs} s (page {:?})", self.page());
    }

    /// Holds the pointer on the element labelled `label` for `hold` of mock time.
    pub fn long_press(&self, label: &str, hold: Duration) {
        let e = self
            .find(label)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {label:?}"));
        let p = e.absolute_position();
        let s = e.size();
        let pos = slint::LogicalPosition::new(p.x + s.width / 2.0, p.y + s.height / 2.0);
        let w = self.ui.window().window();
        use slint::platform::{PointerEventButton, WindowEvent};
        w.dispatch_event(WindowEvent::PointerMoved { position: pos });
        w.dispatch_event(WindowEvent::PointerPressed {
            position: pos,
            button: PointerEventButton::Left,
        });
        i_slint_backend_testing::mock_elapsed_time(hold);
        w.dispatch_event(WindowEvent::PointerReleased {
            position: pos,
            button: PointerEventButton::Left,
        });
        self.pump();
    }

    /// The clip ids played so far, in order.
    pub fn played(&self) -> Vec<String> {
        self.played_in().into_iter().map(|(id, _)| id).collect()
    }

    /// The clips played so far with their language.
    pub fn played_in(&self) -> Vec<(String, kiosk::config::Language)> {
        self.audio.played.lock().unwrap().clone()
    }
}

/// A valid 18-character resident ID number (GB 11643 check digit computed).
pub fn valid_id_number() -> String {
    let first17 = "44010619900101123";
    let c = kiosk::session::details::id_check_char(first17).unwrap();
    format!("{first17}{c}")
}

/// The screen whose `.slint` name is `name` (`choose-document`…), for tests that walk
/// every screen by name (screenshot files are named after them).
pub fn page_named(name: &str) -> Page {
    match name {
        "attract" => Page::Attract,
        "choose-document" => Page::ChooseDocument,
        "choose-region" => Page::ChooseRegion,
        "consent" => Page::Consent,
        "declined" => Page::Declined,
        "details" => Page::Details,
        "posing" => Page::Posing,
        "review-photo" => Page::ReviewPhoto,
        "uploading" => Page::Uploading,
        "printing" => Page::Printing,
        "waiting-for-printer" => Page::WaitingForPrinter,
        "done" => Page::Done,
        "see-staff" => Page::SeeStaff,
        "out-of-service" => Page::OutOfService,
        other => panic!("no page named {other}"),
    }
}

/// The maintenance screen named `name` (`pin`, `menu`, `reload`, `reprint`; "" = closed).
pub fn admin_page_named(name: &str) -> AdminPage {
    match name {
        "" => AdminPage::None,
        "pin" => AdminPage::Pin,
        "menu" => AdminPage::Menu,
        "reload" => AdminPage::Reload,
        "reprint" => AdminPage::Reprint,
        other => panic!("no admin page named {other}"),
    }
}
