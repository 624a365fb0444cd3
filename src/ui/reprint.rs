//! The operator's reprint screen (issue #5): the number typed on the on-screen keypad is
//! handed to the runtime ([`crate::runtime::Kiosk::reprint`]), which fetches the receipt
//! again from the review service and prints it marked 补打. The answer comes back on a
//! channel polled by [`Inner::poll_reprint`] from the UI's sync, so the screen never
//! waits on the network.

use super::bridge::Inner;
use super::generated::AppState;
use crate::domain::{Prompt, ReceiptNumber};
use slint::ComponentHandle;
use std::sync::mpsc::{Receiver, TryRecvError};

/// A reprint asked of the runtime, not answered yet.
pub struct PendingReprint {
    number: ReceiptNumber,
    answer: Receiver<Result<(), Prompt>>,
}

impl Inner {
    /// 补打 pressed with `typed` in the number field.
    pub(super) fn reprint_request(&self, typed: &str) {
        let g = self.window.global::<AppState>();
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
        if self.admin.borrow().reprint.is_some() {
            g.set_admin_message("上一张补打尚未完成，请稍候 / the previous reprint is still running".into());
            return;
        }
        log::info!("operator: reprint of {number} requested");
        g.set_admin_message(format!("正在从审核中心取回执 {number}… / fetching receipt {number}…").into());
        let answer = self.kiosk.reprint(number.clone());
        self.admin.borrow_mut().reprint = Some(PendingReprint { number, answer });
    }

    /// Shows the runtime's answer once it arrived (called from every sync).
    pub(super) fn poll_reprint(&self) {
        let answer = {
            let admin = self.admin.borrow();
            let Some(p) = admin.reprint.as_ref() else { return };
            match p.answer.try_recv() {
                Ok(a) => Some((p.number.clone(), a)),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => None,
            }
        };
        self.admin.borrow_mut().reprint = None;
        let msg = match answer {
            Some((n, Ok(()))) => {
                format!("已补打回执 {n}，请在打印机处取回执 / receipt {n} reprinted: take it from the printer")
            }
            Some((_, Err(p))) => format!("补打失败：{} / reprint failed: {}", p.zh, p.en),
            None => "补打失败：运行时已停止 / reprint failed: the runtime stopped".into(),
        };
        self.window.global::<AppState>().set_admin_message(msg.into());
    }
}
