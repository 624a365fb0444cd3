//! The reader's serial frames (shared/specs/idcard-reader.md, "Frames"): pure encoding
//! and decoding, no I/O. Every malformed input is a typed [`FrameError`], never a panic.
//!
//! ```text
//! host → reader:  AA AA AA 96 69 · Len1 Len2 · CMD · Para · Data… · CHK
//! reader → host:  AA AA AA 96 69 · Len1 Len2 · SW1 SW2 SW3 · Data… · CHK
//! ```
//! `Len` (big-endian) counts everything after itself, CHK included; CHK is the XOR of
//! the length bytes and the payload.

use zeroize::{Zeroize, ZeroizeOnDrop};

pub const PREAMBLE: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];
/// Preamble and length field.
pub const HEADER: usize = 7;
/// The largest length field accepted: the read with fingerprint (30 10) answers about
/// 2.3 KB; anything longer is not this protocol.
pub const MAX_LEN: usize = 2400;
/// SW1 SW2 SW3 and CHK: the shortest possible reply body.
pub const MIN_REPLY_LEN: usize = 4;

/// SW3 codes the driver acts on.
pub const SW3_OK: u8 = 0x90;
pub const SW3_FOUND: u8 = 0x9F;
pub const SW3_NO_CARD: u8 = 0x80;

/// What is wrong with a reply frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("garbled reply: {0} byte(s) that do not start with the frame preamble AA AA AA 96 69")]
    Garbled(usize),
    #[error("reply cut short: {have} of {need} bytes")]
    Short { have: usize, need: usize },
    #[error("wrong reply length: {0}")]
    WrongLength(String),
    #[error("reply checksum {got:#04x}, expected {expected:#04x}")]
    Checksum { expected: u8, got: u8 },
    #[error("reader status SW3 {0:#04x} ({meaning})", meaning = sw3_meaning(*.0))]
    Status(u8),
}

/// The spec's meaning of a status byte, for logs.
pub fn sw3_meaning(sw3: u8) -> &'static str {
    match sw3 {
        0x90 => "success",
        0x9F => "card found",
        0x10 => "host frame checksum wrong",
        0x11 => "host frame length wrong",
        0x21 => "command wrong",
        0x24 => "unrecognised error",
        0x31 | 0x32 => "card-reader authentication failed",
        0x33 => "information verification error",
        0x40 => "wrong card",
        0x41 => "reading the card failed",
        0x60 => "SAM self-test failed",
        0x66 => "reader not authorised",
        0x80 => "no card on the reader",
        0x81 => "selecting the card failed",
        _ => "unknown status",
    }
}

fn xor(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

/// A host command frame.
pub fn encode(cmd: u8, para: u8, data: &[u8]) -> Vec<u8> {
    let len = (data.len() + 3) as u16;
    let mut f = Vec::with_capacity(HEADER + len as usize);
    f.extend_from_slice(&PREAMBLE);
    f.extend_from_slice(&len.to_be_bytes());
    f.push(cmd);
    f.push(para);
    f.extend_from_slice(data);
    f.push(xor(&f[5..]));
    f
}

/// A reader reply frame (the tests' and benchmarks' reference; the emulator has its own).
pub fn encode_reply(sw3: u8, data: &[u8]) -> Vec<u8> {
    let len = (data.len() + MIN_REPLY_LEN) as u16;
    let mut f = Vec::with_capacity(HEADER + len as usize);
    f.extend_from_slice(&PREAMBLE);
    f.extend_from_slice(&len.to_be_bytes());
    f.extend_from_slice(&[0, 0, sw3]);
    f.extend_from_slice(data);
    f.push(xor(&f[5..]));
    f
}

/// Where the first frame in `buf` ends: `Ok(None)` while more bytes are needed,
/// `Ok(Some(n))` once `buf[..n]` is one whole frame, an error as soon as the bytes
/// cannot become a frame.
pub fn frame_extent(buf: &[u8]) -> Result<Option<usize>, FrameError> {
    let head = buf.len().min(PREAMBLE.len());
    if buf[..head] != PREAMBLE[..head] {
        return Err(FrameError::Garbled(buf.len()));
    }
    if buf.len() < HEADER {
        return Ok(None);
    }
    let len = usize::from(u16::from_be_bytes([buf[5], buf[6]]));
    if !(MIN_REPLY_LEN..=MAX_LEN).contains(&len) {
        return Err(FrameError::WrongLength(format!(
            "length field {len}, allowed {MIN_REPLY_LEN}–{MAX_LEN}"
        )));
    }
    let total = HEADER + len;
    Ok((buf.len() >= total).then_some(total))
}

/// A decoded reply. Its data may be a card's text: zeroized on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Reply {
    pub sw1: u8,
    pub sw2: u8,
    pub sw3: u8,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Reply(SW {:02X} {:02X} {:02X}, {} data bytes)",
            self.sw1,
            self.sw2,
            self.sw3,
            self.data.len()
        )
    }
}

impl Reply {
    /// The data, if the status is `want`; else the status as an error.
    pub fn expect(&self, want: u8) -> Result<&[u8], FrameError> {
        if self.sw3 == want {
            Ok(&self.data)
        } else {
            Err(FrameError::Status(self.sw3))
        }
    }
}

/// Decodes exactly one reply frame.
pub fn parse_reply(frame: &[u8]) -> Result<Reply, FrameError> {
    let total = match frame_extent(frame)? {
        Some(t) => t,
        None => {
            let need = if frame.len() >= HEADER {
                HEADER + usize::from(u16::from_be_bytes([frame[5], frame[6]]))
            } else {
                HEADER + MIN_REPLY_LEN
            };
            return Err(FrameError::Short {
                have: frame.len(),
                need,
            });
        }
    };
    if frame.len() > total {
        return Err(FrameError::WrongLength(format!(
            "{} bytes after a frame of {total}",
            frame.len() - total
        )));
    }
    let expected = xor(&frame[5..total - 1]);
    let got = frame[total - 1];
    if expected != got {
        return Err(FrameError::Checksum { expected, got });
    }
    Ok(Reply {
        sw1: frame[7],
        sw2: frame[8],
        sw3: frame[9],
        data: frame[10..total - 1].to_vec(),
    })
}

/// The text of a read answer (30 01): `text_len` (2) · `photo_len` (2) · text · photo.
/// Only a 256-byte text has the documented layout; the photo is not kept.
pub fn read_answer_text(data: &[u8]) -> Result<[u8; 256], FrameError> {
    if data.len() < 4 {
        return Err(FrameError::WrongLength(format!(
            "read answer of {} bytes has no length fields",
            data.len()
        )));
    }
    let text_len = usize::from(u16::from_be_bytes([data[0], data[1]]));
    let photo_len = usize::from(u16::from_be_bytes([data[2], data[3]]));
    if text_len != 256 {
        return Err(FrameError::WrongLength(format!("text length {text_len}, expected 256")));
    }
    if data.len() != 4 + text_len + photo_len {
        return Err(FrameError::WrongLength(format!(
            "read answer of {} bytes, its fields say {}",
            data.len(),
            4 + text_len + photo_len
        )));
    }
    let mut text = [0u8; 256];
    text.copy_from_slice(&data[4..260]);
    Ok(text)
}

#[cfg(test)]
mod tests;
