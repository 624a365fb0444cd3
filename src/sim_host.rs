//! What the device emulators (`printer-sim`, `idcard-sim`) share — and the drivers never
//! see: the raw pty and its link, the control socket's line protocol, and the handle of a
//! running emulator thread.

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

/// Accepts control connections on `listener` (non-blocking) until `stop`, each on its own
/// thread, one command per line, one reply line each.
pub fn spawn_control(
    name: &str,
    listener: std::os::unix::net::UnixListener,
    tx: Sender<Request>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    std::thread::Builder::new().name(name.into()).spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((s, _)) => {
                    let tx = tx.clone();
                    std::thread::spawn(move || serve_control(s, tx));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    })?;
    Ok(())
}

fn serve_control(s: std::os::unix::net::UnixStream, tx: Sender<Request>) {
    use std::io::{BufRead, BufReader, Write};
    let _ = s.set_nonblocking(false);
    let Ok(mut w) = s.try_clone() else { return };
    for line in BufReader::new(s).lines() {
        let Ok(line) = line else { return };
        let (rtx, rrx) = channel();
        if tx.send((line.trim().to_string(), rtx)).is_err() {
            return;
        }
        let reply = rrx
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| "error: no reply".into());
        if writeln!(w, "{reply}").is_err() {
            return;
        }
    }
}

/// The emulator's side of its line: a raw pty whose master end does not block. The slave
/// end is kept open so the line stays up between the driver's opens.
pub struct Wire {
    pub master: std::os::fd::OwnedFd,
    _slave: std::os::fd::OwnedFd,
}

/// Opens a raw pty and points the symlink `link` at its slave end (what the driver opens).
pub fn open_wire(who: &str, link: &std::path::Path) -> std::io::Result<Wire> {
    use std::os::fd::AsFd;
    let pty = nix::pty::openpty(None, None).map_err(std::io::Error::from)?;
    let mut t = nix::sys::termios::tcgetattr(pty.slave.as_fd()).map_err(std::io::Error::from)?;
    nix::sys::termios::cfmakeraw(&mut t);
    nix::sys::termios::tcsetattr(pty.slave.as_fd(), nix::sys::termios::SetArg::TCSANOW, &t)
        .map_err(std::io::Error::from)?;
    let name = nix::unistd::ttyname(pty.slave.as_fd()).map_err(std::io::Error::from)?;
    let flags = nix::fcntl::fcntl(pty.master.as_fd(), nix::fcntl::FcntlArg::F_GETFL).map_err(std::io::Error::from)?;
    let flags = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(pty.master.as_fd(), nix::fcntl::FcntlArg::F_SETFL(flags)).map_err(std::io::Error::from)?;
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(&name, link)?;
    eprintln!("{who}: {} → {}", link.display(), name.display());
    Ok(Wire {
        master: pty.master,
        _slave: pty.slave,
    })
}
