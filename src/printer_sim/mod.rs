//! An ESC/POS printer emulator on a pseudo-terminal, written from
//! `shared/specs/escpos.md` and sharing no code with `printer` (issue #5): the two must
//! not be able to agree on the same bug.
//!
//! It behaves like a wire: reads are throttled to `--baud` (10 bits a byte), it keeps a
//! receive buffer (`--buffer`, default 4 KB) with XON/XOFF, real-time commands (DLE EOT,
//! DLE ENQ) are answered on reception even with a full buffer, GS r is never answered
//! while offline, and everything wider than the paper is clipped. Each cut slip becomes
//! `OUT/NNNN.png`; a slip lost to a fault becomes `OUT/NNNN-spoiled.png`.
//!
//! Control channel: a Unix socket (default `OUT/control.sock`), one command a line:
//! `cover-open`, `cover-close`, `paper-out`, `near-end`, `reload`, `cutter-error`, `unplug`,
//! `replug`, `garbage N` (N ≤ [`MAX_GARBAGE`]), `status`. Each gets one reply line (`ok …`
//! or `error: …`). A slip longer than `--max-slip-mm` is clipped at that length.
//! Hardware flow control (RTS/CTS, DTR/DSR) cannot be modelled on a pty: untested here.

mod code128;
mod engine;
mod lexer;

use anyhow::Context;
use clap::builder::TypedValueParser;
use engine::Engine;
use lexer::{Cmd, Lexer, RealTime, Token};
use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

const XON: u8 = 0x11;
const XOFF: u8 = 0x13;

#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Where to symlink the pseudo-terminal's device (e.g. /tmp/kiosk-printer).
    #[arg(long, value_name = "PATH")]
    pub link: PathBuf,
    /// Directory for one PNG per cut slip.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Paper width: 80 mm (576 dots) or 58 mm (384 dots).
    #[arg(long, default_value_t = 80, value_parser = clap::builder::PossibleValuesParser::new(["58", "80"]).map(|s: String| s.parse::<u32>().unwrap_or(80)))]
    pub paper: u32,
    /// Line speed: reads are throttled to this many bits per second (10 bits a byte).
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// Receive buffer in bytes; XOFF when nearly full, XON when half empty.
    #[arg(long, default_value_t = 4096)]
    pub buffer: usize,
    /// The roll ends after this much paper (mm).
    #[arg(long, value_name = "MM")]
    pub paper_out_after_mm: Option<u32>,
    /// The near-end sensor trips after this much paper (mm).
    #[arg(long, value_name = "MM")]
    pub near_end_after_mm: Option<u32>,
    /// Control socket (default OUT/control.sock).
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
    /// Longest slip kept in memory (mm of paper between cuts); paper fed beyond it still
    /// counts as fed but is not drawn (reported as `clipped_rows` in `status`), so a host
    /// feeding without end (`ESC d 255` over and over) cannot exhaust the memory.
    #[arg(long, value_name = "MM", default_value_t = DEFAULT_MAX_SLIP_MM, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_slip_mm: u32,
}

/// Default `--max-slip-mm`: 1 m of paper, 8000 dot rows (4.6 MB at 80 mm).
pub const DEFAULT_MAX_SLIP_MM: u32 = 1000;
/// Largest `garbage N` (bytes sent in one go).
pub const MAX_GARBAGE: usize = 65_536;

impl SimArgs {
    pub fn new(link: &Path, out: &Path) -> SimArgs {
        SimArgs {
            link: link.to_path_buf(),
            out: out.to_path_buf(),
            paper: 80,
            baud: 115_200,
            buffer: 4096,
            paper_out_after_mm: None,
            near_end_after_mm: None,
            control: None,
            max_slip_mm: DEFAULT_MAX_SLIP_MM,
        }
    }
}

pub use crate::sim_host::SimHandle;
use crate::sim_host::{Request, Wire};

/// Starts the emulator on a thread (tests use this; `kiosk printer-sim` too).
pub fn start(args: &SimArgs) -> anyhow::Result<SimHandle> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the output directory {}", args.out.display()))?;
    let control_path = args.control.clone().unwrap_or_else(|| args.out.join("control.sock"));
    let _ = std::fs::remove_file(&control_path);
    let listener = UnixListener::bind(&control_path)
        .with_context(|| format!("cannot create the control socket {}", control_path.display()))?;
    listener.set_nonblocking(true)?;
    let (tx, rx) = channel::<Request>();
    let stop = Arc::new(AtomicBool::new(false));
    let mut sim = Sim::new(args)?;
    sim.plug()
        .with_context(|| format!("cannot create the pty and link {}", args.link.display()))?;
    let stop2 = stop.clone();
    let ctl_tx = tx.clone();
    let stop3 = stop.clone();
    crate::sim_host::spawn_control("printer-sim-control", listener, ctl_tx, stop3)?;
    let thread = std::thread::Builder::new()
        .name("printer-sim".into())
        .spawn(move || sim.run(rx, stop2))?;
    Ok(SimHandle::new(tx, stop, thread, control_path, args.link.clone()))
}

struct Sim {
    link: PathBuf,
    baud: u32,
    capacity: usize,
    wire: Option<Wire>,
    lexer: Lexer,
    buffer: VecDeque<(Cmd, usize)>,
    buffered: usize,
    xoff: bool,
    engine: Engine,
    last_asb: [u8; 4],
    tokens: f64,
    last_refill: Instant,
    rng: u64,
}

impl Sim {
    fn new(a: &SimArgs) -> anyhow::Result<Sim> {
        let width = if a.paper == 58 { 384 } else { 576 };
        let mut engine = Engine::new(width, a.out.clone());
        engine.max_rows = a.max_slip_mm.max(1) as usize * 8;
        engine.paper_out_after_dots = a.paper_out_after_mm.map(|m| u64::from(m) * 8);
        engine.near_end_after_dots = a.near_end_after_mm.map(|m| u64::from(m) * 8);
        if a.baud < 300 {
            anyhow::bail!("--baud {} is too low (at least 300)", a.baud);
        }
        Ok(Sim {
            link: a.link.clone(),
            baud: a.baud,
            capacity: a.buffer.max(256),
            wire: None,
            lexer: Lexer::new(),
            buffer: VecDeque::new(),
            buffered: 0,
            xoff: false,
            last_asb: engine.asb(),
            engine,
            tokens: 0.0,
            last_refill: Instant::now(),
            rng: 0x9E37_79B9_7F4A_7C15,
        })
    }

    fn plug(&mut self) -> std::io::Result<()> {
        self.wire = Some(crate::sim_host::open_wire("printer-sim", &self.link)?);
        self.xoff = false;
        Ok(())
    }

    fn unplug(&mut self) {
        self.wire = None;
        let _ = std::fs::remove_file(&self.link);
        self.clear_buffer();
        self.engine.spoil();
    }

    fn send(&mut self, bytes: &[u8]) {
        if let Some(w) = &self.wire {
            let mut off = 0;
            let deadline = Instant::now() + Duration::from_millis(200);
            while off < bytes.len() && Instant::now() < deadline {
                match nix::unistd::write(w.master.as_fd(), &bytes[off..]) {
                    Ok(n) => off += n,
                    Err(nix::errno::Errno::EAGAIN) => std::thread::sleep(Duration::from_millis(1)),
                    Err(_) => return,
                }
            }
        }
    }

    fn clear_buffer(&mut self) {
        self.buffer.clear();
        self.buffered = 0;
        self.lexer.reset();
    }

    fn control(&mut self, cmd: &str) -> String {
        let mid = self.engine.mid_slip();
        let f = &mut self.engine.faults;
        let mut parts = cmd.split_whitespace();
        let reply = match parts.next().unwrap_or("") {
            "cover-open" => {
                f.cover_open = true;
                if mid {
                    f.awaiting_recovery = true;
                }
                "ok".to_string()
            }
            "cover-close" => {
                f.cover_open = false;
                // Opening the cover is how an operator clears a cutter jam.
                if f.cutter_error {
                    f.cutter_error = false;
                }
                "ok".into()
            }
            "paper-out" => {
                f.paper_end = true;
                "ok".into()
            }
            // The near-end sensor trips now (as `--near-end-after-mm` does when reached).
            "near-end" => {
                f.near_end = true;
                "ok".into()
            }
            "reload" => {
                f.paper_end = false;
                f.near_end = false;
                self.engine.fed_dots = 0;
                self.engine.paper_out_after_dots = None;
                self.engine.near_end_after_dots = None;
                // The part-printed slip is torn off with the old roll end.
                self.engine.spoil();
                "ok".into()
            }
            "cutter-error" => {
                f.cutter_armed = true;
                "ok".into()
            }
            "unplug" => {
                self.unplug();
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
            "garbage" => match parts.next().map(str::parse::<usize>) {
                None => self.garbage(64),
                Some(Ok(n)) if n <= MAX_GARBAGE => self.garbage(n),
                Some(_) => format!("error: garbage N: N must be a number from 0 to {MAX_GARBAGE}"),
            },
            "status" => {
                let f = self.engine.faults;
                format!(
                    "ok online={} cover_open={} paper_end={} near_end={} cutter_error={} slips={} fed_mm={} buffered={} xoff={} plugged={} canvas_rows={} clipped_rows={}",
                    !f.offline(),
                    f.cover_open,
                    f.paper_end,
                    f.near_end,
                    f.cutter_error,
                    self.engine.slips,
                    self.engine.fed_dots / 8,
                    self.buffered,
                    self.xoff,
                    self.wire.is_some(),
                    self.engine.canvas_rows(),
                    self.engine.clipped_rows
                )
            }
            other => format!("error: unknown command `{other}`; known: cover-open cover-close paper-out reload cutter-error unplug replug garbage N status"),
        };
        eprintln!("printer-sim: control `{cmd}` → {reply}");
        reply
    }

    /// Sends `n` (at most [`MAX_GARBAGE`]) pseudo-random bytes to the host.
    fn garbage(&mut self, n: usize) -> String {
        let mut g = Vec::with_capacity(n.min(MAX_GARBAGE));
        for _ in 0..n.min(MAX_GARBAGE) {
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            g.push(self.rng as u8);
        }
        self.send(&g);
        format!("ok sent {} bytes", g.len())
    }

    fn run(mut self, rx: Receiver<Request>, stop: Arc<AtomicBool>) {
        let mut buf = vec![0u8; 4096];
        while !stop.load(Ordering::SeqCst) {
            while let Ok((cmd, reply)) = rx.try_recv() {
                let r = self.control(&cmd);
                let _ = reply.send(r);
            }
            self.receive(&mut buf);
            self.execute();
            self.flow();
            self.report();
        }
        self.wire = None;
    }

    /// Reads what the line allows at the configured baud.
    fn receive(&mut self, buf: &mut [u8]) {
        let now = Instant::now();
        let rate = self.baud as f64 / 10.0;
        self.tokens =
            (self.tokens + now.duration_since(self.last_refill).as_secs_f64() * rate).min((rate / 50.0).max(16.0));
        self.last_refill = now;
        let Some(w) = &self.wire else {
            std::thread::sleep(Duration::from_millis(5));
            return;
        };
        let allowed = (self.tokens as usize).min(buf.len());
        if allowed == 0 {
            std::thread::sleep(Duration::from_millis(1));
            return;
        }
        let fd = w.master.as_raw_fd();
        let mut pfd = [nix::poll::PollFd::new(w.master.as_fd(), nix::poll::PollFlags::POLLIN)];
        let _ = nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(2u8));
        let n = match nix::unistd::read(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }, &mut buf[..allowed]) {
            Ok(n) => n,
            Err(nix::errno::Errno::EAGAIN) => 0,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(5));
                0
            }
        };
        if n == 0 {
            return;
        }
        self.tokens -= n as f64;
        let mut toks = Vec::new();
        self.lexer.feed(&buf[..n], &mut toks);
        for (t, len) in toks {
            match t {
                Token::Now(RealTime::Status(k)) => match self.engine.dle_eot(k) {
                    Some(b) => self.send(&[b]),
                    None => eprintln!("printer-sim: DLE EOT {k}: unknown n, no reply"),
                },
                Token::Now(RealTime::Recover(k)) => {
                    if k == 1 || k == 2 {
                        self.engine.faults.cutter_error = false;
                        self.engine.faults.awaiting_recovery = false;
                    }
                    if k == 2 {
                        self.clear_buffer();
                        self.engine.spoil();
                    }
                }
                Token::Garbage(bytes, why) => {
                    eprintln!("printer-sim: ignored {} byte(s) from the host: {why}", bytes.len());
                }
                Token::Cmd(c) => {
                    if self.buffered + len > self.capacity {
                        eprintln!("printer-sim: receive buffer overrun, {len} bytes lost (host ignored XOFF)");
                        continue;
                    }
                    self.buffered += len;
                    self.buffer.push_back((c, len));
                }
            }
        }
    }

    fn execute(&mut self) {
        while !self.engine.faults.offline() {
            let Some((c, len)) = self.buffer.pop_front() else { break };
            self.buffered -= len;
            let reply = self.engine.exec(c);
            if !reply.is_empty() {
                self.send(&reply);
            }
            if self.engine.asb() != self.last_asb {
                self.report();
            }
        }
    }

    fn flow(&mut self) {
        let used = self.buffered + self.lexer.pending();
        if !self.xoff && used + self.capacity / 8 >= self.capacity {
            self.xoff = true;
            self.send(&[XOFF]);
        } else if self.xoff && used <= self.capacity / 2 {
            self.xoff = false;
            self.send(&[XON]);
        }
    }

    /// ASB: four bytes on every status change while enabled.
    fn report(&mut self) {
        let now = self.engine.asb();
        if now != self.last_asb {
            self.last_asb = now;
            if self.engine.asb_mask != 0 {
                self.send(&now);
            }
        }
    }
}
