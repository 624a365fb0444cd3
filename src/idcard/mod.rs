//! The resident ID-card reader (issue #14): frame codec, the find → select → read
//! sequence over `serialport`, the card text decoder; [`open`] picks the reader for
//! `devices.idcard`. Facts: shared/specs/idcard-reader.md; operator notes: docs/idcard.md.
//!
//! Nothing from the card but the name and the ID number leaves this module (never the
//! photo, the address or the dates), and neither is ever logged.

pub mod frame;
pub mod serial;
pub mod text;

use crate::config::{Config, Device};
use crate::domain::CardFault;
use crate::ports::IdCardReader;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IdCardError {
    #[error("cannot open the ID-card reader {path}: {message}. Fix: check the cable, the udev link /dev/kiosk-idcard (deploy/99-kiosk.rules) and that the kiosk user is in group dialout")]
    Open { path: PathBuf, message: String },
    #[error("the ID-card reader {path} is gone: {message}. Fix: plug the reader back in (check the cable and /dev/kiosk-idcard)")]
    Gone { path: PathBuf, message: String },
    #[error("the ID-card reader {path} did not answer within {ms} ms. Fix: check the reader's power and the baud rate in devices.idcard")]
    Silent { path: PathBuf, ms: u64 },
    #[error("the ID-card reader {path}: {source}")]
    Frame {
        path: PathBuf,
        #[source]
        source: frame::FrameError,
    },
}

impl IdCardError {
    /// The fault the person's screen shows for this error.
    pub fn fault(&self) -> CardFault {
        match self {
            IdCardError::Open { .. } | IdCardError::Gone { .. } => CardFault::Unplugged,
            IdCardError::Silent { .. } => CardFault::Silent,
            IdCardError::Frame { source, .. } => match source {
                frame::FrameError::Garbled(_) => CardFault::Garbled,
                frame::FrameError::Short { .. } => CardFault::ShortFrame,
                frame::FrameError::WrongLength(_) => CardFault::WrongLength,
                frame::FrameError::Checksum { .. } => CardFault::Checksum,
                frame::FrameError::Status(sw3) => CardFault::Status(*sw3),
            },
        }
    }
}

/// The reader `devices.idcard` names; `None` for `none` (details are typed).
pub fn open(cfg: &Config) -> Option<Box<dyn IdCardReader>> {
    match cfg.devices.idcard.device() {
        Device::Serial { path, baud, .. } => Some(Box::new(serial::SerialReader::new(
            path,
            serial::ReaderSettings::new(&cfg.idcard, *baud),
        ))),
        _ => None,
    }
}

/// One SAM status check of the configured reader, for `kiosk diag` (no card is read).
/// `Ok(None)` when no reader is configured.
pub fn probe(cfg: &Config) -> Result<Option<PathBuf>, IdCardError> {
    let Device::Serial { path, baud, .. } = cfg.devices.idcard.device() else {
        return Ok(None);
    };
    let mut r = serial::SerialReader::new(path, serial::ReaderSettings::new(&cfg.idcard, *baud));
    r.sam_status()?;
    Ok(Some(path.clone()))
}
