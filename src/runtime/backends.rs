//! The small traits the runtime drives, one per job. Each module implements its own:
//! `vision` the guide and the photo maker, `review` the uploader, `printer` the slip
//! printer. Test backends live beside the real ones.

use crate::camera::Frame;
use crate::config::{DocumentId, DocumentSpec, RegionCode};
use crate::domain::{ClaimCode, PhotoJpeg, Prompt, ReceiptNumber};
use crate::receipt::ReceiptToken;
use crate::session::{Details, Slip};

/// One analysed frame while posing.
#[derive(Debug, Clone, Default)]
pub struct GuideOutput {
    /// A face is in view (counts as activity for the inactivity timeout).
    pub face_present: bool,
    /// The single most important hint; `None` when the pose is right.
    pub hint: Option<Prompt>,
    /// The pose is right right now (the overlay turns green).
    pub pose_ok: bool,
    /// Face box in frame pixels (x, y, w, h) for the overlay.
    pub face_box: Option<[f32; 4]>,
    /// Set once, when auto-capture fires: the sharpest frame of the steady stretch.
    pub captured: Option<image::RgbImage>,
}

/// Live guidance and auto-capture (vision).
pub trait Guide: Send {
    /// Starts a new posing run for `spec` (clears tracking and the steady timer).
    fn reset(&mut self, spec: &DocumentSpec);
    /// Analyses one frame; time comes from `frame.t_ms`, never the wall clock.
    fn analyse(&mut self, frame: &Frame) -> GuideOutput;
}

/// Makes the compliant document photo from a capture (vision).
pub trait PhotoMaker: Send {
    /// The JPEG, or the reasons the capture cannot give a compliant photo.
    fn make(&mut self, capture: &image::RgbImage, spec: &DocumentSpec) -> Result<PhotoJpeg, Vec<Prompt>>;
}

/// What is uploaded: personal data, moved into the durable (encrypted) outbox.
#[derive(Debug)]
pub struct Submission {
    pub doc: DocumentId,
    pub region: RegionCode,
    pub details: Details,
    pub photo: PhotoJpeg,
}

/// The review centre's decision, as the uploader learns it.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Approved {
        number: ReceiptNumber,
        valid_until: chrono::NaiveDate,
        /// Opens the public receipt routes for this one receipt; carried to the QRs.
        token: ReceiptToken,
    },
    /// The photo failed the review: a new photo may pass (the person poses again).
    Rejected(Vec<Prompt>),
    /// The service refused the upload itself (a 4xx: unknown region, bad details, a
    /// document the region does not offer…): another photo would be refused the same way,
    /// so the person is sent to staff with the service's reason.
    Refused(Prompt),
}

impl Decision {
    /// What the person (or the log) is told when it is not an approval.
    pub fn reasons(&self) -> &[Prompt] {
        match self {
            Decision::Approved { .. } => &[],
            Decision::Rejected(r) => r,
            Decision::Refused(p) => std::slice::from_ref(p),
        }
    }
}

/// A receipt approved for a submission whose session died with the process (crash,
/// power cut, SIGKILL) before any slip was printed: the kiosk prints it when idle.
#[derive(Debug, Clone)]
pub struct Resumed {
    /// Always a [`Slip::Receipt`].
    pub slip: Slip,
    /// The approved photo fetched back from the review service for the thumbnail, when it
    /// could be (the outbox erased its own copy once the upload was acknowledged).
    pub photo: Option<PhotoJpeg>,
    /// The receipt's token, for the slip's QR.
    pub token: ReceiptToken,
}

/// Upload through the durable outbox (review).
///
/// An approved entry stays in the outbox until [`Uploader::settle`] says its slip is
/// printed, so a crash anywhere between the decision and the cut prints it after the
/// restart (the print journal refuses a second original of a number).
pub trait Uploader: Send {
    /// Writes the submission durably to the outbox (before any byte is sent) and starts
    /// uploading it in the background. Returns the claim code printed if the decision is
    /// late, or why it was refused (disk full, …) in words for the person.
    fn submit(&mut self, submission: Submission) -> Result<ClaimCode, Prompt>;
    /// The decision for the current submission, once known; non-blocking.
    fn poll(&mut self) -> Option<Decision>;
    /// The person left: keep the submission settling in the background, print nothing.
    fn abandon(&mut self);
    /// Fetches an issued receipt again by number (operator reprint, issue #5): the slip's
    /// facts and photo as the review service keeps them. Blocks for one request.
    fn fetch_receipt(&mut self, number: &ReceiptNumber) -> Result<SlipJob, Prompt> {
        let _ = number;
        Err(crate::receipt::reprint::unavailable())
    }
    /// The next receipt approved for a submission orphaned by a restart, each once per
    /// process; non-blocking.
    fn take_resumed(&mut self) -> Option<Resumed>;
    /// The slip of receipt `number` is printed (confirmed cut): forget its outbox entry.
    fn settle(&mut self, number: &ReceiptNumber);
}

/// A slip to print, with what the receipt layout needs beyond the [`Slip`].
#[derive(Debug, Clone)]
pub struct SlipJob {
    pub slip: Slip,
    /// The approved photo for the thumbnail (personal data: wiped when the print is confirmed).
    pub photo: Option<PhotoJpeg>,
    /// Masked name (张**), only where the region prints names.
    pub masked_name: Option<String>,
    /// Issue time, China Standard Time.
    pub issued_at: chrono::DateTime<chrono::FixedOffset>,
    /// The receipt token the QR carries (a URL to the electronic receipt); `None` for
    /// claim slips, test prints, and jobs whose token is not known.
    pub token: Option<ReceiptToken>,
}

/// What the printer reports back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterEvent {
    /// The slip was cut and confirmed (GS r reply, or the PDF is on disk). `key` is the
    /// slip's receipt number or claim code.
    Printed { at: String, key: String },
    /// Paper out, cover open, cutter error, offline… the slip is spoiled and will be reprinted.
    Fault(String),
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
    fn print(&mut self, job: SlipJob) -> Result<(), String>;
    /// Progress of the current job and printer state changes; non-blocking.
    fn poll(&mut self) -> Option<PrinterEvent>;
    /// Paper counters for the operator screens and `diag`.
    fn paper(&mut self) -> PaperStatus;
    /// The operator loaded a new roll (reload wizard): reset the paper counter.
    fn reloaded(&mut self) -> Result<(), String>;
    /// Queues an operator reprint (issue #5): printed marked 补打 with the reprint time,
    /// journalled as a reprint. Printers that cannot reprint say so.
    fn reprint(&mut self, job: SlipJob) -> Result<(), String> {
        let _ = job;
        Err("this printer cannot reprint / 此打印机不支持补打".into())
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
