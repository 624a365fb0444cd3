//! Splits the host's byte stream into printer commands, the way the printer's receive
//! logic does: a command's parameters and data are never mistaken for commands, so a
//! `10 04` inside raster data is data, but a real-time command between commands is
//! seen at once, even when the print buffer is full.

/// GS v 0 limits (escpos.md: TM-T81, ≤ 256 bytes wide, ≤ 2303 dots high): a larger
/// raster is refused, so no command makes the lexer wait for more than ~590 KB.
pub const RASTER_MAX_BYTES: usize = 256;
pub const RASTER_MAX_ROWS: usize = 2303;

/// One command (or run of text) from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    /// Printable bytes (ASCII and GB double-byte pairs).
    Text(Vec<u8>),
    LineFeed,
    Init,
    ChineseOn,
    ChineseOff,
    Align(u8),
    Bold(u8),
    CharSize(u8),
    LineSpacing(Option<u8>),
    FeedLines(u8),
    FeedDots(u8),
    Raster {
        width_bytes: usize,
        rows: usize,
        data: Vec<u8>,
    },
    Qr {
        func: u8,
        params: Vec<u8>,
    },
    BarcodeHeight(u8),
    BarcodeWidth(u8),
    Hri(u8),
    Barcode {
        kind: u8,
        data: Vec<u8>,
    },
    Cut,
    TransmitStatus(u8),
    AutoStatus(u8),
    /// Accepted and ignored (fonts, underline, margins …).
    Ignored(&'static str),
}

/// Real-time commands, handled on reception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealTime {
    Status(u8),
    Recover(u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Cmd(Cmd),
    Now(RealTime),
    /// Bytes that make no command; reported and skipped.
    Garbage(Vec<u8>, String),
}

enum Step {
    /// Need at least this many bytes in total.
    More(usize),
    Done(Token, usize),
}

/// Incremental lexer.
#[derive(Default)]
pub struct Lexer {
    pend: Vec<u8>,
    need: usize,
    /// FS & state decides whether 0x81–0xFE starts a two-byte character.
    pub chinese: bool,
}

impl Lexer {
    pub fn new() -> Self {
        Lexer {
            pend: Vec::new(),
            need: 1,
            chinese: true, // on at power-up on Chinese-market printers
        }
    }

    /// Bytes waiting for the rest of their command.
    pub fn pending(&self) -> usize {
        self.pend.len()
    }

    pub fn reset(&mut self) {
        self.pend.clear();
        self.need = 1;
    }

    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<(Token, usize)>) {
        self.pend.extend_from_slice(bytes);
        while self.pend.len() >= self.need.max(1) {
            match self.step() {
                Step::More(n) => {
                    self.need = n;
                    break;
                }
                Step::Done(t, len) => {
                    if let Token::Cmd(Cmd::ChineseOn) = t {
                        self.chinese = true;
                    }
                    if let Token::Cmd(Cmd::ChineseOff) = t {
                        self.chinese = false;
                    }
                    if let Token::Cmd(Cmd::Init) = t {
                        self.chinese = true;
                    }
                    self.pend.drain(..len);
                    self.need = 1;
                    out.push((t, len));
                }
            }
        }
    }

    fn step(&self) -> Step {
        let p = &self.pend;
        let b0 = p[0];
        let at = |i: usize| p.get(i).copied();
        let need = |n: usize| -> Option<Step> { (p.len() < n).then_some(Step::More(n)) };
        let cmd = |c: Cmd, n: usize| Step::Done(Token::Cmd(c), n);
        match b0 {
            0x0A => cmd(Cmd::LineFeed, 1),
            0x0D => cmd(Cmd::Ignored("CR"), 1),
            0x10 => {
                if let Some(s) = need(3) {
                    return s;
                }
                match (at(1), at(2)) {
                    (Some(0x04), Some(n)) => Step::Done(Token::Now(RealTime::Status(n)), 3),
                    (Some(0x05), Some(n)) => Step::Done(Token::Now(RealTime::Recover(n)), 3),
                    (Some(x), _) => Step::Done(Token::Garbage(p[..2].to_vec(), format!("unknown DLE {x:#04x}")), 2),
                    _ => Step::More(3),
                }
            }
            0x1B => {
                if let Some(s) = need(2) {
                    return s;
                }
                let c = p[1];
                let one = |f: fn(u8) -> Cmd| -> Step {
                    match at(2) {
                        Some(n) => Step::Done(Token::Cmd(f(n)), 3),
                        None => Step::More(3),
                    }
                };
                match c {
                    b'@' => cmd(Cmd::Init, 2),
                    b'2' => cmd(Cmd::LineSpacing(None), 2),
                    b'a' => one(Cmd::Align),
                    b'E' => one(Cmd::Bold),
                    b'3' => one(|n| Cmd::LineSpacing(Some(n))),
                    b'd' => one(Cmd::FeedLines),
                    b'J' => one(Cmd::FeedDots),
                    b'!' | b'-' | b'M' | b'G' | b't' | b'R' | b'{' | b'V' | b' ' => one(|_| Cmd::Ignored("ESC option")),
                    other => Step::Done(Token::Garbage(p[..2].to_vec(), format!("unknown ESC {other:#04x}")), 2),
                }
            }
            0x1C => {
                if let Some(s) = need(2) {
                    return s;
                }
                match p[1] {
                    b'&' => cmd(Cmd::ChineseOn, 2),
                    b'.' => cmd(Cmd::ChineseOff, 2),
                    other => Step::Done(Token::Garbage(p[..2].to_vec(), format!("unknown FS {other:#04x}")), 2),
                }
            }
            0x1D => self.gs(),
            0x00..=0x1F => Step::Done(Token::Garbage(vec![b0], format!("unknown control byte {b0:#04x}")), 1),
            _ => self.text(),
        }
    }

    fn text(&self) -> Step {
        let p = &self.pend;
        let mut i = 0;
        while i < p.len() {
            let b = p[i];
            if b < 0x20 {
                break;
            }
            if self.chinese && (0x81..=0xFE).contains(&b) {
                if i + 1 >= p.len() {
                    // A lead byte at the end of what arrived: wait for its pair.
                    if i == 0 {
                        return Step::More(2);
                    }
                    break;
                }
                i += 2;
            } else {
                i += 1;
            }
        }
        Step::Done(Token::Cmd(Cmd::Text(p[..i].to_vec())), i)
    }

    fn gs(&self) -> Step {
        let p = &self.pend;
        if p.len() < 2 {
            return Step::More(2);
        }
        let at = |i: usize| p.get(i).copied();
        let one = |f: fn(u8) -> Cmd| -> Step {
            match at(2) {
                Some(n) => Step::Done(Token::Cmd(f(n)), 3),
                None => Step::More(3),
            }
        };
        match p[1] {
            b'!' => one(Cmd::CharSize),
            b'h' => one(Cmd::BarcodeHeight),
            b'w' => one(Cmd::BarcodeWidth),
            b'H' => one(Cmd::Hri),
            b'f' | b'b' | b'B' => one(|_| Cmd::Ignored("GS option")),
            b'r' => one(Cmd::TransmitStatus),
            b'a' => one(Cmd::AutoStatus),
            b'L' | b'W' => {
                if p.len() < 4 {
                    Step::More(4)
                } else {
                    Step::Done(Token::Cmd(Cmd::Ignored("GS margin")), 4)
                }
            }
            b'V' => match at(2) {
                None => Step::More(3),
                Some(m) if m == 65 || m == 66 => {
                    if p.len() < 4 {
                        Step::More(4)
                    } else {
                        Step::Done(Token::Cmd(Cmd::Cut), 4)
                    }
                }
                Some(_) => Step::Done(Token::Cmd(Cmd::Cut), 3),
            },
            b'v' => {
                if p.len() < 8 {
                    return Step::More(8);
                }
                if p[2] != b'0' {
                    return Step::Done(
                        Token::Garbage(p[..3].to_vec(), "GS v: only GS v 0 is supported".into()),
                        3,
                    );
                }
                let wb = p[4] as usize + p[5] as usize * 256;
                let rows = p[6] as usize + p[7] as usize * 256;
                if wb > RASTER_MAX_BYTES || rows > RASTER_MAX_ROWS {
                    // Beyond the mechanism's limit: not waited for (it would hold up to
                    // 4 GB), the header is skipped and what follows read afresh.
                    return Step::Done(
                        Token::Garbage(
                            p[..8].to_vec(),
                            format!("GS v 0: {wb} bytes × {rows} rows exceeds {RASTER_MAX_BYTES} × {RASTER_MAX_ROWS}"),
                        ),
                        8,
                    );
                }
                let total = 8 + wb * rows;
                if p.len() < total {
                    return Step::More(total);
                }
                Step::Done(
                    Token::Cmd(Cmd::Raster {
                        width_bytes: wb,
                        rows,
                        data: p[8..total].to_vec(),
                    }),
                    total,
                )
            }
            b'(' => {
                if p.len() < 5 {
                    return Step::More(5);
                }
                let len = p[3] as usize + p[4] as usize * 256;
                let total = 5 + len;
                if p.len() < total {
                    return Step::More(total);
                }
                if p[2] != b'k' || len < 2 {
                    return Step::Done(Token::Cmd(Cmd::Ignored("GS ( other")), total);
                }
                Step::Done(
                    Token::Cmd(Cmd::Qr {
                        func: p[6],
                        params: p[7..total].to_vec(),
                    }),
                    total,
                )
            }
            b'k' => {
                let Some(m) = at(2) else { return Step::More(3) };
                if m <= 6 {
                    // Function A: NUL-terminated data.
                    match p[3..].iter().position(|b| *b == 0) {
                        Some(z) => Step::Done(
                            Token::Cmd(Cmd::Barcode {
                                kind: m,
                                data: p[3..3 + z].to_vec(),
                            }),
                            3 + z + 1,
                        ),
                        None if p.len() > 260 => {
                            Step::Done(Token::Garbage(p[..3].to_vec(), "GS k: unterminated data".into()), 3)
                        }
                        None => Step::More(p.len() + 1),
                    }
                } else {
                    let Some(n) = at(3) else { return Step::More(4) };
                    let total = 4 + n as usize;
                    if p.len() < total {
                        return Step::More(total);
                    }
                    Step::Done(
                        Token::Cmd(Cmd::Barcode {
                            kind: m,
                            data: p[4..total].to_vec(),
                        }),
                        total,
                    )
                }
            }
            other => Step::Done(Token::Garbage(p[..2].to_vec(), format!("unknown GS {other:#04x}")), 2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(chunks: &[&[u8]]) -> Vec<Token> {
        let mut l = Lexer::new();
        let mut out = Vec::new();
        for c in chunks {
            l.feed(c, &mut out);
        }
        out.into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn dle_inside_raster_is_data_and_split_reads_join() {
        let raster = [0x1D, b'v', b'0', 0, 1, 0, 3, 0, 0x10, 0x04, 0x01];
        let t = lex(&[&raster[..5], &raster[5..], &[0x10, 0x04, 0x02]]);
        assert_eq!(t.len(), 2);
        assert!(matches!(&t[0], Token::Cmd(Cmd::Raster { rows: 3, .. })));
        assert_eq!(t[1], Token::Now(RealTime::Status(2)));
    }

    #[test]
    fn gb_pair_split_across_reads() {
        let t = lex(&[&[b'A', 0xBB], &[0xD8, 0x0A]]);
        assert_eq!(t[0], Token::Cmd(Cmd::Text(vec![b'A'])));
        assert_eq!(t[1], Token::Cmd(Cmd::Text(vec![0xBB, 0xD8])));
        assert_eq!(t[2], Token::Cmd(Cmd::LineFeed));
    }

    #[test]
    fn garbage_is_reported_not_fatal() {
        let t = lex(&[&[0x01, 0x1B, 0xFF, 0x1D, 0xEE, b'x']]);
        assert!(matches!(t[0], Token::Garbage(..)));
        assert!(matches!(t[1], Token::Garbage(..)));
        assert!(matches!(t[2], Token::Garbage(..)));
        assert_eq!(t[3], Token::Cmd(Cmd::Text(vec![b'x'])));
    }

    #[test]
    fn a_raster_beyond_the_limit_is_refused_not_awaited() {
        // 65535 bytes × 65535 rows would make the lexer wait for 4 GB.
        let t = lex(&[&[0x1D, b'v', b'0', 0, 0xFF, 0xFF, 0xFF, 0xFF, b'o', b'k']]);
        assert!(
            matches!(&t[0], Token::Garbage(_, why) if why.contains("exceeds")),
            "{t:?}"
        );
        assert_eq!(t[1], Token::Cmd(Cmd::Text(b"ok".to_vec())));
    }

    use proptest::prelude::*;

    /// Bytes biased towards command starts, so whole commands and their edge cases come up.
    fn host_bytes() -> impl Strategy<Value = Vec<Vec<u8>>> {
        let byte = prop_oneof![
            3 => any::<u8>(),
            1 => prop::sample::select(vec![0x0A, 0x10, 0x1B, 0x1C, 0x1D, 0x00, 0xFF, 0x81]),
            1 => prop::sample::select(b"v0(kVrad!3JEL".to_vec()),
        ];
        prop::collection::vec(prop::collection::vec(byte, 0..64), 0..16)
    }

    proptest! {
        // Cases: PROPTEST_CASES (default 256).
        /// Any bytes in any split: no panic, every byte is either in a token (commands,
        /// real-time commands, or typed `Garbage` with a reason) or still pending, and
        /// the pending part stays under the largest command the limits allow.
        #[test]
        fn lexer_never_panics_and_accounts_for_every_byte(chunks in host_bytes()) {
            let mut l = Lexer::new();
            let mut out = Vec::new();
            let mut fed = 0usize;
            for c in &chunks {
                l.feed(c, &mut out);
                fed += c.len();
                prop_assert!(l.pending() <= 8 + RASTER_MAX_BYTES * RASTER_MAX_ROWS);
            }
            let consumed: usize = out.iter().map(|(_, n)| *n).sum();
            prop_assert_eq!(consumed + l.pending(), fed);
            for (t, n) in &out {
                prop_assert!(*n > 0);
                if let Token::Garbage(bytes, why) = t {
                    prop_assert!(!bytes.is_empty() && !why.is_empty());
                }
            }
        }
    }
}
