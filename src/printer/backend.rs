//! The [`SlipPrinter`] implementations: the serial ESC/POS printer with its journal
//! (a worker thread), `pdf:DIR`, and `none`.

use super::escpos::{encode, EncodeSettings};
use super::journal::{JobState, Journal};
use super::serial::{Link, LinkSettings};
use super::status::Fault;
use super::PrinterError;
use crate::config::{Config, Device};
use crate::domain::SlipJob;
use crate::failpoint;
use crate::ports::{PaperStatus, PrintError, PrinterEvent, SlipPrinter};
use crate::receipt::Receipt;
use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The journal's file in the data directory.
pub fn journal_path(cfg: &Config) -> PathBuf {
    cfg.kiosk.data_dir.join("print-journal.sqlite")
}

enum Cmd {
    Print(SlipJob, bool),
    Reloaded(Sender<Result<(), PrintError>>),
}

/// The serial printer: a worker owns the link and the journal; the kiosk loop talks to
/// it through channels, so `print` and `poll` never block.
pub struct SerialSlipPrinter {
    tx: Sender<Cmd>,
    events: Receiver<PrinterEvent>,
    paper: Arc<Mutex<PaperStatus>>,
}

impl SerialSlipPrinter {
    /// Opens the journal and starts the worker; unfinished jobs print at once.
    pub fn start(cfg: &Config) -> Result<Self, PrinterError> {
        let Device::Serial { path, baud, paper } = cfg.devices.printer.device() else {
            return Err(PrinterError::Settings("devices.printer is not serial:".into()));
        };
        let enc = EncodeSettings::new(&cfg.printer, paper.dots()).map_err(PrinterError::Settings)?;
        let link = Link::new(path, LinkSettings::new(&cfg.printer, *baud));
        let journal = Journal::open(&journal_path(cfg), cfg.printer.roll_length_mm)?;
        log::info!(
            "printer: serial {} baud {} paper {} dots; settings {:?}",
            path.display(),
            baud,
            paper.dots(),
            cfg.printer
        );
        let status = Arc::new(Mutex::new(journal.paper(false)?));
        let (tx, rx) = channel();
        let (etx, events) = channel();
        let mut w = Worker {
            cfg: cfg.clone(),
            enc,
            link,
            journal,
            rx,
            events: etx,
            paper: status.clone(),
            queue: VecDeque::new(),
            near_end: false,
            idle_every: (cfg.printer.idle_poll_ms > 0)
                .then(|| Duration::from_millis(u64::from(cfg.printer.idle_poll_ms))),
            last_poll: Instant::now(),
            seen: Seen::Unknown,
            offline_polls: 0,
        };
        std::thread::Builder::new()
            .name("printer".into())
            .spawn(move || w.run())
            .map_err(|e| PrinterError::Settings(format!("cannot start the printer thread: {e}")))?;
        Ok(SerialSlipPrinter {
            tx,
            events,
            paper: status,
        })
    }
}

impl SlipPrinter for SerialSlipPrinter {
    fn print(&mut self, job: SlipJob) -> Result<(), PrintError> {
        self.tx
            .send(Cmd::Print(job, false))
            .map_err(|_| PrintError::WorkerStopped)
    }
    fn poll(&mut self) -> Option<PrinterEvent> {
        self.events.try_recv().ok()
    }
    fn paper(&mut self) -> PaperStatus {
        *self.paper.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn reloaded(&mut self) -> Result<(), PrintError> {
        let (tx, rx) = channel();
        self.tx.send(Cmd::Reloaded(tx)).map_err(|_| PrintError::WorkerStopped)?;
        rx.recv_timeout(Duration::from_secs(5))
            .map_err(|_| PrintError::NoAnswer)?
    }
    /// Operator reprint by number: `job` is the receipt fetched again from the review
    /// service; it is journalled as a reprint and prints marked 补打 with the reprint time.
    fn reprint(&mut self, job: SlipJob) -> Result<(), PrintError> {
        self.tx
            .send(Cmd::Print(job, true))
            .map_err(|_| PrintError::WorkerStopped)
    }
}

struct Pending {
    id: i64,
    job: SlipJob,
    reprint: bool,
    state: JobState,
}

/// The printer's state as the kiosk last reported it (so a poll reports changes only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Unknown,
    Ready,
    Fault(Fault),
}

struct Worker {
    cfg: Config,
    enc: EncodeSettings,
    link: Link,
    journal: Journal,
    rx: Receiver<Cmd>,
    events: Sender<PrinterEvent>,
    paper: Arc<Mutex<PaperStatus>>,
    queue: VecDeque<Pending>,
    near_end: bool,
    /// Status poll interval while idle (`printer.idle_poll_ms`; `None` = off).
    idle_every: Option<Duration>,
    last_poll: Instant,
    seen: Seen,
    /// Idle polls in a row that got no answer.
    offline_polls: u32,
}

impl Worker {
    fn run(&mut self) {
        match self.journal.unfinished() {
            Ok(jobs) => {
                for s in jobs {
                    log::warn!(
                        "printer: job {} was not confirmed before the restart; printing it now",
                        s.id
                    );
                    self.queue.push_back(Pending {
                        id: s.id,
                        job: s.job,
                        reprint: s.reprint,
                        state: s.state,
                    });
                }
            }
            Err(e) => log::error!("{e}"),
        }
        loop {
            let wait = if !self.queue.is_empty() {
                Duration::ZERO
            } else if let Some(every) = self.idle_every {
                every
                    .saturating_sub(self.last_poll.elapsed())
                    .min(Duration::from_millis(500))
            } else {
                Duration::from_millis(500)
            };
            match self.rx.recv_timeout(wait) {
                Ok(c) => self.command(c),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if !self.queue.is_empty() {
                self.print_front();
            } else if self.idle_every.is_some_and(|every| self.last_poll.elapsed() >= every) {
                self.idle_poll();
            }
        }
    }

    /// Reports a state change (fault, ready again) once, not on every poll.
    fn report(&mut self, now: Seen) {
        if now == self.seen {
            return;
        }
        match now {
            Seen::Fault(f) => {
                log::warn!("printer: {f} while idle");
                let _ = self.events.send(PrinterEvent::Fault(f));
            }
            // The first poll of a healthy printer says nothing: nobody was told otherwise.
            Seen::Ready if self.seen != Seen::Unknown => {
                log::info!("printer: ready again (idle poll)");
                let _ = self.events.send(PrinterEvent::Ready);
            }
            _ => {}
        }
        self.seen = now;
    }

    /// One status check while no job is waiting (DLE EOT 1–4), so paper out, cover open,
    /// unplugging or near end between sessions show before the next person pays for it.
    fn idle_poll(&mut self) {
        self.last_poll = Instant::now();
        let now = match self.link.status() {
            Ok(h) => {
                // Paper out also sets the near-end bits: the sensor counts only when ready.
                if h.ready() && h.near_end != self.near_end {
                    self.near_end = h.near_end;
                    self.refresh_paper();
                    if h.near_end {
                        let _ = self.events.send(PrinterEvent::NearEnd);
                    }
                }
                match h.first_fault() {
                    None => Seen::Ready,
                    Some(f) => {
                        // A recoverable error whose cause is gone (DLE ENQ 2, as after a job).
                        if !h.faults.iter().any(|f| matches!(f, Fault::CoverOpen | Fault::PaperOut)) {
                            let _ = self.link.recover();
                        }
                        Seen::Fault(f)
                    }
                }
            }
            Err(PrinterError::Fault(f)) => Seen::Fault(f),
            Err(e) => {
                // Garbage or an unopenable device: start afresh at the next poll.
                log::warn!("printer: idle status check: {e}");
                self.link.close();
                Seen::Fault(Fault::Offline)
            }
        };
        // One unanswered query is not an outage (a busy machine, a `diag` probe reading
        // the reply): offline counts from the second poll in a row. Status bytes and a
        // vanished device count at once.
        if now == Seen::Fault(Fault::Offline) {
            self.offline_polls += 1;
            if self.offline_polls < 2 {
                return;
            }
        } else {
            self.offline_polls = 0;
        }
        self.report(now);
    }

    fn command(&mut self, c: Cmd) {
        match c {
            Cmd::Print(job, false) if self.already_journaled(&job) => {}
            Cmd::Print(job, reprint) => match self.journal.queue(&job, reprint) {
                Ok(id) => self.queue.push_back(Pending {
                    id,
                    job,
                    reprint,
                    state: JobState::Queued,
                }),
                Err(e) => {
                    log::error!("{e}");
                    let _ = self.events.send(PrinterEvent::Fault(Fault::Journal));
                }
            },
            Cmd::Reloaded(reply) => {
                let r = self.journal.reloaded().map_err(|e| PrintError::Journal(e.to_string()));
                self.near_end = false;
                self.refresh_paper();
                let _ = reply.send(r);
            }
        }
    }

    /// A receipt whose number the journal already holds (a restart resumed its upload
    /// after the first job was queued): never a second original. A confirmed one is
    /// reported printed at once; an unfinished one is already in the queue.
    fn already_journaled(&mut self, job: &SlipJob) -> bool {
        let crate::domain::Slip::Receipt { number, .. } = &job.slip else {
            return false;
        };
        let rows = match self.journal.find(number.as_str()) {
            Ok(r) => r,
            Err(e) => {
                log::error!("{e}");
                return false;
            }
        };
        if rows.is_empty() {
            return false;
        }
        log::info!("printer: receipt {number} is already in the journal; not printing a second original");
        if rows.iter().any(|(_, s)| *s == JobState::Confirmed) {
            let _ = self.events.send(PrinterEvent::Printed {
                at: self.link.path().display().to_string(),
                key: number.to_string(),
            });
        }
        true
    }

    fn refresh_paper(&mut self) {
        if let Ok(p) = self.journal.paper(self.near_end) {
            *self.paper.lock().unwrap_or_else(|e| e.into_inner()) = p;
        }
    }

    fn print_front(&mut self) {
        let Some(p) = self.queue.front_mut() else { return };
        let reprinted_at = p
            .reprint
            .then(|| chrono::Utc::now().with_timezone(&crate::domain::china_time()));
        let receipt = match Receipt::build(&p.job, &self.cfg, reprinted_at) {
            Ok(r) => r,
            Err(e) => {
                // A photo that cannot be decoded must not block the number: print without it.
                log::error!("printer: {e}; printing the slip without the thumbnail");
                let mut job = p.job.clone();
                job.photo = None;
                match Receipt::build(&job, &self.cfg, reprinted_at) {
                    Ok(r) => r,
                    Err(e) => {
                        log::error!("printer: cannot lay out job {}: {e}; dropped", p.id);
                        let _ = self.events.send(PrinterEvent::Fault(Fault::Layout));
                        self.queue.pop_front();
                        return;
                    }
                }
            }
        };
        let encoded = encode(&receipt, &self.enc);
        if encoded.replaced > 0 {
            log::warn!("printer: {} characters outside GBK printed as ?", encoded.replaced);
        }
        log::info!("printer: job {} ({} bytes)", p.id, encoded.bytes.len());
        let id = p.id;
        let total = encoded.bytes.len();
        let p_key = p.job.slip.key();
        let next = if p.state == JobState::Spoiled {
            JobState::Reprinted
        } else {
            JobState::Sent
        };
        failpoint::hit("print:before-send");
        // Marked before the first byte: after a crash we cannot know how far it got.
        if let Err(e) = self.journal.set_state(id, next) {
            log::error!("{e}");
        }
        p.state = next;
        let result = self.link.print(&encoded, &mut || failpoint::hit("print:after-send"));
        let mm = (crate::receipt::pdf::height_dots(&receipt) / 8.0) as u32;
        match result {
            Ok(health) => {
                failpoint::hit("print:before-confirm");
                if let Err(e) = self.journal.set_state(id, JobState::Confirmed) {
                    log::error!("{e}");
                }
                failpoint::hit("print:after-confirm");
                let _ = self.journal.count_slip(false, mm);
                self.queue.pop_front();
                self.near_end = health.near_end;
                self.refresh_paper();
                // A fault reported while idle is over: say so before the slip's news.
                self.report(Seen::Ready);
                self.last_poll = Instant::now();
                let _ = self.events.send(PrinterEvent::Printed {
                    at: self.link.path().display().to_string(),
                    key: p_key,
                });
                if health.near_end {
                    let _ = self.events.send(PrinterEvent::NearEnd);
                }
            }
            Err(e) => {
                let fault = match &e {
                    PrinterError::Fault(f) => *f,
                    _ => Fault::Offline,
                };
                log::warn!("printer: job {id} not printed: {e}");
                if self.link.written > 0 {
                    let _ = self.journal.set_state(id, JobState::Spoiled);
                    let _ = self.journal.count_slip(true, mm / 2);
                    // Every byte went out and the printer did not say it stopped mid-slip
                    // (a timeout, an unplug, a failed cut): the slip may be in someone's
                    // hand, so the next one is marked 补打 — never a second unmarked original.
                    let may_be_out = self.link.written >= total && !matches!(fault, Fault::PaperOut | Fault::CoverOpen);
                    if let Some(p) = self.queue.front_mut() {
                        p.state = JobState::Spoiled;
                        if may_be_out && !p.reprint {
                            p.reprint = true;
                            if let Err(e) = self.journal.mark_reprint(id) {
                                log::error!("{e}");
                            }
                        }
                    }
                } else {
                    let _ = self.journal.set_state(id, JobState::Queued);
                    if let Some(p) = self.queue.front_mut() {
                        p.state = JobState::Queued;
                    }
                }
                self.refresh_paper();
                let _ = self.events.send(PrinterEvent::Fault(fault));
                self.wait_until_ready(fault);
                self.seen = Seen::Ready;
                self.last_poll = Instant::now();
            }
        }
    }

    /// Polls the printer until it is ready again (rule 4: re-check before reprinting),
    /// still taking commands meanwhile.
    fn wait_until_ready(&mut self, first: Fault) {
        let mut seen: HashSet<Fault> = HashSet::from([first]);
        // One unanswered query is noise (a busy line, a starved printer thread); two in a
        // row mean offline — the same rule as the idle poll.
        let mut silent = 0u32;
        loop {
            match self.rx.recv_timeout(Duration::from_millis(300)) {
                Ok(c) => self.command(c),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            let status = self.link.status();
            if matches!(status, Err(PrinterError::Fault(Fault::Offline))) {
                silent += 1;
                if silent < 2 {
                    continue;
                }
            } else {
                silent = 0;
            }
            match status {
                Ok(h) if h.ready() => {
                    self.near_end = h.near_end;
                    log::info!("printer: ready again");
                    let _ = self.events.send(PrinterEvent::Ready);
                    return;
                }
                Ok(h) => {
                    // A recoverable error with no cause left (cover shut, paper in):
                    // DLE ENQ 2 clears it and the rest of the spoiled job.
                    let cause_left = h.faults.iter().any(|f| matches!(f, Fault::CoverOpen | Fault::PaperOut));
                    if !cause_left {
                        let _ = self.link.recover();
                    }
                    if let Some(f) = h.first_fault() {
                        if seen.insert(f) {
                            let _ = self.events.send(PrinterEvent::Fault(f));
                        }
                    }
                }
                Err(PrinterError::Fault(f)) => {
                    if f == Fault::Disconnected {
                        std::thread::sleep(Duration::from_millis(200));
                    }
                    if seen.insert(f) {
                        let _ = self.events.send(PrinterEvent::Fault(f));
                    }
                }
                Err(e) => {
                    log::warn!("printer: {e}");
                    self.link.close();
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }
}

/// `pdf:DIR`: writes `DIR/<number>.pdf` and reports it printed.
pub struct PdfSlipPrinter {
    cfg: Config,
    dir: PathBuf,
    events: VecDeque<PrinterEvent>,
}

impl PdfSlipPrinter {
    pub fn new(cfg: &Config, dir: &Path) -> Result<Self, PrinterError> {
        crate::private_fs::create_dir(dir).map_err(|e| PrinterError::Output {
            path: dir.to_path_buf(),
            message: format!("{e}. Fix: make the receipt directory writable"),
        })?;
        Ok(PdfSlipPrinter {
            cfg: cfg.clone(),
            dir: dir.to_path_buf(),
            events: VecDeque::new(),
        })
    }

    fn write(&self, job: &SlipJob, reprint: bool) -> Result<PathBuf, PrinterError> {
        let now = chrono::Utc::now().with_timezone(&crate::domain::china_time());
        let r = Receipt::build(job, &self.cfg, reprint.then_some(now))?;
        let bytes = crate::receipt::pdf::render(&r, crate::receipt::pdf::PageSize::Roll80)?;
        // A reprint never overwrites the original's file.
        let name = if reprint {
            format!("{}-reprint-{}", r.key, now.format("%Y%m%d%H%M%S"))
        } else {
            r.key.clone()
        };
        let path = self.dir.join(format!("{name}.pdf"));
        // The receipt shows the photo, the name and the receipt number: owner-only.
        crate::private_fs::write_atomic(&path, &bytes).map_err(|e| PrinterError::Output {
            path: path.clone(),
            message: e.to_string(),
        })?;
        Ok(path)
    }
}

impl PdfSlipPrinter {
    fn emit(&mut self, job: &SlipJob, reprint: bool) {
        match self.write(job, reprint) {
            Ok(p) => self.events.push_back(PrinterEvent::Printed {
                at: p.display().to_string(),
                key: job.slip.key(),
            }),
            Err(e) => {
                log::error!("{e}");
                self.events.push_back(PrinterEvent::Fault(match e {
                    PrinterError::Receipt(_) | PrinterError::Pdf(_) => Fault::Layout,
                    _ => Fault::Output,
                }));
            }
        }
    }
}

impl SlipPrinter for PdfSlipPrinter {
    fn print(&mut self, job: SlipJob) -> Result<(), PrintError> {
        self.emit(&job, false);
        Ok(())
    }
    fn poll(&mut self) -> Option<PrinterEvent> {
        self.events.pop_front()
    }
    fn paper(&mut self) -> PaperStatus {
        PaperStatus::default()
    }
    fn reloaded(&mut self) -> Result<(), PrintError> {
        Ok(())
    }
    fn reprint(&mut self, job: SlipJob) -> Result<(), PrintError> {
        self.emit(&job, true);
        Ok(())
    }
}

/// `none`: nothing prints; the fault makes the kiosk show the number on screen.
#[derive(Default)]
pub struct NoPrinter {
    events: VecDeque<PrinterEvent>,
}

impl SlipPrinter for NoPrinter {
    fn print(&mut self, _job: SlipJob) -> Result<(), PrintError> {
        self.events.push_back(PrinterEvent::Fault(Fault::NotConfigured));
        Ok(())
    }
    fn poll(&mut self) -> Option<PrinterEvent> {
        self.events.pop_front()
    }
    fn paper(&mut self) -> PaperStatus {
        PaperStatus::default()
    }
    fn reloaded(&mut self) -> Result<(), PrintError> {
        Ok(())
    }
}
