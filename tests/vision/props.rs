//! Issue #13: the image intake takes any bytes without panicking. Arbitrary and mutated
//! JPEG/PNG files go through `read_image` (what `check-photo`/`make-photo` read), and
//! the same bytes through the from-memory decoders the kiosk uses on photos
//! (`receipt::model::thumbnail`, the slip's photo) and the JPEG header readers.
//! Each outcome is an image or a typed error; cases: PROPTEST_CASES (default 256).

use proptest::prelude::*;
use std::io::Cursor;

/// Small valid files to mutate, so the decoders get past the magic bytes.
fn seeds() -> [Vec<u8>; 2] {
    let img = image::RgbImage::from_fn(16, 12, |x, y| image::Rgb([(x * 16) as u8, (y * 20) as u8, 128]));
    let mut jpeg = Vec::new();
    img.write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .unwrap();
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    [jpeg, png]
}

/// A seed with a few bytes changed and perhaps cut short, or plain random bytes.
fn image_bytes() -> impl Strategy<Value = Vec<u8>> {
    let mutated = (
        0..2usize,
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(which, edits, cut, truncate)| {
            let mut b = seeds()[which].clone();
            for (at, v) in edits {
                let i = at.index(b.len());
                b[i] = v;
            }
            if truncate {
                b.truncate(cut.index(b.len() + 1));
            }
            b
        });
    prop_oneof![
        3 => mutated,
        1 => prop::collection::vec(any::<u8>(), 0..300),
    ]
}

proptest! {
    #[test]
    fn read_image_gives_an_image_or_a_typed_error(bytes in image_bytes()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capture.jpg");
        std::fs::write(&path, &bytes).unwrap();
        match kiosk::vision::read_image(&path) {
            Ok(img) => prop_assert!(img.width() > 0 && img.height() > 0),
            // Whatever the variant, the operator is told which file.
            Err(e) => prop_assert!(e.to_string().contains(&path.display().to_string()), "{e}"),
        }
    }

    #[test]
    fn from_memory_intake_never_panics(bytes in image_bytes()) {
        match kiosk::receipt::model::thumbnail(&bytes) {
            Ok(t) => prop_assert!(t.width() > 0 && t.height() > 0),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        let _ = kiosk::vision::jpeg::jfif_density(&bytes);
        let _ = kiosk::vision::jpeg::is_baseline(&bytes);
    }
}

#[test]
fn the_seeds_decode() {
    for s in seeds() {
        assert!(kiosk::receipt::model::thumbnail(&s).is_ok());
    }
}
