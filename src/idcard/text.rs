//! The card's 256-byte text (UCS-2 little-endian, fields padded with spaces): only the
//! name and the ID number are taken, and only from layouts the spec documents.

use crate::config::Field;
use crate::domain::{CardDetails, CardFault, CardKind};
use crate::session::details::Details;
use zeroize::Zeroize;

/// Byte ranges in the text (shared/specs/idcard-reader.md, "Read text + photo").
const NAME: std::ops::Range<usize> = 0..30;
const ID_NUMBER: std::ops::Range<usize> = 122..158;
/// One UCS-2 character in the reserved area: the card type.
const CARD_TYPE: std::ops::Range<usize> = 248..250;

/// The card type the text declares, or the fault for a card this kiosk does not decode.
pub fn card_kind(text: &[u8; 256]) -> Result<CardKind, CardFault> {
    match u16::from_le_bytes([text[CARD_TYPE.start], text[CARD_TYPE.start + 1]]) {
        0x0020 => Ok(CardKind::Resident),
        // 港澳台居民居住证: the resident layout plus fields in the reserved area.
        0x004A => Ok(CardKind::HkMacaoTaiwanPermit),
        // `I` (外国人永久居留身份证: English name elsewhere) and anything unknown.
        _ => Err(CardFault::UnsupportedCard),
    }
}

/// One UCS-2LE field with its space padding trimmed; `None` when it is not valid UCS-2.
fn field(text: &[u8; 256], range: std::ops::Range<usize>) -> Option<String> {
    let units = text[range].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    let mut s: String = char::decode_utf16(units).collect::<Result<_, _>>().ok()?;
    let trimmed = s.trim_end_matches([' ', '\0']).to_string();
    s.zeroize();
    Some(trimmed)
}

/// The name and number, checked: a name that is not a plausible name, or a number that
/// fails GB 11643, may be mis-decoded and is never returned.
pub fn decode(text: &[u8; 256]) -> Result<CardDetails, CardFault> {
    let kind = card_kind(text)?;
    let (Some(name), Some(id_number)) = (field(text, NAME), field(text, ID_NUMBER)) else {
        return Err(CardFault::Undecodable);
    };
    let details = Details {
        name: Some(name),
        id_number: Some(id_number),
        mobile: None,
    };
    if details.validate(&[Field::Name, Field::IdNumber]).is_err() {
        return Err(CardFault::Undecodable);
    }
    let name = details.name.clone().unwrap_or_default();
    let id_number = details.id_number.clone().unwrap_or_default().to_ascii_uppercase();
    Ok(CardDetails { name, id_number, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text laid out as the spec says, fields padded with spaces.
    pub fn text(name: &str, number: &str, card_type: char) -> [u8; 256] {
        let mut t = [0u8; 256];
        for pair in t.chunks_exact_mut(2) {
            pair.copy_from_slice(&0x20u16.to_le_bytes());
        }
        let mut put = |at: usize, s: &str| {
            for (i, u) in s.encode_utf16().enumerate() {
                t[at + 2 * i..at + 2 * i + 2].copy_from_slice(&u.to_le_bytes());
            }
        };
        put(0, name);
        put(30, "1");
        put(122, number);
        put(248, &card_type.to_string());
        t
    }

    #[test]
    fn decodes_a_resident_card_and_trims_padding() {
        let d = decode(&text("张三", "440104198001010016", ' ')).unwrap();
        assert_eq!((d.name.as_str(), d.id_number.as_str()), ("张三", "440104198001010016"));
        assert_eq!(d.kind, CardKind::Resident);
        let d = decode(&text("阿依古丽·买买提", "11010519491231002x", ' ')).unwrap();
        assert_eq!(d.name, "阿依古丽·买买提");
        assert_eq!(d.id_number, "11010519491231002X");
    }

    #[test]
    fn decodes_the_hk_macao_taiwan_permit_with_the_resident_layout() {
        // 810000 region prefix; the check digit is computed, not copied.
        let body = "81000019900101001";
        let number = format!("{body}{}", crate::session::details::id_check_char(body).unwrap());
        let d = decode(&text("陈大文", &number, 'J')).unwrap();
        assert_eq!(d.kind, CardKind::HkMacaoTaiwanPermit);
        assert_eq!(d.name, "陈大文");
    }

    #[test]
    fn other_cards_are_unsupported_never_mis_decoded() {
        for t in ['I', 'X', '\0'] {
            assert_eq!(
                decode(&text("ZHANG SAN", "440104198001010016", t)).unwrap_err(),
                CardFault::UnsupportedCard,
                "{t:?}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Any text: a typed fault or details that pass the typed-details checks, never
        /// a panic and never an unchecked name.
        #[test]
        fn any_text_decodes_to_checked_details_or_a_fault(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 256),
            resident in proptest::prelude::any::<bool>(),
        ) {
            let mut t = [0u8; 256];
            t.copy_from_slice(&bytes);
            if resident {
                t[CARD_TYPE].copy_from_slice(&[0x20, 0x00]);
            }
            if let Ok(d) = decode(&t) {
                let typed = Details { name: Some(d.name.clone()), id_number: Some(d.id_number.clone()), mobile: None };
                proptest::prop_assert!(typed.validate(&[Field::Name, Field::IdNumber]).is_ok());
            }
        }
    }

    #[test]
    fn a_bad_number_or_name_is_undecodable() {
        // Check digit wrong.
        assert_eq!(
            decode(&text("张三", "440104198001010017", ' ')).unwrap_err(),
            CardFault::Undecodable
        );
        // A lone surrogate in the name.
        let mut t = text("张三", "440104198001010016", ' ');
        t[0..2].copy_from_slice(&0xD800u16.to_le_bytes());
        assert_eq!(decode(&t).unwrap_err(), CardFault::Undecodable);
        // Control characters (bytes shifted by one: the classic mis-decode).
        let mut t = text("张三", "440104198001010016", ' ');
        t.copy_within(0..29, 1);
        t[0] = 0x01;
        assert_eq!(decode(&t).unwrap_err(), CardFault::Undecodable);
        // Empty name.
        assert_eq!(
            decode(&text("", "440104198001010016", ' ')).unwrap_err(),
            CardFault::Undecodable
        );
    }
}
