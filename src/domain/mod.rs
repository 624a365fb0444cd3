//! Plain value types that cross module boundaries: validated once, at the edge.

use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

mod idcard;
mod printer;
mod slip;
mod token;

pub use idcard::{CardAdvice, CardDetails, CardFault, CardKind, CardRead};
pub use printer::PrinterFault;
pub use slip::{HandOffCode, Slip, SlipJob};
pub use token::{ReceiptToken, TOKEN_HEX_LEN};

/// China Standard Time. China has used UTC+8 without daylight saving since 1991, so a
/// fixed offset equals Asia/Shanghai for every date a receipt can carry.
pub fn china_time() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// A receipt number (回执号 / 图像号) as issued by the review service. Opaque to the
/// kiosk (receipt.md §6.3): 1–32 characters of `[0-9A-Za-z-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ReceiptNumber(String);

impl ReceiptNumber {
    pub fn new(s: &str) -> Result<Self, String> {
        if (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            Ok(ReceiptNumber(s.to_string()))
        } else {
            Err(format!(
                "receipt_number_invalid: `{}` is not 1–32 chars of [0-9A-Za-z-]",
                s.escape_debug()
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The number of the operator's test slip; the slip says it cannot be used.
    pub fn test_print() -> Self {
        ReceiptNumber("TEST-PRINT".into())
    }
    pub fn is_test_print(&self) -> bool {
        self.0 == "TEST-PRINT"
    }
    /// Code128 set C needs an even number of digits (fits 58 mm paper).
    pub fn is_even_digits(&self) -> bool {
        self.0.len().is_multiple_of(2) && self.0.bytes().all(|b| b.is_ascii_digit())
    }
}

impl<'de> Deserialize<'de> for ReceiptNumber {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let s = String::deserialize(de)?;
        ReceiptNumber::new(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ReceiptNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A random claim code (≥ 128 bits, hex) printed on a claim slip when the decision
/// is late; the person fetches the receipt with it later.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClaimCode(pub String);

impl ClaimCode {
    /// 128 random bits as 32 lowercase hex digits.
    pub fn random() -> Self {
        let bytes: [u8; 16] = rand::random();
        ClaimCode(hex::encode(bytes))
    }
}

impl fmt::Display for ClaimCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// JPEG bytes of a person's photo: personal data, zeroized when dropped.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct PhotoJpeg(pub Vec<u8>);

impl fmt::Debug for PhotoJpeg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the bytes: they are a face.
        write!(f, "PhotoJpeg({} bytes)", self.0.len())
    }
}

/// A short bilingual message for the person (a hint, a rejection reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// Stable id: a capture-check name (`eyes_visible`), `hold_still`, or a review reason code.
    pub id: String,
    pub zh: String,
    pub en: String,
}

impl Prompt {
    pub fn new(id: &str, zh: &str, en: &str) -> Self {
        Prompt {
            id: id.into(),
            zh: zh.into(),
            en: en.into(),
        }
    }
}
