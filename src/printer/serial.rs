//! The serial link to an ESC/POS printer: status queries (DLE EOT 1–4), job writes
//! with XON/XOFF or pacing, ASB watching, GS r completion, recovery and reconnection
//! (escpos.md §5, §6).

use super::escpos::EncodedJob;
use super::status::{classify_dle_eot, Decoder, Fault, Health, Incoming};
use super::PrinterError;
use crate::config::{FlowControl, PrinterSection};
use serialport::{ClearBuffer, SerialPort, TTYPort};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Largest write in one go: a quarter of the smallest buffer we assume.
const CHUNK: usize = 512;
/// Read poll granularity.
const TICK: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, PartialEq)]
pub struct LinkSettings {
    pub baud: u32,
    pub status_timeout: Duration,
    pub job_timeout: Duration,
    pub flow: FlowControl,
    pub buffer_bytes: usize,
}

impl LinkSettings {
    pub fn new(p: &PrinterSection, baud: u32) -> Self {
        LinkSettings {
            baud,
            status_timeout: Duration::from_millis(u64::from(p.status_timeout_ms.max(10))),
            job_timeout: Duration::from_secs(u64::from(p.job_timeout_s.max(1))),
            flow: p.flow_control,
            buffer_bytes: p.buffer_bytes.max(64) as usize,
        }
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
}

impl Link {
    pub fn new(path: &Path, s: LinkSettings) -> Self {
        Link {
            path: path.to_path_buf(),
            s,
            port: None,
            dec: Decoder::default(),
            incoming: VecDeque::new(),
            asb: None,
            garbage: 0,
            written: 0,
            first_byte: None,
        }
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
                        log::warn!("printer: unexpected byte {b:#04x} from {}", self.path.display());
                    }
                    Incoming::Asb(h) => {
                        log::debug!("printer: ASB {h:?}");
                        self.asb = Some(h.clone());
                        self.incoming.push_back(Incoming::Asb(h));
                    }
                    other => self.incoming.push_back(other),
                }
            }
            if Instant::now() >= deadline {
                return Ok(());
            }
        }
    }

    /// Writes real-time bytes even if an XOFF is pending (the printer reads them at
    /// reception, escpos.md §2).
    fn write_realtime(&mut self, bytes: &[u8]) -> Result<(), PrinterError> {
        self.open()?;
        let port = self.port.as_mut().expect("opened above");
        let _ = nix::sys::termios::tcflow(
            unsafe { std::os::fd::BorrowedFd::borrow_raw(port.as_raw_fd()) },
            nix::sys::termios::FlowArg::TCOON,
        );
        match port.write_all(bytes) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.disconnected(e)),
        }
    }

    /// DLE EOT n, one reply byte within the status timeout; no reply = offline.
    fn query(&mut self, n: u8) -> Result<u8, PrinterError> {
        self.incoming.retain(|i| !matches!(i, Incoming::DleEot(_)));
        self.write_realtime(&[0x10, 0x04, n])?;
        let deadline = Instant::now() + self.s.status_timeout;
        while Instant::now() < deadline {
            self.pump(TICK)?;
            if let Some(pos) = self.incoming.iter().position(|i| matches!(i, Incoming::DleEot(_))) {
                if let Some(Incoming::DleEot(b)) = self.incoming.remove(pos) {
                    return Ok(b);
                }
            }
        }
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

    /// Gives up the rest of a job: drop unsent bytes, restart output, clear the
    /// printer's buffer (DLE ENQ 2) so nothing of this job prints later.
    fn abort(&mut self, fault: Fault) -> PrinterError {
        if let Some(p) = self.port.as_mut() {
            let _ = p.clear(ClearBuffer::Output);
        }
        let _ = self.write_realtime(&[0x10, 0x05, 0x02]);
        log::warn!("printer: job aborted: {fault}");
        PrinterError::Fault(fault)
    }

    /// DLE ENQ 2: recover from a recoverable error, clearing the printer's buffers.
    pub fn recover(&mut self) -> Result<(), PrinterError> {
        self.write_realtime(&[0x10, 0x05, 0x02])
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
        let mut pos = 0;
        let mut bi = 0;
        while pos < bytes.len() {
            // Split at a command boundary so no GB lead byte ends a write (§5).
            let mut end = (pos + CHUNK).min(bytes.len());
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
            let port = self.port.as_mut().ok_or(PrinterError::Fault(Fault::Disconnected))?;
            match port.write(&bytes[pos..end]) {
                Ok(n) => {
                    if pos == 0 && n > 0 {
                        self.first_byte = Some(started.elapsed());
                    }
                    pos += n;
                    self.written = pos;
                    if self.s.flow == FlowControl::None {
                        // No flow control: pace at the line rate (10 bits a byte).
                        std::thread::sleep(Duration::from_secs_f64(n as f64 * 10.0 / self.s.baud as f64));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => return Err(self.disconnected(e)),
            }
            self.pump(Duration::ZERO)?;
            if let Some(f) = self.fault_seen() {
                return Err(self.abort(f));
            }
            if Instant::now() > deadline {
                return Err(self.abort(Fault::Timeout));
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
                return Err(self.abort(f));
            }
            if self.incoming.iter().any(|i| matches!(i, Incoming::GsR(_))) {
                self.incoming.retain(|i| !matches!(i, Incoming::GsR(_)));
                // A reply cannot precede the bytes it answers: before the job can have
                // crossed the line (10 bits a byte) it is noise, not the GS r reply.
                if started.elapsed() >= min_wire {
                    break;
                }
                self.garbage += 1;
                log::warn!("printer: a reply byte came before the job could have arrived; ignored as noise");
            }
            if Instant::now() > deadline {
                return Err(self.abort(Fault::Timeout));
            }
        }
        log::info!("printer: cut confirmed (GS r) after {:?}", started.elapsed());
        // After the job: a fault now (e.g. paper out right after the cut) is reported
        // for the next job, the printed slip stands.
        Ok(self.status().unwrap_or_default())
    }
}
