//! The serial link to an ESC/POS printer: status queries (DLE EOT 1–4), job writes
//! paced at the line rate (XON/XOFF or RTS/CTS as a backstop), ASB watching, GS r
//! completion, recovery and reconnection (escpos.md §5, §6).
//!
//! Two rules keep a fault mid-job from silencing the printer:
//! * the driver never runs more than about one chunk ahead of the line, so little of a
//!   job sits in the kernel (a pty has no line rate: what is written is "sent" at once,
//!   out of XOFF's reach; a UART's transmit buffer holds up to 4 KB);
//! * an aborted job ends on a command boundary and nothing is flushed: a printer inside
//!   a command takes `DLE ENQ` / `DLE EOT` as that command's data (escpos.md §2), so
//!   discarding the tail of a raster strip would swallow every status query after it.

use super::escpos::EncodedJob;
use super::status::{classify_dle_eot, Decoder, Fault, Health, Incoming};
use super::PrinterError;
use crate::config::{FlowControl, PrinterSection};
use serialport::{ClearBuffer, SerialPort, TTYPort};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Largest write in one go: an eighth of the 4 KB buffer we assume (the headroom the
/// printer keeps after XOFF), and never more than about 50 ms of line time.
const CHUNK: usize = 512;
/// The line time one write may take at most (sets the chunk at slow baud rates).
const CHUNK_TIME: Duration = Duration::from_millis(50);
/// Read poll granularity.
const TICK: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, PartialEq)]
pub struct LinkSettings {
    pub baud: u32,
    pub status_timeout: Duration,
    pub job_timeout: Duration,
    pub flow: FlowControl,
    pub buffer_bytes: usize,
    /// At most one log line about noise per this interval (`printer.noise_log_interval_ms`).
    pub noise_log_every: Duration,
    /// Replies kept unread (`printer.max_queued_replies`).
    pub max_queued: usize,
}

impl LinkSettings {
    /// Line time of `n` bytes (8N1: 10 bits a byte).
    pub fn wire_time(&self, n: usize) -> Duration {
        Duration::from_secs_f64(n as f64 * 10.0 / f64::from(self.baud.max(1)))
    }

    /// Bytes per write: `CHUNK`, or less on a slow line so a status query queued behind
    /// one write still gets its answer in time.
    pub fn chunk(&self) -> usize {
        let per_chunk_time = (f64::from(self.baud) / 10.0 * CHUNK_TIME.as_secs_f64()) as usize;
        per_chunk_time.clamp(64, CHUNK)
    }

    pub fn new(p: &PrinterSection, baud: u32) -> Self {
        LinkSettings {
            baud,
            status_timeout: Duration::from_millis(u64::from(p.status_timeout_ms.max(10))),
            job_timeout: Duration::from_secs(u64::from(p.job_timeout_s.max(1))),
            flow: p.flow_control,
            buffer_bytes: p.buffer_bytes.max(64) as usize,
            noise_log_every: Duration::from_millis(u64::from(p.noise_log_interval_ms)),
            max_queued: p.max_queued_replies.max(8) as usize,
        }
    }
}

/// Bytes that fit no reply, and replies dropped from a full queue: counted, and logged
/// at most once per interval with the counts (a noisy line once logged a WARN per byte).
#[derive(Debug)]
struct NoiseLog {
    every: Duration,
    last: Option<Instant>,
    bytes: u64,
    dropped: u64,
    last_byte: u8,
    /// Lines written so far.
    lines: u64,
}

impl NoiseLog {
    fn new(every: Duration) -> Self {
        NoiseLog {
            every,
            last: None,
            bytes: 0,
            dropped: 0,
            last_byte: 0,
            lines: 0,
        }
    }

    /// Logs what was counted if the interval since the last line has passed.
    fn flush_due(&mut self, path: &Path) {
        if self.bytes == 0 && self.dropped == 0 {
            return;
        }
        if self.last.is_some_and(|t| t.elapsed() < self.every) {
            return;
        }
        let since = match self.last {
            Some(t) => format!(" in the last {} s", t.elapsed().as_secs()),
            None => String::new(),
        };
        log::warn!(
            "printer: {} unexpected byte(s) from {} (last {:#04x}), {} unread reply(s) dropped{since}; \
             next report in {} s at the earliest. Fix: check the cable and the baud rate",
            self.bytes,
            path.display(),
            self.last_byte,
            self.dropped,
            self.every.as_secs()
        );
        self.lines += 1;
        self.last = Some(Instant::now());
        self.bytes = 0;
        self.dropped = 0;
    }
}

/// One printer on one serial device path; reopens the device after it disappears.
pub struct Link {
    path: PathBuf,
    s: LinkSettings,
    port: Option<TTYPort>,
    dec: Decoder,
    incoming: VecDeque<Incoming>,
    /// The last ASB frame's view of the printer.
    pub asb: Option<Health>,
    /// Garbage bytes seen (logged, counted).
    pub garbage: u64,
    /// Bytes of the current job already written (0 = nothing can have printed).
    pub written: usize,
    /// From the start of the last `print` to its first job byte written (after the
    /// status checks): the "time to first byte".
    pub first_byte: Option<Duration>,
    /// When the last byte handed to the kernel will have crossed the line (estimate at
    /// the line rate): what is queued ahead of the next byte.
    line_free_at: Instant,
    /// Status queries that got no reply in time (each one is a `printer_offline`).
    pub status_timeouts: u64,
    noise: NoiseLog,
    /// Unread replies dropped because the queue was full (`max_queued_replies`).
    pub dropped_replies: u64,
}

impl Link {
    pub fn new(path: &Path, s: LinkSettings) -> Self {
        Link {
            path: path.to_path_buf(),
            port: None,
            dec: Decoder::default(),
            incoming: VecDeque::new(),
            asb: None,
            garbage: 0,
            written: 0,
            first_byte: None,
            line_free_at: Instant::now(),
            status_timeouts: 0,
            noise: NoiseLog::new(s.noise_log_every),
            dropped_replies: 0,
            s,
        }
    }

    /// Replies read but not yet consumed (bounded by `max_queued_replies`).
    pub fn queued_replies(&self) -> usize {
        self.incoming.len()
    }

    /// Log lines written about noise so far (at most one per `noise_log_interval_ms`).
    pub fn noise_log_lines(&self) -> u64 {
        self.noise.lines
    }

    /// Queues a reply, dropping the oldest beyond `max_queued_replies`: between prints
    /// nobody reads unsolicited replies (ASB frames, stray GS r bytes) until the next job.
    fn enqueue(&mut self, i: Incoming) {
        while self.incoming.len() >= self.s.max_queued {
            self.incoming.pop_front();
            self.dropped_replies += 1;
            self.noise.dropped += 1;
        }
        self.incoming.push_back(i);
    }

    /// Line time of what is still queued ahead of the next byte written.
    fn queued(&self) -> Duration {
        self.line_free_at.saturating_duration_since(Instant::now())
    }

    fn note_written(&mut self, n: usize) {
        self.line_free_at = self.line_free_at.max(Instant::now()) + self.s.wire_time(n);
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&mut self) -> Result<(), PrinterError> {
        if self.port.is_some() {
            return Ok(());
        }
        if !self.path.exists() {
            return Err(PrinterError::Fault(Fault::Disconnected));
        }
        let flow = match self.s.flow {
            FlowControl::None => serialport::FlowControl::None,
            FlowControl::Software => serialport::FlowControl::Software,
            FlowControl::Hardware => serialport::FlowControl::Hardware,
        };
        let port = serialport::new(self.path.to_string_lossy(), self.s.baud)
            .flow_control(flow)
            .timeout(TICK)
            .open_native()
            .map_err(|e| PrinterError::Open {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        log::info!(
            "printer: opened {} at {} baud, flow control {:?}",
            self.path.display(),
            self.s.baud,
            self.s.flow
        );
        self.port = Some(port);
        self.line_free_at = Instant::now();
        self.dec = Decoder::default();
        self.incoming.clear();
        Ok(())
    }

    /// Drops the device (it vanished or misbehaves); the next call reopens it.
    pub fn close(&mut self) {
        if self.port.take().is_some() {
            log::warn!("printer: closed {}", self.path.display());
        }
    }

    fn disconnected(&mut self, e: impl std::fmt::Display) -> PrinterError {
        log::warn!("printer: {} lost: {e}", self.path.display());
        self.close();
        PrinterError::Fault(Fault::Disconnected)
    }

    /// Reads whatever arrives within `wait` into the incoming queue.
    fn pump(&mut self, wait: Duration) -> Result<(), PrinterError> {
        self.open()?;
        let deadline = Instant::now() + wait;
        let mut buf = [0u8; 256];
        loop {
            let port = self.port.as_mut().expect("opened above");
            let avail = port.bytes_to_read().map_err(|e| e.to_string());
            let n = match avail {
                Err(e) => return Err(self.disconnected(e)),
                Ok(0) if Instant::now() >= deadline => return Ok(()),
                Ok(0) => match port.read(&mut buf) {
                    Ok(0) => return Err(self.disconnected("end of file")),
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => 0,
                    Err(e) => return Err(self.disconnected(e)),
                },
                Ok(k) => match port.read(&mut buf[..(k as usize).min(256)]) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => 0,
                    Err(e) => return Err(self.disconnected(e)),
                },
            };
            let mut out = Vec::new();
            for &b in &buf[..n] {
                self.dec.push(b, &mut out);
            }
            for i in out {
                match i {
                    Incoming::Garbage(b) => {
                        self.garbage += 1;
                        self.noise.bytes += 1;
                        self.noise.last_byte = b;
                    }
                    Incoming::Asb(h) => {
                        log::debug!("printer: ASB {h:?}");
                        self.asb = Some(h.clone());
                        self.enqueue(Incoming::Asb(h));
                    }
                    other => self.enqueue(other),
                }
            }
            self.noise.flush_due(&self.path);
            if Instant::now() >= deadline {
                return Ok(());
            }
        }
    }

    /// Turns the tty's output XON/XOFF (IXON) on or off; returns whether it was on.
    /// Turning it off restarts output stopped by an XOFF (Linux n_tty); `tcflow(TCOON)`
    /// does not: it only undoes `TCOOFF`.
    fn set_ixon(&mut self, on: bool) -> bool {
        use nix::sys::termios::{tcgetattr, tcsetattr, InputFlags, SetArg};
        let Some(port) = self.port.as_ref() else { return false };
        // SAFETY: the fd belongs to `port`, which outlives this borrow.
        let fd = unsafe { BorrowedFd::borrow_raw(port.as_raw_fd()) };
        let Ok(mut t) = tcgetattr(fd) else { return false };
        let was = t.input_flags.contains(InputFlags::IXON);
        if was != on {
            t.input_flags.set(InputFlags::IXON, on);
            if let Err(e) = tcsetattr(fd, SetArg::TCSANOW, &t) {
                log::warn!("printer: cannot switch XON/XOFF on {}: {e}", self.path.display());
            }
        }
        was
    }

    /// Writes `bytes` even if the printer has sent XOFF: real-time commands, which the
    /// printer reads at reception whatever its buffer holds (escpos.md §2), and the rest
    /// of an aborted command. A write the device does not take within the line time
    /// plus the status timeout means the printer does not listen: offline, not lost.
    fn write_past_xoff(&mut self, bytes: &[u8]) -> Result<(), PrinterError> {
        self.open()?;
        let ixon = self.s.flow == FlowControl::Software && self.set_ixon(false);
        let started = Instant::now();
        let deadline = started + self.queued() + self.s.wire_time(bytes.len()) + self.s.status_timeout;
        let mut off = 0;
        let mut result = Ok(());
        while off < bytes.len() {
            let port = self.port.as_mut().expect("opened above");
            let held = match port.write(&bytes[off..]) {
                Ok(0) => true,
                Ok(n) => {
                    off += n;
                    self.note_written(n);
                    false
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut || e.kind() == std::io::ErrorKind::WouldBlock => {
                    true
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => false,
                Err(e) => return Err(self.disconnected(e)),
            };
            if held && Instant::now() >= deadline {
                log::warn!(
                    "printer: {} takes no bytes (held for {:?}); offline",
                    self.path.display(),
                    started.elapsed()
                );
                result = Err(PrinterError::Fault(Fault::Offline));
                break;
            }
        }
        if ixon {
            self.set_ixon(true);
        }
        result
    }

    /// DLE EOT n, one reply byte within the status timeout; no reply = offline.
    fn query(&mut self, n: u8) -> Result<u8, PrinterError> {
        self.incoming.retain(|i| !matches!(i, Incoming::DleEot(_)));
        self.write_past_xoff(&[0x10, 0x04, n])?;
        // The query crosses the line behind whatever is still queued (at most about a
        // chunk): the timeout starts when it can have arrived.
        let deadline = Instant::now() + self.queued() + self.s.status_timeout;
        while Instant::now() < deadline {
            self.pump(TICK)?;
            if let Some(pos) = self.incoming.iter().position(|i| matches!(i, Incoming::DleEot(_))) {
                if let Some(Incoming::DleEot(b)) = self.incoming.remove(pos) {
                    return Ok(b);
                }
            }
        }
        self.status_timeouts += 1;
        Err(PrinterError::Fault(Fault::Offline))
    }

    /// Real-time status: DLE EOT 1, 2, 3, 4 (§6.1).
    pub fn status(&mut self) -> Result<Health, PrinterError> {
        let mut r = [0u8; 4];
        for (i, n) in (1..=4).enumerate() {
            r[i] = self.query(n)?;
        }
        classify_dle_eot(r[0], r[1], r[2], r[3]).map_err(|e| PrinterError::Protocol {
            path: self.path.clone(),
            message: e.to_string(),
        })
    }

    /// Gives up the rest of a job at `pos` (bytes written so far): finishes the command
    /// cut by the last write, so the printer's parser is back between commands, then
    /// `DLE ENQ 2` clears its buffer so nothing of this job prints later. Nothing is
    /// flushed: a flush cuts the stream at an arbitrary byte (on a pty it even keeps the
    /// first 4 KB the other end has not read), leaving the printer inside a command that
    /// swallows `DLE ENQ 2` and the status queries after it as data.
    fn abort(&mut self, fault: Fault, job: &EncodedJob, pos: usize) -> PrinterError {
        let end = job
            .boundaries
            .iter()
            .copied()
            .find(|&b| b >= pos)
            .unwrap_or(job.bytes.len());
        if end > pos && self.port.is_some() {
            log::info!("printer: finishing the command cut at byte {pos} ({} bytes)", end - pos);
            let _ = self.write_past_xoff(&job.bytes[pos..end]);
            self.written = end;
        }
        if self.port.is_some() {
            let _ = self.write_past_xoff(&[0x10, 0x05, 0x02]);
        }
        log::warn!("printer: job aborted: {fault}");
        PrinterError::Fault(fault)
    }

    /// DLE ENQ 2: recover from a recoverable error, clearing the printer's buffers.
    pub fn recover(&mut self) -> Result<(), PrinterError> {
        self.write_past_xoff(&[0x10, 0x05, 0x02])
    }

    fn fault_seen(&mut self) -> Option<Fault> {
        let f = self.incoming.iter().find_map(|i| match i {
            Incoming::Asb(h) => h.first_fault(),
            _ => None,
        });
        self.incoming.retain(|i| !matches!(i, Incoming::Asb(_)));
        f
    }

    /// Prints one job and waits for the GS r 1 reply. `Ok` = printed and cut (with the
    /// post-job status); `Err(Fault)` = spoiled. `on_sent` runs once every byte is out.
    pub fn print(&mut self, job: &EncodedJob, on_sent: &mut dyn FnMut()) -> Result<Health, PrinterError> {
        self.written = 0;
        self.first_byte = None;
        let started = Instant::now();
        // Stale bytes (noise, old replies) must not answer this job's queries.
        if let Some(p) = self.port.as_mut() {
            let _ = p.clear(ClearBuffer::Input);
        }
        self.incoming.clear();
        let before = self.status()?;
        if let Some(f) = before.first_fault() {
            return Err(PrinterError::Fault(f));
        }
        self.incoming.clear();
        let deadline = started + self.s.job_timeout;
        let bytes = &job.bytes;
        let chunk = self.s.chunk();
        // Pace at the line rate whatever the flow control: write the next chunk only
        // when the previous one has nearly crossed the line, so XON/XOFF (or RTS/CTS)
        // has at most one chunk to hold back and a fault leaves little in flight.
        let lead = self.s.wire_time(chunk) / 4;
        let mut pos = 0;
        let mut bi = 0;
        while pos < bytes.len() {
            // Split at a command boundary so no GB lead byte ends a write (§5).
            let mut end = (pos + chunk).min(bytes.len());
            while bi < job.boundaries.len() && job.boundaries[bi] <= pos {
                bi += 1;
            }
            let mut j = bi;
            let mut best = None;
            while j < job.boundaries.len() && job.boundaries[j] <= end {
                best = Some(job.boundaries[j]);
                j += 1;
            }
            if let Some(b) = best {
                end = b;
            }
            let ahead = self.queued();
            if ahead > lead {
                // Still reading replies meanwhile: an ASB fault stops the job at once.
                self.pump((ahead - lead).min(TICK))?;
            } else {
                let port = self.port.as_mut().ok_or(PrinterError::Fault(Fault::Disconnected))?;
                match port.write(&bytes[pos..end]) {
                    Ok(n) => {
                        if pos == 0 && n > 0 {
                            self.first_byte = Some(started.elapsed());
                        }
                        pos += n;
                        self.written = pos;
                        self.note_written(n);
                    }
                    // XOFF (or CTS) holds the line: wait, reading replies.
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                    Err(e) => return Err(self.disconnected(e)),
                }
                self.pump(Duration::ZERO)?;
            }
            if let Some(f) = self.fault_seen() {
                return Err(self.abort(f, job, pos));
            }
            if Instant::now() > deadline {
                return Err(self.abort(Fault::Timeout, job, pos));
            }
        }
        log::info!(
            "printer: job of {} bytes written in {:?}",
            bytes.len(),
            started.elapsed()
        );
        let min_wire = Duration::from_secs_f64(bytes.len() as f64 * 10.0 / self.s.baud as f64 * 0.9);
        on_sent();
        loop {
            self.pump(TICK)?;
            if let Some(f) = self.fault_seen() {
                return Err(self.abort(f, job, bytes.len()));
            }
            if self.incoming.iter().any(|i| matches!(i, Incoming::GsR(_))) {
                self.incoming.retain(|i| !matches!(i, Incoming::GsR(_)));
                // A reply cannot precede the bytes it answers: before the job can have
                // crossed the line (10 bits a byte) it is noise, not the GS r reply.
                if started.elapsed() >= min_wire {
                    break;
                }
                // A reply cannot precede the bytes it answers: noise (counted, rate-limited).
                self.garbage += 1;
                self.noise.bytes += 1;
                self.noise.flush_due(&self.path);
            }
            if Instant::now() > deadline {
                return Err(self.abort(Fault::Timeout, job, bytes.len()));
            }
        }
        log::info!("printer: cut confirmed (GS r) after {:?}", started.elapsed());
        // After the job: a fault now (e.g. paper out right after the cut) is reported
        // for the next job, the printed slip stands.
        Ok(self.status().unwrap_or_default())
    }
}
