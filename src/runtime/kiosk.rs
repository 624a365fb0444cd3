//! [`Kiosk`]: the engine on a worker thread, for the touch UI. The UI sends events and
//! reads view snapshots; it never blocks on a device.

use super::analysis::AnalysisMode;
use super::engine::{Backends, Engine, View};
use crate::config::Config;
use crate::session::Event;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

enum Msg {
    Event(Event),
    PrinterReloaded,
    /// A maintenance-screen event for the hall console.
    Admin(crate::ports::AdminEvent),
    TestPrint,
    /// Re-read paper and outbox now; answered once the view holds them.
    RefreshStatus(Sender<()>),
    Reprint(crate::domain::ReceiptNumber, Sender<Result<(), crate::domain::Prompt>>),
    /// The admin menu's camera check on the runtime's own camera.
    CheckCamera(u32, Sender<super::CameraCheck>),
    Stop,
}

pub struct Kiosk {
    tx: Sender<Msg>,
    view: Arc<Mutex<View>>,
    speech: Arc<Mutex<Vec<String>>>,
    metrics: Arc<Mutex<crate::ops::metrics::Snapshot>>,
    thread: Option<JoinHandle<()>>,
}

impl Kiosk {
    /// Starts the worker thread; the guide runs on a thread of its own
    /// ([`AnalysisMode::OwnThread`]) so the live preview shows every camera frame.
    pub fn start(cfg: &Config, backends: Backends) -> Kiosk {
        let mut engine = Engine::with_mode(cfg, backends, AnalysisMode::OwnThread);
        engine.refresh_status();
        let view = Arc::new(Mutex::new(engine.view()));
        let speech = Arc::new(Mutex::new(vec![]));
        let (tx, rx) = mpsc::channel::<Msg>();
        let (v, sp) = (view.clone(), speech.clone());
        let metrics = Arc::new(Mutex::new(crate::ops::metrics::Snapshot::default()));
        let metrics_out = metrics.clone();
        if let Some(listen) = &cfg.metrics.listen {
            match crate::ops::metrics::serve(listen, metrics.clone()) {
                Ok(addr) => log::info!("metrics on http://{addr}/metrics"),
                Err(e) => log::error!("metrics endpoint {listen}: {e}"),
            }
        }
        let thread = std::thread::Builder::new()
            .name("kiosk-engine".into())
            .spawn(move || {
                let mut last_paper = std::time::Instant::now();
                let mut refreshed: Vec<Sender<()>> = vec![];
                loop {
                    // While posing the camera paces the loop; otherwise wake every 50 ms.
                    let wait = if engine.view().preview.is_some() {
                        Duration::ZERO
                    } else {
                        Duration::from_millis(50)
                    };
                    match rx.recv_timeout(wait) {
                        Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                        Ok(Msg::Event(e)) => {
                            engine.handle(e);
                        }
                        Ok(Msg::Admin(e)) => engine.admin_event(e),
                        Ok(Msg::TestPrint) => {
                            if let Err(e) = engine.test_print() {
                                log::warn!("test print: {e}");
                            }
                        }
                        Ok(Msg::Reprint(number, reply)) => {
                            let _ = reply.send(engine.reprint(&number));
                        }
                        Ok(Msg::CheckCamera(frames, reply)) => {
                            let _ = reply.send(engine.check_camera(frames));
                        }
                        Ok(Msg::RefreshStatus(reply)) => {
                            engine.refresh_status();
                            refreshed.push(reply);
                        }
                        Ok(Msg::PrinterReloaded) => {
                            if let Err(e) = engine.printer().reloaded() {
                                log::warn!("paper reload: {e}");
                            }
                            engine.refresh_status();
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                    }
                    engine.step();
                    let said = engine.take_speech();
                    if !said.is_empty() {
                        sp.lock().unwrap_or_else(|e| e.into_inner()).extend(said);
                    }
                    if last_paper.elapsed() > Duration::from_secs(5) {
                        engine.refresh_status();
                        last_paper = std::time::Instant::now();
                    }
                    let view = engine.view();
                    {
                        let mut m = metrics.lock().unwrap_or_else(|e| e.into_inner());
                        m.counters = view.counters.clone();
                        m.paper = view.paper;
                        m.state = view.state.name().to_string();
                        m.printer_state = engine.printer_state().to_string();
                        if let Some(d) = view.outbox {
                            m.outbox_depth = d.entries as u64;
                        }
                    }
                    *v.lock().unwrap_or_else(|e| e.into_inner()) = view;
                    for reply in refreshed.drain(..) {
                        let _ = reply.send(());
                    }
                }
            })
            .expect("spawn engine thread");
        Kiosk {
            tx,
            view,
            speech,
            metrics: metrics_out,
            thread: Some(thread),
        }
    }

    pub fn send(&self, e: Event) {
        let _ = self.tx.send(Msg::Event(e));
    }

    /// The operator finished the paper-reload wizard.
    /// Tells the hall console of an admin login, a failed PIN or a lock-out.
    pub fn admin_event(&self, e: crate::ports::AdminEvent) {
        let _ = self.tx.send(Msg::Admin(e));
    }

    pub fn printer_reloaded(&self) {
        let _ = self.tx.send(Msg::PrinterReloaded);
    }

    /// Re-reads paper and outbox now; the channel answers once [`Kiosk::view`] holds them.
    pub fn refresh_status(&self) -> mpsc::Receiver<()> {
        let (tx, rx) = mpsc::channel();
        let _ = self.tx.send(Msg::RefreshStatus(tx));
        rx
    }

    /// The admin menu's camera check: `frames` frames borrowed from the runtime's own
    /// camera while no session is posing (`Engine::check_camera`); answered on the channel.
    pub fn check_camera(&self, frames: u32) -> mpsc::Receiver<super::CameraCheck> {
        let (tx, rx) = mpsc::channel();
        let _ = self.tx.send(Msg::CheckCamera(frames, tx));
        rx
    }

    /// The operator's test print (reload wizard): a slip numbered `TEST-PRINT`.
    pub fn test_print(&self) {
        let _ = self.tx.send(Msg::TestPrint);
    }

    /// Operator reprint by number: the answer (queued, or why not) arrives on the
    /// returned channel once the receipt was fetched.
    pub fn reprint(&self, number: crate::domain::ReceiptNumber) -> mpsc::Receiver<Result<(), crate::domain::Prompt>> {
        let (tx, rx) = mpsc::channel();
        let _ = self.tx.send(Msg::Reprint(number, tx));
        rx
    }

    pub fn view(&self) -> View {
        self.view.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// What the metrics endpoint reports right now.
    pub fn metrics(&self) -> crate::ops::metrics::Snapshot {
        self.metrics.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Voice prompts to play since the last call (hint ids).
    pub fn take_speech(&self) -> Vec<String> {
        std::mem::take(&mut *self.speech.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
