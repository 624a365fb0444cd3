//! ESC/POS encoder: a [`Receipt`] → the bytes of one job (escpos.md §1, §5, §6.2).
//!
//! No crate covered GB text + GS ( k QR + GS k 73 Code128 + GS v 0 strips + ASB, so the
//! encoder is written here; the barcode and dithering geometry comes from
//! `receipt::codes` (barcoders, qrcode).

use crate::config::{parse_hex_bytes, Dither, PrinterSection};
use crate::receipt::codes::{code128_module_dots, code_set, dither, qr_module_dots, qr_modules, CodeSet};
use crate::receipt::model::{wrap, Align, Element, Receipt, Size};
use crate::receipt::raster::BARCODE_HEIGHT;

const ESC: u8 = 0x1B;
const GS: u8 = 0x1D;
const FS: u8 = 0x1C;
const LF: u8 = 0x0A;

/// Encoder settings (a subset of `[printer]` plus the paper width of the device).
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeSettings {
    pub paper_dots: u32,
    pub cut: Vec<u8>,
    pub strip_rows: u32,
    pub dither: Dither,
    pub threshold: u8,
    pub gamma: f64,
    pub use_asb: bool,
}

impl EncodeSettings {
    pub fn new(p: &PrinterSection, paper_dots: u32) -> Result<Self, String> {
        Ok(EncodeSettings {
            paper_dots,
            cut: parse_hex_bytes(&p.cut_command).map_err(|e| format!("printer.cut_command: {e}"))?,
            strip_rows: p.strip_rows.clamp(1, 255),
            dither: p.dither,
            threshold: p.threshold,
            gamma: p.gamma,
            use_asb: p.use_asb,
        })
    }
}

/// One encoded job.
#[derive(Debug, Clone)]
pub struct EncodedJob {
    pub bytes: Vec<u8>,
    /// Characters not in GBK, printed as `?` (escpos.md §6.6).
    pub replaced: usize,
    /// Offsets where a write may be split without cutting a command in two.
    pub boundaries: Vec<usize>,
}

impl Drop for EncodedJob {
    fn drop(&mut self) {
        // The raster strips hold the dithered face.
        self.bytes.iter_mut().for_each(|b| *b = 0);
    }
}

struct Out {
    b: Vec<u8>,
    replaced: usize,
    boundaries: Vec<usize>,
}

impl Out {
    fn cmd(&mut self, bytes: &[u8]) {
        self.b.extend_from_slice(bytes);
        self.boundaries.push(self.b.len());
    }
    /// GBK text; characters outside GBK (incl. GB18030 4-byte ones) become `?`.
    fn text(&mut self, s: &str) {
        let mut buf = [0u8; 4];
        for c in s.chars() {
            if c.is_ascii() {
                if c.is_ascii_control() {
                    self.b.push(b'?');
                    self.replaced += 1;
                } else {
                    self.b.push(c as u8);
                }
                continue;
            }
            let (bytes, _, err) = encoding_rs::GBK.encode(c.encode_utf8(&mut buf));
            if err || bytes.len() != 2 {
                self.b.push(b'?');
                self.replaced += 1;
            } else {
                self.b.extend_from_slice(&bytes);
            }
        }
    }
}

/// Encodes `r` as one job: `ESC @`, (`GS a 255`), `FS &`, content, feed, cut, `GS r 1`.
pub fn encode(r: &Receipt, s: &EncodeSettings) -> EncodedJob {
    let mut o = Out {
        b: Vec::with_capacity(16 * 1024),
        replaced: 0,
        boundaries: Vec::new(),
    };
    o.cmd(&[ESC, b'@']);
    if s.use_asb {
        // ESC @ clears the ASB setting, so it is re-enabled inside every job.
        o.cmd(&[GS, b'a', 0xFF]);
    }
    o.cmd(&[FS, b'&']);
    for e in &r.elements {
        match e {
            Element::Text {
                text,
                align,
                size,
                bold,
            } => {
                for line in wrap(text, s.paper_dots / size.column_dots()) {
                    o.cmd(&[ESC, b'a', if *align == Align::Centre { 1 } else { 0 }]);
                    o.cmd(&[ESC, b'E', u8::from(*bold)]);
                    o.cmd(&[GS, b'!', if *size == Size::Double { 0x11 } else { 0x00 }]);
                    o.cmd(&[ESC, b'3', size.line_dots() as u8]);
                    o.text(&line);
                    o.cmd(&[LF]);
                }
                o.cmd(&[ESC, b'E', 0, GS, b'!', 0]);
            }
            Element::Feed(d) => o.cmd(&[ESC, b'J', (*d).min(255) as u8]),
            Element::Barcode(data) => encode_code128(&mut o, data, s.paper_dots),
            Element::Qr(data) => encode_qr(&mut o, data, s.paper_dots),
            Element::Photo(img) => {
                let bm = dither(img, s.dither, s.threshold, s.gamma);
                raster(&mut o, &bm, s);
            }
        }
    }
    o.cmd(&[ESC, b'a', 0, ESC, b'2']);
    o.cmd(&[ESC, b'd', 4]);
    o.cmd(&s.cut);
    o.cmd(&[GS, b'r', 1]);
    EncodedJob {
        bytes: std::mem::take(&mut o.b),
        replaced: o.replaced,
        boundaries: std::mem::take(&mut o.boundaries),
    }
}

fn encode_code128(o: &mut Out, data: &str, paper_dots: u32) {
    let Some(m) = code128_module_dots(data, paper_dots) else {
        log::warn!(
            "barcode_too_long: {} chars do not fit {paper_dots} dots; printing the QR only",
            data.len()
        );
        return;
    };
    let mut payload = Vec::new();
    match code_set(data) {
        CodeSet::C => {
            payload.extend_from_slice(b"{C");
            for pair in data.as_bytes().chunks(2) {
                payload.push((pair[0] - b'0') * 10 + (pair[1] - b'0'));
            }
        }
        CodeSet::B => {
            payload.extend_from_slice(b"{B");
            for &b in data.as_bytes() {
                if b == b'{' {
                    payload.push(b'{');
                }
                payload.push(b);
            }
        }
    }
    o.cmd(&[ESC, b'a', 1]);
    o.cmd(&[
        GS,
        b'h',
        BARCODE_HEIGHT as u8,
        GS,
        b'w',
        m as u8,
        GS,
        b'H',
        2,
        GS,
        b'f',
        0,
    ]);
    let mut cmd = vec![GS, b'k', 73, payload.len() as u8];
    cmd.extend_from_slice(&payload);
    o.cmd(&cmd);
}

fn encode_qr(o: &mut Out, data: &str, paper_dots: u32) {
    // The module size is chosen so the symbol fits the paper; the printer computes the
    // version itself, so we ask the same library for the side length.
    let m = qr_modules(data)
        .map(|(side, _)| qr_module_dots(side, paper_dots))
        .unwrap_or(4);
    o.cmd(&[ESC, b'a', 1]);
    o.cmd(&[GS, b'(', b'k', 4, 0, 0x31, 0x41, 50, 0]);
    o.cmd(&[GS, b'(', b'k', 3, 0, 0x31, 0x43, m as u8]);
    o.cmd(&[GS, b'(', b'k', 3, 0, 0x31, 0x45, 49]);
    let len = data.len() + 3;
    let mut store = vec![GS, b'(', b'k', (len & 0xFF) as u8, (len >> 8) as u8, 0x31, 0x50, 0x30];
    store.extend_from_slice(data.as_bytes());
    o.cmd(&store);
    o.cmd(&[GS, b'(', b'k', 3, 0, 0x31, 0x51, 0x30]);
}

/// `GS v 0` in strips of `strip_rows`, centred with ESC a 1, clipped to the paper.
fn raster(o: &mut Out, bm: &crate::receipt::codes::Bitmap, s: &EncodeSettings) {
    let w = bm.width.min(s.paper_dots);
    let bytes_per_row = w.div_ceil(8);
    o.cmd(&[ESC, b'a', 1]);
    let mut y = 0;
    while y < bm.height {
        let rows = s.strip_rows.min(bm.height - y);
        let mut cmd = vec![
            GS,
            b'v',
            b'0',
            0,
            (bytes_per_row & 0xFF) as u8,
            (bytes_per_row >> 8) as u8,
            (rows & 0xFF) as u8,
            (rows >> 8) as u8,
        ];
        for r in y..y + rows {
            for bx in 0..bytes_per_row {
                let mut byte = 0u8;
                for bit in 0..8 {
                    let x = bx * 8 + bit;
                    if x < w && bm.get(x, r) {
                        byte |= 0x80 >> bit;
                    }
                }
                cmd.push(byte);
            }
        }
        o.cmd(&cmd);
        y += rows;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> EncodeSettings {
        EncodeSettings::new(&crate::config::Config::builtin().printer, 384).unwrap()
    }

    fn receipt(els: Vec<Element>) -> Receipt {
        Receipt {
            key: "x".into(),
            title: "t".into(),
            elements: els,
        }
    }

    #[test]
    fn frames_the_job_and_encodes_gbk() {
        let r = receipt(vec![Element::Text {
            text: "回执A😀".into(),
            align: Align::Centre,
            size: Size::Normal,
            bold: true,
        }]);
        let j = encode(&r, &settings());
        assert_eq!(&j.bytes[..2], &[0x1B, 0x40]);
        assert!(j.bytes.ends_with(&[0x1D, 0x56, 0x42, 0x00, 0x1D, 0x72, 0x01]));
        // 回 = B BB D8, 执 = D6 B4 in GBK; the emoji is not GBK → '?'.
        let needle = [0xBB, 0xD8, 0xD6, 0xB4, b'A', b'?', LF];
        assert!(j.bytes.windows(needle.len()).any(|w| w == needle));
        assert_eq!(j.replaced, 1);
    }

    #[test]
    fn code128_set_c_packs_digit_pairs() {
        let j = encode(&receipt(vec![Element::Barcode("20261126".into())]), &settings());
        let needle = [0x1D, b'k', 73, 6, b'{', b'C', 20, 26, 11, 26];
        assert!(j.bytes.windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn raster_strips_respect_strip_rows() {
        let img = image::RgbImage::from_pixel(208, 50, image::Rgb([0, 0, 0]));
        let j = encode(&receipt(vec![Element::Photo(img)]), &settings());
        let heads: Vec<usize> = j
            .bytes
            .windows(4)
            .enumerate()
            .filter(|(_, w)| w == &[0x1D, b'v', b'0', 0])
            .map(|(i, _)| i)
            .collect();
        assert_eq!(heads.len(), 3, "50 rows in strips of 24: 24 + 24 + 2");
        let h = heads[2];
        assert_eq!(j.bytes[h + 4], 26, "208 dots = 26 bytes per row");
        assert_eq!(j.bytes[h + 6], 2);
    }
}
