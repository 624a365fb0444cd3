//! The printer mechanism: executes commands onto a paper canvas, tracks the paper and
//! the faults, and composes the status replies (escpos.md §2–§4).

use super::code128;
use super::lexer::Cmd;
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use std::path::PathBuf;

/// The emulator's own copy of the font (an asset, not kiosk code).
static SIM_FONT: &[u8] = include_bytes!("../../assets/fonts/wqy-microhei.ttf");

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    pub cover_open: bool,
    pub paper_end: bool,
    pub near_end: bool,
    pub cutter_error: bool,
    /// The next cut fails (armed by the control channel).
    pub cutter_armed: bool,
    /// The cover was opened mid-slip: offline until DLE ENQ 1/2, even once shut.
    pub awaiting_recovery: bool,
}

impl Faults {
    pub fn offline(&self) -> bool {
        self.cover_open || self.paper_end || self.cutter_error || self.awaiting_recovery
    }
}

pub struct Engine {
    pub width: u32,
    pub out: PathBuf,
    font: FontRef<'static>,
    pub faults: Faults,
    /// Paper fed since the roll was loaded, in dots (8 per mm).
    pub fed_dots: u64,
    pub paper_out_after_dots: Option<u64>,
    pub near_end_after_dots: Option<u64>,
    pub asb_mask: u8,
    align: u8,
    bold: bool,
    mag_w: u32,
    mag_h: u32,
    spacing: u32,
    line: Vec<(char, bool)>,
    line_align: u8,
    bar_h: u32,
    bar_w: u32,
    hri: u8,
    qr_size: u32,
    qr_ec: u8,
    qr_data: Vec<u8>,
    canvas: Vec<u8>,
    /// The text lines printed on the slip in progress, written beside its PNG as
    /// `NNNN.txt` (a transcript for tests and people; barcodes are read from the PNG).
    text: Vec<String>,
    pub slips: u32,
    pub log: Vec<String>,
    pub clipped: u64,
    /// Longest canvas in dot rows (`--max-slip-mm` × 8); paper fed beyond it is not drawn.
    pub max_rows: usize,
    /// Dot rows fed but not drawn because the slip passed `max_rows` (since start).
    pub clipped_rows: u64,
    /// The same for the slip in progress (one note per slip).
    clipped_rows_slip: u64,
}

const DEFAULT_SPACING: u32 = 30;

impl Engine {
    pub fn new(width: u32, out: PathBuf) -> Engine {
        Engine {
            width,
            out,
            font: FontRef::try_from_slice(SIM_FONT).expect("font asset parses"),
            faults: Faults::default(),
            fed_dots: 0,
            paper_out_after_dots: None,
            near_end_after_dots: None,
            asb_mask: 0,
            align: 0,
            bold: false,
            mag_w: 1,
            mag_h: 1,
            spacing: DEFAULT_SPACING,
            line: Vec::new(),
            line_align: 0,
            bar_h: 162,
            bar_w: 3,
            hri: 0,
            qr_size: 3,
            qr_ec: 48,
            qr_data: Vec::new(),
            canvas: Vec::new(),
            text: Vec::new(),
            slips: 0,
            log: Vec::new(),
            clipped: 0,
            max_rows: 8000,
            clipped_rows: 0,
            clipped_rows_slip: 0,
        }
    }

    fn note(&mut self, s: String) {
        eprintln!("printer-sim: {s}");
        self.log.push(s);
    }

    fn reset_settings(&mut self) {
        self.align = 0;
        self.bold = false;
        self.mag_w = 1;
        self.mag_h = 1;
        self.spacing = DEFAULT_SPACING;
        self.bar_h = 162;
        self.bar_w = 3;
        self.hri = 0;
        self.qr_size = 3;
        self.qr_ec = 48;
        self.qr_data.clear();
        self.asb_mask = 0;
    }

    // ---- status bytes (fixed bits: DLE EOT replies are 0b0xx1_0x10) ----

    pub fn dle_eot(&self, n: u8) -> Option<u8> {
        let f = &self.faults;
        let base = 0b0001_0010u8;
        Some(match n {
            1 => base | if f.offline() { 1 << 3 } else { 0 },
            2 => {
                base | if f.cover_open { 1 << 2 } else { 0 }
                    | if f.paper_end { 1 << 5 } else { 0 }
                    | if f.cutter_error || f.awaiting_recovery {
                        1 << 6
                    } else {
                        0
                    }
            }
            3 => base | if f.cutter_error { 1 << 3 } else { 0 },
            4 => base | if f.near_end || f.paper_end { 0b1100 } else { 0 } | if f.paper_end { 0b110_0000 } else { 0 },
            _ => return None,
        })
    }

    pub fn asb(&self) -> [u8; 4] {
        let f = &self.faults;
        [
            0b0001_0000 | if f.offline() { 1 << 3 } else { 0 } | if f.cover_open { 1 << 5 } else { 0 },
            if f.cutter_error { 1 << 3 } else { 0 } | if f.awaiting_recovery { 1 << 6 } else { 0 },
            if f.near_end { 0b11 } else { 0 } | if f.paper_end { 0b1100 } else { 0 },
            0,
        ]
    }

    /// GS r 1 reply (bit 4 clear).
    pub fn paper_sensor(&self) -> u8 {
        let f = &self.faults;
        (if f.near_end { 0b11 } else { 0 }) | if f.paper_end { 0b1100 } else { 0 }
    }

    /// A slip is part-printed (text pending or paper fed since the last cut).
    pub fn mid_slip(&self) -> bool {
        !self.canvas.is_empty() || !self.line.is_empty()
    }

    // ---- paper ----

    fn rows(&self) -> u32 {
        (self.canvas.len() / self.width as usize) as u32
    }

    /// Dot rows of the slip in progress.
    pub fn canvas_rows(&self) -> u32 {
        self.rows()
    }

    /// Feeds `dots` of paper; returns false if the paper ran out meanwhile.
    fn grow(&mut self, dots: u32) -> Option<u32> {
        let y = self.rows();
        for _ in 0..dots {
            if self.faults.paper_end {
                return None;
            }
            self.fed_dots += 1;
            if (self.rows() as usize) < self.max_rows {
                self.canvas.resize(self.canvas.len() + self.width as usize, 255);
            } else {
                if self.clipped_rows_slip == 0 {
                    self.note(format!(
                        "slip longer than {} mm: the rest is fed but not drawn (--max-slip-mm)",
                        self.max_rows / 8
                    ));
                }
                self.clipped_rows += 1;
                self.clipped_rows_slip += 1;
            }
            if let Some(n) = self.near_end_after_dots {
                if self.fed_dots >= n && !self.faults.near_end {
                    self.faults.near_end = true;
                }
            }
            if let Some(n) = self.paper_out_after_dots {
                if self.fed_dots >= n {
                    self.faults.paper_end = true;
                    self.note(format!("paper end after {} mm", self.fed_dots / 8));
                }
            }
        }
        Some(y)
    }

    fn dot(&mut self, x: i64, y: i64) {
        if x < 0 || x >= self.width as i64 {
            self.clipped += 1;
            return;
        }
        if y >= 0 && (y as u32) < self.rows() {
            let i = y as usize * self.width as usize + x as usize;
            self.canvas[i] = 0;
        }
    }

    fn x0(&self, w: u32) -> i64 {
        match self.align {
            1 => (self.width as i64 - w as i64) / 2,
            2 => self.width as i64 - w as i64,
            _ => 0,
        }
        .max(0)
    }

    // ---- commands ----

    /// Executes one buffered command. Returns reply bytes for the host.
    pub fn exec(&mut self, c: Cmd) -> Vec<u8> {
        match c {
            Cmd::Text(bytes) => self.text(&bytes),
            Cmd::LineFeed => self.print_line(),

            Cmd::Init => {
                self.line.clear();
                self.reset_settings();
            }
            Cmd::ChineseOn | Cmd::ChineseOff | Cmd::Ignored(_) => {}
            Cmd::Align(n) => {
                self.align = match n {
                    0 | 48 => 0,
                    1 | 49 => 1,
                    2 | 50 => 2,
                    _ => self.align,
                };
                if self.line.is_empty() {
                    self.line_align = self.align;
                }
            }
            Cmd::Bold(n) => self.bold = n & 1 == 1,
            Cmd::CharSize(n) => {
                self.mag_w = u32::from((n >> 4) & 7) + 1;
                self.mag_h = u32::from(n & 7) + 1;
            }
            Cmd::LineSpacing(n) => self.spacing = n.map(u32::from).unwrap_or(DEFAULT_SPACING),
            Cmd::FeedLines(n) => {
                self.flush_line();
                let _ = self.grow(u32::from(n) * self.spacing);
            }
            Cmd::FeedDots(n) => {
                self.flush_line();
                let _ = self.grow(u32::from(n));
            }
            Cmd::Raster {
                width_bytes,
                rows,
                data,
            } => self.raster(width_bytes, rows, &data),
            Cmd::Qr { func, params } => self.qr(func, &params),
            Cmd::BarcodeHeight(n) => self.bar_h = u32::from(n.max(1)),
            Cmd::BarcodeWidth(n) => self.bar_w = u32::from(n.clamp(1, 6)),
            Cmd::Hri(n) => self.hri = n,
            Cmd::Barcode { kind, data } => self.barcode(kind, &data),
            Cmd::Cut => self.cut(),
            Cmd::TransmitStatus(_) => return vec![self.paper_sensor()],
            Cmd::AutoStatus(n) => {
                self.asb_mask = n;
                if n != 0 {
                    return self.asb().to_vec();
                }
            }
        }
        Vec::new()
    }

    fn text(&mut self, bytes: &[u8]) {
        let (s, _, bad) = encoding_rs::GBK.decode(bytes);
        if bad {
            self.note("text with bytes that are not GBK".into());
        }
        for ch in s.chars() {
            let cols = if ch.is_ascii() { 1 } else { 2 };
            let used: u32 = self.line.iter().map(|(c, _)| if c.is_ascii() { 1 } else { 2 }).sum();
            if (used + cols) * 12 * self.mag_w > self.width {
                // Wider than the paper: the printer wraps.
                self.flush_line();
            }
            if self.line.is_empty() {
                self.line_align = self.align;
            }
            self.line.push((ch, self.bold));
        }
    }

    /// Prints pending text, if any (commands that need the line start do this).
    fn flush_line(&mut self) {
        if !self.line.is_empty() {
            self.print_line();
        }
    }

    /// Prints the line buffer and feeds one line (an empty buffer just feeds).
    fn print_line(&mut self) {
        let h = (24 * self.mag_h).max(self.spacing);
        let Some(top) = self.grow(h) else { return };
        let line = std::mem::take(&mut self.line);
        if line.is_empty() || top as usize >= self.max_rows {
            // Past `--max-slip-mm` nothing is drawn, and the transcript stops too.
            return;
        }
        self.text.push(line.iter().map(|(c, _)| *c).collect());
        let cell = 12 * self.mag_w;
        let width: u32 = line
            .iter()
            .map(|(c, _)| if c.is_ascii() { cell } else { 2 * cell })
            .sum();
        let saved = self.align;
        self.align = self.line_align;
        let mut x = self.x0(width) as f32;
        self.align = saved;
        let px = 24.0 * self.mag_h as f32;
        let sx = self.mag_w as f32 / self.mag_h as f32;
        let scaled = self.font.as_scaled(PxScale { x: px * sx, y: px });
        let baseline = top as f32 + scaled.ascent() + (h as f32 - px) / 2.0 - 2.0;
        for (ch, bold) in line {
            let w = if ch.is_ascii() { cell } else { 2 * cell } as f32;
            let g = self
                .font
                .glyph_id(ch)
                .with_scale_and_position(PxScale { x: px * sx, y: px }, ab_glyph::point(x, baseline));
            if let Some(og) = self.font.outline_glyph(g) {
                let b = og.px_bounds();
                let mut pts = Vec::new();
                og.draw(|gx, gy, cov| {
                    if cov > 0.5 {
                        pts.push((b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64));
                    }
                });
                for (px_, py) in pts {
                    self.dot(px_, py);
                    if bold {
                        self.dot(px_ + 1, py);
                    }
                }
            }
            x += w;
        }
    }

    fn raster(&mut self, width_bytes: usize, rows: usize, data: &[u8]) {
        self.flush_line();
        let w = (width_bytes * 8) as u32;
        if w > self.width {
            self.note(format!("raster {w} dots wide clipped to {}", self.width));
        }
        let x0 = self.x0(w.min(self.width));
        let Some(top) = self.grow(rows as u32) else { return };
        for r in 0..rows {
            for bx in 0..width_bytes {
                let byte = data.get(r * width_bytes + bx).copied().unwrap_or(0);
                for bit in 0..8 {
                    if byte & (0x80 >> bit) != 0 {
                        self.dot(x0 + (bx * 8 + bit) as i64, top as i64 + r as i64);
                    }
                }
            }
        }
    }

    fn qr(&mut self, func: u8, params: &[u8]) {
        match func {
            0x41 => {}
            0x43 => self.qr_size = u32::from(params.first().copied().unwrap_or(3).clamp(1, 16)),
            0x45 => self.qr_ec = params.first().copied().unwrap_or(48),
            0x50 => self.qr_data = params.get(1..).unwrap_or_default().to_vec(),
            0x51 => {
                self.flush_line();
                let ec = match self.qr_ec {
                    48 => qrcode::EcLevel::L,
                    50 => qrcode::EcLevel::Q,
                    51 => qrcode::EcLevel::H,
                    _ => qrcode::EcLevel::M,
                };
                let code = match qrcode::QrCode::with_error_correction_level(&self.qr_data, ec) {
                    Ok(c) => c,
                    Err(e) => {
                        self.note(format!("QR print with unusable data: {e}"));
                        return;
                    }
                };
                let side = code.width();
                let m = self.qr_size;
                let colors = code.to_colors();
                let x0 = self.x0(side as u32 * m);
                let Some(top) = self.grow(side as u32 * m) else { return };
                for (i, c) in colors.iter().enumerate() {
                    if *c == qrcode::Color::Dark {
                        let (mx, my) = ((i % side) as i64, (i / side) as i64);
                        for dy in 0..m as i64 {
                            for dx in 0..m as i64 {
                                self.dot(x0 + mx * m as i64 + dx, top as i64 + my * m as i64 + dy);
                            }
                        }
                    }
                }
            }
            other => self.note(format!("QR function {other:#04x} ignored")),
        }
    }

    fn barcode(&mut self, kind: u8, data: &[u8]) {
        self.flush_line();
        if kind != 73 {
            self.note(format!("barcode type {kind} not emulated; only Code128 (73)"));
            return;
        }
        let sym = match code128::parse(data) {
            Ok(s) => s,
            Err(e) => {
                self.note(format!("GS k 73: {e}"));
                return;
            }
        };
        let mods = code128::modules(&sym.values);
        let m = self.bar_w;
        let w = mods.len() as u32 * m;
        if w > self.width {
            self.note(format!("barcode {w} dots wide is clipped to {}", self.width));
        }
        let x0 = self.x0(w.min(self.width));
        let Some(top) = self.grow(self.bar_h) else { return };
        for (i, bar) in mods.iter().enumerate() {
            if *bar {
                for dx in 0..m as i64 {
                    for y in 0..self.bar_h as i64 {
                        self.dot(x0 + i as i64 * m as i64 + dx, top as i64 + y);
                    }
                }
            }
        }
        if self.hri == 2 || self.hri == 3 || self.hri == 50 || self.hri == 51 {
            let saved = (self.mag_w, self.mag_h, self.bold, self.line_align);
            self.mag_w = 1;
            self.mag_h = 1;
            self.bold = false;
            let _ = self.grow(4);
            self.line = sym.text.chars().map(|c| (c, false)).collect();
            self.line_align = self.align;
            self.print_line();
            (self.mag_w, self.mag_h, self.bold, self.line_align) = saved;
        }
    }

    fn cut(&mut self) {
        self.flush_line();
        if self.faults.paper_end {
            return;
        }
        if self.faults.cutter_armed {
            self.faults.cutter_armed = false;
            self.faults.cutter_error = true;
            self.note("auto-cutter error at the cut".into());
            return;
        }
        self.slips += 1;
        let name = format!("{:04}.png", self.slips);
        self.save(&name);
    }

    /// The slip in progress is lost (paper end, buffer cleared, unplugged): kept as
    /// `NNNN-spoiled.png` for inspection, never as a good slip.
    pub fn spoil(&mut self) {
        self.line.clear();
        if self.canvas.is_empty() {
            self.text.clear();
            return;
        }
        self.slips += 1;
        let name = format!("{:04}-spoiled.png", self.slips);
        self.save(&name);
    }

    fn save(&mut self, name: &str) {
        let rows = self.rows();
        self.clipped_rows_slip = 0;
        let canvas = std::mem::take(&mut self.canvas);
        let text = std::mem::take(&mut self.text);
        if rows == 0 {
            return;
        }
        let txt = self.out.join(name.replace(".png", ".txt"));
        if let Err(e) = std::fs::write(&txt, text.join("\n") + "\n") {
            self.note(format!("cannot write {}: {e}", txt.display()));
        }
        let path = self.out.join(name);
        let img = image::GrayImage::from_raw(self.width, rows, canvas).expect("canvas size");
        // Write then rename, so a reader never sees half a PNG.
        let tmp = self.out.join(format!(".{name}.tmp"));
        let r = img
            .save_with_format(&tmp, image::ImageFormat::Png)
            .map_err(|e| e.to_string())
            .and_then(|_| std::fs::rename(&tmp, &path).map_err(|e| e.to_string()));
        match r {
            Ok(()) => self.note(format!("slip {}", path.display())),
            Err(e) => self.note(format!("cannot write {}: {e}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::{Lexer, Token};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn endless_feeds_stop_growing_the_canvas_at_max_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = Engine::new(576, dir.path().to_path_buf());
        e.max_rows = 800;
        e.exec(Cmd::LineSpacing(Some(255)));
        for _ in 0..23 {
            e.exec(Cmd::FeedLines(255));
        }
        assert_eq!(e.canvas_rows(), 800);
        assert_eq!(e.clipped_rows, 23 * 255 * 255 - 800);
        assert_eq!(e.fed_dots, 23 * 255 * 255, "the paper still counts as fed");
        e.exec(Cmd::Cut);
        let png = image::open(dir.path().join("0001.png")).unwrap();
        assert_eq!(png.height(), 800);
    }

    proptest! {
        // Cases: PROPTEST_CASES (default 256).
        /// Whatever the host sends, executing it never panics and the canvas stays
        /// within `max_rows`.
        #[test]
        fn any_command_stream_executes_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let dir = tempfile::tempdir().unwrap();
            let mut e = Engine::new(384, dir.path().to_path_buf());
            e.max_rows = 400;
            let mut l = Lexer::new();
            let mut out = Vec::new();
            l.feed(&bytes, &mut out);
            for (t, _) in out {
                match t {
                    Token::Cmd(c) => { e.exec(c); }
                    Token::Now(_) | Token::Garbage(..) => {}
                }
                prop_assert!(e.canvas_rows() as usize <= e.max_rows);
            }
            e.exec(Cmd::Cut);
        }
    }
}
