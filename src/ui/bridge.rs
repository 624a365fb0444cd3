//! [`KioskUi`]: binds the Slint window to the runtime's [`Kiosk`]. Callbacks become
//! session events; [`KioskUi::sync`] (a UI-loop timer in `kiosk run`) copies the runtime's
//! view into the `AppState` global. The UI never touches a device or the session itself.

use super::admin::{AdminController, Operator};
use super::audio::AudioSink;
use super::convert;
use super::generated::{AppState, AppWindow, Choice, GuideBox, Page};
use super::name_entry::{self, NameEntry};
use crate::config::{Config, DocumentId, Field, RegionCode};
use crate::runtime::{Backends, Kiosk, View};
use crate::session::{Details, Event, State};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Instant;

pub struct KioskUi {
    inner: Rc<Inner>,
}

pub(super) struct Inner {
    pub window: AppWindow,
    pub kiosk: Kiosk,
    pub cfg: Config,
    audio: RefCell<Box<dyn AudioSink>>,
    /// The last spoken prompt, for 再听一遍 (the chime is not a prompt).
    last_clip: RefCell<Option<String>>,
    shown: RefCell<Shown>,
    admin: RefCell<AdminController>,
    /// The name keyboard's composer (`name_entry`).
    pub name: NameEntry,
    /// Operator's per-day totals on disk; `None` when the data directory refused them
    /// (logged once; the kiosk still serves people).
    pub daily: RefCell<Option<crate::ops::daily::DailyCounters>>,
}

/// What is on screen now, so `sync` only converts what changed.
struct Shown {
    page: Option<Page>,
    english: bool,
    /// Set when the language changed: dynamic texts must be rebuilt.
    dirty: bool,
    state: Option<State>,
    preview: Option<Arc<image::RgbImage>>,
    photo: Option<Arc<image::RgbImage>>,
    still_there: Option<(Instant, u32)>,
    pose_ok_since: Option<Instant>,
    hold_still_s: f64,
    /// The posing document's spec, for the guide oval (`convert::guide_box`).
    guide_spec: Option<crate::config::DocumentSpec>,
    /// Preview frames shown in the current one-second window, and the last full second's rate.
    fps_count: u32,
    fps_since: Instant,
    pub fps: f32,
    /// Last check for a returned camera.
    camera_probe: Instant,
    /// Preview frames shown since the posing screen was entered, and when it was.
    posing: Option<(Instant, u32)>,
    /// The ID number of the card whose details were put in the fields (personal data).
    card_filled: Option<zeroize::Zeroizing<String>>,
}

impl KioskUi {
    /// Starts the runtime on `backends` and builds the window (not shown yet).
    pub fn new(cfg: &Config, backends: Backends, audio: Box<dyn AudioSink>) -> Result<KioskUi, slint::PlatformError> {
        let window = AppWindow::new()?;
        let english = cfg.kiosk.language == crate::config::Language::En;
        // The admin menu's saved volume overrides `[audio] volume` from the start.
        let (admin, mut audio) = (AdminController::new(cfg), audio);
        if let Some(v) = admin.startup_volume() {
            audio.set_volume(v);
        }
        let inner = Rc::new(Inner {
            window,
            kiosk: Kiosk::start(cfg, backends),
            cfg: cfg.clone(),
            audio: RefCell::new(audio),
            last_clip: RefCell::new(None),
            shown: RefCell::new(Shown {
                page: None,
                english,
                dirty: true,
                state: None,
                preview: None,
                photo: None,
                still_there: None,
                pose_ok_since: None,
                hold_still_s: 0.8,
                guide_spec: None,
                fps_count: 0,
                fps_since: Instant::now(),
                fps: 0.0,
                camera_probe: Instant::now(),
                posing: None,
                card_filled: None,
            }),
            admin: RefCell::new(admin),
            name: NameEntry::new(),
            daily: RefCell::new(
                crate::ops::daily::DailyCounters::open(&cfg.kiosk.data_dir)
                    .map_err(|e| log::error!("daily counters off: {e}"))
                    .ok(),
            ),
        });
        let g = inner.window.global::<AppState>();
        g.set_version(SharedString::from(concat!("v", env!("CARGO_PKG_VERSION"))));
        select_language(english);
        g.set_english(english);
        bind_callbacks(&inner);
        let ui = KioskUi { inner };
        ui.sync();
        Ok(ui)
    }

    pub fn window(&self) -> &AppWindow {
        &self.inner.window
    }

    /// The runtime's latest view (tests and benchmarks read it to wait for a screen).
    pub fn view(&self) -> View {
        self.inner.kiosk.view()
    }

    /// Preview frames per second shown in the last full second while posing.
    pub fn preview_fps(&self) -> f32 {
        self.inner.shown.borrow().fps
    }

    /// Copies the runtime's view into the window; plays queued voice prompts.
    pub fn sync(&self) {
        self.inner.sync();
    }
}

fn select_language(english: bool) {
    if let Err(e) = slint::select_bundled_translation(if english { "en" } else { "zh" }) {
        log::warn!("cannot switch the UI language: {e}");
    }
}

/// Registers a callback holding only a weak reference (the window owns the callbacks;
/// a strong one would be a cycle).
fn weak(inner: &Rc<Inner>) -> Weak<Inner> {
    Rc::downgrade(inner)
}

fn bind_callbacks(inner: &Rc<Inner>) {
    let g = inner.window.global::<AppState>();
    macro_rules! on_event {
        ($setter:ident, $ev:expr) => {{
            let w = weak(inner);
            g.$setter(move || {
                if let Some(i) = w.upgrade() {
                    i.kiosk.send($ev);
                }
            });
        }};
    }
    on_event!(on_start, Event::Start);
    on_event!(on_back, Event::Back);
    on_event!(on_cancel, Event::Cancel);
    on_event!(on_accept, Event::Accept);
    on_event!(on_retake, Event::Retake);
    on_event!(on_another, Event::AnotherDocument);
    on_event!(on_call_staff, Event::CallStaff);
    let w = weak(inner);
    g.on_hear_again(move || {
        let Some(i) = w.upgrade() else { return };
        let last = i.last_clip.borrow().clone();
        if let Some(id) = last {
            i.play(&id);
        }
        // Asking to hear it again is activity: the person is there.
        i.kiosk.send(Event::StillHere);
    });
    on_event!(on_still_here, Event::StillHere);

    let w = weak(inner);
    g.on_choose_document(move |id| {
        let Some(i) = w.upgrade() else { return };
        match id.parse::<DocumentId>() {
            Ok(d) => i.kiosk.send(Event::ChooseDocument(d)),
            Err(e) => log::error!("UI offered a bad document id: {e}"),
        }
    });
    let w = weak(inner);
    g.on_choose_region(move |code| {
        let Some(i) = w.upgrade() else { return };
        match RegionCode::new(&code) {
            Ok(r) => i.kiosk.send(Event::ChooseRegion(r)),
            Err(e) => log::error!("UI offered a bad region: {e}"),
        }
    });
    let w = weak(inner);
    g.on_consent(move |yes| {
        if let Some(i) = w.upgrade() {
            i.kiosk.send(Event::Consent(yes));
        }
    });
    let w = weak(inner);
    g.on_submit_details(move |name, id, mobile| {
        let Some(i) = w.upgrade() else { return };
        let fields = i.current_fields();
        // Pinyin not yet picked is not part of the name: say so rather than submit half of it.
        if fields.contains(&Field::Name) && name_entry::must_pick_first(&i) {
            return;
        }
        let keep =
            |f: Field, v: SharedString| (fields.contains(&f) && !v.trim().is_empty()).then(|| v.trim().to_string());
        let details = Details {
            name: keep(Field::Name, name),
            id_number: keep(Field::IdNumber, id),
            mobile: keep(Field::Mobile, mobile),
        };
        i.kiosk.send(Event::SubmitDetails(details));
    });
    name_entry::bind(inner);
    let w = weak(inner);
    g.on_id_key(move |k| {
        let Some(i) = w.upgrade() else { return };
        let g = i.window.global::<AppState>();
        let mut s = g.get_id_number().to_string();
        if s.chars().count() < 18 {
            s.push_str(&k);
        }
        g.set_id_number(s.into());
        // Typing is activity: keep the session from timing out.
        i.kiosk.send(Event::StillHere);
    });
    g.on_group_id(|s| convert::group_id(&s).into());
    g.on_drop_last(|s| {
        let mut s = s.to_string();
        s.pop();
        s.into()
    });
    let w = weak(inner);
    g.on_id_delete(move || {
        let Some(i) = w.upgrade() else { return };
        let g = i.window.global::<AppState>();
        let mut s = g.get_id_number().to_string();
        s.pop();
        g.set_id_number(s.into());
        i.kiosk.send(Event::StillHere);
    });
    let w = weak(inner);
    g.on_set_english(move |en| {
        let Some(i) = w.upgrade() else { return };
        select_language(en);
        i.window.global::<AppState>().set_english(en);
        let mut s = i.shown.borrow_mut();
        s.english = en;
        s.dirty = true;
        drop(s);
        // Say the screen's prompt again in the language just chosen.
        let last = i.last_clip.borrow().clone();
        if let Some(id) = last {
            i.play(&id);
        }
        i.kiosk.send(Event::StillHere);
        i.sync();
    });
    let w = weak(inner);
    g.on_admin_open(move || {
        if let Some(i) = w.upgrade() {
            i.admin.borrow_mut().open(&i.window.global::<AppState>());
        }
    });
    let w = weak(inner);
    g.on_admin_touched(move || {
        if let Some(i) = w.upgrade() {
            i.admin.borrow_mut().touched();
        }
    });
    let w = weak(inner);
    g.on_pin_entered(move |pin| {
        if let Some(i) = w.upgrade() {
            i.admin
                .borrow_mut()
                .pin_entered(&i.window.global::<AppState>(), &*i, &pin);
        }
    });
    let w = weak(inner);
    g.on_admin_action(move |action| {
        if let Some(i) = w.upgrade() {
            i.admin.borrow_mut().action(&i.window.global::<AppState>(), &*i, action);
        }
    });
    let w = weak(inner);
    g.on_reprint(move |number| {
        if let Some(i) = w.upgrade() {
            i.admin
                .borrow_mut()
                .reprint_request(&i.window.global::<AppState>(), &*i, &number);
        }
    });
}

/// The maintenance screens' view of the kiosk.
impl Operator for Inner {
    fn view(&self) -> View {
        self.kiosk.view()
    }
    fn test_print(&self) {
        self.kiosk.test_print();
    }
    fn printer_reloaded(&self) {
        self.kiosk.printer_reloaded();
    }
    fn refresh_status(&self) -> std::sync::mpsc::Receiver<()> {
        self.kiosk.refresh_status()
    }
    fn reprint(
        &self,
        number: crate::domain::ReceiptNumber,
    ) -> std::sync::mpsc::Receiver<Result<(), crate::domain::Prompt>> {
        self.kiosk.reprint(number)
    }
    fn preview_fps(&self) -> f32 {
        self.shown.borrow().fps
    }
    fn export_today(&self) -> Result<std::path::PathBuf, crate::ops::daily::DailyError> {
        let day = match self.daily.borrow_mut().as_mut() {
            Some(d) => {
                d.flush()?;
                d.day()
            }
            None => crate::ops::daily::today(),
        };
        crate::ops::daily::export_day(&self.cfg.kiosk.data_dir, &self.cfg.kiosk.id, day)
    }
    fn daily_line(&self) -> String {
        match self.daily.borrow().as_ref() {
            Some(d) => {
                let t = d.totals();
                format!(
                    "今日 today {}: sessions {}, receipts {}, spoiled slips {}, retakes {}, rejections {}",
                    d.day().format("%Y-%m-%d"),
                    t.sessions,
                    t.receipts,
                    t.spoiled_slips,
                    t.retakes,
                    t.rejections
                )
            }
            None => "今日 today: 每日统计不可用，见日志 / daily counters off, see the log".into(),
        }
    }
    fn set_volume(&self, volume: u8) {
        self.audio.borrow_mut().set_volume(volume);
        self.play("chime");
    }
    fn check_camera(&self, frames: u32) -> std::sync::mpsc::Receiver<crate::runtime::CameraCheck> {
        self.kiosk.check_camera(frames)
    }
    fn admin_event(&self, e: crate::ports::AdminEvent) {
        self.kiosk.admin_event(e);
    }
}

impl Inner {
    pub(super) fn english(&self) -> bool {
        self.shown.borrow().english
    }

    fn current_fields(&self) -> Vec<Field> {
        match self.kiosk.view().state {
            State::Details { doc, region, .. } => self.cfg.spec_for(doc, Some(&region)).fields,
            _ => vec![],
        }
    }

    /// Adds the runtime's new counts to today's totals on disk.
    fn count_day(&self, v: &View) {
        let mut daily = self.daily.borrow_mut();
        if let Some(d) = daily.as_mut() {
            if let Err(e) = d.absorb(crate::ops::daily::today(), &v.counters, &v.paper) {
                // Logged once, not 30 times a second; the admin screen shows the gap.
                log::error!("daily counters off: {e}");
                *daily = None;
            }
        }
    }

    fn play(&self, id: &str) {
        if id != "chime" {
            *self.last_clip.borrow_mut() = Some(id.to_string());
        }
        let lang = if self.english() {
            crate::config::Language::En
        } else {
            crate::config::Language::Zh
        };
        self.audio.borrow_mut().play(id, lang);
    }

    fn sync(&self) {
        let v = self.kiosk.view();
        let g = self.window.global::<AppState>();
        for id in self.kiosk.take_speech() {
            self.play(&id);
        }
        let page = convert::page(&v.state);
        if self.shown.borrow().page != Some(page) {
            self.enter(&g, page, &v.state);
        }
        self.count_day(&v);
        g.set_paper_near_end(v.paper.near_end);
        g.set_staff_call(convert::staff_call(v.staff_call.as_ref()));
        g.set_hand_off_code(v.hand_off.as_ref().map(|c| c.as_str()).unwrap_or_default().into());
        self.fill_from_card(&g, &v);
        let size = self.window.window().size();
        g.set_portrait(size.height >= size.width);
        self.sync_still_there(&g, &v);
        let changed = {
            let s = self.shown.borrow();
            s.dirty || s.state.as_ref() != Some(&v.state)
        };
        if changed {
            self.show_state(&g, &v.state, v.slip_token.as_ref());
            let mut s = self.shown.borrow_mut();
            s.state = Some(v.state.clone());
            s.dirty = false;
        }
        self.sync_images(&g, &v);
        self.watch_camera_return(&v);
        self.admin.borrow_mut().tick(&g, self);
    }

    /// Out of service for the camera: once the V4L2 device node is back, tell the session
    /// (the capture thread reconnects by itself when posing starts again).
    fn watch_camera_return(&self, v: &View) {
        let State::OutOfService { faults } = &v.state else {
            return;
        };
        if !faults.contains(&crate::session::Device::Camera) {
            return;
        }
        let mut s = self.shown.borrow_mut();
        if s.camera_probe.elapsed() >= std::time::Duration::from_secs(2) {
            s.camera_probe = Instant::now();
            if crate::wiring::camera_present(&self.cfg) == Some(true) {
                log::info!("camera {} is back", self.cfg.devices.camera.device());
                self.kiosk.send(Event::DeviceRecovered(crate::session::Device::Camera));
            }
        }
    }

    fn enter(&self, g: &AppState<'_>, page: Page, state: &State) {
        {
            let mut s = self.shown.borrow_mut();
            // One line per posing screen: the operator's (and CI's) preview-rate figure.
            if let Some((since, frames)) = s.posing.take() {
                let secs = since.elapsed().as_secs_f64();
                log::info!(
                    "posing: {frames} preview frames shown in {secs:.1} s ({:.1} fps)",
                    f64::from(frames) / secs.max(1e-3)
                );
            }
            if page == Page::Posing {
                s.posing = Some((Instant::now(), 0));
            }
            s.page = Some(page);
        }
        g.set_page(page);
        // Typed details are personal data: gone as soon as the details screen is left.
        if page == Page::Details {
            // The name first (the keypad when the document needs no name).
            g.set_typing_name(true);
            g.set_name_pick_first(false);
        } else {
            self.name.reset(g);
            g.set_id_number(SharedString::new());
        }
        let card_reader = self.cfg.devices.idcard.device() != &crate::config::Device::None;
        self.play(convert::screen_prompt(state, card_reader));
    }

    /// A card just read fills the name and number fields once; the person checks them
    /// and may still correct them (a card read again does not undo their edits).
    fn fill_from_card(&self, g: &AppState<'_>, v: &View) {
        let mut s = self.shown.borrow_mut();
        match &v.card {
            Some(card) if s.card_filled.as_deref() != Some(&card.id_number) => {
                s.card_filled = Some(zeroize::Zeroizing::new(card.id_number.clone()));
                self.name.set(g, &card.name);
                g.set_id_number(card.id_number.as_str().into());
            }
            Some(_) => {}
            None => s.card_filled = None,
        }
    }

    fn sync_still_there(&self, g: &AppState<'_>, v: &View) {
        let mut s = self.shown.borrow_mut();
        match (v.still_there, s.still_there) {
            (Some(secs), None) => {
                s.still_there = Some((Instant::now(), secs));
                drop(s);
                self.play("still_there");
                g.set_still_there(secs as i32);
            }
            (Some(_), Some((t0, secs))) => {
                let left = u64::from(secs).saturating_sub(t0.elapsed().as_secs());
                g.set_still_there(left as i32);
            }
            (None, _) => {
                s.still_there = None;
                g.set_still_there(-1);
            }
        }
    }

    fn sync_images(&self, g: &AppState<'_>, v: &View) {
        let mut s = self.shown.borrow_mut();
        let new_frame = match (&v.preview, &s.preview) {
            (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
            (Some(_), None) => true,
            _ => false,
        };
        if new_frame {
            if let Some(p) = &v.preview {
                g.set_preview(convert::preview_image(p, self.cfg.camera.mirror_preview));
                if let Some(spec) = &s.guide_spec {
                    let [x, y, width, height] = convert::guide_box(spec, p.width(), p.height());
                    g.set_guide(GuideBox { x, y, width, height });
                }
            }
            s.fps_count += 1;
            if let Some((_, n)) = s.posing.as_mut() {
                *n += 1;
            }
        }
        if s.fps_since.elapsed().as_secs_f32() >= 1.0 {
            s.fps = s.fps_count as f32 / s.fps_since.elapsed().as_secs_f32();
            s.fps_count = 0;
            s.fps_since = Instant::now();
        }
        if v.preview.is_none() && s.preview.is_some() {
            // Drop the last frame of a face as soon as posing ends.
            g.set_preview(slint::Image::default());
        }
        s.preview = v.preview.clone();
        g.set_has_preview(v.preview.is_some());
        g.set_pose_ok(v.pose_ok);
        let countdown = match (v.pose_ok, s.pose_ok_since) {
            (true, Some(t0)) => (s.hold_still_s - t0.elapsed().as_secs_f64()).ceil().max(1.0) as i32,
            (true, None) => {
                s.pose_ok_since = Some(Instant::now());
                s.hold_still_s.ceil().max(1.0) as i32
            }
            (false, _) => {
                s.pose_ok_since = None;
                -1
            }
        };
        g.set_countdown(if v.preview.is_some() { countdown } else { -1 });
        let new_photo = match (&v.photo, &s.photo) {
            (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
            (Some(_), None) => true,
            _ => false,
        };
        if new_photo {
            if let Some(p) = &v.photo {
                g.set_photo(convert::photo_image(p));
            }
        }
        if v.photo.is_none() && s.photo.is_some() {
            g.set_photo(slint::Image::default());
        }
        s.photo = v.photo.clone();
    }

    fn show_state(&self, g: &AppState<'_>, state: &State, token: Option<&crate::domain::ReceiptToken>) {
        let en = self.english();
        let cfg = &self.cfg;
        g.set_site(convert::pick(en, &cfg.kiosk.site_zh, &cfg.kiosk.site_en).into());
        g.set_demo(cfg.kiosk.demo);
        let docs: Vec<Choice> = cfg
            .offered_documents()
            .into_iter()
            .map(|d| Choice {
                id: d.as_str().into(),
                label: convert::document_name(cfg, en, d).into(),
            })
            .collect();
        g.set_documents(ModelRc::new(VecModel::from(docs)));
        let mut number = String::new();
        match state {
            State::ChooseRegion { doc } => {
                let (home, others) = convert::region_choices(cfg, *doc, en);
                g.set_home_region(home);
                g.set_regions(ModelRc::new(VecModel::from(others)));
                g.set_doc_name(convert::document_name(cfg, en, *doc).into());
            }
            State::Consent { doc, region } => {
                let (zh, en_text) = cfg.consent_text(*doc, region);
                g.set_consent_text(if en { en_text } else { zh }.into());
                g.set_doc_name(convert::document_name(cfg, en, *doc).into());
            }
            State::Details {
                doc,
                region,
                errors,
                card,
            } => {
                let (state, message) = convert::card_state(en, card);
                g.set_card_state(state);
                g.set_card_message(message.into());
                let fields = cfg.spec_for(*doc, Some(region)).fields;
                g.set_needs_name(fields.contains(&Field::Name));
                g.set_needs_id(fields.contains(&Field::IdNumber));
                g.set_needs_mobile(fields.contains(&Field::Mobile));
                let text: Vec<&str> = errors.iter().map(|e| convert::pick(en, e.zh, e.en)).collect();
                g.set_details_error(text.join(if en { "; " } else { "；" }).into());
                g.set_doc_name(convert::document_name(cfg, en, *doc).into());
            }
            State::Posing {
                doc,
                region,
                hint,
                reasons,
            } => {
                g.set_hint(hint.as_ref().map(|h| convert::prompt(en, h)).unwrap_or_default().into());
                g.set_reasons(convert::prompts(en, reasons).into());
                let spec = cfg.spec_for(*doc, Some(region));
                let mut s = self.shown.borrow_mut();
                s.hold_still_s = spec.limits.hold_still_s;
                s.guide_spec = Some(spec);
            }
            State::ReviewPhoto { retakes_left, .. } => g.set_retakes_left(*retakes_left as i32),
            State::Printing { slip } | State::Done { slip: Some(slip) } => {
                number = self.show_slip(g, slip, token, en);
                g.set_can_another(matches!(slip, crate::domain::Slip::Receipt { .. }));
            }
            State::WaitingForPrinter { slip, fault } => {
                number = self.show_slip(g, slip, token, en);
                g.set_printer_fault(fault.plain(en).into());
            }
            State::Done { slip: None } => g.set_can_another(false),
            State::SeeStaff { reasons } => g.set_reasons(convert::prompts(en, reasons).into()),
            State::OutOfService { faults } => {
                let desk = if en {
                    &cfg.kiosk.help_desk_en
                } else {
                    &cfg.kiosk.help_desk_zh
                };
                g.set_help_desk(desk.clone().unwrap_or_default().into());
                let t: Vec<&str> = faults.iter().map(|d| convert::device_name(en, *d)).collect();
                g.set_faults(t.join(if en { ", " } else { "，" }).into());
            }
            _ => {}
        }
        if number.is_empty() {
            g.set_number(SharedString::new());
            g.set_has_qr(false);
            g.set_valid_until(SharedString::new());
            g.set_is_claim(false);
        }
    }

    /// Shows the slip's number and the QR a phone opens: the electronic receipt (with its
    /// token) or the claim page — the same URL the printed slip carries. No QR when the
    /// kiosk has no public address (embedded service) or no token.
    fn show_slip(
        &self,
        g: &AppState<'_>,
        slip: &crate::domain::Slip,
        token: Option<&crate::domain::ReceiptToken>,
        en: bool,
    ) -> String {
        let (number, valid, claim) = convert::slip_text(slip);
        g.set_next_steps(convert::next_steps(&self.cfg, slip, en).into());
        g.set_number(number.as_str().into());
        g.set_valid_until(valid.into());
        g.set_is_claim(claim);
        let qr = crate::receipt::model::screen_qr(&self.cfg, slip, token).and_then(|url| convert::qr_image(&url));
        g.set_has_qr(qr.is_some());
        g.set_qr(qr.unwrap_or_default());
        number
    }
}
