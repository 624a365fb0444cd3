//! The maintenance and operator overlay: PIN entry with lock-out, diagnostics, the paper
//! reload wizard, reprint and the daily counters export.

use super::bridge::Inner;
use super::generated::AppState;
use crate::ops::pin::{verify_pin, Lockout, PinError};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use std::path::PathBuf;

/// PIN pad states shown by `AppState.pin-state`.
const PIN_NONE: i32 = 0;
const PIN_WRONG: i32 = 1;
const PIN_LOCKED: i32 = 2;
const PIN_NOT_SET: i32 = 3;

#[derive(Default)]
pub struct Admin {
    lockout: Lockout,
    pin_state: i32,
    reload_step: i32,
    /// The operator reprint waiting for the runtime's answer (see `reprint.rs`).
    pub(super) reprint: Option<super::reprint::PendingReprint>,
}

impl Admin {
    pub fn locked_shown(&self) -> bool {
        self.pin_state == PIN_LOCKED
    }
}

impl Inner {
    fn now_ms(&self) -> u64 {
        self.clock.elapsed().as_millis() as u64
    }

    fn set_pin_state(&self, state: i32) {
        self.admin.borrow_mut().pin_state = state;
        self.window.global::<AppState>().set_pin_state(state);
        self.refresh_pin_wait();
    }

    pub(super) fn refresh_pin_wait(&self) {
        let left = self.admin.borrow().lockout.remaining_ms(self.now_ms());
        let g = self.window.global::<AppState>();
        g.set_pin_wait(left.div_ceil(1000) as i32);
        if left == 0 && self.admin.borrow().pin_state == PIN_LOCKED {
            self.admin.borrow_mut().pin_state = PIN_NONE;
            g.set_pin_state(PIN_NONE);
        }
    }

    /// The hidden corner was held for 5 s.
    pub(super) fn admin_open(&self) {
        let locked = self.admin.borrow().lockout.remaining_ms(self.now_ms()) > 0;
        self.set_pin_state(if locked { PIN_LOCKED } else { PIN_NONE });
        self.window.global::<AppState>().set_admin_page("pin".into());
    }

    pub(super) fn pin_entered(&self, pin: &str) {
        let now = self.now_ms();
        if self.admin.borrow().lockout.remaining_ms(now) > 0 {
            return self.set_pin_state(PIN_LOCKED);
        }
        match verify_pin(&self.cfg.kiosk.data_dir, pin) {
            Ok(ok) => {
                self.admin.borrow_mut().lockout.record(ok, now);
                if ok {
                    log::info!("admin: PIN accepted");
                    self.set_pin_state(PIN_NONE);
                    self.show_menu("");
                } else {
                    log::warn!("admin: wrong PIN");
                    let locked = self.admin.borrow().lockout.remaining_ms(now) > 0;
                    self.set_pin_state(if locked { PIN_LOCKED } else { PIN_WRONG });
                }
            }
            Err(e @ PinError::NotSet(_)) => {
                log::warn!("admin: {e}");
                self.set_pin_state(PIN_NOT_SET);
            }
            Err(e) => {
                log::error!("admin: {e}");
                self.set_pin_state(PIN_NOT_SET);
            }
        }
    }

    fn show_menu(&self, message: &str) {
        let g = self.window.global::<AppState>();
        g.set_admin_message(message.into());
        g.set_admin_lines(ModelRc::new(VecModel::from(self.diag_lines())));
        g.set_admin_page("menu".into());
    }

    pub(super) fn admin_action(&self, action: &str, arg: &str) {
        let g = self.window.global::<AppState>();
        match action {
            "close" => {
                g.set_admin_page(SharedString::new());
                g.set_admin_message(SharedString::new());
            }
            "menu" | "diag" => self.show_menu(""),
            "reload-start" => {
                self.admin.borrow_mut().reload_step = 0;
                g.set_reload_step(0);
                g.set_admin_message(SharedString::new());
                g.set_admin_page("reload".into());
            }
            "reload-next" => {
                let step = (self.admin.borrow().reload_step + 1).min(3);
                self.admin.borrow_mut().reload_step = step;
                g.set_reload_step(step);
            }
            "reload-test-print" => {
                self.kiosk.test_print();
                g.set_admin_message("测试打印已发送，请检查打印效果 / test print sent: check the slip".into());
            }
            "reload-finish" => {
                self.kiosk.printer_reloaded();
                log::info!("operator: paper reloaded, counter reset");
                self.show_menu("纸张计数已重置 / paper counter reset");
            }
            "reprint-start" => {
                g.set_admin_message(SharedString::new());
                g.set_admin_page("reprint".into());
            }
            "reprint" => self.reprint_request(arg),
            "export-csv" => {
                let msg = match self.export_today() {
                    Ok(p) => format!("已导出 / exported: {}", p.display()),
                    Err(e) => format!("导出失败 / export failed: {e}"),
                };
                self.show_menu(&msg);
            }
            other => log::error!("unknown admin action {other}"),
        }
    }

    /// Today's totals (written to disk first) as `exports/counters-YYYY-MM-DD.csv`.
    fn export_today(&self) -> Result<PathBuf, crate::ops::daily::DailyError> {
        let day = match self.daily.borrow_mut().as_mut() {
            Some(d) => {
                d.flush()?;
                d.day()
            }
            None => crate::ops::daily::today(),
        };
        crate::ops::daily::export_day(&self.cfg.kiosk.data_dir, &self.cfg.kiosk.id, day)
    }

    /// Everything the maintenance screen lists: device checks, counters, paper, logs.
    fn diag_lines(&self) -> Vec<SharedString> {
        let v = self.kiosk.view();
        let mut lines = vec![];
        for c in crate::ops::diag::device_checks(&self.cfg) {
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
            self.preview_fps()
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
        lines.push(match self.daily.borrow().as_ref() {
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
        });
        lines.push(match crate::ops::diag::outbox_depth(&self.cfg.kiosk.data_dir) {
            Ok(d) => format!(
                "发件箱 outbox: {} 待发送 not yet sent, {} 待审核 awaiting a decision",
                d.unsent, d.undecided
            ),
            Err(e) => format!("发件箱 outbox: 无法读取 cannot read — {e}"),
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
