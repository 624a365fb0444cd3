//! What is printed: the slip (receipt or claim) and the job the receipt layout renders.

use super::{ClaimCode, PhotoJpeg, ReceiptNumber, ReceiptToken};
use crate::config::{DocumentId, RegionCode};

/// What is being printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slip {
    Receipt {
        number: ReceiptNumber,
        valid_until: chrono::NaiveDate,
        doc: DocumentId,
        region: RegionCode,
    },
    /// The decision was late: a claim slip with a code to fetch the receipt later.
    Claim {
        code: ClaimCode,
        doc: DocumentId,
        region: RegionCode,
    },
}

impl Slip {
    /// The receipt number or claim code: the slip's key in the print journal.
    pub fn key(&self) -> String {
        match self {
            Slip::Receipt { number, .. } => number.to_string(),
            Slip::Claim { code, .. } => code.to_string(),
        }
    }
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
