//! The kiosk's end of the hall console: [`ConsoleAlerts`], the `Alerts` backend. Alerts and
//! device events go into the durable [`EventQueue`] first; a thread of its own sends them
//! in order (`POST /v1/events`, retried every `retry_s` while the console is away) and a
//! heartbeat every `heartbeat_s`. Heartbeats are never queued: a late one is worthless,
//! the next one replaces it. 呼叫工作人员 waits up to `alert_wait_ms` for the console's
//! answer, so the screen says 已呼叫工作人员 only when staff really have it.

use super::queue::{event, EventQueue};
use super::wire::{EventKind, EventsAccepted, Health, Heartbeat, PrinterHealth};
use crate::domain::PrinterFault;
use crate::ports::{AdminEvent, Alert, AlertKind, AlertOutcome, Alerts, HallStatus};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Where and how the kiosk talks to its console (from `[console]`).
#[derive(Clone)]
pub struct LinkSettings {
    /// `https://host:port`, no trailing slash.
    pub url: String,
    pub key: Zeroizing<String>,
    pub kiosk_id: String,
    pub heartbeat: Duration,
    pub timeout: Duration,
    pub retry: Duration,
    pub alert_wait: Duration,
    /// The kiosk's data directory: its free space goes in the heartbeat.
    pub data_dir: std::path::PathBuf,
}

struct Shared {
    queue: Mutex<EventQueue>,
    status: Mutex<Option<HallStatus>>,
    /// The highest seq the console confirmed storing.
    delivered: Mutex<u64>,
    confirmed: Condvar,
}

impl Shared {
    fn queue(&self) -> std::sync::MutexGuard<'_, EventQueue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The `Alerts` backend for a configured hall console.
pub struct ConsoleAlerts {
    shared: Arc<Shared>,
    nudge: Sender<()>,
    settings: LinkSettings,
    last: HallStatus,
}

impl ConsoleAlerts {
    /// Starts the sender thread over the queue (events left from an earlier run go first).
    pub fn start(settings: LinkSettings, queue: EventQueue) -> ConsoleAlerts {
        let shared = Arc::new(Shared {
            queue: Mutex::new(queue),
            status: Mutex::new(None),
            delivered: Mutex::new(0),
            confirmed: Condvar::new(),
        });
        let (tx, rx) = mpsc::channel::<()>();
        let (s, cfg) = (shared.clone(), settings.clone());
        let spawned = std::thread::Builder::new()
            .name("kiosk-console-link".into())
            .spawn(move || {
                let mut link = Link::new(cfg, s);
                loop {
                    let wait = link.turn();
                    match rx.recv_timeout(wait) {
                        Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            });
        if let Err(e) = spawned {
            log::error!("hall console: cannot start the sender thread: {e}; alerts stay queued");
        }
        ConsoleAlerts {
            shared,
            nudge: tx,
            settings,
            // A kiosk starts healthy: a fault already there at start is reported.
            last: HallStatus {
                camera_ok: true,
                review_ok: true,
                ..HallStatus::default()
            },
        }
    }

    fn queue_event(&self, e: super::wire::KioskEvent) -> Result<u64, String> {
        let kind = e.kind;
        let seq = self.shared.queue().push(e).map_err(|e| e.to_string())?;
        log::info!("hall console: {} queued (seq {seq})", kind.id());
        let _ = self.nudge.send(());
        Ok(seq)
    }
}

impl Alerts for ConsoleAlerts {
    fn raise(&mut self, alert: &Alert) -> AlertOutcome {
        let kind = match alert.kind {
            AlertKind::CallStaff => EventKind::CallStaff,
            AlertKind::HandOff => EventKind::HandOff,
            AlertKind::Quarantine => EventKind::Quarantine,
        };
        let reasons = alert.reasons.iter().map(|p| p.id.clone()).collect();
        let code = alert.code.as_ref().map(|c| c.as_str());
        let seq = match self.queue_event(event(kind, Some(alert.screen), code, reasons)) {
            Ok(s) => s,
            Err(e) => return AlertOutcome::Failed(format!("cannot queue the alert: {e}")),
        };
        let deadline = Instant::now() + self.settings.alert_wait;
        let mut done = self.shared.delivered.lock().unwrap_or_else(|e| e.into_inner());
        while *done < seq {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return AlertOutcome::Failed(format!(
                    "{} has not confirmed it within {} ms; it stays queued and is sent when the console answers",
                    self.settings.url,
                    self.settings.alert_wait.as_millis()
                ));
            }
            done = self
                .shared
                .confirmed
                .wait_timeout(done, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        AlertOutcome::Accepted
    }

    fn status(&mut self, now: &HallStatus) {
        for (kind, reasons) in changes(&self.last, now) {
            if let Err(e) = self.queue_event(event(kind, None, None, reasons)) {
                log::error!("hall console: cannot queue {}: {e}", kind.id());
            }
        }
        self.last = now.clone();
        let first = self
            .shared
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(now.clone())
            .is_none();
        if first {
            let _ = self.nudge.send(());
        }
    }

    fn admin(&mut self, e: AdminEvent) {
        let (kind, reasons) = match e {
            AdminEvent::Login => (EventKind::AdminLogin, vec![]),
            AdminEvent::PinFailed => (EventKind::PinFailed, vec![]),
            AdminEvent::SetupCodeFailed => (EventKind::PinFailed, vec!["setup_code".to_string()]),
            AdminEvent::LockedOut => (EventKind::PinLockedOut, vec![]),
        };
        if let Err(err) = self.queue_event(event(kind, Some("admin"), None, reasons)) {
            log::error!("hall console: cannot queue {}: {err}", e.id());
        }
    }

    fn describe(&self) -> String {
        format!("hall console {}", self.settings.url)
    }
}

/// The events a change of health makes: paper and printer faults and their recovery, the
/// camera and the review service lost and back.
pub fn changes(was: &HallStatus, now: &HallStatus) -> Vec<(EventKind, Vec<String>)> {
    let mut out = vec![];
    match (was.printer_fault, now.printer_fault) {
        (a, Some(b)) if a != Some(b) => out.push(if b == PrinterFault::PaperOut {
            (EventKind::PaperOut, vec![])
        } else {
            (EventKind::PrinterFault, vec![b.id().to_string()])
        }),
        (Some(PrinterFault::PaperOut), None) => out.push((EventKind::PaperReloaded, vec![])),
        (Some(a), None) => out.push((EventKind::PrinterRecovered, vec![a.id().to_string()])),
        _ => {}
    }
    match (was.paper_near_end, now.paper_near_end) {
        (false, true) => out.push((EventKind::PaperNearEnd, vec![])),
        (true, false) if !out.iter().any(|(k, _)| *k == EventKind::PaperReloaded) => {
            out.push((EventKind::PaperReloaded, vec![]));
        }
        _ => {}
    }
    match (was.camera_ok, now.camera_ok) {
        (true, false) => out.push((EventKind::CameraLost, vec![])),
        (false, true) => out.push((EventKind::CameraBack, vec![])),
        _ => {}
    }
    match (was.review_ok, now.review_ok) {
        (true, false) => out.push((EventKind::ReviewUnreachable, vec![])),
        (false, true) => out.push((EventKind::ReviewBack, vec![])),
        _ => {}
    }
    out
}

/// The sender thread's state.
struct Link {
    cfg: LinkSettings,
    shared: Arc<Shared>,
    agent: ureq::Agent,
    next_heartbeat: Instant,
    last_seq: u64,
    /// The console is not answering (logged once per outage).
    away: bool,
}

impl Link {
    fn new(cfg: LinkSettings, shared: Arc<Shared>) -> Link {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(cfg.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("kiosk/", env!("CARGO_PKG_VERSION")))
            .build();
        Link {
            cfg,
            shared,
            agent: ureq::Agent::new_with_config(config),
            next_heartbeat: Instant::now(),
            last_seq: 0,
            away: false,
        }
    }

    /// Sends what is queued and a heartbeat when due; returns how long to wait.
    fn turn(&mut self) -> Duration {
        let sent = self.send_events();
        // Before the engine's first status there is nothing to say: the slot is kept, and
        // that first status nudges the thread, so the tile shows at once, not 30 s later.
        if Instant::now() >= self.next_heartbeat && self.send_heartbeat() {
            self.next_heartbeat = Instant::now() + self.cfg.heartbeat;
        }
        match sent {
            Ok(true) => Duration::ZERO,
            Ok(false) => self.until_heartbeat(),
            Err(()) => self.cfg.retry.min(self.until_heartbeat()),
        }
    }

    fn post(&self, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
        let url = format!("{}{path}", self.cfg.url);
        let mut resp = self
            .agent
            .post(&url)
            .header("authorization", format!("Bearer {}", self.cfg.key.as_str()))
            .content_type("application/json")
            .send(body)
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec()
            .map_err(|e| format!("POST {url}: reading the reply: {e}"))?;
        Ok((status, body))
    }

    fn outage(&mut self, why: &str) {
        if !self.away {
            log::warn!(
                "hall console unreachable: {why}. Events stay queued; retrying every {} s",
                self.cfg.retry.as_secs_f32()
            );
            self.away = true;
        }
    }

    /// Sends the oldest batch; `Ok(true)` when more are waiting.
    fn send_events(&mut self) -> Result<bool, ()> {
        let batch = match self.shared.queue().pending(super::wire::MAX_EVENTS_PER_POST) {
            Ok(b) => b,
            Err(e) => {
                log::error!("hall console: event queue: {e}");
                return Err(());
            }
        };
        if batch.is_empty() {
            return Ok(false);
        }
        let body = serde_json::json!({"kiosk_id": self.cfg.kiosk_id, "events": batch});
        let (status, reply) = match self.post("/v1/events", body.to_string().as_bytes()) {
            Ok(r) => r,
            Err(e) => {
                self.outage(&e);
                return Err(());
            }
        };
        let accepted: EventsAccepted = match (status, serde_json::from_slice(&reply)) {
            (200, Ok(a)) => a,
            _ => {
                self.outage(&format!(
                    "POST /v1/events: HTTP {status}: {}",
                    String::from_utf8_lossy(&reply)
                ));
                return Err(());
            }
        };
        if self.away {
            log::info!("hall console reachable again");
            self.away = false;
        }
        if let Err(e) = self.shared.queue().drop_up_to(accepted.stored_up_to) {
            log::error!("hall console: event queue: {e}");
        }
        *self.shared.delivered.lock().unwrap_or_else(|e| e.into_inner()) = accepted.stored_up_to;
        self.shared.confirmed.notify_all();
        Ok(batch.len() == super::wire::MAX_EVENTS_PER_POST)
    }

    /// How long the thread may sleep before the next heartbeat is due (a full interval
    /// while there is no status yet: the first one wakes it).
    fn until_heartbeat(&self) -> Duration {
        if self.shared.status.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
            return self.cfg.heartbeat;
        }
        self.next_heartbeat.saturating_duration_since(Instant::now())
    }

    /// Sends the latest status as a heartbeat; false when there is none yet.
    fn send_heartbeat(&mut self) -> bool {
        let Some(s) = self.shared.status.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
            return false;
        };
        // Strictly growing, so the console can refuse a replayed one.
        let seq = super::server::now_ms().max(self.last_seq + 1);
        self.last_seq = seq;
        let health = |ok: bool| if ok { Health::Ok } else { Health::Fault };
        let hb = Heartbeat {
            kiosk_id: self.cfg.kiosk_id.clone(),
            seq,
            version: env!("CARGO_PKG_VERSION").into(),
            state: s.state.into(),
            printer: PrinterHealth {
                status: s.printer_fault.map_or("ready", |f| f.id()).into(),
                paper_percent: None,
                near_end: s.paper_near_end,
            },
            camera: health(s.camera_ok),
            idcard: s.idcard_ok.map_or(Health::Absent, health),
            outbox_depth: s.outbox_depth,
            free_disk_mb: free_mb(&self.cfg.data_dir),
            counters: s.counters,
        };
        let body = serde_json::to_vec(&hb).unwrap_or_default();
        match self.post("/v1/heartbeat", &body) {
            Ok((204, _)) => {}
            Ok((status, reply)) => log::warn!(
                "hall console refused the heartbeat: HTTP {status}: {}",
                String::from_utf8_lossy(&reply)
            ),
            Err(e) => self.outage(&e),
        }
        true
    }
}

/// Free space for the kiosk's user on the disk holding `dir`, in MB (0 when unknown).
fn free_mb(dir: &std::path::Path) -> u64 {
    nix::sys::statvfs::statvfs(dir).map_or(0, |s| {
        s.blocks_available().saturating_mul(s.fragment_size()) / 1_000_000
    })
}
