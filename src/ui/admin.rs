//! The maintenance and operator overlay as one controller: PIN entry with lock-out, the
//! first PIN set on the touchscreen with a one-time setup code, diagnostics (the camera's
//! through the runtime), the voice volume, the paper reload wizard, reprint by number and
//! the daily counters export.
//! It knows the window's `AppState` and, through [`Operator`], only what it may ask of
//! the kiosk; the bridge implements that trait and forwards the overlay's callbacks.

use super::generated::{AdminAction, AdminPage, AppState, PinState, PinStep};
use crate::config::{Config, Device};
use crate::domain::{Prompt, ReceiptNumber};
use crate::ops::pin::{verify_pin, Lockout, PinError};
use crate::ops::setup_code::{self, FirstPinError, SetupError};
use crate::ports::AdminEvent;
use crate::runtime::{CameraCheck, View};
use slint::{ModelRc, SharedString, VecModel};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError};
use zeroize::Zeroizing;

/// Frames the camera check borrows from the runtime's capture.
const CAMERA_CHECK_FRAMES: u32 = 10;

/// What the maintenance screens may ask of the running kiosk.
pub(super) trait Operator {
    /// The runtime's latest view (counters, paper, outbox).
    fn view(&self) -> View;
    fn test_print(&self);
    /// The operator finished the paper-reload wizard.
    fn printer_reloaded(&self);
    /// Asks the runtime to re-read the printer's paper and the outbox; the channel
    /// answers once the view holds the fresh figures.
    fn refresh_status(&self) -> Receiver<()>;
    /// Queues a reprint by number; the answer arrives on the channel once fetched.
    fn reprint(&self, number: ReceiptNumber) -> Receiver<Result<(), Prompt>>;
    /// Preview frames per second of the last posing screen.
    fn preview_fps(&self) -> f32;
    /// Today's totals as `exports/counters-YYYY-MM-DD.csv` (written to disk first).
    fn export_today(&self) -> Result<PathBuf, crate::ops::daily::DailyError>;
    /// Today's totals, one line for the diagnostics.
    fn daily_line(&self) -> String;
    /// Sets the voice volume (0–100) on the live sink and plays the chime at it.
    fn set_volume(&self, volume: u8);
    /// The camera check on the runtime's own camera; answered on the channel.
    fn check_camera(&self, frames: u32) -> Receiver<CameraCheck>;
    /// Tells the hall console (admin login, failed PIN, lock-out).
    fn admin_event(&self, e: AdminEvent);
}

/// A reprint asked of the runtime, not answered yet: the screen never waits on the
/// network; [`AdminController::tick`] shows the answer once it came.
struct PendingReprint {
    number: ReceiptNumber,
    answer: Receiver<Result<(), Prompt>>,
}

pub(super) struct AdminController {
    cfg: Config,
    lockout: Lockout,
    pin_state: PinState,
    pin_step: PinStep,
    /// The setup code accepted on this visit of the pad, until the first PIN is set.
    setup_code: Option<Zeroizing<String>>,
    /// The new PIN typed once, waiting to be typed again.
    new_pin: Option<Zeroizing<String>>,
    /// The voice volume shown on the menu (saved, else the config's).
    volume: u8,
    /// The volume saved by the admin menu, which overrides `[audio] volume` at start-up.
    saved_volume: Option<u8>,
    /// A camera check asked of the runtime, not answered yet, and the last answer.
    camera_pending: Option<Receiver<CameraCheck>>,
    camera_last: Option<CameraCheck>,
    reload_step: i32,
    reprint: Option<PendingReprint>,
    /// A status refresh asked for by the diagnostics, not answered yet.
    refreshing: Option<Receiver<()>>,
    /// The last touch on an admin screen (for `kiosk.admin_idle_s`).
    touched: std::time::Instant,
}

impl AdminController {
    pub(super) fn new(cfg: &Config) -> AdminController {
        let saved_volume = crate::ops::volume::load(&cfg.kiosk.data_dir);
        AdminController {
            cfg: cfg.clone(),
            lockout: Lockout::load(&cfg.kiosk.data_dir, wall_ms()),
            pin_state: PinState::None,
            pin_step: PinStep::Enter,
            setup_code: None,
            new_pin: None,
            volume: saved_volume.unwrap_or(cfg.audio.volume),
            saved_volume,
            camera_pending: None,
            camera_last: None,
            reload_step: 0,
            reprint: None,
            refreshing: None,
            touched: std::time::Instant::now(),
        }
    }

    /// The volume the admin menu saved, to apply to the sink at start-up (it overrides
    /// the config's `[audio] volume`); `None` when none was saved or the file is unreadable.
    pub(super) fn startup_volume(&self) -> Option<u8> {
        self.saved_volume
    }

    /// Wall-clock time for the lock-out, which outlives the process (see [`Lockout::load`]).
    fn now_ms(&self) -> u64 {
        wall_ms()
    }

    fn set_pin_state(&mut self, g: &AppState<'_>, state: PinState) {
        self.pin_state = state;
        g.set_pin_state(state);
        self.refresh_pin_wait(g);
    }

    fn refresh_pin_wait(&mut self, g: &AppState<'_>) {
        let left = self.lockout.remaining_ms(self.now_ms());
        g.set_pin_wait(left.div_ceil(1000) as i32);
        if left == 0 && self.pin_state == PinState::LockedOut {
            self.pin_state = PinState::None;
            g.set_pin_state(PinState::None);
        }
    }

    /// The hidden corner was held for 5 s.
    pub(super) fn open(&mut self, g: &AppState<'_>) {
        self.touched();
        self.forget_setup();
        let step = self.first_step();
        self.set_pin_step(g, step);
        let locked = self.lockout.remaining_ms(self.now_ms()) > 0;
        self.set_pin_state(g, if locked { PinState::LockedOut } else { PinState::None });
        g.set_admin_page(AdminPage::Pin);
    }

    /// Where the pad starts: the PIN when one is set; else setting the first one, with
    /// the console's setup code unless this is a demo.
    fn first_step(&self) -> PinStep {
        if crate::ops::pin::pin_path(&self.cfg.kiosk.data_dir).exists() {
            PinStep::Enter
        } else if self.cfg.kiosk.demo {
            PinStep::NewPin
        } else {
            PinStep::SetupCode
        }
    }

    fn set_pin_step(&mut self, g: &AppState<'_>, step: PinStep) {
        self.pin_step = step;
        g.set_pin_step(step);
    }

    /// Drops an accepted setup code and a half-set PIN (the pad closed).
    fn forget_setup(&mut self) {
        self.setup_code = None;
        self.new_pin = None;
    }

    /// Closes the overlay; a first PIN half set starts again from the code next time.
    fn close(&mut self, g: &AppState<'_>) {
        self.forget_setup();
        g.set_admin_page(AdminPage::None);
        g.set_admin_message(SharedString::new());
    }

    /// Any touch on an admin screen.
    pub(super) fn touched(&mut self) {
        self.touched = std::time::Instant::now();
    }

    /// 确定 on the PIN pad with `typed`: what it means depends on the step.
    pub(super) fn pin_entered(&mut self, g: &AppState<'_>, op: &dyn Operator, typed: &str) {
        self.touched();
        match self.pin_step {
            PinStep::Enter => self.check_pin(g, op, typed),
            PinStep::SetupCode => self.check_setup_code(g, op, typed),
            PinStep::NewPin => self.take_new_pin(g, typed),
            PinStep::ConfirmPin => self.confirm_new_pin(g, op, typed),
        }
    }

    /// Counts a try (PIN or setup code) in the lock-out, on disk too.
    fn record_try(&mut self, ok: bool, now: u64) {
        self.lockout.record(ok, now);
        if let Err(e) = self.lockout.save(&self.cfg.kiosk.data_dir) {
            log::error!(
                "admin: cannot save the PIN lock-out in {}: {e}. Fix: the data directory must be writable by the kiosk user",
                self.cfg.kiosk.data_dir.display()
            );
        }
    }

    fn check_pin(&mut self, g: &AppState<'_>, op: &dyn Operator, pin: &str) {
        let now = self.now_ms();
        if self.lockout.remaining_ms(now) > 0 {
            return self.set_pin_state(g, PinState::LockedOut);
        }
        match verify_pin(&self.cfg.kiosk.data_dir, pin) {
            Ok(ok) => {
                self.record_try(ok, now);
                if ok {
                    log::info!("admin: PIN accepted");
                    op.admin_event(AdminEvent::Login);
                    self.set_pin_state(g, PinState::None);
                    self.ask_camera(op);
                    self.show_menu(g, op, "");
                } else {
                    log::warn!("admin: wrong PIN");
                    op.admin_event(AdminEvent::PinFailed);
                    let locked = self.lockout.remaining_ms(now) > 0;
                    if locked {
                        op.admin_event(AdminEvent::LockedOut);
                    }
                    self.set_pin_state(g, if locked { PinState::LockedOut } else { PinState::Wrong });
                }
            }
            Err(e @ PinError::NotSet(_)) => {
                // Removed on the console while the pad was open: set the first one.
                log::warn!("admin: {e}");
                let step = self.first_step();
                self.set_pin_step(g, step);
                self.set_pin_state(g, PinState::None);
            }
            Err(e) => {
                log::error!("admin: {e}");
                self.set_pin_state(g, PinState::Unreadable);
            }
        }
    }

    /// The console's one-time setup code: wrong codes count in the PIN's lock-out.
    fn check_setup_code(&mut self, g: &AppState<'_>, op: &dyn Operator, code: &str) {
        let now = self.now_ms();
        if self.lockout.remaining_ms(now) > 0 {
            return self.set_pin_state(g, PinState::LockedOut);
        }
        match setup_code::check(&self.cfg.kiosk.data_dir, code, now) {
            Ok(()) => {
                self.record_try(true, now);
                log::info!("admin: setup code accepted; waiting for the new PIN");
                self.setup_code = Some(Zeroizing::new(code.to_string()));
                self.set_pin_step(g, PinStep::NewPin);
                self.set_pin_state(g, PinState::None);
            }
            Err(SetupError::Wrong) => {
                self.record_try(false, now);
                log::warn!("admin: wrong setup code");
                op.admin_event(AdminEvent::SetupCodeFailed);
                let locked = self.lockout.remaining_ms(now) > 0;
                if locked {
                    op.admin_event(AdminEvent::LockedOut);
                }
                self.set_pin_state(
                    g,
                    if locked {
                        PinState::LockedOut
                    } else {
                        PinState::WrongCode
                    },
                );
            }
            Err(e) => self.setup_refused(g, &e),
        }
    }

    /// A setup code refused for another reason than a wrong guess (nothing to count),
    /// or found gone or replaced when the new PIN was to be set.
    fn setup_refused(&mut self, g: &AppState<'_>, e: &SetupError) {
        self.forget_setup();
        if let SetupError::PinAlreadySet(_) = e {
            // Set on the console meanwhile: ask for it.
            log::info!("admin: {e}");
            self.set_pin_step(g, PinStep::Enter);
            return self.set_pin_state(g, PinState::None);
        }
        let state = match e {
            SetupError::Expired(_) => PinState::CodeExpired,
            SetupError::Wrong => PinState::WrongCode,
            _ => PinState::NoCode,
        };
        if matches!(e, SetupError::Corrupt(_) | SetupError::Write { .. }) {
            log::error!("admin: {e}");
        } else {
            log::warn!("admin: {e}");
        }
        self.set_pin_step(g, PinStep::SetupCode);
        self.set_pin_state(g, state);
    }

    fn take_new_pin(&mut self, g: &AppState<'_>, pin: &str) {
        if !(6..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return self.set_pin_state(g, PinState::BadFormat);
        }
        self.new_pin = Some(Zeroizing::new(pin.to_string()));
        self.set_pin_step(g, PinStep::ConfirmPin);
        self.set_pin_state(g, PinState::None);
    }

    /// The new PIN typed the second time: set when both match (with the setup code, or
    /// freely in demo mode), then the menu opens.
    fn confirm_new_pin(&mut self, g: &AppState<'_>, op: &dyn Operator, pin: &str) {
        let Some(first) = self.new_pin.take() else {
            return self.set_pin_step(g, PinStep::NewPin);
        };
        if first.as_str() != pin {
            log::warn!("admin: the new PIN was typed differently the second time");
            self.set_pin_step(g, PinStep::NewPin);
            return self.set_pin_state(g, PinState::Mismatch);
        }
        let dir = &self.cfg.kiosk.data_dir;
        let result = match &self.setup_code {
            Some(code) => setup_code::set_first_pin(dir, code, pin, self.now_ms()),
            None if self.cfg.kiosk.demo => match crate::ops::pin::pin_path(dir) {
                p if p.exists() => Err(FirstPinError::Code(SetupError::PinAlreadySet(p))),
                _ => crate::ops::pin::set_pin(dir, pin).map_err(FirstPinError::Pin),
            },
            None => Err(FirstPinError::Code(SetupError::NoCode(setup_code::setup_path(dir)))),
        };
        match result {
            Ok(()) => {
                setup_code::consume(dir);
                log::info!(
                    "admin: first admin PIN set on the touchscreen ({})",
                    if self.setup_code.is_some() {
                        "setup code used up"
                    } else {
                        "demo mode"
                    }
                );
                self.forget_setup();
                op.admin_event(AdminEvent::Login);
                self.set_pin_step(g, PinStep::Enter);
                self.set_pin_state(g, PinState::None);
                self.ask_camera(op);
                self.show_menu(g, op, "管理密码已设置 / admin PIN set");
            }
            Err(FirstPinError::Code(e)) => self.setup_refused(g, &e),
            Err(FirstPinError::Pin(e)) => {
                log::error!("admin: {e}");
                self.set_pin_step(g, PinStep::NewPin);
                self.set_pin_state(g, PinState::SaveFailed);
            }
        }
    }

    /// 音量 −10 / +10: the live sink at once (with the chime at the new volume), and saved
    /// for the next start.
    fn change_volume(&mut self, g: &AppState<'_>, op: &dyn Operator, up: bool) {
        let v = crate::ops::volume::step(self.volume, up);
        self.volume = v;
        g.set_volume(i32::from(v));
        op.set_volume(v);
        log::info!("admin: voice volume set to {v}");
        let msg = match crate::ops::volume::save(&self.cfg.kiosk.data_dir, v) {
            Err(e) => {
                let path = crate::ops::volume::volume_path(&self.cfg.kiosk.data_dir);
                log::error!(
                    "admin: cannot save the volume in {}: {e}. Fix: the data directory must be writable by the kiosk user",
                    path.display()
                );
                format!("音量已调整，但未能保存（重启后恢复） / volume changed but not saved: {e}")
            }
            Ok(()) if self.cfg.audio.mute => {
                "配置文件中已关闭声音（[audio] mute），此设置不起作用 / voice is off in the config ([audio] mute): no effect".into()
            }
            Ok(()) => String::new(),
        };
        g.set_admin_message(msg.into());
    }

    /// Asks the runtime for a camera check, unless one is on its way. A replay is opened
    /// on its own instead (see [`Self::camera_line`]).
    fn ask_camera(&mut self, op: &dyn Operator) {
        if self.camera_pending.is_none() && !self.replay_camera() {
            self.camera_pending = Some(op.check_camera(CAMERA_CHECK_FRAMES));
        }
    }

    fn replay_camera(&self) -> bool {
        matches!(self.cfg.devices.camera.device(), Device::Replay { .. })
    }

    fn show_menu(&self, g: &AppState<'_>, op: &dyn Operator, message: &str) {
        g.set_volume(i32::from(self.volume));
        g.set_admin_message(message.into());
        g.set_admin_lines(ModelRc::new(VecModel::from(self.diag_lines(op))));
        g.set_admin_page(AdminPage::Menu);
    }

    pub(super) fn action(&mut self, g: &AppState<'_>, op: &dyn Operator, action: AdminAction) {
        self.touched();
        match action {
            AdminAction::Close => self.close(g),
            AdminAction::Menu => self.show_menu(g, op, ""),
            AdminAction::Diag => {
                // Shows what is known now, and again once the runtime re-read the outbox
                // (and checked the camera).
                self.ask_camera(op);
                self.show_menu(g, op, "");
                self.refreshing = Some(op.refresh_status());
            }
            AdminAction::VolumeDown | AdminAction::VolumeUp => {
                self.change_volume(g, op, action == AdminAction::VolumeUp);
            }
            AdminAction::ReloadStart => {
                self.reload_step = 0;
                g.set_reload_step(0);
                g.set_admin_message(SharedString::new());
                g.set_admin_page(AdminPage::Reload);
            }
            AdminAction::ReloadNext => {
                self.reload_step = (self.reload_step + 1).min(3);
                g.set_reload_step(self.reload_step);
            }
            AdminAction::ReloadTestPrint => {
                op.test_print();
                g.set_admin_message("测试打印已发送，请检查打印效果 / test print sent: check the slip".into());
            }
            AdminAction::ReloadFinish => {
                op.printer_reloaded();
                log::info!("operator: paper reloaded, counter reset");
                self.show_menu(g, op, "纸张计数已重置 / paper counter reset");
            }
            AdminAction::ReprintStart => {
                g.set_admin_message(SharedString::new());
                g.set_admin_page(AdminPage::Reprint);
            }
            AdminAction::ExportCsv => {
                let msg = match op.export_today() {
                    Ok(p) => format!("已导出 / exported: {}", p.display()),
                    Err(e) => format!("导出失败 / export failed: {e}"),
                };
                self.show_menu(g, op, &msg);
            }
        }
    }

    /// 补打 pressed with `typed` in the number field: handed to the runtime, which
    /// fetches the receipt again from the review service and prints it marked 补打.
    pub(super) fn reprint_request(&mut self, g: &AppState<'_>, op: &dyn Operator, typed: &str) {
        self.touched();
        let typed = typed.trim();
        if typed.is_empty() {
            g.set_admin_message("请先输入回执号 / enter the receipt number first".into());
            return;
        }
        let number = match ReceiptNumber::new(typed) {
            Ok(n) => n,
            Err(_) => {
                g.set_admin_message("回执号格式不正确 / not a receipt number".into());
                return;
            }
        };
        if self.reprint.is_some() {
            g.set_admin_message("上一张补打尚未完成，请稍候 / the previous reprint is still running".into());
            return;
        }
        log::info!("operator: reprint of {number} requested");
        g.set_admin_message(format!("正在从审核中心取回执 {number}… / fetching receipt {number}…").into());
        let answer = op.reprint(number.clone());
        self.reprint = Some(PendingReprint { number, answer });
    }

    /// Called from every UI sync: the lock-out countdown, fresh diagnostics and a
    /// reprint's answer once they arrived.
    pub(super) fn tick(&mut self, g: &AppState<'_>, op: &dyn Operator) {
        let idle = std::time::Duration::from_secs(u64::from(self.cfg.kiosk.admin_idle_s));
        if g.get_admin_page() != AdminPage::None && self.touched.elapsed() >= idle {
            log::info!("admin: closed after {} s untouched", idle.as_secs());
            self.close(g);
            self.set_pin_state(g, PinState::None);
        }
        self.poll_camera(g, op);
        if self.pin_state == PinState::LockedOut {
            self.refresh_pin_wait(g);
        }
        if let Some(r) = &self.refreshing {
            match r.try_recv() {
                Ok(()) | Err(TryRecvError::Disconnected) => {
                    self.refreshing = None;
                    if g.get_admin_page() == AdminPage::Menu {
                        g.set_admin_lines(ModelRc::new(VecModel::from(self.diag_lines(op))));
                    }
                }
                Err(TryRecvError::Empty) => {}
            }
        }
        let answer = {
            let Some(p) = self.reprint.as_ref() else { return };
            match p.answer.try_recv() {
                Ok(a) => Some((p.number.clone(), a)),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => None,
            }
        };
        self.reprint = None;
        let msg = match answer {
            Some((n, Ok(()))) => {
                format!("已补打回执 {n}，请在打印机处取回执 / receipt {n} reprinted: take it from the printer")
            }
            Some((_, Err(p))) => format!("补打失败：{} / reprint failed: {}", p.zh, p.en),
            None => "补打失败：运行时已停止 / reprint failed: the runtime stopped".into(),
        };
        g.set_admin_message(msg.into());
    }

    /// The runtime's answer to the camera check, once it came: the menu shows it.
    fn poll_camera(&mut self, g: &AppState<'_>, op: &dyn Operator) {
        let Some(rx) = &self.camera_pending else { return };
        let answer = match rx.try_recv() {
            Ok(c) => c,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => CameraCheck::Failed {
                device: self.cfg.devices.camera.to_string(),
                reason: "the runtime stopped".into(),
            },
        };
        self.camera_pending = None;
        self.camera_last = Some(answer);
        if g.get_admin_page() == AdminPage::Menu {
            g.set_admin_lines(ModelRc::new(VecModel::from(self.diag_lines(op))));
        }
    }

    /// The camera's diagnostics line. A replay is opened on its own (nothing to fight
    /// over). A V4L camera belongs to the runtime's capture thread for the kiosk's whole
    /// life, so a second open would fight it for the device: its frames are borrowed from
    /// the runtime instead, while no one is posing (`runtime::Engine::check_camera`).
    fn camera_line(&self) -> String {
        if self.replay_camera() {
            return check_line(&crate::wiring::checks::camera(&self.cfg));
        }
        if self.camera_pending.is_some() {
            return format!("检查中 checking camera: {} …", self.cfg.devices.camera);
        }
        match &self.camera_last {
            Some(CameraCheck::Ok {
                device,
                frames,
                ms,
                width,
                height,
            }) => format!(
                "正常 ok camera: {device}: {width}x{height}, {frames} frames in {ms} ms ({:.1} fps read rate), read from the running kiosk's capture",
                f64::from(*frames) * 1000.0 / (*ms).max(1) as f64
            ),
            Some(CameraCheck::Failed { device, reason }) => {
                format!("故障 FAIL camera: {device}: {reason} — check the camera cable; replug it")
            }
            Some(CameraCheck::Busy { device }) => format!(
                "摄像头 camera: {device}: 正在为顾客拍照，稍后再点刷新诊断 in use by a session: refresh later"
            ),
            None => format!("摄像头 camera: {}: 未检查 not checked", self.cfg.devices.camera),
        }
    }

    /// Everything the maintenance screen lists: device checks, counters, paper, logs.
    fn diag_lines(&self, op: &dyn Operator) -> Vec<SharedString> {
        let v = op.view();
        let mut lines = vec![];
        for c in crate::wiring::checks::device_checks_but_camera(&self.cfg) {
            lines.push(check_line(&c));
            if c.name == "storage" {
                lines.push(self.camera_line());
            }
        }
        lines.push(format!(
            "摄像头预览 camera preview: {:.1} fps (last posing)",
            op.preview_fps()
        ));
        lines.push(format!(
            "纸张 paper: {} slips since reload, {} spoiled, ~{} mm left{}",
            v.paper.slips_since_reload,
            v.paper.spoiled_since_reload,
            v.paper.estimated_left_mm,
            if v.paper.near_end { ", NEAR END" } else { "" }
        ));
        let c = &v.counters;
        lines.push(format!(
            "统计 counters: sessions {}, receipts {}, claims {}, retakes {}, rejections {}, captures {}",
            c.sessions, c.receipts, c.claims, c.retakes, c.rejections, c.captures
        ));
        if !c.hints.is_empty() {
            let by: Vec<String> = c.hints.iter().map(|(k, n)| format!("{k} {n}")).collect();
            lines.push(format!("失败项 failures by check: {}", by.join(", ")));
        }
        lines.push(op.daily_line());
        lines.push(match v.outbox {
            Some(d) if d.quarantined > 0 => format!(
                "发件箱 outbox: {} 待发送 not yet sent, {} 待审核 awaiting a decision, {} 无法发送请处理 can never be sent: run kiosk diag",
                d.unsent, d.undecided, d.quarantined
            ),
            Some(d) => format!(
                "发件箱 outbox: {} 待发送 not yet sent, {} 待审核 awaiting a decision",
                d.unsent, d.undecided
            ),
            None => "发件箱 outbox: 无法读取，见日志 cannot read, see the log".into(),
        });
        lines.push(format!("版本 version: kiosk {}", env!("CARGO_PKG_VERSION")));
        lines.extend(recent_log_lines(12));
        lines.into_iter().map(SharedString::from).collect()
    }
}

/// One device check as a diagnostics line.
fn check_line(c: &crate::wiring::Check) -> String {
    let mark = if c.ok { "正常 ok" } else { "故障 FAIL" };
    let fix = c.fix.as_deref().map(|f| format!(" — {f}")).unwrap_or_default();
    format!("{mark} {}: {}{fix}", c.name, c.detail)
}

/// The last `n` kiosk log lines from the logger's in-memory ring (redacted when logged,
/// masked again here: belt and braces), newest last.
fn recent_log_lines(n: usize) -> Vec<String> {
    let lines = crate::ops::logging::recent(n);
    if lines.is_empty() {
        return vec!["日志 log: 暂无 none yet".into()];
    }
    lines
        .iter()
        .map(|l| format!("日志 log: {}", crate::ops::logging::redact(l)))
        .collect()
}

fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
