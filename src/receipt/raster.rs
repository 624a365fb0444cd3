//! The thermal slip as a picture (`kiosk receipt --png`): the layout drawn at the
//! printer's resolution, 8 dots/mm, the way the ESC/POS printer lays it out.

use super::codes::{code128_module_dots, code128_modules, dither, qr_module_dots, qr_modules};
use super::font::font;
use super::model::{columns, wrap, Align, Element, Receipt, Size};
use crate::config::PrinterSection;
use ab_glyph::{Font, PxScale, ScaleFont};
use image::GrayImage;

/// Barcode bar height in dots (receipt.md §5).
pub const BARCODE_HEIGHT: u32 = 80;

struct Canvas {
    width: u32,
    rows: Vec<u8>,
}

impl Canvas {
    fn height(&self) -> u32 {
        (self.rows.len() / self.width as usize) as u32
    }
    fn grow(&mut self, dots: u32) -> u32 {
        let y = self.height();
        self.rows.resize(self.rows.len() + (dots * self.width) as usize, 255);
        y
    }
    fn black(&mut self, x: i64, y: i64) {
        if x >= 0 && y >= 0 && (x as u32) < self.width && (y as u32) < self.height() {
            let i = y as usize * self.width as usize + x as usize;
            self.rows[i] = 0;
        }
    }
    fn ink(&mut self, x: i64, y: i64, cover: f32) {
        if cover > 0.5 {
            self.black(x, y);
        }
    }
}

/// Draws one text line in printer cells: ASCII 12 dots wide, CJK 24 (× size).
fn draw_line(c: &mut Canvas, line: &str, align: Align, size: Size, bold: bool) {
    let mag = size.column_dots() / 12;
    let cols: u32 = line.chars().map(columns).sum();
    let used = cols * size.column_dots();
    let x0 = match align {
        Align::Left => 0,
        Align::Centre => c.width.saturating_sub(used) / 2,
    };
    let top = c.grow(size.line_dots());
    let f = font();
    let px = 24.0 * mag as f32;
    let scaled = f.as_scaled(PxScale::from(px));
    let baseline = top as f32 + scaled.ascent() + (size.line_dots() as f32 - px) / 2.0 - 2.0;
    let mut x = x0 as f32;
    let passes = if bold { 2 } else { 1 };
    for run in runs(line) {
        // The run keeps its printer cells (so wrapping and centring agree with ESC/POS),
        // but a Latin run is set with the font's own advances inside them: one glyph per
        // 12-dot cell put gaps inside words. A run wider than its cells is set smaller.
        let cells = run.chars().map(columns).sum::<u32>() as f32 * size.column_dots() as f32;
        if x + cells > c.width as f32 + 0.5 {
            break; // clip what is wider than the paper
        }
        let ascii = run.is_ascii();
        let natural: f32 = run.chars().map(|ch| scaled.h_advance(f.glyph_id(ch))).sum();
        let run_px = if ascii && natural > cells {
            px * cells / natural
        } else {
            px
        };
        let run_scaled = f.as_scaled(PxScale::from(run_px));
        let mut gx = x;
        for ch in run.chars() {
            let glyph = f
                .glyph_id(ch)
                .with_scale_and_position(run_px, ab_glyph::point(gx, baseline));
            if let Some(og) = f.outline_glyph(glyph) {
                let b = og.px_bounds();
                for dx in 0..passes {
                    og.draw(|px_, py_, cov| c.ink(b.min.x as i64 + px_ as i64 + dx, b.min.y as i64 + py_ as i64, cov));
                }
            }
            gx += if ascii {
                run_scaled.h_advance(f.glyph_id(ch))
            } else {
                (columns(ch) * size.column_dots()) as f32
            };
        }
        x += cells;
    }
}

/// The line cut into runs of ASCII and of other (full-width) characters.
fn runs(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<bool> = None;
    for (i, ch) in line.char_indices() {
        let a = ch.is_ascii();
        if prev.is_some_and(|p| p != a) {
            out.push(&line[start..i]);
            start = i;
        }
        prev = Some(a);
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out
}

/// Renders the slip at `paper_dots` wide.
pub fn render(receipt: &Receipt, paper_dots: u32, p: &PrinterSection) -> GrayImage {
    let mut c = Canvas {
        width: paper_dots,
        rows: Vec::new(),
    };
    c.grow(16);
    for e in &receipt.elements {
        match e {
            Element::Text {
                text,
                align,
                size,
                bold,
            } => {
                for line in wrap(text, paper_dots / size.column_dots()) {
                    draw_line(&mut c, &line, *align, *size, *bold);
                }
            }
            Element::Feed(d) => {
                c.grow(*d);
            }
            Element::Barcode(data) => {
                let (Some(m), Some(bars)) = (code128_module_dots(data, paper_dots), code128_modules(data)) else {
                    log::warn!(
                        "barcode_too_long: {} chars do not fit {paper_dots} dots; QR only",
                        data.len()
                    );
                    continue;
                };
                let w = bars.len() as u32 * m;
                let x0 = (paper_dots.saturating_sub(w) / 2) as i64;
                let top = c.grow(BARCODE_HEIGHT) as i64;
                for (i, bar) in bars.iter().enumerate() {
                    if *bar {
                        for dx in 0..m as i64 {
                            for y in 0..BARCODE_HEIGHT as i64 {
                                c.black(x0 + i as i64 * m as i64 + dx, top + y);
                            }
                        }
                    }
                }
                c.grow(4);
                draw_line(&mut c, data, Align::Centre, Size::Normal, false);
            }
            Element::Qr(data) => {
                let Some((side, mods)) = qr_modules(data) else { continue };
                let m = qr_module_dots(side, paper_dots);
                let w = side as u32 * m;
                let x0 = (paper_dots.saturating_sub(w) / 2) as i64;
                let top = c.grow(w) as i64;
                for (i, dark) in mods.iter().enumerate() {
                    if *dark {
                        let (mx, my) = ((i % side) as i64, (i / side) as i64);
                        for dy in 0..m as i64 {
                            for dx in 0..m as i64 {
                                c.black(x0 + mx * m as i64 + dx, top + my * m as i64 + dy);
                            }
                        }
                    }
                }
            }
            Element::Photo(img) => {
                let bm = dither(img, p.dither, p.threshold, p.gamma);
                let x0 = (paper_dots.saturating_sub(bm.width) / 2) as i64;
                let top = c.grow(bm.height) as i64;
                for y in 0..bm.height {
                    for x in 0..bm.width.min(paper_dots) {
                        if bm.get(x, y) {
                            c.black(x0 + x as i64, top + y as i64);
                        }
                    }
                }
            }
        }
    }
    c.grow(40);
    let h = c.height();
    GrayImage::from_raw(paper_dots, h, c.rows).expect("canvas size matches")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The widest run of blank columns between the first and last inked column.
    fn widest_gap(line: &str) -> u32 {
        let mut c = Canvas {
            width: 576,
            rows: Vec::new(),
        };
        draw_line(&mut c, line, Align::Left, Size::Normal, false);
        let h = c.height();
        let inked: Vec<bool> = (0..c.width)
            .map(|x| (0..h).any(|y| c.rows[(y * c.width + x) as usize] == 0))
            .collect();
        let first = inked.iter().position(|&i| i).expect("some ink");
        let last = inked.iter().rposition(|&i| i).unwrap();
        let (mut widest, mut run) = (0, 0);
        for &i in &inked[first..=last] {
            run = if i { 0 } else { run + 1 };
            widest = widest.max(run);
        }
        widest
    }

    /// Issue #15: one glyph per 12-dot cell put gaps inside Latin words ("I l l").
    #[test]
    fn latin_words_are_set_without_gaps_inside() {
        for word in ["Illinois", "Valid", "Receipt", "Jiujiang", "lil"] {
            let gap = widest_gap(word);
            assert!(gap <= 4, "`{word}`: a gap of {gap} dots inside the word");
        }
    }

    #[test]
    fn runs_split_ascii_from_full_width_text() {
        assert_eq!(
            runs("回执号 Receipt No.：12"),
            vec!["回执号", " Receipt No.", "：", "12"]
        );
        assert_eq!(runs(""), Vec::<&str>::new());
    }
}
