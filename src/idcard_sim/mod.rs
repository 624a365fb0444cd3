//! A resident ID-card reader emulator on a pseudo-terminal, written from
//! `shared/specs/idcard-reader.md` and sharing no code with `idcard` (issue #14): the two
//! must not be able to agree on the same bug.
//!
//! It answers the host's frames as the spec says: SAM status (11 FF), find (20 01: 9F,
//! or 80 without a card), select (20 02), read (30 01: 256 bytes of text and a 1024-byte
//! dummy photo); a host frame with a bad checksum gets SW3 10, a bad length 11, an unknown
//! command 21.
//!
//! Control channel: a Unix socket (default `LINK.control`), one command a line, one reply
//! line each (`ok …` or `error: …`):
//! `place [FILE.toml]`, `remove`, `checksum` (next replies carry a wrong CHK),
//! `sw3 HEX [find|select|read]` (answer that step with this status), `slow MS`
//! (answer after MS), `cut` (send half a reply, then nothing), `garbage`, `wrong-length`,
//! `silent` (answer nothing), `clear` (no fault), `unplug`, `replug`, `status`.
//! Faults stay until `clear`.

mod card;

pub use card::{CardFile, CardFileError};

use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SYNC: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];

#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Where to symlink the pseudo-terminal's device (e.g. /tmp/kiosk-idcard).
    #[arg(long, value_name = "PATH")]
    pub link: PathBuf,
    /// The card on the reader at start (TOML, docs/idcard.md); none placed without it.
    #[arg(long, value_name = "FILE.toml")]
    pub card: Option<PathBuf>,
    /// Control socket (default LINK.control).
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
}

impl SimArgs {
    pub fn new(link: &Path) -> SimArgs {
        SimArgs {
            link: link.to_path_buf(),
            card: None,
            control: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Card(#[from] CardFileError),
    #[error("idcard-sim: {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

pub use crate::sim_host::SimHandle;
use crate::sim_host::{Request, Wire};

/// Starts the emulator on a thread (tests use this; `kiosk idcard-sim` too).
pub fn start(args: &SimArgs) -> Result<SimHandle, SimError> {
    let card = args.card.as_deref().map(CardFile::load).transpose()?;
    let control_path = args
        .control
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.control", args.link.display())));
    let io = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| SimError::Io { what, path, source }
    };
    let _ = std::fs::remove_file(&control_path);
    let listener = UnixListener::bind(&control_path).map_err(io("cannot create the control socket", &control_path))?;
    listener
        .set_nonblocking(true)
        .map_err(io("cannot set up the control socket", &control_path))?;
    let (tx, rx) = channel::<Request>();
    let stop = Arc::new(AtomicBool::new(false));
    let mut sim = Sim {
        link: args.link.clone(),
        wire: None,
        card,
        fault: Fault::None,
        slow: None,
        inbox: Vec::new(),
        pending: None,
    };
    sim.plug().map_err(io("cannot create the pty and link", &args.link))?;
    let (stop2, stop3, ctl_tx) = (stop.clone(), stop.clone(), tx.clone());
    crate::sim_host::spawn_control("idcard-sim-control", listener, ctl_tx, stop3)
        .map_err(io("cannot start the control thread", &control_path))?;
    let thread = std::thread::Builder::new()
        .name("idcard-sim".into())
        .spawn(move || sim.run(rx, stop2))
        .map_err(io("cannot start the emulator thread", &args.link))?;
    Ok(SimHandle::new(tx, stop, thread, control_path, args.link.clone()))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Find,
    Select,
    Read,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    Checksum,
    Sw3(u8, Step),
    Cut,
    Garbage,
    WrongLength,
    Silent,
}

struct Sim {
    link: PathBuf,
    wire: Option<Wire>,
    card: Option<CardFile>,
    fault: Fault,
    slow: Option<Duration>,
    inbox: Vec<u8>,
    /// A reply held back by `slow`.
    pending: Option<(Instant, Vec<u8>)>,
}

fn xor_all(b: &[u8]) -> u8 {
    b.iter().fold(0u8, |a, x| a ^ x)
}

impl Sim {
    fn plug(&mut self) -> std::io::Result<()> {
        self.wire = Some(crate::sim_host::open_wire("idcard-sim", &self.link)?);
        self.inbox.clear();
        Ok(())
    }

    fn send(&mut self, bytes: &[u8]) {
        let Some(w) = &self.wire else { return };
        let mut off = 0;
        let deadline = Instant::now() + Duration::from_millis(500);
        while off < bytes.len() && Instant::now() < deadline {
            match nix::unistd::write(w.master.as_fd(), &bytes[off..]) {
                Ok(n) => off += n,
                Err(nix::errno::Errno::EAGAIN) => std::thread::sleep(Duration::from_millis(1)),
                Err(_) => return,
            }
        }
    }

    fn control(&mut self, cmd: &str) -> String {
        let mut parts = cmd.split_whitespace();
        let reply = match parts.next().unwrap_or("") {
            "place" => match parts.next() {
                Some(file) => match CardFile::load(Path::new(file)) {
                    Ok(c) => {
                        self.card = Some(c);
                        "ok card placed".into()
                    }
                    Err(e) => format!("error: {e}"),
                },
                None => {
                    if self.card.is_none() {
                        self.card = Some(CardFile::example());
                    }
                    "ok card placed".into()
                }
            },
            "remove" => {
                self.card = None;
                "ok no card".into()
            }
            "checksum" => self.set(Fault::Checksum),
            "cut" => self.set(Fault::Cut),
            "garbage" => self.set(Fault::Garbage),
            "wrong-length" => self.set(Fault::WrongLength),
            "silent" => self.set(Fault::Silent),
            "clear" => {
                self.slow = None;
                self.set(Fault::None)
            }
            "sw3" => {
                let code = parts
                    .next()
                    .and_then(|h| u8::from_str_radix(h.trim_start_matches("0x"), 16).ok());
                let step = match parts.next().unwrap_or("read") {
                    "find" => Some(Step::Find),
                    "select" => Some(Step::Select),
                    "read" => Some(Step::Read),
                    _ => None,
                };
                match (code, step) {
                    (Some(c), Some(s)) => self.set(Fault::Sw3(c, s)),
                    _ => "error: usage: sw3 HEX [find|select|read]".into(),
                }
            }
            "slow" => match parts.next().and_then(|m| m.parse::<u64>().ok()) {
                Some(ms) => {
                    self.slow = (ms > 0).then(|| Duration::from_millis(ms));
                    format!("ok replies after {ms} ms")
                }
                None => "error: usage: slow MS".into(),
            },
            "unplug" => {
                self.wire = None;
                self.pending = None;
                let _ = std::fs::remove_file(&self.link);
                "ok".into()
            }
            "replug" => {
                if self.wire.is_some() {
                    "ok (already plugged)".into()
                } else {
                    match self.plug() {
                        Ok(()) => "ok".into(),
                        Err(e) => format!("error: {e}"),
                    }
                }
            }
            "status" => format!(
                "ok card={} fault={:?} slow_ms={} plugged={}",
                self.card
                    .as_ref()
                    .map_or("none", |c| if c.card_type == " " { "resident" } else { &c.card_type }),
                self.fault,
                self.slow.map_or(0, |d| d.as_millis()),
                self.wire.is_some()
            ),
            other => format!(
                "error: unknown command `{other}`; known: place [FILE] remove checksum sw3 HEX [find|select|read] \
                 slow MS cut garbage wrong-length silent clear unplug replug status"
            ),
        };
        eprintln!("idcard-sim: control `{cmd}` → {reply}");
        reply
    }

    fn set(&mut self, f: Fault) -> String {
        self.fault = f;
        format!("ok fault {f:?}")
    }

    fn run(mut self, rx: Receiver<Request>, stop: Arc<AtomicBool>) {
        let mut buf = [0u8; 1024];
        while !stop.load(Ordering::SeqCst) {
            while let Ok((cmd, reply)) = rx.try_recv() {
                let r = self.control(&cmd);
                let _ = reply.send(r);
            }
            if let Some((at, bytes)) = self.pending.take() {
                if Instant::now() >= at {
                    self.send(&bytes);
                } else {
                    self.pending = Some((at, bytes));
                }
            }
            let Some(w) = &self.wire else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            let mut pfd = [nix::poll::PollFd::new(w.master.as_fd(), nix::poll::PollFlags::POLLIN)];
            let _ = nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(5u8));
            match nix::unistd::read(w.master.as_fd(), &mut buf) {
                Ok(n) if n > 0 => self.inbox.extend_from_slice(&buf[..n]),
                Ok(_) | Err(nix::errno::Errno::EAGAIN) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
            self.take_frames();
        }
        self.wire = None;
    }

    /// Answers every whole host frame in the inbox; drops bytes before a sync header.
    fn take_frames(&mut self) {
        loop {
            let Some(start) = self.inbox.windows(5).position(|w| w == SYNC) else {
                let keep = self.inbox.len().min(4);
                self.inbox.drain(..self.inbox.len() - keep);
                return;
            };
            self.inbox.drain(..start);
            if self.inbox.len() < 7 {
                return;
            }
            let len = usize::from(self.inbox[5]) << 8 | usize::from(self.inbox[6]);
            if !(3..=512).contains(&len) {
                self.inbox.drain(..5);
                self.answer_status(0x11);
                continue;
            }
            if self.inbox.len() < 7 + len {
                return;
            }
            let frame: Vec<u8> = self.inbox.drain(..7 + len).collect();
            if xor_all(&frame[5..frame.len() - 1]) != frame[frame.len() - 1] {
                self.answer_status(0x10);
                continue;
            }
            self.answer(frame[7], frame[8]);
        }
    }

    fn answer_status(&mut self, sw3: u8) {
        let reply = self.reply(sw3, &[]);
        self.emit(reply);
    }

    fn answer(&mut self, cmd: u8, para: u8) {
        let step = match (cmd, para) {
            (0x20, 0x01) => Some(Step::Find),
            (0x20, 0x02) => Some(Step::Select),
            (0x30, 0x01) => Some(Step::Read),
            _ => None,
        };
        if let (Fault::Sw3(code, at), Some(s)) = (self.fault, step) {
            if at == s {
                return self.answer_status(code);
            }
        }
        let (sw3, data): (u8, Vec<u8>) = match (cmd, para, &self.card) {
            (0x10, 0xFF, _) | (0x11, 0xFF, _) => (0x90, vec![]),
            (0x12, 0xFF, _) => (0x90, vec![0x05; 16]),
            (0x20, 0x01, None) | (0x20, 0x02, None) | (0x30, 0x01, None) => (0x80, vec![]),
            (0x20, 0x01, Some(_)) => (0x9F, vec![0; 4]),
            (0x20, 0x02, Some(_)) => (0x90, vec![0; 8]),
            (0x30, 0x01, Some(c)) => match c.text() {
                Ok(text) => {
                    let mut d = Vec::with_capacity(4 + 256 + 1024);
                    d.extend_from_slice(&[0x01, 0x00, 0x04, 0x00]);
                    d.extend_from_slice(&text);
                    // A dummy photo: the real one is WLT, which nothing here decodes.
                    d.extend(b"WLT-DUMMY".iter().copied().chain(std::iter::repeat(0)).take(1024));
                    (0x90, d)
                }
                Err(_) => (0x41, vec![]),
            },
            _ => (0x21, vec![]),
        };
        let reply = self.reply(sw3, &data);
        self.emit(reply);
    }

    /// The reply frame, with the current fault applied.
    fn reply(&self, sw3: u8, data: &[u8]) -> Vec<u8> {
        let len = data.len() + 4;
        let mut f = SYNC.to_vec();
        f.push((len >> 8) as u8);
        f.push(len as u8);
        f.extend_from_slice(&[0x00, 0x00, sw3]);
        f.extend_from_slice(data);
        let chk = xor_all(&f[5..]);
        f.push(chk);
        match self.fault {
            Fault::Checksum => {
                let last = f.len() - 1;
                f[last] ^= 0x5A;
            }
            Fault::Cut => f.truncate(f.len() / 2),
            Fault::Garbage => f = b"\x00\x13garbage line noise\x11\xFF".to_vec(),
            Fault::WrongLength => {
                // A length field no answer can have (more than any frame), checksum fixed.
                f[5] = 0xFF;
                f[6] = 0xF0;
                let last = f.len() - 1;
                f[last] = xor_all(&f[5..last]);
            }
            Fault::Silent => f.clear(),
            Fault::None | Fault::Sw3(..) => {}
        }
        f
    }

    fn emit(&mut self, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        match self.slow {
            Some(d) => self.pending = Some((Instant::now() + d, bytes)),
            None => self.send(&bytes),
        }
    }
}
