//! Decompression-bomb fixtures: image headers that claim far more pixels than they carry,
//! for the tests of the review centre's upload guard and the CLI's pixel limit.

/// A PNG whose IHDR claims `w`×`h` RGB pixels (CRCs right), then 1 KiB of zero data
/// in a stored zlib block and IEND: the header of a decompression bomb.
pub fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = vec![];
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    let zeros = [0u8; 1024];
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend_from_slice(&(zeros.len() as u16).to_le_bytes());
    z.extend_from_slice(&(!(zeros.len() as u16)).to_le_bytes());
    z.extend_from_slice(&zeros);
    png_chunk(&mut out, b"IDAT", &z);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (IEEE), bit by bit: a fixture needs no table.
fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
        }
    }
    !c
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_png_header_claims_the_size_and_decodes_as_png() {
        let png = super::png_claiming(20_000, 30_000);
        let r = image::ImageReader::new(std::io::Cursor::new(&png))
            .with_guessed_format()
            .unwrap();
        assert_eq!(r.format(), Some(image::ImageFormat::Png));
        assert_eq!(r.into_dimensions().unwrap(), (20_000, 30_000));
    }
}
