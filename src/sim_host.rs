//! What the device emulators (`printer-sim`, `idcard-sim`) share — and the drivers never
//! see: the handle of a running emulator thread and its control requests.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::time::Duration;

/// A control command and where its reply line goes.
pub type Request = (String, Sender<String>);

/// A running emulator (its thread); stops it and removes its link and control socket
/// when dropped.
pub struct SimHandle {
    tx: Sender<Request>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub control_path: PathBuf,
    link: PathBuf,
}

impl SimHandle {
    pub fn new(
        tx: Sender<Request>,
        stop: Arc<AtomicBool>,
        thread: std::thread::JoinHandle<()>,
        control_path: PathBuf,
        link: PathBuf,
    ) -> SimHandle {
        SimHandle {
            tx,
            stop,
            thread: Some(thread),
            control_path,
            link,
        }
    }

    /// Sends one control command and waits for its reply line.
    pub fn command(&self, cmd: &str) -> String {
        let (tx, rx) = channel();
        if self.tx.send((cmd.to_string(), tx)).is_err() {
            return "error: emulator stopped".into();
        }
        rx.recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| "error: no reply".into())
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.control_path);
        let _ = std::fs::remove_file(&self.link);
    }
}
