//! Where the guide runs. Inline (`simulate`, the tests: every frame analysed in order,
//! deterministic) or on its own thread (the live kiosk: the preview shows every camera
//! frame at once, and the guide gets the newest frame whenever it is free).
//!
//! The thread is fed through a single-slot mailbox: a newer frame replaces one the guide
//! has not started yet, so analysis never queues behind the camera. Every job carries the
//! generation it was posted in; a reset or stop starts a new generation, and results of
//! an older one are discarded when they arrive.

use crate::config::DocumentSpec;
use crate::ports::Frame;
use crate::ports::{Guide, GuideOutput};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How an engine runs its guide; chosen where the engine is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalysisMode {
    /// Every frame analysed in order on the engine's thread (deterministic).
    Inline,
    /// On its own thread; frames dropped while it is busy (the live kiosk).
    OwnThread,
}

/// The guide, wherever it runs.
pub(super) enum GuideHost {
    Inline(Box<dyn Guide>),
    Thread(AnalysisWorker),
}

/// What the analysis thread is asked to do next.
#[derive(Default)]
struct Mailbox {
    /// A new posing run (or the end of one): applied before any frame.
    reset: Option<DocumentSpec>,
    /// The newest frame not yet analysed, with its generation.
    frame: Option<(u64, Frame)>,
    stop: bool,
}

/// The guide on its own thread.
pub(super) struct AnalysisWorker {
    mailbox: Arc<(Mutex<Mailbox>, Condvar)>,
    results: Receiver<(u64, GuideOutput)>,
    /// Results of other generations are stale.
    generation: u64,
    /// Frames handed over and results accepted (for the diagnostics and tests).
    pub analysed: u64,
    thread: Option<JoinHandle<()>>,
}

impl AnalysisWorker {
    pub fn spawn(guide: Box<dyn Guide>) -> AnalysisWorker {
        let mailbox = Arc::new((Mutex::new(Mailbox::default()), Condvar::new()));
        let (tx, results) = mpsc::channel();
        let mb = mailbox.clone();
        let thread = std::thread::Builder::new()
            .name("kiosk-analysis".into())
            .spawn(move || run(guide, &mb, &tx))
            .expect("spawn analysis thread");
        AnalysisWorker {
            mailbox,
            results,
            generation: 0,
            analysed: 0,
            thread: Some(thread),
        }
    }

    fn post(&self, f: impl FnOnce(&mut Mailbox)) {
        let (lock, cv) = &*self.mailbox;
        f(&mut lock.lock().unwrap_or_else(|e| e.into_inner()));
        cv.notify_one();
    }

    /// Starts a new generation: the pending frame is dropped, the guide is reset for
    /// `spec` (a new posing run; at a stop, the last run's spec, so the guide lets go of
    /// the frames it kept from the steady stretch), and results still in flight are
    /// discarded.
    pub fn reset(&mut self, spec: Option<&DocumentSpec>) {
        self.generation += 1;
        self.post(|m| {
            m.frame = None;
            if let Some(spec) = spec {
                m.reset = Some(spec.clone());
            }
        });
        while self.results.try_recv().is_ok() {}
    }

    /// Hands over the newest frame, replacing one not yet started.
    pub fn offer(&mut self, frame: Frame) {
        let g = self.generation;
        self.post(|m| m.frame = Some((g, frame)));
    }

    /// Results of the current generation that arrived since the last call.
    pub fn take_results(&mut self) -> Vec<GuideOutput> {
        let current = self.generation;
        let fresh: Vec<GuideOutput> = self
            .results
            .try_iter()
            .filter(|(g, _)| *g == current)
            .map(|(_, out)| out)
            .collect();
        self.analysed += fresh.len() as u64;
        fresh
    }
}

/// The guide analyses at most this often. Auto-capture needs ≥ 10 Hz (the steady stretch
/// is measured in frame time, so fewer frames do not slow it down); every analysis above
/// that only takes CPU from the preview on a 2-core kiosk, where the UI thread's mirror,
/// copy and render of each camera frame compete with it.
pub const MAX_ANALYSIS_HZ: f64 = 15.0;

fn run(mut guide: Box<dyn Guide>, mailbox: &(Mutex<Mailbox>, Condvar), tx: &Sender<(u64, GuideOutput)>) {
    let (lock, cv) = mailbox;
    let min_interval = Duration::from_secs_f64(1.0 / MAX_ANALYSIS_HZ);
    let mut last_start: Option<Instant> = None;
    loop {
        let (reset, frame) = {
            let mut m = lock.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if m.stop {
                    return;
                }
                if m.reset.is_some() {
                    break;
                }
                if m.frame.is_some() {
                    // Too soon after the last analysis: wait, letting newer frames replace
                    // this one, so the guide then sees the newest.
                    let left = last_start.map_or(Duration::ZERO, |t| min_interval.saturating_sub(t.elapsed()));
                    if left.is_zero() {
                        break;
                    }
                    m = cv.wait_timeout(m, left).unwrap_or_else(|e| e.into_inner()).0;
                    continue;
                }
                m = cv.wait(m).unwrap_or_else(|e| e.into_inner());
            }
            (m.reset.take(), m.frame.take())
        };
        if let Some(spec) = reset {
            guide.reset(&spec);
            last_start = None;
        }
        if let Some((g, frame)) = frame {
            last_start = Some(Instant::now());
            let out = guide.analyse(&frame);
            // The frame is dropped here: none outlives its analysis in this thread.
            drop(frame);
            if tx.send((g, out)).is_err() {
                return;
            }
        }
    }
}

impl Drop for AnalysisWorker {
    fn drop(&mut self) {
        self.post(|m| {
            m.stop = true;
            m.frame = None;
        });
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
