//! The engine: one session, its backends, and the loop that connects them.
//! Synchronous, so `simulate` and the tests drive it step by step (the guide runs inline,
//! or on its own thread for the live kiosk: see [`super::analysis`]);
//! [`super::Kiosk`] runs it on a worker thread for the touch UI.

mod alerting;
mod camera_check;

pub use camera_check::CameraCheck;

use super::analysis::{AnalysisMode, AnalysisWorker, GuideHost};
use crate::config::{Config, DocumentSpec};
use crate::domain::SlipJob;
use crate::domain::{PhotoJpeg, Prompt};
use crate::ops::metrics::Counters;
use crate::ports::*;
use crate::session::{Device, Effect, Event, Rules, Session, State};
use std::sync::Arc;
use std::time::Instant;

/// Every device the engine drives.
pub struct Backends {
    pub camera: Box<dyn FrameSource>,
    pub guide: Box<dyn Guide>,
    pub maker: Box<dyn PhotoMaker>,
    pub uploader: Box<dyn Uploader>,
    pub printer: Box<dyn SlipPrinter>,
    /// Where staff alerts go ([`NoConsole`] until a hall console is configured).
    pub alerts: Box<dyn Alerts>,
    /// The ID-card reader, polled while the details screen is shown.
    pub idcard: Option<Box<dyn IdCardReader>>,
}

/// The devices other than the guide (which runs where [`AnalysisMode`] says).
struct Devices {
    camera: Box<dyn FrameSource>,
    maker: Box<dyn PhotoMaker>,
    uploader: Box<dyn Uploader>,
    printer: Box<dyn SlipPrinter>,
    alerts: Box<dyn Alerts>,
    idcard: Option<Box<dyn IdCardReader>>,
    /// When the reader was last polled (it is asked every `[idcard] poll_interval_ms`).
    idcard_polled: Option<Instant>,
}

/// What the screens show; a snapshot, cheap to clone.
#[derive(Debug, Clone)]
pub struct View {
    pub state: State,
    /// Seconds left on the "still there?" countdown, when shown.
    pub still_there: Option<u32>,
    /// The latest camera frame while posing (unmirrored; the UI mirrors it).
    pub preview: Option<Arc<image::RgbImage>>,
    pub pose_ok: bool,
    pub face_box: Option<[f32; 4]>,
    /// The made photo on the review screen.
    pub photo: Option<Arc<image::RgbImage>>,
    pub paper: PaperStatus,
    /// The outbox's depth at the last [`Engine::refresh_status`]; `None` when unreadable.
    pub outbox: Option<OutboxDepth>,
    /// What became of this session's last staff alert (呼叫工作人员 or a hand-off):
    /// only `Accepted` may be shown as 已呼叫工作人员.
    pub staff_call: Option<AlertOutcome>,
    /// The hand-off slip's code, shown on the see-staff screen.
    pub hand_off: Option<crate::domain::HandOffCode>,
    /// The card's name and number while the details screen offers them for confirmation
    /// (personal data: zeroized with the view).
    pub card: Option<crate::domain::CardDetails>,
    pub counters: Counters,
    /// The token of the receipt this session was approved for (the screen's QR).
    pub slip_token: Option<crate::domain::ReceiptToken>,
}

pub struct Engine {
    cfg: Config,
    session: Session,
    b: Devices,
    guide: GuideHost,
    start: Instant,
    camera_on: bool,
    spec: Option<DocumentSpec>,
    camera_error: Option<String>,
    last_hint: Option<Prompt>,
    speech: Vec<String>,
    personal: Personal,
    overlay: Overlay,
    telemetry: Telemetry,
}

/// What the engine holds of the person beyond the session's own `PersonalData`. One
/// struct, so the wipe is one assignment of a fresh value and no field can be forgotten.
#[derive(Default)]
struct Personal {
    /// The approved photo kept only for the slip's thumbnail; dropped (zeroized) once
    /// handed to the printer.
    thumbnail: Option<PhotoJpeg>,
    masked_name: Option<String>,
    /// The approved receipt's token, for the slip's and the screen's QR.
    slip_token: Option<crate::domain::ReceiptToken>,
    /// The latest camera frame while posing.
    preview: Option<Arc<image::RgbImage>>,
    /// The made photo on the review screen.
    photo_view: Option<Arc<image::RgbImage>>,
    /// The person's name, ID and mobile number registered with the log redactor.
    redaction: Option<crate::ops::redact::Registration>,
}

/// The posing screen's overlay and the screen-level flags the view mirrors.
#[derive(Default)]
struct Overlay {
    still_there: Option<u32>,
    pose_ok: bool,
    face_box: Option<[f32; 4]>,
    staff_call: Option<AlertOutcome>,
    hand_off: Option<crate::domain::HandOffCode>,
}

/// Counters and device status for the operator and the metrics, and `simulate`'s timings.
#[derive(Default)]
struct Telemetry {
    counters: Counters,
    paper: PaperStatus,
    outbox: Option<OutboxDepth>,
    /// The printer's last fault, until it reports ready again.
    printer_fault: Option<crate::domain::PrinterFault>,
    hints_seen: Vec<String>,
    /// When each screen was last entered (for `simulate`'s stage timings).
    entered_at: std::collections::HashMap<&'static str, Instant>,
    last_make_ms: Option<f64>,
    last_submit_ms: Option<f64>,
    last_printed_at: Option<String>,
    /// Slips cut that no session on screen waited for (resumed receipts, journal jobs of
    /// an earlier run), by key.
    background_printed: Vec<String>,
    /// The posing run in progress on the analysis thread, for its rate figure.
    run: Option<PosingRun>,
    /// Quarantined outbox rows at the last look (staff are alerted when it grows).
    quarantined_seen: Option<usize>,
    /// When the health was last handed to the alerts backend.
    status_sent: Option<Instant>,
}

/// Camera frames shown and results applied since a posing run started (analysis thread).
struct PosingRun {
    since: Instant,
    frames: u64,
    analysed_at_start: u64,
}

impl Engine {
    /// An engine that analyses every frame in order on the engine's thread, synchronously
    /// (`simulate`, the tests: deterministic).
    pub fn new(cfg: &Config, backends: Backends) -> Engine {
        Engine::with_mode(cfg, backends, AnalysisMode::Inline)
    }

    /// An engine whose guide runs as `mode` says; the live kiosk uses
    /// [`AnalysisMode::OwnThread`] so the preview is not held back by analysis.
    pub fn with_mode(cfg: &Config, backends: Backends, mode: AnalysisMode) -> Engine {
        let Backends {
            camera,
            guide,
            maker,
            uploader,
            printer,
            alerts,
            idcard,
        } = backends;
        Engine {
            session: Session::new(Rules::from_config(cfg)),
            cfg: cfg.clone(),
            b: Devices {
                camera,
                maker,
                uploader,
                printer,
                alerts,
                idcard,
                idcard_polled: None,
            },
            guide: match mode {
                AnalysisMode::Inline => GuideHost::Inline(guide),
                AnalysisMode::OwnThread => GuideHost::Thread(AnalysisWorker::spawn(guide)),
            },
            start: Instant::now(),
            camera_on: false,
            spec: None,
            camera_error: None,
            last_hint: None,
            speech: vec![],
            personal: Personal::default(),
            overlay: Overlay::default(),
            telemetry: Telemetry::default(),
        }
    }

    /// When the screen `name` was last entered.
    pub fn entered_at(&self, name: &str) -> Option<Instant> {
        self.telemetry.entered_at.get(name).copied()
    }

    /// Milliseconds the last make-photo took.
    pub fn last_make_ms(&self) -> Option<f64> {
        self.telemetry.last_make_ms
    }

    /// Milliseconds the last submit to the outbox/uploader took.
    pub fn last_submit_ms(&self) -> Option<f64> {
        self.telemetry.last_submit_ms
    }

    /// Voice prompts (hint ids) to play since the last call.
    pub fn take_speech(&mut self) -> Vec<String> {
        std::mem::take(&mut self.speech)
    }

    /// Slips cut that no session on screen waited for (resumed receipts, journal jobs
    /// finished after a restart), by receipt number or claim code.
    pub fn background_printed(&self) -> &[String] {
        &self.telemetry.background_printed
    }

    /// `ready`, or the id of the printer's last fault (`paper_out`, `cover_open`, …), for
    /// the fleet metrics.
    pub fn printer_state(&self) -> &'static str {
        self.telemetry.printer_fault.map_or("ready", |f| f.id())
    }

    /// Where the last slip went (a PDF path, a device).
    pub fn last_printed_at(&self) -> Option<&str> {
        self.telemetry.last_printed_at.as_deref()
    }

    pub fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The last hint given while posing, and every distinct hint id in order.
    pub fn hints(&self) -> (&Option<Prompt>, &[String]) {
        (&self.last_hint, &self.telemetry.hints_seen)
    }

    /// Why the camera stopped, if it did (end of a replay, a disconnect).
    pub fn camera_error(&self) -> Option<&str> {
        self.camera_error.as_deref()
    }

    pub fn counters(&self) -> &Counters {
        &self.telemetry.counters
    }

    /// Guide results applied so far on the analysis thread (0 when analysis is inline:
    /// there every frame is analysed).
    pub fn analysed_on_thread(&self) -> u64 {
        match &self.guide {
            GuideHost::Inline(_) => 0,
            GuideHost::Thread(a) => a.analysed,
        }
    }

    /// Starts a new posing run for `spec` (or, with `None`, ends one): the guide forgets
    /// its tracking; on the analysis thread, results of frames from before are discarded.
    fn reset_guide(&mut self, spec: Option<&DocumentSpec>) {
        match (&mut self.guide, spec) {
            (GuideHost::Inline(g), Some(spec)) => g.reset(spec),
            (GuideHost::Inline(_), None) => {}
            (GuideHost::Thread(a), spec) => a.reset(spec),
        }
    }

    pub fn view(&self) -> View {
        View {
            state: self.session.state().clone(),
            still_there: self.overlay.still_there,
            preview: self.personal.preview.clone(),
            pose_ok: self.overlay.pose_ok,
            face_box: self.overlay.face_box,
            photo: self.personal.photo_view.clone(),
            paper: self.telemetry.paper,
            staff_call: self.overlay.staff_call.clone(),
            hand_off: self.overlay.hand_off.clone(),
            card: match self.session.state() {
                State::Details { .. } => self.session.card().cloned(),
                _ => None,
            },
            counters: self.telemetry.counters.clone(),
            slip_token: self.personal.slip_token.clone(),
            outbox: self.telemetry.outbox,
        }
    }

    /// The paper counters from the printer and the outbox's depth from the uploader (the
    /// operator screens and the metrics poll this).
    pub fn refresh_status(&mut self) {
        self.telemetry.paper = self.b.printer.paper();
        self.telemetry.outbox = match self.b.uploader.outbox_depth() {
            Ok(d) => {
                self.watch_quarantine(d.quarantined);
                Some(d)
            }
            Err(p) => {
                log::warn!("outbox depth: {}", p.en);
                None
            }
        };
    }

    /// The operator's test print: a slip numbered `TEST-PRINT` for the first offered
    /// document and region, through the same journal and printer as a receipt.
    pub fn test_print(&mut self) -> Result<(), String> {
        let doc = *self.cfg.offered_documents().first().ok_or("no document is offered")?;
        let region = self
            .cfg
            .regions_for(doc)
            .first()
            .map(|(c, _)| (*c).clone())
            .ok_or("no region")?;
        let now = chrono::Utc::now().with_timezone(&crate::domain::china_time());
        let job = SlipJob {
            slip: crate::domain::Slip::Receipt {
                number: crate::domain::ReceiptNumber::test_print(),
                valid_until: now.date_naive(),
                doc,
                region,
            },
            photo: None,
            masked_name: None,
            issued_at: now,
            token: None,
        };
        log::info!("operator: test print");
        self.b.printer.print(job).map_err(|e| e.to_string())
    }

    /// Operator reprint by number (issue #5): fetched again from the review service and
    /// queued on the printer marked 补打. Blocks the loop for the one fetch (the operator
    /// screen is up, no session runs).
    pub fn reprint(&mut self, number: &crate::domain::ReceiptNumber) -> Result<(), Prompt> {
        super::reprint(self.b.uploader.as_mut(), self.b.printer.as_mut(), &self.cfg, number)
    }

    /// Swaps the camera (a replay rewound for the next simulated session, a camera found
    /// again under a new device path).
    pub fn set_camera(&mut self, camera: Box<dyn FrameSource>) {
        self.b.camera = camera;
        self.camera_error = None;
    }

    pub fn printer(&mut self) -> &mut dyn SlipPrinter {
        self.b.printer.as_mut()
    }

    /// Feeds one event and carries out every effect it causes (and theirs).
    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        if matches!(event, Event::Start) {
            self.telemetry.counters.sessions += 1;
            // Per-session records start afresh (the engine outlives many sessions).
            self.telemetry.hints_seen.clear();
            self.last_hint = None;
            self.telemetry.entered_at.clear();
            self.telemetry.last_make_ms = None;
            self.telemetry.last_submit_ms = None;
            self.telemetry.last_printed_at = None;
            self.personal.slip_token = None;
        }
        if matches!(event, Event::Retake) {
            self.telemetry.counters.retakes += 1;
        }
        if let Event::SubmitDetails(d) = &event {
            self.personal.masked_name = d.name.as_deref().map(crate::session::details::mask_name);
            // Names have no shape the log redactor could know: register this person's
            // until the wipe (a refused form is replaced by the next one).
            self.personal.redaction = Some(crate::ops::redact::remember_personal(
                d.name.as_deref(),
                d.id_number.as_deref(),
                d.mobile.as_deref(),
            ));
        }
        let mut queue = vec![event];
        let mut all = vec![];
        while let Some(ev) = queue.pop() {
            let now = self.now_ms();
            for fx in self.session.handle(now, ev) {
                if let Some(next) = self.carry_out(&fx) {
                    queue.push(next);
                }
                all.push(fx);
            }
        }
        all
    }

    /// One turn of the loop: a camera frame when posing, upload and printer progress, time.
    pub fn step(&mut self) {
        self.publish_status();
        if self.camera_on {
            self.camera_turn();
        }
        if matches!(self.session.state(), State::Uploading { .. }) {
            if let Some(d) = self.b.uploader.poll() {
                let ev = match d {
                    Decision::Approved {
                        number,
                        valid_until,
                        token,
                    } => {
                        self.telemetry.counters.receipts += 1;
                        self.personal.slip_token = Some(token);
                        Event::Approved { number, valid_until }
                    }
                    Decision::Rejected(reasons) => {
                        self.telemetry.counters.rejections += 1;
                        Event::Rejected(reasons)
                    }
                    Decision::Refused(reason) => Event::UploadRefused(reason),
                };
                self.handle(ev);
            }
        }
        if matches!(self.session.state(), State::Attract) {
            self.print_resumed();
        }
        self.poll_card();
        while let Some(p) = self.b.printer.poll() {
            let ev = match p {
                PrinterEvent::Printed { at, key } => {
                    log::info!("slip printed to {at}");
                    self.telemetry.printer_fault = None;
                    // The outbox keeps an approved entry until its slip is cut.
                    if let Ok(number) = crate::domain::ReceiptNumber::new(&key) {
                        self.b.uploader.settle(&number);
                    }
                    if !self.waiting_for(&key) {
                        // A receipt resumed from an earlier run, or a journal job finished
                        // after a restart: nobody on screen waits for it.
                        self.telemetry.background_printed.push(key);
                        continue;
                    }
                    self.telemetry.last_printed_at = Some(at);
                    Event::Printed
                }
                // Mid-slip a fault keeps the person waiting for the reprint; between
                // sessions (idle poll, operator reprint) it takes the kiosk out of service.
                PrinterEvent::Fault(f) => {
                    log::warn!("printer fault: {f}");
                    self.telemetry.printer_fault = Some(f);
                    if matches!(
                        self.session.state(),
                        State::Printing { .. } | State::WaitingForPrinter { .. }
                    ) {
                        Event::PrinterFault(f)
                    } else {
                        Event::DeviceFault(Device::Printer)
                    }
                }
                // Ready also clears a fault the idle poll reported mid-session.
                PrinterEvent::Ready => {
                    self.telemetry.printer_fault = None;
                    if matches!(self.session.state(), State::WaitingForPrinter { .. }) {
                        self.handle(Event::PrinterReady);
                    }
                    Event::DeviceRecovered(Device::Printer)
                }
                PrinterEvent::NearEnd => {
                    self.telemetry.paper.near_end = true;
                    continue;
                }
            };
            self.handle(ev);
        }
        self.handle(Event::Tick);
    }

    /// Asks the ID-card reader for a card while the details screen is shown, at most
    /// every `[idcard] poll_interval_ms` (a poll is bounded by the reader's timeouts).
    fn poll_card(&mut self) {
        if !matches!(self.session.state(), State::Details { .. }) {
            self.b.idcard_polled = None;
            return;
        }
        let Some(reader) = self.b.idcard.as_mut() else {
            return;
        };
        let interval = std::time::Duration::from_millis(u64::from(self.cfg.idcard.poll_interval_ms));
        if self.b.idcard_polled.is_some_and(|t| t.elapsed() < interval) {
            return;
        }
        self.b.idcard_polled = Some(Instant::now());
        let read = reader.poll();
        self.handle(Event::Card(read));
    }

    /// The session on screen waits for the slip `key`.
    fn waiting_for(&self, key: &str) -> bool {
        match self.session.state() {
            State::Printing { slip } | State::WaitingForPrinter { slip, .. } => slip.key() == key,
            _ => false,
        }
    }

    /// Receipts approved for submissions of sessions that died with an earlier process
    /// (crash, power cut): printed while the kiosk is idle, so nobody's session is mixed up
    /// with them. The print journal refuses a second original of a number.
    fn print_resumed(&mut self) {
        while let Some(r) = self.b.uploader.take_resumed() {
            log::warn!("printing receipt {} for a session of an earlier run", r.slip.key());
            self.telemetry.counters.receipts += 1;
            let job = SlipJob {
                slip: r.slip,
                photo: r.photo,
                masked_name: None,
                issued_at: chrono::Utc::now().with_timezone(&crate::domain::china_time()),
                token: Some(r.token),
            };
            if let Err(e) = self.b.printer.print(job) {
                log::error!("resumed receipt not printed: {e}; it prints after the next restart");
            }
        }
    }

    fn camera_turn(&mut self) {
        let frame = match self.b.camera.next_frame() {
            Ok(f) => f,
            Err(e) => {
                log::warn!("camera: {e}");
                self.camera_error = Some(e.to_string());
                self.stop_analysis();
                self.camera_on = false;
                if matches!(e, CameraError::Disconnected { .. } | CameraError::Failed { .. }) {
                    self.handle(Event::DeviceFault(Device::Camera));
                }
                return;
            }
        };
        let outputs = match &mut self.guide {
            GuideHost::Inline(g) => {
                let out = g.analyse(&frame);
                self.personal.preview = Some(Arc::new(frame.image));
                vec![out]
            }
            GuideHost::Thread(a) => {
                // Every frame is shown at once; the guide gets the newest one when free.
                self.personal.preview = Some(Arc::new(frame.image.clone()));
                let run = self.telemetry.run.get_or_insert(PosingRun {
                    since: Instant::now(),
                    frames: 0,
                    analysed_at_start: a.analysed,
                });
                run.frames += 1;
                a.offer(frame);
                a.take_results()
            }
        };
        for out in outputs {
            // A capture ends the steady stretch (a refused photo resets the guide) and the
            // session may have left posing: results after it are stale.
            if !self.camera_on || self.apply_guidance(out) {
                break;
            }
        }
    }

    /// Applies one analysis result: overlay, hint, and the capture when it fired (then
    /// returns true).
    fn apply_guidance(&mut self, out: GuideOutput) -> bool {
        self.overlay.pose_ok = out.pose_ok;
        self.overlay.face_box = out.face_box;
        if let Some(h) = &out.hint {
            *self.telemetry.counters.hints.entry(h.id.clone()).or_default() += 1;
            if self.telemetry.hints_seen.last() != Some(&h.id) {
                self.telemetry.hints_seen.push(h.id.clone());
            }
            self.last_hint = Some(h.clone());
        }
        self.handle(Event::Guidance {
            face_present: out.face_present,
            hint: out.hint,
        });
        let Some(capture) = out.captured else {
            return false;
        };
        self.telemetry.counters.captures += 1;
        let ev = self.make_photo(&capture);
        self.handle(ev);
        true
    }

    /// The posing run ended: on the analysis thread, nothing of it survives (pending
    /// frame dropped, the guide reset so it lets go of its kept frames, results in flight
    /// discarded). Inline analysis keeps its old behaviour: the next run resets the guide.
    fn stop_analysis(&mut self) {
        if let (GuideHost::Thread(a), Some(run)) = (&self.guide, self.telemetry.run.take()) {
            let secs = run.since.elapsed().as_secs_f64().max(1e-3);
            let analysed = a.analysed - run.analysed_at_start;
            log::info!(
                "analysis: {analysed} frames analysed in {secs:.1} s ({:.1} Hz) while the camera gave {} ({:.1} fps)",
                analysed as f64 / secs,
                run.frames,
                run.frames as f64 / secs
            );
        }
        if matches!(self.guide, GuideHost::Thread(_)) {
            let spec = self.spec.clone();
            self.reset_guide(spec.as_ref());
        }
    }

    fn make_photo(&mut self, capture: &image::RgbImage) -> Event {
        let Some(spec) = self.spec.clone() else {
            return Event::PhotoFailed(vec![]);
        };
        let t0 = Instant::now();
        let made = self.b.maker.make(capture, &spec);
        self.telemetry.last_make_ms = Some(t0.elapsed().as_secs_f64() * 1000.0);
        let ev = match made {
            Ok(photo) => match encode_capture(capture) {
                Ok(cap) => {
                    self.personal.photo_view = image::load_from_memory(&photo.0).ok().map(|i| Arc::new(i.to_rgb8()));
                    Event::PhotoMade { capture: cap, photo }
                }
                Err(e) => {
                    log::error!("cannot keep the capture: {e}");
                    Event::PhotoFailed(vec![])
                }
            },
            Err(reasons) => {
                // Try again from a fresh steady stretch.
                self.reset_guide(Some(&spec));
                Event::PhotoFailed(reasons)
            }
        };
        ev
    }

    /// Carries out one effect; may return a follow-up event.
    fn carry_out(&mut self, fx: &Effect) -> Option<Event> {
        match fx {
            Effect::Entered(name) => {
                log::info!("state={name}");
                self.telemetry.entered_at.insert(name, Instant::now());
                if *name == "attract" {
                    self.overlay.staff_call = None;
                    self.overlay.hand_off = None;
                }
                if *name != "review-photo" && *name != "uploading" {
                    self.personal.photo_view = None;
                }
                None
            }
            Effect::StartCamera => {
                if let State::Posing { doc, region, .. } = self.session.state() {
                    let spec = self.cfg.spec_for(*doc, Some(region));
                    self.reset_guide(Some(&spec));
                    self.spec = Some(spec);
                }
                self.camera_on = true;
                None
            }
            Effect::StopCamera => {
                self.stop_analysis();
                self.camera_on = false;
                self.personal.preview = None;
                self.overlay.pose_ok = false;
                self.overlay.face_box = None;
                None
            }
            Effect::Speak(id) => {
                log::debug!("speak {id}");
                self.speech.push(id.clone());
                None
            }
            Effect::RemakePhoto { doc, region, capture } => {
                let spec = self.cfg.spec_for(*doc, Some(region));
                self.spec = Some(spec);
                match image::load_from_memory(&capture.0) {
                    Ok(img) => Some(self.make_photo(&img.to_rgb8())),
                    Err(e) => {
                        log::error!("kept capture unreadable: {e}");
                        Some(Event::PhotoFailed(vec![]))
                    }
                }
            }
            Effect::Upload {
                doc,
                region,
                details,
                photo,
            } => {
                self.personal.thumbnail = Some(photo.clone());
                let sub = Submission {
                    doc: *doc,
                    region: region.clone(),
                    details: details.clone(),
                    photo: photo.clone(),
                };
                let t0 = Instant::now();
                let submitted = self.b.uploader.submit(sub);
                self.telemetry.last_submit_ms = Some(t0.elapsed().as_secs_f64() * 1000.0);
                Some(match submitted {
                    Ok(claim) => Event::Queued { claim },
                    Err(why) => Event::UploadRefused(why),
                })
            }
            Effect::AbandonUpload => {
                self.b.uploader.abandon();
                self.personal.thumbnail = None;
                None
            }
            Effect::Print(slip) => {
                if matches!(slip, crate::domain::Slip::Claim { .. }) {
                    self.telemetry.counters.claims += 1;
                }
                let job = SlipJob {
                    slip: slip.clone(),
                    photo: self.personal.thumbnail.take(),
                    masked_name: self.personal.masked_name.clone(),
                    issued_at: chrono::Utc::now().with_timezone(&crate::domain::china_time()),
                    token: match slip {
                        crate::domain::Slip::Receipt { .. } => self.personal.slip_token.clone(),
                        crate::domain::Slip::Claim { .. } | crate::domain::Slip::HandOff { .. } => None,
                    },
                };
                self.b.printer.print(job).err().map(|err| {
                    log::error!("printer: {err}");
                    Event::PrinterFault(err.fault())
                })
            }
            Effect::StillThere { seconds } => {
                self.overlay.still_there = Some(*seconds);
                None
            }
            Effect::HideStillThere => {
                self.overlay.still_there = None;
                None
            }
            Effect::CallStaff => {
                log::warn!("call staff pressed on {}", self.session.state().name());
                self.alert(AlertKind::CallStaff, None, vec![]);
                None
            }
            Effect::HandOff { doc, region, reasons } => {
                let code = crate::domain::HandOffCode::random();
                let ids: Vec<&str> = reasons.iter().map(|r| r.id.as_str()).collect();
                log::warn!("hand-off {code}: posing stopped ({})", ids.join(", "));
                self.telemetry.counters.hand_offs += 1;
                let job = SlipJob {
                    slip: crate::domain::Slip::HandOff {
                        code: code.clone(),
                        doc: *doc,
                        region: region.clone(),
                        reasons: reasons.clone(),
                    },
                    photo: None,
                    masked_name: None,
                    issued_at: chrono::Utc::now().with_timezone(&crate::domain::china_time()),
                    token: None,
                };
                // The code is on screen too: a printer fault costs the slip, not the hand-off.
                if let Err(e) = self.b.printer.print(job) {
                    log::error!("hand-off slip {code} not printed: {e}");
                }
                self.overlay.hand_off = Some(code.clone());
                self.alert(AlertKind::HandOff, Some(code), reasons.clone());
                None
            }
            Effect::Wiped => {
                self.personal = Personal::default();
                None
            }
        }
    }
}

/// The raw capture, kept (as personal data) for 再办一项 until the session ends.
fn encode_capture(img: &image::RgbImage) -> Result<PhotoJpeg, image::ImageError> {
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 95).encode_image(img)?;
    Ok(PhotoJpeg(buf))
}
