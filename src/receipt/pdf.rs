//! The receipt as a PDF (printpdf, no `html` feature): roll width (80 mm) or A6, with the
//! CJK font embedded so the text is real text (`pdftotext` finds it).

use super::codes::{code128_module_dots, code128_modules, qr_module_dots, qr_modules};
use super::font::{font, FONT_BYTES};
use super::model::{wrap, Align, Element, Receipt, Size};
use super::raster::BARCODE_HEIGHT;
use ab_glyph::{Font, PxScale, ScaleFont};
use printpdf::*;

/// Content width in printer dots (80 mm roll, 72 mm printable).
const CONTENT_DOTS: f32 = 576.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSize {
    /// 80 mm wide, as long as the slip.
    Roll80,
    /// 105 × 148 mm.
    A6,
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the embedded CJK font could not be parsed for the PDF")]
    Font,
}

/// The CJK font cut down to the glyphs of `text` (plus .notdef): printpdf embeds the
/// whole 4.6 MB font without its `text_layout` feature, so the subset is made here with
/// the subsetter printpdf itself uses (allsorts).
fn subset_font(text: &str) -> Option<ParsedFont> {
    use allsorts::binary::read::ReadScope;
    use allsorts::font_data::FontData;
    use allsorts::subset::{subset, CmapTarget, SubsetProfile};
    let data = ReadScope::new(FONT_BYTES).read::<FontData<'_>>().ok()?;
    let provider = data.table_provider(0).ok()?;
    let mut gids = vec![0u16];
    for c in text.chars() {
        let g = font().glyph_id(c).0;
        if g != 0 && !gids.contains(&g) {
            gids.push(g);
        }
    }
    let bytes = subset(&provider, &gids, &SubsetProfile::Minimal, CmapTarget::Unicode).ok()?;
    let mut w = Vec::new();
    ParsedFont::from_bytes(&bytes, 0, &mut w)
}

/// Text width in dots at `px` dots per em, measured with the font's advances. The PDF
/// font size is the em; ab_glyph's `PxScale` is the ascent-to-descent height, which for
/// this font is larger than the em, so it is converted (measuring with `px` as the
/// height under-estimated every line by a fifth and titles ran off the page).
pub fn text_dots(s: &str, px: f32) -> f32 {
    let scale = font().pt_to_px_scale(px).unwrap_or(PxScale::from(px));
    let f = font().as_scaled(scale);
    s.chars().map(|c| f.h_advance(font().glyph_id(c))).sum()
}

struct Page {
    ops: Vec<Op>,
    /// mm per dot.
    k: f32,
    left_mm: f32,
    top_mm: f32,
    y: f32,
    font: FontId,
}

impl Page {
    fn pt(&self, dots: f32) -> Pt {
        Mm(dots * self.k).into()
    }
    fn x(&self, dots: f32) -> Pt {
        Mm(self.left_mm + dots * self.k).into()
    }
    fn ypos(&self, dots_from_top: f32) -> Pt {
        Mm(self.top_mm - dots_from_top * self.k).into()
    }
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) {
        let r = Rect {
            x: self.x(x),
            y: self.ypos(y + h),
            width: self.pt(w),
            height: self.pt(h),
            mode: Some(PaintMode::Fill),
            winding_order: None,
        };
        self.ops.push(Op::DrawRectangle { rectangle: r });
    }
    fn line(&mut self, text: &str, align: Align, size: Size) {
        let mut px = 24.0 * (size.column_dots() / 12) as f32;
        let mut w = text_dots(text, px);
        // Lines are wrapped by printer columns; proportional Latin text can still be a
        // little wider than its columns: such a line is set smaller to fit the page.
        if w > CONTENT_DOTS {
            px *= CONTENT_DOTS / w;
            w = text_dots(text, px);
        }
        let x = match align {
            Align::Left => 0.0,
            Align::Centre => ((CONTENT_DOTS - w) / 2.0).max(0.0),
        };
        let baseline = self.y + size.line_dots() as f32 * 0.78;
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetFont {
            font: PdfFontHandle::External(self.font.clone()),
            size: self.pt(px),
        });
        self.ops.push(Op::SetTextCursor {
            pos: Point {
                x: self.x(x),
                y: self.ypos(baseline),
            },
        });
        self.ops.push(Op::ShowText {
            items: vec![TextItem::Text(text.to_string())],
        });
        self.ops.push(Op::EndTextSection);
        self.y += size.line_dots() as f32;
    }
}

/// Height of the laid-out slip in dots (to size the roll page).
pub fn height_dots(r: &Receipt) -> f32 {
    let mut h = 16.0;
    for e in &r.elements {
        h += match e {
            Element::Text { text, size, .. } => {
                (wrap(text, CONTENT_DOTS as u32 / size.column_dots()).len() as u32 * size.line_dots()) as f32
            }
            Element::Feed(d) => *d as f32,
            Element::Barcode(_) => (BARCODE_HEIGHT + 4 + Size::Normal.line_dots()) as f32,
            Element::Qr(d) => qr_modules(d)
                .map(|(s, _)| s as f32 * qr_module_dots(s, CONTENT_DOTS as u32) as f32)
                .unwrap_or(0.0),
            Element::Photo(p) => p.height() as f32,
        };
    }
    h + 40.0
}

/// Renders `r` to PDF bytes.
pub fn render(r: &Receipt, size: PageSize) -> Result<Vec<u8>, PdfError> {
    let mut all_text = String::new();
    for e in &r.elements {
        match e {
            Element::Text { text, .. } | Element::Barcode(text) => all_text.push_str(text),
            _ => {}
        }
    }
    let pf = subset_font(&all_text).ok_or(PdfError::Font)?;
    let mut doc = PdfDocument::new(&r.title);
    let font_id = doc.add_font(&pf);
    let h_dots = height_dots(r);
    let (page_w, page_h, k) = match size {
        PageSize::Roll80 => (80.0, h_dots * 0.125 + 8.0, 0.125),
        PageSize::A6 => {
            let k = (95.0 / CONTENT_DOTS).min(138.0 / h_dots);
            (105.0, 148.0, k)
        }
    };
    let left_mm = (page_w - CONTENT_DOTS * k) / 2.0;
    let mut p = Page {
        ops: vec![Op::SetFillColor {
            col: Color::Rgb(Rgb::new(0.0, 0.0, 0.0, None)),
        }],
        k,
        left_mm,
        top_mm: page_h - 4.0,
        y: 16.0,
        font: font_id,
    };
    for e in &r.elements {
        match e {
            Element::Text { text, align, size, .. } => {
                for line in wrap(text, CONTENT_DOTS as u32 / size.column_dots()) {
                    p.line(&line, *align, *size);
                }
            }
            Element::Feed(d) => p.y += *d as f32,
            Element::Barcode(data) => {
                let (Some(m), Some(bars)) = (code128_module_dots(data, CONTENT_DOTS as u32), code128_modules(data))
                else {
                    continue;
                };
                let m = m as f32;
                let x0 = ((CONTENT_DOTS - bars.len() as f32 * m) / 2.0).max(0.0);
                let mut i = 0;
                while i < bars.len() {
                    if bars[i] {
                        let start = i;
                        while i < bars.len() && bars[i] {
                            i += 1;
                        }
                        let y = p.y;
                        p.rect(x0 + start as f32 * m, y, (i - start) as f32 * m, BARCODE_HEIGHT as f32);
                    } else {
                        i += 1;
                    }
                }
                p.y += BARCODE_HEIGHT as f32 + 4.0;
                p.line(data, Align::Centre, Size::Normal);
            }
            Element::Qr(data) => {
                let Some((side, mods)) = qr_modules(data) else { continue };
                let m = qr_module_dots(side, CONTENT_DOTS as u32) as f32;
                let x0 = (CONTENT_DOTS - side as f32 * m) / 2.0;
                for row in 0..side {
                    let mut col = 0;
                    while col < side {
                        if mods[row * side + col] {
                            let start = col;
                            while col < side && mods[row * side + col] {
                                col += 1;
                            }
                            let y = p.y + row as f32 * m;
                            p.rect(x0 + start as f32 * m, y, (col - start) as f32 * m, m);
                        } else {
                            col += 1;
                        }
                    }
                }
                p.y += side as f32 * m;
            }
            Element::Photo(img) => {
                let raw = RawImage {
                    pixels: RawImageData::U8(img.as_raw().clone()),
                    width: img.width() as usize,
                    height: img.height() as usize,
                    data_format: RawImageFormat::RGB8,
                    tag: Vec::new(),
                };
                let id = doc.add_image(&raw);
                let x0 = (CONTENT_DOTS - img.width() as f32) / 2.0;
                // One image pixel = one dot: dpi = 25.4 / mm-per-dot.
                let t = XObjectTransform {
                    translate_x: Some(p.x(x0)),
                    translate_y: Some(p.ypos(p.y + img.height() as f32)),
                    dpi: Some(25.4 / p.k),
                    ..Default::default()
                };
                p.ops.push(Op::UseXobject { id, transform: t });
                p.y += img.height() as f32;
            }
        }
    }
    let page = PdfPage::new(Mm(page_w), Mm(page_h), p.ops);
    let mut warnings = Vec::new();
    let opts = PdfSaveOptions {
        // Already subset above; printpdf's own subsetting needs `text_layout`.
        subset_fonts: false,
        ..Default::default()
    };
    Ok(doc.with_pages(vec![page]).save(&opts, &mut warnings))
}
