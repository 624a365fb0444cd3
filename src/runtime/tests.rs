use super::*;
use crate::config::{Config, DocumentId, RegionCode};
use crate::domain::Slip;
use crate::ports::{Decision, Guide, GuideOutput, Resumed};
use crate::session::{Details, Event, State};
use crate::testkit::runtime::*;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn details() -> Details {
    let body = "44010619900101123";
    let id = format!("{body}{}", crate::session::details::id_check_char(body).unwrap());
    Details {
        name: Some("张三".into()),
        id_number: Some(id),
        mobile: None,
    }
}

fn engine(guide: ScriptedGuide, maker: PlainMaker, up: ScriptedUploader, pr: RecordingPrinter) -> Engine {
    let camera = Box::new(ReplaySource::open(Path::new("builtin"), 15.0, false).unwrap());
    Engine::new(
        &Config::builtin(),
        Backends {
            camera,
            guide: Box::new(guide),
            maker: Box::new(maker),
            uploader: Box::new(up),
            printer: Box::new(pr),
            alerts: Box::new(crate::ports::NoConsole),
            idcard: None,
        },
    )
}

fn to_posing(e: &mut Engine) {
    e.handle(Event::Start);
    e.handle(Event::ChooseDocument(DocumentId::IdCard));
    e.handle(Event::ChooseRegion(RegionCode::new("440100").unwrap()));
    e.handle(Event::Consent(true));
    e.handle(Event::SubmitDetails(details()));
    assert_eq!(e.session().state().name(), "posing");
}

fn run_until(e: &mut Engine, name: &str, max_steps: usize) {
    for _ in 0..max_steps {
        if e.session().state().name() == name {
            return;
        }
        e.step();
    }
    panic!("never reached {name}; stuck in {}", e.session().state().name());
}

#[test]
fn a_whole_session_through_the_test_backends() {
    let printer = RecordingPrinter::default();
    let jobs = printer.jobs.clone();
    let up = ScriptedUploader::approving(3);
    let submitted = up.submitted.clone();
    let mut e = engine(ScriptedGuide::new(5, 4), PlainMaker { refuse: false }, up, printer);
    to_posing(&mut e);
    run_until(&mut e, "review-photo", 20);
    assert_eq!(e.hints().1, &["face_size".to_string()]);
    let photo = e.view().photo.expect("made photo shown");
    assert_eq!((photo.width(), photo.height()), (358, 441));
    e.handle(Event::Accept);
    run_until(&mut e, "done", 10);
    let jobs = jobs.lock().unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(matches!(&jobs[0].slip, Slip::Receipt { number, .. } if number.as_str() == "440100261126000017"));
    assert!(jobs[0].photo.is_some(), "thumbnail handed to the printer");
    assert_eq!(jobs[0].masked_name.as_deref(), Some("张*"));
    assert_eq!(
        jobs[0].token.as_ref().map(|t| t.expose()),
        Some(crate::testkit::runtime::SCRIPTED_TOKEN),
        "the approval's token goes with the slip (its QR)"
    );
    assert_eq!(
        e.view().slip_token.as_ref().map(|t| t.expose()),
        Some(crate::testkit::runtime::SCRIPTED_TOKEN),
        "and to the screen (its QR) while the receipt is shown"
    );
    assert_eq!(submitted.lock().unwrap()[0].0, "id-card");
    e.handle(Event::Accept);
    assert_eq!(e.session().state(), &State::Attract);
    assert!(e.session().holds_no_personal_data());
    assert!(e.view().slip_token.is_none(), "the token leaves with the session");
    assert_eq!(e.counters().receipts, 1);
}

#[test]
fn replay_ending_before_capture_reports_the_last_hint() {
    let mut e = engine(
        ScriptedGuide::new(1000, 1),
        PlainMaker { refuse: false },
        ScriptedUploader::approving(1),
        RecordingPrinter::default(),
    );
    to_posing(&mut e);
    for _ in 0..45 {
        e.step();
    }
    assert_eq!(e.session().state().name(), "posing");
    assert!(e.camera_error().unwrap().contains("no more frames"));
    assert_eq!(e.hints().0.as_ref().unwrap().id, "face_size");
}

#[test]
fn refused_photo_keeps_posing_then_captures_again() {
    let mut e = engine(
        ScriptedGuide::new(0, 2),
        PlainMaker { refuse: true },
        ScriptedUploader::approving(1),
        RecordingPrinter::default(),
    );
    to_posing(&mut e);
    e.step();
    e.step();
    assert!(matches!(e.session().state(), State::Posing { reasons, .. } if reasons[0].id == "face_position"));
    assert_eq!(e.counters().captures, 1);
    e.step();
    e.step();
    assert_eq!(e.counters().captures, 2, "the guide was reset and captured again");
}

#[test]
fn printer_fault_then_recovery_ends_in_one_receipt() {
    let printer = RecordingPrinter {
        fault_first: Some(crate::domain::PrinterFault::PaperOut),
        ..Default::default()
    };
    let jobs = printer.jobs.clone();
    let mut e = engine(
        ScriptedGuide::new(0, 1),
        PlainMaker { refuse: false },
        ScriptedUploader::approving(1),
        printer,
    );
    to_posing(&mut e);
    e.step();
    e.handle(Event::Accept);
    e.step(); // approved -> printing; fault -> waiting; ready -> printing; printed -> done
    assert_eq!(e.session().state().name(), "done");
    assert_eq!(jobs.lock().unwrap().len(), 1);
}

#[test]
fn a_printer_fault_seen_mid_session_is_cleared_by_the_recovery_before_the_print() {
    // The idle poll saw a fault while the person posed (the engine turns it into a device
    // fault); the print then faults, the printer recovers, the slip prints: the kiosk must
    // end in attract, not stay out of service for a fault that is over.
    let printer = RecordingPrinter {
        fault_first: Some(crate::domain::PrinterFault::PaperOut),
        ..Default::default()
    };
    let mut e = engine(
        ScriptedGuide::new(0, 1),
        PlainMaker { refuse: false },
        ScriptedUploader::approving(1),
        printer,
    );
    to_posing(&mut e);
    e.handle(Event::DeviceFault(crate::session::Device::Printer));
    assert_eq!(e.session().state().name(), "posing", "the person is kept");
    e.step();
    e.handle(Event::Accept);
    e.step();
    assert_eq!(e.session().state().name(), "done");
    e.handle(Event::Accept);
    assert_eq!(e.session().state().name(), "attract");
}

#[test]
fn upload_refusal_goes_to_staff_and_camera_loss_to_out_of_service() {
    let up = ScriptedUploader {
        refuse: Some(crate::domain::Prompt::new("disk_full", "存储已满", "Storage full")),
        ..Default::default()
    };
    let mut e = engine(
        ScriptedGuide::new(0, 1),
        PlainMaker { refuse: false },
        up,
        RecordingPrinter::default(),
    );
    to_posing(&mut e);
    e.step();
    e.handle(Event::Accept);
    assert_eq!(e.session().state().name(), "see-staff");

    // The service refusing the upload (a 4xx) is no photo rejection: no retake, see staff
    // with the service's reason, nothing personal kept.
    let up = ScriptedUploader {
        decision: Some(Decision::Refused(crate::domain::Prompt::new(
            "unknown_region",
            "未知的地区代码",
            "Unknown region code",
        ))),
        polls: 1,
        ..Default::default()
    };
    let mut e = engine(
        ScriptedGuide::new(0, 1),
        PlainMaker { refuse: false },
        up,
        RecordingPrinter::default(),
    );
    to_posing(&mut e);
    e.step();
    e.handle(Event::Accept);
    run_until(&mut e, "see-staff", 50);
    let State::SeeStaff { reasons } = e.session().state() else {
        unreachable!()
    };
    assert_eq!(reasons[0].id, "unknown_region");
    assert_eq!(e.counters().rejections, 0, "not counted as a photo rejection");
    e.handle(Event::Accept);
    assert_eq!(e.session().state(), &State::Attract);
    assert!(e.session().holds_no_personal_data());

    let camera = ReplaySource::open(Path::new("builtin"), 15.0, true).unwrap();
    let unplug = camera.unplug_switch();
    let mut e = Engine::new(
        &Config::builtin(),
        Backends {
            camera: Box::new(camera),
            guide: Box::new(ScriptedGuide::new(100, 1)),
            maker: Box::new(PlainMaker { refuse: false }),
            uploader: Box::new(ScriptedUploader::approving(1)),
            printer: Box::new(RecordingPrinter::default()),
            alerts: Box::new(crate::ports::NoConsole),
            idcard: None,
        },
    );
    to_posing(&mut e);
    e.step();
    unplug.store(true, std::sync::atomic::Ordering::SeqCst);
    e.step();
    assert_eq!(e.session().state().name(), "out-of-service");
    assert!(e.session().holds_no_personal_data());
}

#[test]
fn kiosk_thread_reaches_posing_and_shows_preview() {
    let camera = Box::new(ReplaySource::open(Path::new("builtin"), 15.0, true).unwrap());
    let k = Kiosk::start(
        &Config::builtin(),
        Backends {
            camera,
            guide: Box::new(ScriptedGuide::new(100_000, 1)),
            maker: Box::new(PlainMaker { refuse: false }),
            uploader: Box::new(ScriptedUploader::approving(1)),
            printer: Box::new(RecordingPrinter::default()),
            alerts: Box::new(crate::ports::NoConsole),
            idcard: None,
        },
    );
    k.send(Event::Start);
    k.send(Event::ChooseDocument(DocumentId::IdCard));
    k.send(Event::ChooseRegion(RegionCode::new("440100").unwrap()));
    k.send(Event::Consent(true));
    k.send(Event::SubmitDetails(details()));
    let t0 = std::time::Instant::now();
    while k.view().preview.is_none() {
        assert!(t0.elapsed().as_secs() < 20, "no preview");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(k.view().state.name(), "posing");
    // The preview comes first; the hint follows when the analysis thread has a result.
    let mut said = vec![];
    wait_for("the first hint", || {
        said.extend(k.take_speech());
        !said.is_empty()
    });
    assert_eq!(said, vec!["face_size".to_string()]);
}

#[test]
fn test_print_goes_through_the_printer() {
    let printer = RecordingPrinter::default();
    let jobs = printer.jobs.clone();
    let mut e = engine(
        ScriptedGuide::new(0, 1),
        PlainMaker { refuse: false },
        ScriptedUploader::approving(1),
        printer,
    );
    e.test_print().unwrap();
    let jobs = jobs.lock().unwrap();
    assert!(matches!(&jobs[0].slip, Slip::Receipt { number, .. } if number.as_str() == "TEST-PRINT"));
    assert!(jobs[0].photo.is_none() && jobs[0].masked_name.is_none());
}

#[test]
fn resumed_receipts_print_only_while_idle_and_settle_when_cut() {
    let printer = RecordingPrinter::default();
    let jobs = printer.jobs.clone();
    let mut up = ScriptedUploader::approving(1);
    let settled = up.settled.clone();
    up.resumed.push(Resumed {
        slip: Slip::Receipt {
            number: crate::domain::ReceiptNumber::new("44010026112600000099").unwrap(),
            valid_until: chrono::NaiveDate::from_ymd_opt(2027, 5, 25).unwrap(),
            doc: DocumentId::IdCard,
            region: RegionCode::new("440100").unwrap(),
        },
        photo: None,
        token: crate::domain::ReceiptToken::new("fedcba9876543210fedcba9876543210").unwrap(),
    });
    let mut e = engine(ScriptedGuide::new(0, 1), PlainMaker { refuse: false }, up, printer);
    // A person is mid-session when the kiosk learns of the resumed receipt: it waits.
    to_posing(&mut e);
    e.step();
    assert_eq!(e.session().state().name(), "review-photo");
    assert!(
        jobs.lock().unwrap().is_empty(),
        "nothing printed during someone's session"
    );
    e.handle(Event::Accept);
    run_until(&mut e, "done", 10);
    assert_eq!(jobs.lock().unwrap().len(), 1);
    assert_eq!(*settled.lock().unwrap(), vec!["440100261126000017".to_string()]);
    assert!(e.background_printed().is_empty());
    // Idle again: the resumed receipt prints, its cut settles it; the screen is untouched.
    e.handle(Event::Accept);
    assert_eq!(e.session().state(), &State::Attract);
    e.step();
    e.step();
    let jobs = jobs.lock().unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[1].slip.key(), "44010026112600000099");
    assert_eq!(
        jobs[1].token.as_ref().map(|t| t.expose()),
        Some("fedcba9876543210fedcba9876543210"),
        "a resumed receipt's QR keeps its token"
    );
    assert_eq!(
        *settled.lock().unwrap(),
        vec!["440100261126000017".to_string(), "44010026112600000099".to_string()]
    );
    assert_eq!(e.background_printed(), &["44010026112600000099".to_string()]);
    assert_eq!(e.session().state(), &State::Attract);
}

#[test]
fn kiosk_metrics_report_printer_state_and_outbox_depth() {
    // The depth comes through the uploader port, as the real client reads its outbox.
    let cfg = Config::builtin();
    let mut printer = RecordingPrinter::default();
    printer
        .events
        .push(crate::ports::PrinterEvent::Fault(crate::domain::PrinterFault::PaperOut));
    let camera = Box::new(ReplaySource::open(Path::new("builtin"), 15.0, false).unwrap());
    let k = Kiosk::start(
        &cfg,
        Backends {
            camera,
            guide: Box::new(ScriptedGuide::new(0, 1)),
            maker: Box::new(PlainMaker { refuse: false }),
            uploader: Box::new(ScriptedUploader {
                outbox: Arc::new(std::sync::Mutex::new(crate::ports::OutboxDepth {
                    entries: 2,
                    unsent: 1,
                    undecided: 2,
                    quarantined: 0,
                })),
                ..ScriptedUploader::approving(1)
            }),
            printer: Box::new(printer),
            alerts: Box::new(crate::ports::NoConsole),
            idcard: None,
        },
    );
    let t0 = std::time::Instant::now();
    while k.metrics().printer_state != "paper_out" {
        assert!(t0.elapsed().as_secs() < 10, "metrics: {:?}", k.metrics());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(k.metrics().outbox_depth, 2);
    assert!(crate::ops::metrics::render(&k.metrics()).contains("kiosk_outbox_depth 2"));
}

/// A guide that takes `delay` per frame (like the real one at 20–40 ms, only slower) and
/// counts the frames it started and finished.
struct SlowGuide {
    inner: ScriptedGuide,
    delay: std::time::Duration,
    started: Arc<AtomicU64>,
    finished: Arc<AtomicU64>,
}

impl SlowGuide {
    fn new(inner: ScriptedGuide, delay_ms: u64) -> Self {
        SlowGuide {
            inner,
            delay: std::time::Duration::from_millis(delay_ms),
            started: Arc::default(),
            finished: Arc::default(),
        }
    }
}

impl Guide for SlowGuide {
    fn reset(&mut self, spec: &crate::config::DocumentSpec) {
        self.inner.reset(spec);
    }
    fn analyse(&mut self, frame: &crate::ports::Frame) -> GuideOutput {
        self.started.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        let out = self.inner.analyse(frame);
        self.finished.fetch_add(1, Ordering::SeqCst);
        out
    }
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !ok() {
        assert!(t0.elapsed().as_secs() < 20, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[test]
fn live_kiosk_preview_outpaces_a_slow_guide_and_still_captures() {
    // Camera paced at 60 fps, guide 60 ms per frame (~16 Hz): the preview must show
    // camera frames, not analysed ones.
    let camera = Box::new(ReplaySource::open(Path::new("builtin"), 60.0, true).unwrap().paced());
    let guide = SlowGuide::new(ScriptedGuide::new(5, 10), 60);
    let finished = guide.finished.clone();
    let k = Kiosk::start(
        &Config::builtin(),
        Backends {
            camera,
            guide: Box::new(guide),
            maker: Box::new(PlainMaker { refuse: false }),
            uploader: Box::new(ScriptedUploader::approving(1)),
            printer: Box::new(RecordingPrinter::default()),
            alerts: Box::new(crate::ports::NoConsole),
            idcard: None,
        },
    );
    k.send(Event::Start);
    k.send(Event::ChooseDocument(DocumentId::IdCard));
    k.send(Event::ChooseRegion(RegionCode::new("440100").unwrap()));
    k.send(Event::Consent(true));
    k.send(Event::SubmitDetails(details()));
    wait_for("posing", || k.view().state.name() == "posing");
    let analysed_before = finished.load(Ordering::SeqCst);
    let mut previews = 0u64;
    let mut last: Option<Arc<image::RgbImage>> = None;
    let t0 = std::time::Instant::now();
    loop {
        let v = k.view();
        if v.state.name() != "posing" {
            break;
        }
        if let Some(p) = v.preview {
            if !last.as_ref().is_some_and(|l| Arc::ptr_eq(l, &p)) {
                previews += 1;
                last = Some(p);
            }
        }
        assert!(t0.elapsed().as_secs() < 30, "no capture after 30 s");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let analysed = finished.load(Ordering::SeqCst) - analysed_before;
    eprintln!("posing: {previews} distinct previews, {analysed} analysed frames");
    assert!(analysed >= 15, "the capture needs 15 analysed frames, saw {analysed}");
    assert!(
        previews >= 2 * analysed,
        "preview should advance faster than analysis: {previews} previews for {analysed} analysed frames"
    );
    wait_for("review-photo", || k.view().state.name() == "review-photo");
    let v = k.view();
    assert!(v.photo.is_some(), "the made photo is on the review screen");
    assert_eq!(v.counters.captures, 1);
    assert!(v.preview.is_none(), "the camera stopped");
    k.send(Event::Retake);
    wait_for("posing again", || k.view().state.name() == "posing");
    wait_for("a second capture", || k.view().counters.captures == 2);
}

#[test]
fn analysis_results_from_before_a_reset_are_discarded() {
    let guide = SlowGuide::new(ScriptedGuide::new(1000, 1), 200);
    let (started, finished) = (guide.started.clone(), guide.finished.clone());
    let camera = Box::new(ReplaySource::open(Path::new("builtin"), 15.0, true).unwrap());
    let mut e = Engine::with_mode(
        &Config::builtin(),
        Backends {
            camera,
            guide: Box::new(guide),
            maker: Box::new(PlainMaker { refuse: false }),
            uploader: Box::new(ScriptedUploader::approving(1)),
            printer: Box::new(RecordingPrinter::default()),
            alerts: Box::new(crate::ports::NoConsole),
            idcard: None,
        },
        AnalysisMode::OwnThread,
    );
    to_posing(&mut e);
    e.step();
    assert!(e.view().preview.is_some(), "the frame is shown before its analysis");
    wait_for("analysis to start", || started.load(Ordering::SeqCst) == 1);
    // The person cancels while the frame is analysed; its result arrives afterwards.
    e.handle(Event::Cancel);
    assert_eq!(e.session().state(), &State::Attract);
    wait_for("analysis to finish", || finished.load(Ordering::SeqCst) == 1);
    std::thread::sleep(std::time::Duration::from_millis(20));
    to_posing(&mut e);
    e.step();
    assert!(
        e.counters().hints.is_empty(),
        "stale hint applied: {:?}",
        e.counters().hints
    );
    assert!(e.hints().1.is_empty() && e.hints().0.is_none());
    assert_eq!(e.analysed_on_thread(), 0);
    // The new run's own results do arrive.
    wait_for("a fresh result", || {
        e.step();
        e.analysed_on_thread() > 0
    });
    assert_eq!(e.hints().1, &["face_size".to_string()]);
}

#[test]
fn analysis_thread_is_capped_and_sees_the_newest_frame() {
    // An instant guide fed far faster than the cap: it must not analyse more often than
    // MAX_ANALYSIS_HZ (the rest of the CPU is the preview's), and what it analyses is the
    // newest frame offered, not a queue.
    use crate::ports::FrameSource;
    use crate::runtime::analysis::{AnalysisWorker, MAX_ANALYSIS_HZ};
    let guide = SlowGuide::new(ScriptedGuide::new(1000, 1), 0);
    let started = guide.started.clone();
    let mut a = AnalysisWorker::spawn(Box::new(guide));
    a.reset(Some(&Config::builtin().spec_for(DocumentId::IdCard, None)));
    let mut src = ReplaySource::open(Path::new("builtin"), 1000.0, true).unwrap();
    let t0 = std::time::Instant::now();
    let mut offered = 0u64;
    while t0.elapsed() < std::time::Duration::from_millis(600) {
        a.offer(src.next_frame().unwrap());
        offered += 1;
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let secs = t0.elapsed().as_secs_f64();
    let analysed = started.load(Ordering::SeqCst);
    eprintln!("{offered} frames offered in {secs:.2} s, {analysed} analysed");
    assert!(analysed >= 1, "the guide never ran");
    assert!(
        analysed as f64 <= secs * MAX_ANALYSIS_HZ + 1.0,
        "{analysed} analyses in {secs:.2} s exceed the {MAX_ANALYSIS_HZ} Hz cap"
    );
    assert!(
        offered > 3 * analysed,
        "frames should be dropped, not queued: {offered} offered"
    );
}

/// The person's name has no shape the log redactor knows: the engine registers it (and
/// the ID number) with the redactor from the details form until the session's wipe.
#[test]
fn the_persons_name_is_masked_in_logs_until_the_wipe() {
    let mut e = engine(
        ScriptedGuide::new(1000, 1),
        PlainMaker { refuse: false },
        ScriptedUploader::approving(1),
        RecordingPrinter::default(),
    );
    e.handle(Event::Start);
    e.handle(Event::ChooseDocument(DocumentId::IdCard));
    e.handle(Event::ChooseRegion(RegionCode::new("440100").unwrap()));
    e.handle(Event::Consent(true));
    let mut d = details();
    // A name no other test uses (the redactor's registry is process-wide).
    d.name = Some("诸葛孔明".into());
    e.handle(Event::SubmitDetails(d));
    assert_eq!(e.session().state().name(), "posing");
    let line = crate::ops::logging::redact("upload for 诸葛孔明 queued");
    assert_eq!(line, "upload for 诸*** queued");
    e.handle(Event::Cancel);
    assert_eq!(e.session().state(), &State::Attract);
    assert_eq!(
        crate::ops::logging::redact("诸葛孔明"),
        "诸葛孔明",
        "the wipe ends the registration"
    );
}

fn engine_with(
    maker: PlainMaker,
    pr: RecordingPrinter,
    alerts: RecordingAlerts,
    idcard: Option<crate::testkit::idcard::ScriptedReader>,
) -> Engine {
    let mut cfg = Config::builtin();
    if idcard.is_some() {
        cfg.devices.idcard = "serial:/dev/null".parse().unwrap();
        cfg.idcard.poll_interval_ms = 0;
    }
    Engine::new(
        &cfg,
        Backends {
            camera: Box::new(ReplaySource::open(Path::new("builtin"), 15.0, false).unwrap()),
            guide: Box::new(ScriptedGuide::new(0, 2)),
            maker: Box::new(maker),
            uploader: Box::new(ScriptedUploader::approving(3)),
            printer: Box::new(pr),
            alerts: Box::new(alerts),
            idcard: idcard.map(|r| Box::new(r) as Box<dyn crate::ports::IdCardReader>),
        },
    )
}

#[test]
fn three_refused_captures_print_a_hand_off_slip_and_alert_staff() {
    let printer = RecordingPrinter::default();
    let jobs = printer.jobs.clone();
    let alerts = RecordingAlerts::console();
    let raised = alerts.alerts.clone();
    let mut e = engine_with(PlainMaker { refuse: true }, printer, alerts, None);
    to_posing(&mut e);
    run_until(&mut e, "see-staff", 200);
    let jobs = jobs.lock().unwrap();
    assert_eq!(jobs.len(), 1, "one hand-off slip");
    let Slip::HandOff { code, reasons, .. } = &jobs[0].slip else {
        panic!("{:?}", jobs[0].slip)
    };
    assert!(!reasons.is_empty(), "the failing checks are on the slip");
    assert!(
        jobs[0].photo.is_none() && jobs[0].masked_name.is_none(),
        "no personal data"
    );
    let raised = raised.lock().unwrap();
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].kind, crate::ports::AlertKind::HandOff);
    assert_eq!(raised[0].code.as_ref(), Some(code), "slip and alert share the code");
    let v = e.view();
    assert_eq!(v.hand_off.as_ref(), Some(code), "the code is on screen too");
    assert_eq!(v.staff_call, Some(crate::ports::AlertOutcome::Accepted));
    assert_eq!(v.counters.hand_offs, 1);
    assert!(e.session().holds_no_personal_data());
}

#[test]
fn call_staff_without_a_console_never_claims_staff_were_reached() {
    let alerts = RecordingAlerts::default(); // no console takes it
    let mut e = engine_with(PlainMaker { refuse: false }, RecordingPrinter::default(), alerts, None);
    e.handle(Event::Start);
    e.handle(Event::CallStaff);
    let v = e.view();
    assert_eq!(v.staff_call, Some(crate::ports::AlertOutcome::NoConsole));
    assert_eq!(e.take_speech(), ["chime", "see_desk"], "a chime and 请到服务台求助");
    // With a console that takes it: reached, and no chime.
    let mut e = engine_with(
        PlainMaker { refuse: false },
        RecordingPrinter::default(),
        RecordingAlerts::console(),
        None,
    );
    e.handle(Event::CallStaff);
    assert!(e.view().staff_call.is_some_and(|o| o.reached_staff()));
    assert!(e.take_speech().is_empty());
}

#[test]
fn the_reader_is_polled_only_on_the_details_screen_and_fills_it() {
    use crate::domain::{CardDetails, CardKind, CardRead};
    let reader = crate::testkit::idcard::ScriptedReader::new([]);
    let polls = reader.polls.clone();
    let mut e = engine_with(
        PlainMaker { refuse: false },
        RecordingPrinter::default(),
        RecordingAlerts::default(),
        Some(reader.clone()),
    );
    e.handle(Event::Start);
    e.handle(Event::ChooseDocument(DocumentId::IdCard));
    e.handle(Event::ChooseRegion(RegionCode::new("440100").unwrap()));
    for _ in 0..3 {
        e.step();
    }
    assert_eq!(*polls.lock().unwrap(), 0, "no read before consent");
    e.handle(Event::Consent(true));
    let d = details();
    reader.push(CardRead::Card(CardDetails {
        name: d.name.clone().unwrap(),
        id_number: d.id_number.clone().unwrap(),
        kind: CardKind::Resident,
    }));
    e.step();
    assert!(*polls.lock().unwrap() >= 1);
    let card = e.view().card.expect("the card's details offered on screen");
    assert_eq!(card.name, "张三");
    e.handle(Event::SubmitDetails(d));
    assert_eq!(e.session().state().name(), "posing");
    assert_eq!(
        e.session().details_source(),
        Some(crate::session::DetailsSource::IdCard)
    );
    let before = *polls.lock().unwrap();
    for _ in 0..3 {
        e.step();
    }
    assert_eq!(*polls.lock().unwrap(), before, "no polling while posing");
    assert!(e.view().card.is_none());
}

#[test]
fn newly_quarantined_outbox_rows_alert_staff_once_and_silently() {
    let alerts = RecordingAlerts::console();
    let raised = alerts.alerts.clone();
    let outbox = Arc::new(std::sync::Mutex::new(crate::ports::OutboxDepth {
        quarantined: 2,
        ..Default::default()
    }));
    let mut e = Engine::new(
        &Config::builtin(),
        Backends {
            camera: Box::new(ReplaySource::open(Path::new("builtin"), 15.0, false).unwrap()),
            guide: Box::new(ScriptedGuide::new(0, 2)),
            maker: Box::new(PlainMaker { refuse: false }),
            uploader: Box::new(ScriptedUploader {
                outbox: outbox.clone(),
                ..ScriptedUploader::approving(1)
            }),
            printer: Box::new(RecordingPrinter::default()),
            alerts: Box::new(alerts),
            idcard: None,
        },
    );
    // Rows quarantined by an earlier run are the baseline (diag reports them).
    e.refresh_status();
    assert!(raised.lock().unwrap().is_empty());
    outbox.lock().unwrap().quarantined = 3;
    e.refresh_status();
    e.refresh_status();
    let got = raised.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one alert per new quarantine: {got:?}");
    assert_eq!(got[0].kind, crate::ports::AlertKind::Quarantine);
    assert_eq!(got[0].screen, "outbox");
    assert!(got[0].reasons[0].zh.contains("1份"), "{:?}", got[0].reasons);
    // Nobody at the kiosk is told: no chime, no 已呼叫 on the attract screen.
    assert!(e.take_speech().is_empty());
    assert_eq!(e.view().staff_call, None);
}

/// Issue #15: the admin menu's camera check reads frames from the runtime's own camera
/// (a V4L device is held by it for good), never while a session is posing, and reports a
/// dead camera with its reason.
#[test]
fn the_camera_check_borrows_the_runtimes_camera_only_while_nobody_poses() {
    let camera = ReplaySource::open(Path::new("builtin"), 15.0, true).unwrap();
    let unplug = camera.unplug_switch();
    let mut e = Engine::new(
        &Config::builtin(),
        Backends {
            camera: Box::new(camera),
            guide: Box::new(ScriptedGuide::new(100, 1)),
            maker: Box::new(PlainMaker { refuse: false }),
            uploader: Box::new(ScriptedUploader::approving(1)),
            printer: Box::new(RecordingPrinter::default()),
            alerts: Box::new(crate::ports::NoConsole),
            idcard: None,
        },
    );
    match e.check_camera(10) {
        CameraCheck::Ok {
            device, frames, width, ..
        } => {
            assert_eq!(frames, 10);
            assert!(width > 0);
            assert!(device.contains("builtin"), "{device}");
        }
        other => panic!("camera check on an idle kiosk: {other:?}"),
    }
    to_posing(&mut e);
    e.step();
    assert!(matches!(e.check_camera(10), CameraCheck::Busy { .. }));
    assert!(e.view().preview.is_some(), "the session keeps its preview");
    e.handle(Event::Cancel);
    assert_eq!(e.session().state(), &State::Attract);
    unplug.store(true, Ordering::SeqCst);
    match e.check_camera(10) {
        CameraCheck::Failed { reason, .. } => assert!(reason.contains("disconnected"), "{reason}"),
        other => panic!("an unplugged camera checked {other:?}"),
    }
    assert_eq!(e.session().state(), &State::Attract, "a check is no session fault");
}
