//! The maintenance and operator overlay as one controller: PIN entry with lock-out,
//! diagnostics, the paper reload wizard, reprint by number and the daily counters export.
//! It knows the window's `AppState` and, through [`Operator`], only what it may ask of
//! the kiosk; the bridge implements that trait and forwards the overlay's callbacks.

use super::generated::{AdminAction, AdminPage, AppState, PinState};
use crate::config::Config;
use crate::domain::{Prompt, ReceiptNumber};
use crate::ops::pin::{verify_pin, Lockout, PinError};
use crate::runtime::View;
use slint::{ModelRc, SharedString, VecModel};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError};

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
    reload_step: i32,
    reprint: Option<PendingReprint>,
    /// A status refresh asked for by the diagnostics, not answered yet.
    refreshing: Option<Receiver<()>>,
    /// The last touch on an admin screen (for `kiosk.admin_idle_s`).
    touched: std::time::Instant,
}

impl AdminController {
    pub(super) fn new(cfg: &Config) -> AdminController {
        AdminController {
            cfg: cfg.clone(),
            lockout: Lockout::load(&cfg.kiosk.data_dir, wall_ms()),
            pin_state: PinState::None,
            reload_step: 0,
            reprint: None,
            refreshing: None,
            touched: std::time::Instant::now(),
        }
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
        let locked = self.lockout.remaining_ms(self.now_ms()) > 0;
        self.set_pin_state(g, if locked { PinState::LockedOut } else { PinState::None });
        g.set_admin_page(AdminPage::Pin);
    }

    /// Any touch on an admin screen.
    pub(super) fn touched(&mut self) {
        self.touched = std::time::Instant::now();
    }

    pub(super) fn pin_entered(&mut self, g: &AppState<'_>, op: &dyn Operator, pin: &str) {
        self.touched();
        let now = self.now_ms();
        if self.lockout.remaining_ms(now) > 0 {
            return self.set_pin_state(g, PinState::LockedOut);
        }
        match verify_pin(&self.cfg.kiosk.data_dir, pin) {
            Ok(ok) => {
                self.lockout.record(ok, now);
                if let Err(e) = self.lockout.save(&self.cfg.kiosk.data_dir) {
                    log::error!(
                        "admin: cannot save the PIN lock-out in {}: {e}. Fix: the data directory must be writable by the kiosk user",
                        self.cfg.kiosk.data_dir.display()
                    );
                }
                if ok {
                    log::info!("admin: PIN accepted");
                    self.set_pin_state(g, PinState::None);
                    self.show_menu(g, op, "");
                } else {
                    log::warn!("admin: wrong PIN");
                    let locked = self.lockout.remaining_ms(now) > 0;
                    self.set_pin_state(g, if locked { PinState::LockedOut } else { PinState::Wrong });
                }
            }
            Err(e @ PinError::NotSet(_)) => {
                log::warn!("admin: {e}");
                self.set_pin_state(g, PinState::NotSet);
            }
            Err(e) => {
                log::error!("admin: {e}");
                self.set_pin_state(g, PinState::NotSet);
            }
        }
    }

    fn show_menu(&self, g: &AppState<'_>, op: &dyn Operator, message: &str) {
        g.set_admin_message(message.into());
        g.set_admin_lines(ModelRc::new(VecModel::from(self.diag_lines(op))));
        g.set_admin_page(AdminPage::Menu);
    }

    pub(super) fn action(&mut self, g: &AppState<'_>, op: &dyn Operator, action: AdminAction) {
        self.touched();
        match action {
            AdminAction::Close => {
                g.set_admin_page(AdminPage::None);
                g.set_admin_message(SharedString::new());
            }
            AdminAction::Menu => self.show_menu(g, op, ""),
            AdminAction::Diag => {
                // Shows what is known now, and again once the runtime re-read the outbox.
                self.show_menu(g, op, "");
                self.refreshing = Some(op.refresh_status());
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
            g.set_admin_page(AdminPage::None);
            g.set_admin_message(SharedString::new());
            self.set_pin_state(g, PinState::None);
        }
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

    /// Everything the maintenance screen lists: device checks, counters, paper, logs.
    fn diag_lines(&self, op: &dyn Operator) -> Vec<SharedString> {
        let v = op.view();
        let mut lines = vec![];
        for c in crate::wiring::device_checks(&self.cfg) {
            // A live camera is owned by the runtime; its check would fight for the device.
            if c.name == "camera" && !matches!(self.cfg.devices.camera.device(), crate::config::Device::Replay { .. }) {
                continue;
            }
            let mark = if c.ok { "正常 ok" } else { "故障 FAIL" };
            let fix = c.fix.as_deref().map(|f| format!(" — {f}")).unwrap_or_default();
            lines.push(format!("{mark} {}: {}{fix}", c.name, c.detail));
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
