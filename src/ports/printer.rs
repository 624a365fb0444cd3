//! The printer port: slips go in through the print journal, events and paper counters come out.

use crate::domain::{PrinterFault, SlipJob};

/// What the printer reports back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterEvent {
    /// The slip was cut and confirmed (GS r reply, or the PDF is on disk). `key` is the
    /// slip's receipt number or claim code.
    Printed { at: String, key: String },
    /// Paper out, cover open, cutter error, offline… the slip is spoiled and will be reprinted.
    Fault(PrinterFault),
    /// Healthy again; a spoiled slip is being reprinted.
    Ready,
    /// Paper near end: keep printing, warn the operator.
    NearEnd,
}

/// Prints slips through the print journal (printer).
pub trait SlipPrinter: Send {
    /// Queues the job in the journal and starts printing it. A receipt whose number the
    /// journal already holds is not printed a second time: it is reported `Printed` once
    /// its first job is confirmed.
    fn print(&mut self, job: SlipJob) -> Result<(), PrintError>;
    /// Progress of the current job and printer state changes; non-blocking.
    fn poll(&mut self) -> Option<PrinterEvent>;
    /// Paper counters for the operator screens and `diag`.
    fn paper(&mut self) -> PaperStatus;
    /// The operator loaded a new roll (reload wizard): reset the paper counter.
    fn reloaded(&mut self) -> Result<(), PrintError>;
    /// Queues an operator reprint (issue #5): printed marked 补打 with the reprint time,
    /// journalled as a reprint. Printers that cannot reprint say so.
    fn reprint(&mut self, job: SlipJob) -> Result<(), PrintError> {
        let _ = job;
        Err(PrintError::CannotReprint)
    }
}

/// Paper counters kept by the print journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct PaperStatus {
    pub slips_since_reload: u32,
    pub spoiled_since_reload: u32,
    /// Estimated paper left on the roll, in mm.
    pub estimated_left_mm: u32,
    /// The printer's near-end sensor (or the estimate) says the roll is low.
    pub near_end: bool,
}

/// Why the printer port refused a request outright (a fault while printing arrives as a
/// [`PrinterEvent::Fault`] instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    /// The printer's worker thread has stopped (it panicked or the process is ending).
    #[error("the printer's worker thread has stopped / 打印线程已停止")]
    WorkerStopped,
    /// The worker did not answer in time.
    #[error("the printer's worker thread did not answer / 打印线程无响应")]
    NoAnswer,
    /// This printer keeps no journal to reprint from (PDF-less test printers, `none`).
    #[error("this printer cannot reprint / 此打印机不支持补打")]
    CannotReprint,
    /// The print journal could not be written.
    #[error("the print journal: {0}")]
    Journal(String),
}

impl PrintError {
    /// The fault the session and the screens see when a print request is refused.
    pub fn fault(&self) -> PrinterFault {
        match self {
            PrintError::WorkerStopped | PrintError::NoAnswer => PrinterFault::Offline,
            PrintError::CannotReprint => PrinterFault::NotConfigured,
            PrintError::Journal(_) => PrinterFault::Journal,
        }
    }
}
