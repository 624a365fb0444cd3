//! Staff alerts from the engine: the person's own (呼叫工作人员, a hand-off), shown on
//! their screen, and the kiosk's (an outbox row quarantined), which only staff see.

use super::Engine;
use crate::domain::{HandOffCode, Prompt};
use crate::ports::{Alert, AlertKind, AlertOutcome, HallStatus};
use crate::session::{Device, State};
use std::time::{Duration, Instant};

impl Engine {
    /// Raises a staff alert for the person on screen and remembers what became of it.
    /// Without a console that took it, a chime and 请到服务台求助: never a claim that
    /// staff come.
    pub(super) fn alert(&mut self, kind: AlertKind, code: Option<HandOffCode>, reasons: Vec<Prompt>) {
        let outcome = self.raise(kind, self.session.state().name(), code, reasons);
        if !outcome.reached_staff() {
            self.speech.push("chime".into());
            self.speech.push("see_desk".into());
        }
        self.overlay.staff_call = Some(outcome);
    }

    /// Alerts staff when more outbox rows were quarantined since the last look. The
    /// first look (at start) only sets the baseline: rows quarantined by an earlier run
    /// are reported by the start-up check and `kiosk diag`, not re-alerted at every
    /// restart. A person still waiting for such a row is handed off (and alerted) by the
    /// session; this alert is for the rows nobody waits for any more.
    pub(super) fn watch_quarantine(&mut self, quarantined: usize) {
        let seen = self.telemetry.quarantined_seen.replace(quarantined);
        let Some(seen) = seen else { return };
        if quarantined > seen {
            let n = quarantined - seen;
            let reason = Prompt::new(
                "upload_quarantined",
                &format!("有{n}份照片无法送审，请运行 kiosk diag 查看"),
                &format!("{n} submission(s) can never be sent: see kiosk diag"),
            );
            self.raise(AlertKind::Quarantine, "outbox", None, vec![reason]);
        }
    }

    fn raise(
        &mut self,
        kind: AlertKind,
        screen: &'static str,
        code: Option<HandOffCode>,
        reasons: Vec<Prompt>,
    ) -> AlertOutcome {
        let alert = Alert {
            kind,
            kiosk_id: self.cfg.kiosk.id.clone(),
            screen,
            code,
            reasons,
            at: chrono::Utc::now().with_timezone(&crate::domain::china_time()),
        };
        let outcome = self.b.alerts.raise(&alert);
        match &outcome {
            AlertOutcome::Accepted => log::info!("staff alert {} accepted by {}", kind.id(), self.b.alerts.describe()),
            AlertOutcome::NoConsole => {}
            AlertOutcome::Failed(why) => {
                log::warn!(
                    "staff alert {} not delivered to {}: {why}",
                    kind.id(),
                    self.b.alerts.describe()
                )
            }
        }
        outcome
    }

    /// A maintenance-screen event, for the hall console (and the log).
    pub fn admin_event(&mut self, e: crate::ports::AdminEvent) {
        log::info!("admin event {} (to {})", e.id(), self.b.alerts.describe());
        self.b.alerts.admin(e);
    }

    /// Hands the kiosk's health to the alerts backend (the hall console's heartbeat and
    /// its device events), at most once a second. Called from the engine's loop.
    pub fn publish_status(&mut self) {
        if self
            .telemetry
            .status_sent
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        self.telemetry.status_sent = Some(Instant::now());
        let state = self.session.state();
        let down = |d: Device| matches!(state, State::OutOfService { faults } if faults.contains(&d));
        let c = &self.telemetry.counters;
        let counters = [
            ("sessions", c.sessions),
            ("receipts", c.receipts),
            ("claims", c.claims),
            ("retakes", c.retakes),
            ("rejections", c.rejections),
            ("captures", c.captures),
            ("hand_offs", c.hand_offs),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let status = HallStatus {
            state: state.name(),
            printer_fault: self.telemetry.printer_fault,
            paper_near_end: self.telemetry.paper.near_end,
            paper_left_mm: self.telemetry.paper.estimated_left_mm,
            camera_ok: !down(Device::Camera),
            review_ok: !down(Device::ReviewService),
            idcard_ok: self.b.idcard.as_ref().map(|_| true),
            outbox_depth: self.telemetry.outbox.map_or(0, |o| o.entries as u64),
            counters,
        };
        self.b.alerts.status(&status);
    }
}
