//! Receipt numbers: 20 digits, `RRRRRR YYMMDD SSSSSSS C`.
//!
//! * `RRRRRR` the GB/T 2260 region code the receipt is valid in,
//! * `YYMMDD` the approval date in China Standard Time,
//! * `SSSSSSS` a per-(region, day) sequence from 0000001, never reused (the counter only
//!   grows and the number column is `UNIQUE`),
//! * `C` a Luhn check digit over the 19 digits before it (catches a mistyped digit and most
//!   swaps at the counter).
//!
//! Digits only and of even length, so Code128 set C prints it in 10 symbols (fits 58 mm
//! paper). Twenty rather than eighteen digits so that it can never be mistaken for an
//! 18-digit resident ID number (the log redactor masks those).

use crate::config::RegionCode;
use crate::domain::ReceiptNumber;
use chrono::{Datelike, NaiveDate};

/// Digits in a receipt number.
pub const LEN: usize = 20;
/// Largest per-(region, day) sequence.
pub const MAX_SEQ: u32 = 9_999_999;

/// Builds the number; `None` when the day's sequence is exhausted.
pub fn make(region: &RegionCode, day: NaiveDate, seq: u32) -> Option<ReceiptNumber> {
    if seq == 0 || seq > MAX_SEQ {
        return None;
    }
    let body = format!(
        "{}{:02}{:02}{:02}{:07}",
        region.as_str(),
        day.year() % 100,
        day.month(),
        day.day(),
        seq
    );
    let n = format!("{body}{}", luhn_digit(&body));
    ReceiptNumber::new(&n).ok()
}

/// True when `s` has the format and a correct check digit.
pub fn is_well_formed(s: &str) -> bool {
    s.len() == LEN
        && s.bytes().all(|b| b.is_ascii_digit())
        && luhn_digit(&s[..LEN - 1]) == s.as_bytes()[LEN - 1] as char
}

/// The Luhn check digit for a digit string.
fn luhn_digit(digits: &str) -> char {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_twenty_digits_with_check() {
        let r = RegionCode::new("440100").unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let n = make(&r, d, 17).unwrap();
        assert_eq!(&n.as_str()[..19], "4401002611260000017");
        assert!(n.is_even_digits());
        assert!(is_well_formed(n.as_str()));
        // A single mistyped digit is caught.
        let mut bad = n.as_str().as_bytes().to_vec();
        bad[10] = if bad[10] == b'9' { b'0' } else { bad[10] + 1 };
        assert!(!is_well_formed(std::str::from_utf8(&bad).unwrap()));
        assert!(make(&r, d, 0).is_none());
        assert!(make(&r, d, MAX_SEQ + 1).is_none());
    }

    #[test]
    fn luhn_matches_known_value() {
        // The classic Luhn example: 7992739871 has check digit 3.
        assert_eq!(luhn_digit("7992739871"), '3');
    }
}
