//! `kiosk simulate`: whole sessions headless through the same runtime as `kiosk run` —
//! replayed frames as the camera, guidance and auto-capture, the photo maker, the upload
//! (to the embedded review centre by default), the receipt (PDF by default), the wipe.

use crate::config::{Config, DocumentId, RegionCode};
use crate::domain::Slip;
use crate::runtime::{Backends, Engine};
use crate::session::{CardStatus, Details, Event, State};
use serde::Serialize;
use std::time::{Duration, Instant};

/// One session's outcome, printed as JSON with `--json`.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub receipt_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_code: Option<String>,
    pub doc: DocumentId,
    pub region: RegionCode,
    pub printed: Option<String>,
    pub captured_frame: Option<u64>,
    /// Where the details came from: `idcard` (read from the card, `--idcard`) or `typed`
    /// (`--details` or the synthetic test person); absent for documents that ask none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details_source: Option<&'static str>,
    pub hints: Vec<String>,
    pub stages_ms: Stages,
    pub total_ms: f64,
    /// Resident memory (kB) and open file descriptors of this process after the session,
    /// for soak tests.
    pub rss_kb: u64,
    pub open_fds: u64,
    /// Set when the session could not finish: the stage and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<Failure>,
}

#[derive(Debug, Default, Serialize)]
pub struct Stages {
    pub posing: Option<f64>,
    pub make_photo: Option<f64>,
    pub upload: Option<f64>,
    pub review: Option<f64>,
    pub print: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Failure {
    pub stage: &'static str,
    pub reason: String,
}

fn ms(a: Option<Instant>, b: Option<Instant>) -> Option<f64> {
    Some(b?.checked_duration_since(a?)?.as_secs_f64() * 1000.0)
}

/// What an earlier run left unfinished: outbox entries orphaned by its end, and print
/// jobs not confirmed. Counted from the files, not the engine, so the wait below ends only
/// when the disk says so.
struct Leftovers {
    outbox: crate::review::outbox::Outbox,
    journal: Option<crate::printer::journal::Journal>,
}

impl Leftovers {
    fn open(cfg: &Config) -> anyhow::Result<Leftovers> {
        let outbox = crate::review::outbox::Outbox::open(&cfg.kiosk.data_dir)?;
        let journal = match cfg.devices.printer.device() {
            crate::config::Device::Serial { .. } => Some(crate::printer::journal::Journal::open(
                &crate::printer::backend::journal_path(cfg),
                cfg.printer.roll_length_mm,
            )?),
            _ => None,
        };
        Ok(Leftovers { outbox, journal })
    }

    fn count(&self) -> usize {
        use crate::review::outbox::Owner;
        let orphans = self
            .outbox
            .entries()
            .map(|v| v.iter().filter(|e| e.owner == Owner::Orphaned).count())
            .unwrap_or(0);
        let jobs = self
            .journal
            .as_ref()
            .and_then(|j| j.unfinished().ok())
            .map(|v| v.len())
            .unwrap_or(0);
        orphans + jobs
    }
}

/// Runs the engine idle (attract) until what an earlier run left is finished: receipts of
/// resumed uploads printed, unfinished journal jobs cut. Returns the keys printed.
pub fn finish_earlier_run(cfg: &Config) -> anyhow::Result<Vec<String>> {
    let mut e = Engine::new(cfg, sim_backends(cfg)?);
    settle_leftovers(cfg, &mut e, &mut || {})?;
    let mut keys = e.background_printed().to_vec();
    // A journal job confirmed after the restart and its resumed upload report the same key.
    keys.sort();
    keys.dedup();
    Ok(keys)
}

fn settle_leftovers(cfg: &Config, e: &mut Engine, on_step: &mut dyn FnMut()) -> anyhow::Result<()> {
    let left = Leftovers::open(cfg)?;
    if left.count() == 0 {
        return Ok(());
    }
    log::info!("finishing what an earlier run left ({} item(s))", left.count());
    let limit =
        Duration::from_secs(u64::from(cfg.kiosk.decision_deadline_s) + u64::from(cfg.printer.job_timeout_s) + 10);
    let t0 = Instant::now();
    while left.count() > 0 {
        anyhow::ensure!(
            t0.elapsed() < limit,
            "what an earlier run left did not finish within {} s (outbox orphans + unfinished print jobs: {})",
            limit.as_secs(),
            left.count()
        );
        e.step();
        on_step();
        std::thread::sleep(Duration::from_millis(20));
    }
    // The last cut's event may still be on its way to the engine.
    for _ in 0..10 {
        e.step();
        on_step();
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// The backends of `simulate`: the configured devices, the replay unpaced and run once,
/// and an embedded review centre (if configured) that approves at once.
pub fn sim_backends(cfg: &Config) -> anyhow::Result<Backends> {
    crate::wiring::backends_with(cfg, false, Duration::ZERO)
}

/// Where a simulated person's details come from.
#[derive(Debug, Clone)]
pub enum DetailsFrom {
    /// Given (`--details`, or the synthetic test person).
    Given(Details),
    /// Read from the card on the configured reader, confirmed as read; no card, no session.
    Card {
        /// How long to wait on the details screen for a card to be read.
        wait: Duration,
    },
}

/// Runs one session to its end (or failure) through the engine (idle in attract, its
/// camera fresh).
pub fn one_session(
    cfg: &Config,
    e: &mut Engine,
    doc: DocumentId,
    region: &RegionCode,
    details: DetailsFrom,
) -> anyhow::Result<Outcome> {
    one_session_with(cfg, e, doc, region, details, &mut || {})
}

/// [`one_session`], calling `on_step` after every engine step (the headless kiosk pings
/// the systemd watchdog from there).
pub fn one_session_with(
    cfg: &Config,
    e: &mut Engine,
    doc: DocumentId,
    region: &RegionCode,
    details: DetailsFrom,
    on_step: &mut dyn FnMut(),
) -> anyhow::Result<Outcome> {
    if let Err(why) = settle_leftovers(cfg, e, on_step) {
        // The person in front of the kiosk is not kept waiting for an earlier run's.
        log::warn!("{why:#}; starting the session anyway");
    }
    let t0 = Instant::now();
    let fail = |e: &Engine, stage: &'static str, reason: String| Outcome {
        receipt_number: None,
        claim_code: None,
        doc,
        region: region.clone(),
        printed: None,
        captured_frame: None,
        details_source: None,
        hints: e.hints().1.to_vec(),
        stages_ms: Stages::default(),
        total_ms: t0.elapsed().as_secs_f64() * 1000.0,
        rss_kb: rss_kb(),
        open_fds: open_fds(),
        failed: Some(Failure { stage, reason }),
    };
    e.handle(Event::Start);
    e.handle(Event::ChooseDocument(doc));
    e.handle(Event::ChooseRegion(region.clone()));
    // The person agrees to the collection (the consent screen; declining is a UI test).
    e.handle(Event::Consent(true));
    if e.session().state().name() == "details" {
        match details {
            DetailsFrom::Given(d) => {
                e.handle(Event::SubmitDetails(d));
            }
            DetailsFrom::Card { wait } => {
                if let Err(why) = read_card(e, wait, on_step) {
                    e.handle(Event::Cancel); // wipes whatever was read
                    return Ok(fail(e, "details", why));
                }
            }
        }
    }
    let details_source = e.session().details_source().map(|s| s.id());
    if let State::Details { errors, .. } = e.session().state() {
        let why = errors.iter().map(|x| x.en).collect::<Vec<_>>().join("; ");
        return Ok(fail(e, "details", why));
    }
    if e.session().state().name() != "posing" {
        return Ok(fail(
            e,
            "start",
            format!("cannot start a session: {}", e.session().state().name()),
        ));
    }
    // Posing: step frame by frame until auto-capture or the replay ends.
    let mut frames = 0u64;
    while e.session().state().name() == "posing" {
        e.step();
        on_step();
        frames += 1;
        if let Some(err) = e.camera_error() {
            let last = e
                .hints()
                .0
                .as_ref()
                .map(|h| format!("{} ({})", h.id, h.en))
                .unwrap_or_else(|| "none".into());
            let mut o = fail(e, "posing", format!("no capture: {err}; last hint: {last}"));
            o.stages_ms.posing = ms(e.entered_at("posing"), Some(Instant::now()));
            return Ok(o);
        }
    }
    let captured_frame = Some(frames.saturating_sub(1));
    if e.session().state().name() != "review-photo" {
        return Ok(fail(
            e,
            "posing",
            format!("left posing for {}", e.session().state().name()),
        ));
    }
    e.handle(Event::Accept);
    // Upload, review, print: bounded by the decision deadline plus a margin for printing.
    let limit =
        Duration::from_secs(u64::from(cfg.kiosk.decision_deadline_s) + u64::from(cfg.printer.job_timeout_s) + 10);
    let started = Instant::now();
    let mut approved_at = None;
    while !matches!(
        e.session().state(),
        State::Done { .. } | State::SeeStaff { .. } | State::OutOfService { .. } | State::Attract
    ) {
        if started.elapsed() > limit {
            return Ok(fail(e, e.session().state().name(), "timed out".into()));
        }
        e.step();
        on_step();
        if let State::Posing { reasons, .. } = e.session().state() {
            // The review centre rejected the photo: a replay cannot pose again.
            let why = reasons
                .iter()
                .map(|r| format!("{} ({})", r.id, r.en))
                .collect::<Vec<_>>()
                .join("; ");
            return Ok(fail(e, "review", format!("rejected: {why}")));
        }
        if approved_at.is_none()
            && matches!(
                e.session().state(),
                State::Printing { .. } | State::WaitingForPrinter { .. }
            )
        {
            approved_at = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let stage_of_failure = |s: &State| match s {
        State::SeeStaff { reasons } => Some((
            "review",
            reasons
                .iter()
                .map(|r| format!("{} ({})", r.id, r.en))
                .collect::<Vec<_>>()
                .join("; "),
        )),
        State::OutOfService { faults } => Some(("print", format!("device fault: {faults:?}"))),
        State::Attract => Some(("print", "session ended".into())),
        _ => None,
    };
    if let Some((stage, why)) = stage_of_failure(e.session().state()) {
        return Ok(fail(e, stage, why));
    }
    let (receipt_number, claim_code) = match e.session().state() {
        State::Done {
            slip: Some(Slip::Receipt { number, .. }),
        } => (Some(number.to_string()), None),
        State::Done {
            slip: Some(Slip::Claim { code, .. }),
        } => (None, Some(code.to_string())),
        _ => (None, None),
    };
    let make = e.last_make_ms();
    let posing = ms(e.entered_at("posing"), e.entered_at("review-photo")).map(|p| p - make.unwrap_or(0.0));
    let upload_start = e.entered_at("uploading");
    let stages = Stages {
        posing,
        make_photo: make,
        upload: e.last_submit_ms(),
        review: ms(upload_start, approved_at.or(e.entered_at("printing")))
            .map(|r| r - e.last_submit_ms().unwrap_or(0.0)),
        print: ms(e.entered_at("printing"), e.entered_at("done")),
    };
    let printed = e.last_printed_at().map(str::to_string);
    e.handle(Event::Accept); // done → attract: the session ends and is wiped
    debug_assert!(e.session().holds_no_personal_data());
    Ok(Outcome {
        receipt_number,
        claim_code,
        doc,
        region: region.clone(),
        printed,
        captured_frame,
        details_source,
        hints: e.hints().1.to_vec(),
        stages_ms: stages,
        total_ms: t0.elapsed().as_secs_f64() * 1000.0,
        rss_kb: rss_kb(),
        open_fds: open_fds(),
        failed: None,
    })
}

/// Steps the engine on the details screen (it polls the reader) until a card is read,
/// then confirms the details exactly as read. Never falls back to other details.
fn read_card(e: &mut Engine, wait: Duration, on_step: &mut dyn FnMut()) -> Result<(), String> {
    let t0 = Instant::now();
    loop {
        e.step();
        on_step();
        let State::Details { card, .. } = e.session().state() else {
            return Err(format!("left the details screen for {}", e.session().state().name()));
        };
        match (card, e.session().card()) {
            (CardStatus::Filled, Some(c)) => {
                let d = crate::ports::details_from_card(c);
                e.handle(Event::SubmitDetails(d));
                return match e.session().state() {
                    State::Details { errors, .. } => Err(format!(
                        "the card's details were refused: {}",
                        errors.iter().map(|x| x.en).collect::<Vec<_>>().join("; ")
                    )),
                    _ => Ok(()),
                };
            }
            (CardStatus::NoReader, _) => return Err("no ID-card reader is configured ([devices] idcard)".into()),
            (status, _) if t0.elapsed() >= wait => {
                let why = match status {
                    CardStatus::Fault(p) => format!("{} ({})", p.id, p.en),
                    _ => "no card on the reader".into(),
                };
                return Err(format!("no card could be read within {} s: {why}", wait.as_secs()));
            }
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// VmRSS of this process in kB (0 where /proc is not available).
pub fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Open file descriptors of this process (0 where /proc is not available).
pub fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}
