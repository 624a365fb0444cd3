//! The session's vocabulary: the screens ([`State`]), what comes in ([`Event`]) and what
//! the host must do ([`Effect`]). Personal data is in none of the screens.

use super::details::{self, Details};
use super::Millis;
use crate::config::{DocumentId, RegionCode};
use crate::domain::{CardRead, ClaimCode, PhotoJpeg, PrinterFault, Prompt, ReceiptNumber, Slip};
use std::collections::BTreeSet;

/// A device the kiosk cannot work without.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Device {
    Camera,
    Printer,
    ReviewService,
    Storage,
}

/// The screens. Personal data is not in here: it lives in [`Session::data`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Attract,
    ChooseDocument,
    ChooseRegion {
        doc: DocumentId,
    },
    /// 单独同意: before the camera or the card reader takes anything, the person agrees
    /// to the face photo and ID number being collected (the wording is per region).
    Consent {
        doc: DocumentId,
        region: RegionCode,
    },
    /// The person declined: a polite goodbye, then the attract screen.
    Declined,
    Details {
        doc: DocumentId,
        region: RegionCode,
        errors: Vec<details::FieldError>,
        card: CardStatus,
    },
    /// `reasons`: why the last photo was refused (by make-photo or the review centre).
    Posing {
        doc: DocumentId,
        region: RegionCode,
        hint: Option<Prompt>,
        reasons: Vec<Prompt>,
    },
    ReviewPhoto {
        doc: DocumentId,
        region: RegionCode,
        retakes_left: u32,
    },
    Uploading {
        doc: DocumentId,
        region: RegionCode,
        since: Millis,
        claim: Option<ClaimCode>,
    },
    Printing {
        slip: Slip,
    },
    WaitingForPrinter {
        slip: Slip,
        fault: PrinterFault,
    },
    Done {
        slip: Option<Slip>,
    },
    /// Posing kept failing, the review rejected too often, or the upload was refused:
    /// the person is handed over to a counter with a hand-off slip (转人工凭条).
    SeeStaff {
        reasons: Vec<Prompt>,
    },
    OutOfService {
        faults: BTreeSet<Device>,
    },
}

impl State {
    /// Stable lower-case name, logged as `state=NAME`.
    pub fn name(&self) -> &'static str {
        match self {
            State::Attract => "attract",
            State::ChooseDocument => "choose-document",
            State::ChooseRegion { .. } => "choose-region",
            State::Consent { .. } => "consent",
            State::Declined => "declined",
            State::Details { .. } => "details",
            State::Posing { .. } => "posing",
            State::ReviewPhoto { .. } => "review-photo",
            State::Uploading { .. } => "uploading",
            State::Printing { .. } => "printing",
            State::WaitingForPrinter { .. } => "waiting-for-printer",
            State::Done { .. } => "done",
            State::SeeStaff { .. } => "see-staff",
            State::OutOfService { .. } => "out-of-service",
        }
    }

    /// States where a person is expected to act, so inactivity ends the session.
    pub(super) fn idles_out(&self) -> bool {
        !matches!(
            self,
            State::Attract
                | State::Declined
                | State::Done { .. }
                | State::Uploading { .. }
                | State::Printing { .. }
                | State::OutOfService { .. }
        )
    }
}

/// Inputs from the person, the devices and time.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Time passed (sent by the host's timer).
    Tick,
    Start,
    ChooseDocument(DocumentId),
    ChooseRegion(RegionCode),
    /// On the consent screen: 同意 (true) or 不同意 (false).
    Consent(bool),
    /// One poll of the ID-card reader while the details screen is shown.
    Card(CardRead),
    SubmitDetails(Details),
    /// Per analysed frame while posing: the most important hint (None = pose is right).
    Guidance {
        face_present: bool,
        hint: Option<Prompt>,
    },
    /// Auto-capture fired and the compliant photo was made from `capture`.
    PhotoMade {
        capture: PhotoJpeg,
        photo: PhotoJpeg,
    },
    /// The capture could not give a compliant photo.
    PhotoFailed(Vec<Prompt>),
    Accept,
    Retake,
    /// The submission is durably in the outbox; `claim` is printed if the decision is late.
    Queued {
        claim: ClaimCode,
    },
    /// The outbox could not take it (disk full) or the service refused it (4xx).
    UploadRefused(Prompt),
    Approved {
        number: ReceiptNumber,
        valid_until: chrono::NaiveDate,
    },
    Rejected(Vec<Prompt>),
    Printed,
    PrinterFault(PrinterFault),
    PrinterReady,
    DeviceFault(Device),
    DeviceRecovered(Device),
    Cancel,
    Back,
    StillHere,
    /// 再办一项: the same capture, another document.
    AnotherDocument,
    CallStaff,
}

/// What the host must do. Effects never carry more personal data than their job needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// The screen changed; hosts log `state=NAME`.
    Entered(&'static str),
    StartCamera,
    StopCamera,
    Speak(String),
    /// Re-make the kept capture for another document (再办一项).
    RemakePhoto {
        doc: DocumentId,
        region: RegionCode,
        capture: PhotoJpeg,
    },
    /// Put the submission into the durable outbox and upload it.
    Upload {
        doc: DocumentId,
        region: RegionCode,
        details: Details,
        photo: PhotoJpeg,
    },
    /// The person left before the decision: keep polling, print nothing.
    AbandonUpload,
    Print(Slip),
    /// Show the "还在吗？/ Still there?" countdown.
    StillThere {
        seconds: u32,
    },
    HideStillThere,
    /// 呼叫工作人员: raise a staff alert (the host says whether a console took it).
    CallStaff,
    /// The kiosk cannot help: print the hand-off slip and raise a staff alert.
    HandOff {
        doc: DocumentId,
        region: RegionCode,
        reasons: Vec<Prompt>,
    },
    /// The session's personal data was zeroized.
    Wiped,
}

/// The ID-card reader as the details screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardStatus {
    /// No reader configured: typing only.
    NoReader,
    /// 请放置身份证: nothing read yet.
    Waiting,
    /// The card's name and number are in the fields; the person confirms them.
    Filled,
    /// The last read failed: the plain message, and typing is offered.
    Fault(Prompt),
}

/// Where the submitted details came from (`simulate --json` reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailsSource {
    /// Exactly as read from the ID card.
    IdCard,
    /// Typed on the screen (or changed after a card was read).
    Typed,
}

impl DetailsSource {
    pub fn id(self) -> &'static str {
        match self {
            DetailsSource::IdCard => "idcard",
            DetailsSource::Typed => "typed",
        }
    }
}
