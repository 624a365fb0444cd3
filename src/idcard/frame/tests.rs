use super::*;
use proptest::prelude::*;

#[test]
fn encodes_the_spec_example() {
    // shared/specs/idcard-reader.md: find card = AA AA AA 96 69 00 03 20 01 22.
    assert_eq!(
        encode(0x20, 0x01, &[]),
        [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x01, 0x22]
    );
}

#[test]
fn parses_a_reply_and_its_status() {
    let f = encode_reply(SW3_FOUND, &[0, 0, 0, 0]);
    let r = parse_reply(&f).unwrap();
    assert_eq!((r.sw1, r.sw2, r.sw3, r.data.len()), (0, 0, 0x9F, 4));
    assert!(r.expect(SW3_FOUND).is_ok());
    assert_eq!(r.expect(SW3_OK).unwrap_err(), FrameError::Status(0x9F));
    assert_eq!(frame_extent(&f).unwrap(), Some(f.len()));
    assert_eq!(frame_extent(&f[..f.len() - 1]).unwrap(), None);
}

#[test]
fn each_malformation_is_its_own_error() {
    let f = encode_reply(SW3_OK, &[1, 2, 3]);
    let mut bad = f.clone();
    *bad.last_mut().unwrap() ^= 0xFF;
    assert!(matches!(parse_reply(&bad), Err(FrameError::Checksum { .. })));
    assert!(matches!(
        parse_reply(&f[..9]),
        Err(FrameError::Short { have: 9, need: 14 })
    ));
    assert!(matches!(parse_reply(&f[..3]), Err(FrameError::Short { .. })));
    assert!(matches!(parse_reply(&[0x55; 12]), Err(FrameError::Garbled(12))));
    assert!(matches!(parse_reply(&[0xAA, 0xAA, 0x00]), Err(FrameError::Garbled(3))));
    let mut long = f.clone();
    long.push(0);
    assert!(matches!(parse_reply(&long), Err(FrameError::WrongLength(_))));
    // Length fields below SW1..CHK and above the largest answer.
    for len in [0u16, 3, 2401, 0xFFFF] {
        let mut g = f.clone();
        g[5..7].copy_from_slice(&len.to_be_bytes());
        assert!(matches!(parse_reply(&g), Err(FrameError::WrongLength(_))), "{len}");
    }
    for sw3 in [
        0x10u8, 0x11, 0x21, 0x24, 0x31, 0x32, 0x33, 0x40, 0x41, 0x60, 0x66, 0x80, 0x81,
    ] {
        let r = parse_reply(&encode_reply(sw3, &[])).unwrap();
        let e = r.expect(SW3_OK).unwrap_err();
        assert_eq!(e, FrameError::Status(sw3));
        assert!(!e.to_string().contains("unknown status"), "{e}");
    }
}

#[test]
fn the_read_answer_must_have_the_documented_lengths() {
    let mut data = vec![0x01, 0x00, 0x04, 0x00];
    data.extend(vec![0x20; 256 + 1024]);
    assert!(read_answer_text(&data).is_ok());
    assert!(matches!(
        read_answer_text(&data[..1000]),
        Err(FrameError::WrongLength(_))
    ));
    assert!(matches!(read_answer_text(&data[..3]), Err(FrameError::WrongLength(_))));
    let mut short_text = data.clone();
    short_text[0..2].copy_from_slice(&200u16.to_be_bytes());
    assert!(matches!(read_answer_text(&short_text), Err(FrameError::WrongLength(_))));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary bytes: an error or a frame, never a panic.
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let _ = frame_extent(&bytes);
        if let Ok(r) = parse_reply(&bytes) {
            prop_assert_eq!(r.data.len() + HEADER + MIN_REPLY_LEN, bytes.len());
        }
        let _ = read_answer_text(&bytes);
    }

    /// Bytes after a valid preamble (the hard case: the length field is believed).
    #[test]
    fn preamble_then_garbage_is_typed(tail in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let mut f = PREAMBLE.to_vec();
        f.extend_from_slice(&tail);
        match parse_reply(&f) {
            Ok(r) => prop_assert!(r.data.len() <= MAX_LEN),
            Err(FrameError::Short { have, need }) => prop_assert!(have < need),
            Err(FrameError::WrongLength(_) | FrameError::Checksum { .. }) => {}
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }

    /// Every truncation of a valid reply is `Short`, never a frame.
    #[test]
    fn truncation_is_short(data in proptest::collection::vec(any::<u8>(), 0..1300), cut in any::<prop::sample::Index>()) {
        let f = encode_reply(SW3_OK, &data);
        let at = cut.index(f.len());
        let short = matches!(parse_reply(&f[..at]), Err(FrameError::Short { .. }));
        prop_assert!(short);
        prop_assert_eq!(frame_extent(&f[..at]).unwrap(), None);
        prop_assert_eq!(&parse_reply(&f).unwrap().data, &data);
    }

    /// A wrong length field is caught: as a wrong length, a checksum error or a short
    /// frame, never as a reply with other data.
    #[test]
    fn wrong_length_fields_are_caught(data in proptest::collection::vec(any::<u8>(), 0..600), len in any::<u16>()) {
        let mut f = encode_reply(SW3_OK, &data);
        let real = (data.len() + MIN_REPLY_LEN) as u16;
        prop_assume!(len != real);
        f[5..7].copy_from_slice(&len.to_be_bytes());
        let ok = matches!(
            parse_reply(&f),
            Err(FrameError::WrongLength(_) | FrameError::Checksum { .. } | FrameError::Short { .. })
        );
        prop_assert!(ok);
    }

    /// One flipped byte after the preamble never yields the original data silently.
    #[test]
    fn a_flipped_byte_is_detected(data in proptest::collection::vec(any::<u8>(), 0..300), at in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let mut f = encode_reply(SW3_OK, &data);
        let i = at.index(f.len());
        f[i] ^= mask;
        prop_assert!(parse_reply(&f).is_err());
    }
}
