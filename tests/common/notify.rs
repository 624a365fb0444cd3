//! A datagram socket standing in for systemd's `$NOTIFY_SOCKET`, read continuously like
//! systemd does (a full socket would block the kiosk's sd_notify calls). Shared by the
//! headless-run tests and the window tests.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Each message with the time it arrived.
pub type Received = Arc<Mutex<Vec<(Instant, String)>>>;

/// Binds `dir/notify.sock` and records every message that arrives.
pub fn notify_socket(dir: &Path) -> (Received, PathBuf) {
    let path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let got: Received = Default::default();
    let g = got.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = sock.recv(&mut buf) {
            g.lock()
                .unwrap()
                .push((Instant::now(), String::from_utf8_lossy(&buf[..n]).to_string()));
        }
    });
    (got, path)
}

/// The messages alone, in arrival order.
pub fn messages(got: &Received) -> Vec<String> {
    got.lock().unwrap().iter().map(|(_, m)| m.clone()).collect()
}
