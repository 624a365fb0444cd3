//! ESC/POS encoder, serial transport, status decoding, print journal, paper counters
//! (issue #5). [`open`] picks the slip printer for `devices.printer`.

pub mod backend;
pub mod escpos;
pub mod journal;
pub mod serial;
pub mod status;

use crate::config::{Config, Device, PrinterSpec};
use crate::ports::SlipPrinter;
use crate::receipt::Receipt;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PrinterError {
    #[error("cannot open printer {path}: {message}. Fix: check the cable, the udev link /dev/kiosk-printer and that the kiosk user is in group dialout")]
    Open { path: PathBuf, message: String },
    #[error("printer {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("printer {path}: {message}")]
    Protocol { path: PathBuf, message: String },
    #[error("printer fault: {0}")]
    Fault(status::Fault),
    #[error("printer settings: {0}. Fix: correct [printer] in the config")]
    Settings(String),
    #[error(transparent)]
    Journal(#[from] journal::JournalError),
    #[error("cannot write {path}: {message}")]
    Output { path: PathBuf, message: String },
    #[error(transparent)]
    Receipt(#[from] crate::receipt::ReceiptError),
    #[error(transparent)]
    Pdf(#[from] crate::receipt::pdf::PdfError),
}

/// The slip printer for `cfg.devices.printer`: serial (with journal), `pdf:DIR` or `none`.
pub fn open(cfg: &Config) -> Result<Box<dyn SlipPrinter>, PrinterError> {
    match cfg.devices.printer.device() {
        Device::Serial { .. } => Ok(Box::new(backend::SerialSlipPrinter::start(cfg)?)),
        Device::Pdf { dir } => Ok(Box::new(backend::PdfSlipPrinter::new(cfg, dir)?)),
        _ => Ok(Box::new(backend::NoPrinter::default())),
    }
}

/// Prints one receipt on `spec` right now (the operator's test print, `kiosk receipt
/// --printer`); waits for the cut. Returns the device path.
pub fn print_once(cfg: &Config, spec: &PrinterSpec, receipt: &Receipt) -> Result<String, PrinterError> {
    let Device::Serial { path, baud, paper } = spec.device() else {
        return Err(PrinterError::Settings(format!("{spec} is not a serial printer")));
    };
    let settings = escpos::EncodeSettings::new(&cfg.printer, paper.dots()).map_err(PrinterError::Settings)?;
    let job = escpos::encode(receipt, &settings);
    let mut link = serial::Link::new(path, serial::LinkSettings::new(&cfg.printer, *baud));
    let health = link.print(&job, &mut || {})?;
    if health.near_end {
        log::warn!("printer: paper near end");
    }
    Ok(path.display().to_string())
}

/// An operator reprint on `spec` right now (`kiosk receipt --reprint --printer`): the
/// job is journalled as a `reprint` entry, printed marked 补打 with the reprint time, and
/// confirmed by the cut; if the printer fails it is cancelled (the operator is told and
/// retries), so it never comes out unannounced later. Returns the device path.
pub fn reprint_once(cfg: &Config, spec: &PrinterSpec, job: &crate::domain::SlipJob) -> Result<String, PrinterError> {
    let Device::Serial { path, baud, paper } = spec.device() else {
        return Err(PrinterError::Settings(format!("{spec} is not a serial printer")));
    };
    let settings = escpos::EncodeSettings::new(&cfg.printer, paper.dots()).map_err(PrinterError::Settings)?;
    let now = chrono::Utc::now().with_timezone(&crate::domain::china_time());
    let receipt = Receipt::build(job, cfg, Some(now))?;
    let encoded = escpos::encode(&receipt, &settings);
    let mut journal = journal::Journal::open(&backend::journal_path(cfg), cfg.printer.roll_length_mm)?;
    let id = journal.queue(job, true)?;
    journal.set_state(id, journal::JobState::Sent)?;
    let mut link = serial::Link::new(path, serial::LinkSettings::new(&cfg.printer, *baud));
    match link.print(&encoded, &mut || {}) {
        Ok(_) => {
            journal.set_state(id, journal::JobState::Confirmed)?;
            let mm = (crate::receipt::pdf::height_dots(&receipt) / 8.0) as u32;
            journal.count_slip(false, mm)?;
            Ok(path.display().to_string())
        }
        Err(e) => {
            journal.set_state(id, journal::JobState::Cancelled)?;
            if link.written > 0 {
                journal.count_slip(true, 0)?;
            }
            Err(e)
        }
    }
}

/// One status check of a serial printer (DLE EOT 1–4), for `kiosk diag`: the health or
/// why it could not be read. `pdf:` and `none` have no status to read.
pub fn probe(cfg: &Config) -> Result<status::Health, PrinterError> {
    let Device::Serial { path, baud, .. } = cfg.devices.printer.device() else {
        return Ok(status::Health::default());
    };
    serial::Link::new(path, serial::LinkSettings::new(&cfg.printer, *baud)).status()
}
