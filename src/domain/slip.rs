//! What is printed: the slip (receipt, claim or hand-off) and the job the receipt layout
//! renders.

use super::{ClaimCode, PhotoJpeg, Prompt, ReceiptNumber, ReceiptToken};
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
    /// 转人工凭条: the kiosk could not help (posing kept failing, the upload was refused);
    /// the person takes this to a counter. No personal data: the code ties it to the
    /// staff alert, the reasons say what kept failing.
    HandOff {
        code: HandOffCode,
        doc: DocumentId,
        region: RegionCode,
        reasons: Vec<Prompt>,
    },
}

impl Slip {
    /// The receipt number or claim code: the slip's key in the print journal.
    pub fn key(&self) -> String {
        match self {
            Slip::Receipt { number, .. } => number.to_string(),
            Slip::Claim { code, .. } => code.to_string(),
            Slip::HandOff { code, .. } => code.to_string(),
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

/// The short code on a hand-off slip and its staff alert (`转人工` number): six digits,
/// easy to read out at a counter. It names nobody; collisions only cost staff a glance
/// at the kiosk id printed beside it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HandOffCode(String);

impl HandOffCode {
    pub fn random() -> HandOffCode {
        HandOffCode(format!("{:06}", rand::random::<u32>() % 1_000_000))
    }
    /// Six ASCII digits, or an error naming the value.
    pub fn new(s: &str) -> Result<HandOffCode, String> {
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(HandOffCode(s.to_string()))
        } else {
            Err(format!("`{s}` is not a six-digit hand-off code"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for HandOffCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::HandOffCode;

    #[test]
    fn hand_off_codes_are_six_digits() {
        for _ in 0..200 {
            let c = HandOffCode::random();
            assert_eq!(HandOffCode::new(c.as_str()), Ok(c));
        }
        assert!(HandOffCode::new("12345").is_err() && HandOffCode::new("12345a").is_err());
    }
}
