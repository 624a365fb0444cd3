//! The reader on a serial line: find → select → read, each command bounded by
//! `idcard.reply_timeout_ms` plus the answer's line time, so a silent or half-dead reader
//! costs one timeout and never hangs the caller. The device is reopened after it vanishes.

use super::frame::{self, FrameError, Reply, SW3_FOUND, SW3_NO_CARD, SW3_OK};
use super::IdCardError;
use crate::config::IdCardSection;
use crate::domain::{CardFault, CardRead};
use crate::ports::IdCardReader;
use serialport::{ClearBuffer, SerialPort, TTYPort};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zeroize::Zeroize;

/// Read poll granularity.
const TICK: Duration = Duration::from_millis(10);
/// The longest answer of a command we send: find/select/SAM status are short; the read
/// (30 01) is 1295 bytes with the usual lengths.
const SHORT_ANSWER: usize = 64;
const READ_ANSWER: usize = 1295;

/// The timing of one reader.
#[derive(Debug, Clone, PartialEq)]
pub struct ReaderSettings {
    pub baud: u32,
    pub reply_timeout: Duration,
    pub log_interval: Duration,
}

impl ReaderSettings {
    pub fn new(s: &IdCardSection, baud: u32) -> Self {
        ReaderSettings {
            baud,
            reply_timeout: Duration::from_millis(u64::from(s.reply_timeout_ms)),
            log_interval: Duration::from_secs(u64::from(s.log_interval_s)),
        }
    }

    /// How long an answer of `n` bytes may take: the reply timeout plus twice its line
    /// time (8N1: 10 bits a byte).
    pub fn deadline_for(&self, n: usize) -> Duration {
        self.reply_timeout + Duration::from_secs_f64(2.0 * n as f64 * 10.0 / f64::from(self.baud.max(1)))
    }
}

/// Logs each kind of fault at most once per interval, naming the device.
struct RateLog {
    interval: Duration,
    last: HashMap<String, Instant>,
}

impl RateLog {
    /// Logs (and returns) the line, unless the same fault was logged within the interval.
    fn warn(&mut self, path: &Path, id: &str, what: &dyn std::fmt::Display) -> Option<String> {
        let now = Instant::now();
        let due = self
            .last
            .get(id)
            .is_none_or(|t| now.duration_since(*t) >= self.interval);
        if !due {
            return None;
        }
        self.last.insert(id.to_string(), now);
        let line = format!("idcard: {} ({id}): {what}", path.display());
        log::warn!("{line}");
        Some(line)
    }

    /// A healthy answer after faults: say so once, and log the next fault at once.
    fn recovered(&mut self, path: &Path) {
        if !self.last.is_empty() {
            self.last.clear();
            log::info!("idcard: {} answers again", path.display());
        }
    }
}

/// One ID-card reader on one serial device path.
pub struct SerialReader {
    path: PathBuf,
    s: ReaderSettings,
    port: Option<TTYPort>,
    log: RateLog,
}

impl SerialReader {
    pub fn new(path: &Path, s: ReaderSettings) -> Self {
        SerialReader {
            path: path.to_path_buf(),
            log: RateLog {
                interval: s.log_interval,
                last: HashMap::new(),
            },
            s,
            port: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&mut self) -> Result<(), IdCardError> {
        if self.port.is_some() {
            return Ok(());
        }
        if !self.path.exists() {
            return Err(IdCardError::Gone {
                path: self.path.clone(),
                message: "no such device".into(),
            });
        }
        let port = serialport::new(self.path.to_string_lossy(), self.s.baud)
            .timeout(TICK)
            .open_native()
            .map_err(|e| IdCardError::Open {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        log::info!("idcard: opened {} at {} baud", self.path.display(), self.s.baud);
        self.port = Some(port);
        Ok(())
    }

    fn lost(&mut self, e: impl std::fmt::Display) -> IdCardError {
        self.port = None;
        IdCardError::Gone {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn frame_err(&self, source: FrameError) -> IdCardError {
        IdCardError::Frame {
            path: self.path.clone(),
            source,
        }
    }

    /// Sends one command and reads its one reply, within the deadline.
    pub fn transact(&mut self, cmd: u8, para: u8, answer: usize) -> Result<Reply, IdCardError> {
        self.open()?;
        let request = frame::encode(cmd, para, &[]);
        let wait = self.s.deadline_for(answer);
        let port = self.port.as_mut().expect("opened above");
        // A late answer to an earlier command must not be taken for this one's.
        if let Err(e) = port.clear(ClearBuffer::Input) {
            return Err(self.lost(e));
        }
        if let Err(e) = port.write_all(&request).and_then(|_| port.flush()) {
            return Err(self.lost(e));
        }
        let deadline = Instant::now() + wait;
        let mut buf: Vec<u8> = Vec::with_capacity(answer + frame::HEADER);
        let mut chunk = [0u8; 512];
        let result = loop {
            match frame::frame_extent(&buf) {
                Err(e) => break Err(self.frame_err(e)),
                Ok(Some(n)) => break frame::parse_reply(&buf[..n]).map_err(|e| self.frame_err(e)),
                Ok(None) => {}
            }
            if Instant::now() >= deadline {
                break Err(if buf.is_empty() {
                    IdCardError::Silent {
                        path: self.path.clone(),
                        ms: wait.as_millis() as u64,
                    }
                } else {
                    // Part of a frame, then nothing: cut short.
                    let e = frame::parse_reply(&buf).err().unwrap_or(FrameError::Short {
                        have: buf.len(),
                        need: buf.len() + 1,
                    });
                    self.frame_err(e)
                });
            }
            let port = self.port.as_mut().expect("opened above");
            match port.read(&mut chunk) {
                Ok(0) => break Err(self.lost("end of file")),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => break Err(self.lost(e)),
            }
        };
        buf.zeroize();
        chunk.zeroize();
        result
    }

    /// find → select → read, once.
    fn read_card(&mut self) -> Result<CardRead, IdCardError> {
        let found = self.transact(0x20, 0x01, SHORT_ANSWER)?;
        match found.sw3 {
            SW3_NO_CARD => return Ok(CardRead::NoCard),
            SW3_FOUND => {}
            other => return Err(self.frame_err(FrameError::Status(other))),
        }
        let selected = self.transact(0x20, 0x02, SHORT_ANSWER)?;
        match selected.sw3 {
            SW3_NO_CARD => return Ok(CardRead::NoCard),
            SW3_OK => {}
            other => return Err(self.frame_err(FrameError::Status(other))),
        }
        let read = self.transact(0x30, 0x01, READ_ANSWER)?;
        if read.sw3 == SW3_NO_CARD {
            return Ok(CardRead::NoCard);
        }
        let data = read.expect(SW3_OK).map_err(|e| self.frame_err(e))?;
        let mut text = frame::read_answer_text(data).map_err(|e| self.frame_err(e))?;
        let decoded = super::text::decode(&text);
        text.zeroize();
        Ok(match decoded {
            Ok(card) => CardRead::Card(card),
            Err(fault) => CardRead::Fault(fault),
        })
    }

    /// The SAM's status (11 FF), without touching any card: `kiosk diag`.
    pub fn sam_status(&mut self) -> Result<(), IdCardError> {
        let r = self.transact(0x11, 0xFF, SHORT_ANSWER)?;
        r.expect(SW3_OK).map(|_| ()).map_err(|e| self.frame_err(e))
    }
}

impl IdCardReader for SerialReader {
    fn poll(&mut self) -> CardRead {
        let read = self.read_card().unwrap_or_else(|e| {
            let fault = e.fault();
            let _ = self.log.warn(&self.path.clone(), &fault.id(), &e);
            CardRead::Fault(fault)
        });
        match &read {
            CardRead::Fault(f @ (CardFault::UnsupportedCard | CardFault::Undecodable)) => {
                // What the card said stays unsaid: only that it could not be used.
                let _ = self.log.warn(&self.path.clone(), &f.id(), &f.prompt().en);
            }
            CardRead::Fault(_) => {}
            CardRead::NoCard | CardRead::Card(_) => self.log.recovered(&self.path.clone()),
        }
        read
    }

    fn describe(&self) -> String {
        format!("serial:{},{}", self.path.display(), self.s.baud)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_logged_once_per_interval_naming_the_device() {
        let path = Path::new("/dev/kiosk-idcard");
        let mut log = RateLog {
            interval: Duration::from_secs(60),
            last: HashMap::new(),
        };
        let e = IdCardError::Silent {
            path: path.to_path_buf(),
            ms: 200,
        };
        let line = log.warn(path, "idcard_silent", &e).expect("the first one is logged");
        assert!(
            line.contains("/dev/kiosk-idcard") && line.contains("idcard_silent"),
            "{line}"
        );
        assert!(line.contains("did not answer within 200 ms"), "{line}");
        // A reader polled twice a second must not flood the log.
        for _ in 0..100 {
            assert_eq!(log.warn(path, "idcard_silent", &e), None);
        }
        assert!(
            log.warn(path, "idcard_checksum", &"x").is_some(),
            "another fault is news"
        );
        log.recovered(path);
        assert!(
            log.warn(path, "idcard_silent", &e).is_some(),
            "after a recovery it is news again"
        );
        let mut every = RateLog {
            interval: Duration::ZERO,
            last: HashMap::new(),
        };
        assert!(every.warn(path, "a", &"x").is_some() && every.warn(path, "a", &"x").is_some());
    }

    #[test]
    fn the_deadline_covers_the_answer_s_line_time() {
        let s = ReaderSettings {
            baud: 9600,
            reply_timeout: Duration::from_millis(200),
            log_interval: Duration::ZERO,
        };
        // 1295 bytes at 9600 baud take 1.35 s on the wire.
        assert!(s.deadline_for(READ_ANSWER) > Duration::from_millis(200 + 1349));
        assert!(s.deadline_for(SHORT_ANSWER) < Duration::from_millis(400));
    }
}
