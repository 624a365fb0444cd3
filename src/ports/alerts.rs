//! The staff-alert port (issue #14 §4): 呼叫工作人员 and every hand-off go through it.
//! The hall console (issue #16) is the real backend; without one the kiosk must never
//! claim that staff were reached.

use crate::domain::{HandOffCode, PrinterFault, Prompt};
use std::collections::BTreeMap;

/// Why staff are wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// The person pressed 呼叫工作人员.
    CallStaff,
    /// The kiosk gave up (posing kept failing, the upload was refused) and printed a
    /// hand-off slip.
    HandOff,
    /// Outbox rows that can never be sent were quarantined (nobody is at the kiosk
    /// for them; staff run `kiosk diag`).
    Quarantine,
}

impl AlertKind {
    pub fn id(self) -> &'static str {
        match self {
            AlertKind::CallStaff => "call_staff",
            AlertKind::HandOff => "hand_off",
            AlertKind::Quarantine => "quarantine",
        }
    }
}

/// Something done on the maintenance screens that the hall's staff should know of (a
/// stranger trying PINs on a kiosk is a security matter, not only a forgotten code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminEvent {
    /// The right PIN: someone is on the maintenance screens.
    Login,
    /// A wrong PIN.
    PinFailed,
    /// A wrong one-time setup code (it counts in the same lock-out).
    SetupCodeFailed,
    /// Too many wrong tries: the pad is locked for a while.
    LockedOut,
}

impl AdminEvent {
    pub fn id(self) -> &'static str {
        match self {
            AdminEvent::Login => "admin_login",
            AdminEvent::PinFailed => "pin_failed",
            AdminEvent::SetupCodeFailed => "setup_code_failed",
            AdminEvent::LockedOut => "pin_locked_out",
        }
    }
}

/// One alert. It names no person: the kiosk, the screen, the hand-off code and what
/// kept failing are all staff need to walk over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub kind: AlertKind,
    pub kiosk_id: String,
    /// The screen the person was on (`posing`, `see-staff`, …).
    pub screen: &'static str,
    pub code: Option<HandOffCode>,
    pub reasons: Vec<Prompt>,
    pub at: chrono::DateTime<chrono::FixedOffset>,
}

/// The kiosk's health, as a hall console's heartbeat carries it. No personal data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HallStatus {
    /// The session state's name.
    pub state: &'static str,
    pub printer_fault: Option<PrinterFault>,
    pub paper_near_end: bool,
    pub paper_left_mm: u32,
    pub camera_ok: bool,
    /// The review service answered the last upload or status check.
    pub review_ok: bool,
    /// `None`: no ID-card reader fitted.
    pub idcard_ok: Option<bool>,
    pub outbox_depth: u64,
    /// Today's counters by name (`sessions`, `receipts`, `hand_offs`, …).
    pub counters: BTreeMap<String, u64>,
}

/// What became of an alert; only [`AlertOutcome::Accepted`] lets the screen say
/// 已呼叫工作人员.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertOutcome {
    /// A console took it: staff will see it.
    Accepted,
    /// No console is configured: nobody was told.
    NoConsole,
    /// The console could not be reached or refused it (the reason, for the log).
    Failed(String),
}

impl AlertOutcome {
    pub fn reached_staff(&self) -> bool {
        matches!(self, AlertOutcome::Accepted)
    }
}

/// Delivers alerts to whoever watches the hall. `raise` returns within the backend's
/// own bounded timeout: the engine thread waits for it.
pub trait Alerts: Send {
    fn raise(&mut self, alert: &Alert) -> AlertOutcome;
    /// The kiosk's health now (the engine calls this about once a second): the console
    /// backend sends it as the heartbeat and turns changes (paper out, camera lost, …)
    /// into events. Returns at once.
    fn status(&mut self, _status: &HallStatus) {}
    /// A maintenance-screen event (admin login, failed PIN, lock-out): queued for the
    /// console, never waited for. Without a console it is only in the log.
    fn admin(&mut self, _event: AdminEvent) {}
    /// The destination, for logs and `diag` (`none`, a console URL).
    fn describe(&self) -> String;
}

/// No hall console: every alert is logged for the maintenance log and reported as not
/// delivered, so the screen sends the person to the service desk instead.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoConsole;

impl Alerts for NoConsole {
    fn raise(&mut self, alert: &Alert) -> AlertOutcome {
        log::warn!(
            "staff alert {} on screen {} (code {}) not delivered: no hall console is configured",
            alert.kind.id(),
            alert.screen,
            alert.code.as_ref().map_or("-", |c| c.as_str())
        );
        AlertOutcome::NoConsole
    }
    fn describe(&self) -> String {
        "none".into()
    }
}
