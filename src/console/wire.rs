//! What kiosks send the console, as JSON. Nothing here names a person: a heartbeat is the
//! kiosk's health, an event says what happened and, for a hand-off, its code and the checks
//! that kept failing (check ids, not photos).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Limits a heartbeat or event must keep (bigger is refused with 400).
pub const MAX_COUNTERS: usize = 32;
pub const MAX_TEXT: usize = 64;
pub const MAX_REASONS: usize = 16;
pub const MAX_EVENTS_PER_POST: usize = 100;

/// A device's health in a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Ok,
    Fault,
    /// Not fitted on this kiosk (no ID-card reader, say).
    Absent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterHealth {
    /// `ready`, or the printer's fault id (`paper_out`, `cover_open`, …).
    pub status: String,
    /// Paper left, per cent of a roll, when the kiosk counts it.
    pub paper_percent: Option<u8>,
    pub near_end: bool,
}

/// Sent every heartbeat interval. `seq` must grow from one heartbeat to the next (the
/// kiosk sends its clock in milliseconds): an older or repeated one is refused as a replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    pub kiosk_id: String,
    pub seq: u64,
    pub version: String,
    /// The session state's name (`attract`, `posing`, …).
    pub state: String,
    pub printer: PrinterHealth,
    pub camera: Health,
    pub idcard: Health,
    pub outbox_depth: u64,
    pub free_disk_mb: u64,
    /// Today's counters by name (`sessions`, `receipts`, `hand_offs`, …).
    pub counters: BTreeMap<String, u64>,
}

/// What happened on a kiosk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    CallStaff,
    HandOff,
    PaperNearEnd,
    PaperOut,
    PaperReloaded,
    PrinterFault,
    PrinterRecovered,
    CameraLost,
    CameraBack,
    ReviewUnreachable,
    ReviewBack,
    AdminLogin,
    PinFailed,
    PinLockedOut,
    Quarantine,
}

impl EventKind {
    /// Whether staff must act: such an event opens an alert until someone acknowledges it.
    pub fn alerts(self) -> bool {
        matches!(
            self,
            EventKind::CallStaff
                | EventKind::HandOff
                | EventKind::PaperNearEnd
                | EventKind::PaperOut
                | EventKind::PrinterFault
                | EventKind::CameraLost
                | EventKind::ReviewUnreachable
                | EventKind::PinLockedOut
                | EventKind::Quarantine
        )
    }

    pub fn id(self) -> &'static str {
        match self {
            EventKind::CallStaff => "call_staff",
            EventKind::HandOff => "hand_off",
            EventKind::PaperNearEnd => "paper_near_end",
            EventKind::PaperOut => "paper_out",
            EventKind::PaperReloaded => "paper_reloaded",
            EventKind::PrinterFault => "printer_fault",
            EventKind::PrinterRecovered => "printer_recovered",
            EventKind::CameraLost => "camera_lost",
            EventKind::CameraBack => "camera_back",
            EventKind::ReviewUnreachable => "review_unreachable",
            EventKind::ReviewBack => "review_back",
            EventKind::AdminLogin => "admin_login",
            EventKind::PinFailed => "pin_failed",
            EventKind::PinLockedOut => "pin_locked_out",
            EventKind::Quarantine => "quarantine",
        }
    }
}

/// One event. `seq` is the kiosk's queue position: the console stores each (kiosk, seq)
/// once, so a retry after a lost answer is harmless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KioskEvent {
    pub seq: u64,
    pub kind: EventKind,
    /// When it happened on the kiosk (RFC 3339).
    pub at: String,
    /// The screen the person was on, for call-staff and hand-off.
    #[serde(default)]
    pub screen: Option<String>,
    /// The hand-off code (six digits).
    #[serde(default)]
    pub code: Option<String>,
    /// The failing checks' ids, or the printer fault's id.
    #[serde(default)]
    pub reasons: Vec<String>,
}

/// `POST /v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    pub kiosk_id: String,
    pub events: Vec<KioskEvent>,
}

/// The answer to `POST /v1/events`: the highest seq now stored, so the kiosk may drop its
/// queue up to there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsAccepted {
    pub stored_up_to: u64,
    pub new: usize,
}

fn short(s: &str, what: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > MAX_TEXT || s.chars().any(char::is_control) {
        return Err(format!("{what}: 1–{MAX_TEXT} printable characters"));
    }
    Ok(())
}

impl Heartbeat {
    /// Bounds beyond what serde checks.
    pub fn validate(&self) -> Result<(), String> {
        short(&self.kiosk_id, "kiosk_id")?;
        short(&self.version, "version")?;
        short(&self.state, "state")?;
        short(&self.printer.status, "printer.status")?;
        if self.printer.paper_percent.is_some_and(|p| p > 100) {
            return Err("printer.paper_percent: 0–100".into());
        }
        if self.counters.len() > MAX_COUNTERS {
            return Err(format!("counters: at most {MAX_COUNTERS}"));
        }
        for k in self.counters.keys() {
            short(k, "counter name")?;
        }
        Ok(())
    }
}

impl EventBatch {
    pub fn validate(&self) -> Result<(), String> {
        short(&self.kiosk_id, "kiosk_id")?;
        if self.events.len() > MAX_EVENTS_PER_POST {
            return Err(format!("events: at most {MAX_EVENTS_PER_POST} per request"));
        }
        for e in &self.events {
            chrono::DateTime::parse_from_rfc3339(&e.at)
                .map_err(|_| format!("event {}: `at` is not RFC 3339", e.seq))?;
            if let Some(s) = &e.screen {
                short(s, "screen")?;
            }
            if let Some(c) = &e.code {
                if c.len() != 6 || !c.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("event {}: code must be six digits", e.seq));
                }
            }
            if e.reasons.len() > MAX_REASONS {
                return Err(format!("event {}: at most {MAX_REASONS} reasons", e.seq));
            }
            for r in &e.reasons {
                short(r, "reason")?;
            }
        }
        // In queue order: a batch out of order is a kiosk bug, refused rather than reordered.
        if self.events.windows(2).any(|w| w[0].seq >= w[1].seq) {
            return Err("events: seq must increase within a batch".into());
        }
        Ok(())
    }
}
