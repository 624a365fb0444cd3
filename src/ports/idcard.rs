//! The ID-card reader port: one poll yields no card, the card's details, or a fault.

use crate::domain::{CardDetails, CardRead};
use crate::session::details::Details;

/// Reads the resident ID card (idcard). One `poll` runs find → select → read once and
/// returns within the configured timeouts: it never blocks longer, whatever the reader does.
pub trait IdCardReader: Send {
    fn poll(&mut self) -> CardRead;
    /// The device, for logs and the operator (`serial:/dev/kiosk-idcard,115200`).
    fn describe(&self) -> String;
}

/// The session's details filled from a card: name and ID number, nothing else (the
/// person confirms them on the details screen).
pub fn details_from_card(card: &CardDetails) -> Details {
    Details {
        name: Some(card.name.clone()),
        id_number: Some(card.id_number.clone()),
        mobile: None,
    }
}
