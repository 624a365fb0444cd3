//! What one poll of the resident ID-card reader yields (issue #14): no card, the card's
//! name and number, or a fault with a plain-words prompt. One type from the driver up to
//! the session and the screens, so no layer parses a message back.

use super::Prompt;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Which card was read. Only kinds whose layout the spec documents are decoded; the
/// others end as [`CardFault::UnsupportedCard`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardKind {
    /// 居民身份证 (card-type character a space).
    Resident,
    /// 港澳台居民居住证 (`J`): the resident layout.
    HkMacaoTaiwanPermit,
}

impl CardKind {
    pub fn id(self) -> &'static str {
        match self {
            CardKind::Resident => "resident",
            CardKind::HkMacaoTaiwanPermit => "hk_macao_taiwan_permit",
        }
    }
}

/// The fields the receipt flow needs, and nothing else from the card (no photo, no
/// address). Personal data: zeroized on drop, never `Debug`-printed in clear.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct CardDetails {
    pub name: String,
    /// 18 characters, GB 11643 check character verified.
    pub id_number: String,
    #[zeroize(skip)]
    pub kind: CardKind,
}

impl fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardDetails")
            .field("name", &format_args!("<{} chars>", self.name.chars().count()))
            .field("id_number", &format_args!("<{} chars>", self.id_number.len()))
            .field("kind", &self.kind)
            .finish()
    }
}

/// Why a poll read no card details. Every fault offers typing instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardFault {
    /// The reply's XOR check byte was wrong.
    Checksum,
    /// The reply stopped mid-frame (the reader went quiet after part of it).
    ShortFrame,
    /// Bytes that are not a frame (no preamble).
    Garbled,
    /// The reply's length field is impossible or does not fit the command.
    WrongLength,
    /// The reader answered with an error status (SW3), e.g. 0x41 reading failed.
    Status(u8),
    /// No answer within the configured time.
    Silent,
    /// The device is gone (unplugged, or it cannot be opened).
    Unplugged,
    /// A card whose layout this kiosk does not decode (e.g. 外国人永久居留身份证).
    UnsupportedCard,
    /// The card's text did not decode to a plausible name and a GB 11643 number: never
    /// shown, since it may be mis-decoded.
    Undecodable,
}

/// What the person should do about a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardAdvice {
    /// Place the card again (or type): the card or its contact was at fault.
    PlaceAgain,
    /// The reader is not working: type the details.
    ReaderBroken,
    /// This card cannot be read here: type the details.
    CannotRead,
}

impl CardFault {
    /// Stable id, as logged and shown to the operator.
    pub fn id(self) -> String {
        match self {
            CardFault::Checksum => "idcard_checksum".into(),
            CardFault::ShortFrame => "idcard_short_frame".into(),
            CardFault::Garbled => "idcard_garbled".into(),
            CardFault::WrongLength => "idcard_wrong_length".into(),
            CardFault::Status(sw3) => format!("idcard_sw3_{sw3:02x}"),
            CardFault::Silent => "idcard_silent".into(),
            CardFault::Unplugged => "idcard_unplugged".into(),
            CardFault::UnsupportedCard => "idcard_unsupported_card".into(),
            CardFault::Undecodable => "idcard_undecodable".into(),
        }
    }

    pub fn advice(self) -> CardAdvice {
        match self {
            CardFault::Checksum | CardFault::ShortFrame | CardFault::Garbled | CardFault::WrongLength => {
                CardAdvice::PlaceAgain
            }
            // Card-side statuses: authentication, verification, wrong card, read or
            // select failed. The rest are the reader's or the SAM's own.
            CardFault::Status(0x31 | 0x32 | 0x33 | 0x40 | 0x41 | 0x81) => CardAdvice::PlaceAgain,
            CardFault::Status(_) | CardFault::Silent | CardFault::Unplugged => CardAdvice::ReaderBroken,
            CardFault::UnsupportedCard => CardAdvice::CannotRead,
            CardFault::Undecodable => CardAdvice::PlaceAgain,
        }
    }

    /// The message for the person: Chinese first, then English; each one offers typing.
    pub fn prompt(self) -> Prompt {
        let id = self.id();
        match self.advice() {
            CardAdvice::PlaceAgain => Prompt::new(
                &id,
                "请重新放置身份证，或手动输入",
                "Please place your ID card on the reader again, or type your details",
            ),
            CardAdvice::ReaderBroken => Prompt::new(
                &id,
                "读卡器故障，请手动输入",
                "The card reader is not working. Please type your details",
            ),
            CardAdvice::CannotRead => Prompt::new(
                &id,
                "本机不能读取这种证件，请手动输入",
                "This kiosk cannot read this kind of card. Please type your details",
            ),
        }
    }
}

impl fmt::Display for CardFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.prompt();
        write!(f, "{} {}", p.id, p.zh)
    }
}

/// One poll of the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardRead {
    /// Nothing on the reader (SW3 0x80).
    NoCard,
    Card(CardDetails),
    Fault(CardFault),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_never_print_in_clear() {
        let d = CardDetails {
            name: "张三".into(),
            id_number: "440104198001010016".into(),
            kind: CardKind::Resident,
        };
        let s = format!("{:?}", CardRead::Card(d));
        assert!(!s.contains("张三") && !s.contains("440104"), "{s}");
    }

    #[test]
    fn every_fault_has_a_bilingual_prompt_offering_typing() {
        for f in [
            CardFault::Checksum,
            CardFault::ShortFrame,
            CardFault::Garbled,
            CardFault::WrongLength,
            CardFault::Status(0x41),
            CardFault::Status(0x60),
            CardFault::Silent,
            CardFault::Unplugged,
            CardFault::UnsupportedCard,
            CardFault::Undecodable,
        ] {
            let p = f.prompt();
            assert!(p.zh.contains("手动输入"), "{f:?}: {}", p.zh);
            assert!(p.en.contains("type your details"), "{f:?}: {}", p.en);
        }
        assert!(CardFault::Status(0x41).prompt().zh.starts_with("请重新放置身份证"));
        assert_eq!(CardFault::Silent.prompt().zh, "读卡器故障，请手动输入");
        assert_eq!(
            CardFault::UnsupportedCard.prompt().zh,
            "本机不能读取这种证件，请手动输入"
        );
        assert_eq!(CardFault::Status(0x41).id(), "idcard_sw3_41");
    }
}
