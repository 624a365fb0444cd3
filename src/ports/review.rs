//! The review port: the durable upload of a submission and the centre's decision.

use crate::config::{DocumentId, RegionCode};
use crate::domain::{ClaimCode, PhotoJpeg, Prompt, ReceiptNumber, ReceiptToken, Slip, SlipJob};
use crate::session::Details;

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
        Err(reprint_unavailable())
    }
    /// The next receipt approved for a submission orphaned by a restart, each once per
    /// process; non-blocking.
    fn take_resumed(&mut self) -> Option<Resumed>;
    /// The slip of receipt `number` is printed (confirmed cut): forget its outbox entry.
    fn settle(&mut self, number: &ReceiptNumber);
    /// How many submissions the durable outbox still holds (operator screen, metrics).
    /// Uploaders without an outbox hold none.
    fn outbox_depth(&mut self) -> Result<OutboxDepth, Prompt> {
        Ok(OutboxDepth::default())
    }
}

/// How many submissions the durable outbox still holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxDepth {
    pub entries: usize,
    /// Not yet acknowledged by the review service (the sealed body is still there).
    pub unsent: usize,
    /// Acknowledged or not, still waiting for the review centre's decision.
    pub undecided: usize,
    /// Taken out because they can never be sent (staff must look: `kiosk diag`).
    pub quarantined: usize,
}

/// The uploader in use cannot fetch receipts (a test backend, or no review service).
pub fn reprint_unavailable() -> Prompt {
    Prompt::new(
        "reprint_unavailable",
        "本机未连接审核中心，无法补打",
        "This kiosk has no review service to fetch the receipt from",
    )
}
