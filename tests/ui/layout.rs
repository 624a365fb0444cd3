//! Layout of every screen in both orientations (issue #15): 1080×1920 portrait and
//! 1920×1080 landscape, Chinese and English, on Slint's software renderer with the embedded
//! font. Elements are found only through accessibility (role text or button, and their
//! labels); all problems of all screens are gathered and reported in one assertion.
//!
//! Per element with an accessible label:
//! - **inside the window**: its box lies within the window; a button is ≥ 110 px tall.
//! - **no clipping, no elision**: Slint clips a Text's glyphs to the Text's own box
//!   (`overflow: clip`, the default) or replaces the end with "…" (`elide`). Both are
//!   found in the snapshot's pixels inside the element's box, compared with what the
//!   label's text needs in the embedded font (WenQuanYi Micro Hei, read with `ab_glyph`
//!   from `assets/fonts`, the file `ui/app.slint` embeds):
//!   * ink (pixels nearer the text colour than the background) runs along the box's edge
//!     → the glyphs were cut there;
//!   * the font size is measured from the pixels: the tallest line of ink over the label's
//!     glyph extent in the font (hair top of the tallest glyph to the lowest descender);
//!   * the ink's width summed over its lines must reach what the label's advances need at
//!     that size (less a little per line break): an elided or cut text draws less. A lost
//!     last character or two of a long line, replaced by "…", is the limit of what this
//!     sees (≈ 8 % of the width); shorter losses are caught by the edge rule when clipped.
//!
//!     This reads the rendering rather than the .slint source, so it holds whatever the
//!     layout does (wrapping, stretch, over-constrained layouts), at the cost of needing the
//!     drawn text to be the label (`accessible-label: self.text`; for the consent text, its
//!     description; for a symbol key such as 间隔号, only its box is checked).
//! - **size**: the measured font size of text is ≥ 28 px (body text at 1080 px width).
//! - **contrast**: WCAG 2 relative luminance of the text colour (the pixels of the box
//!   furthest in contrast from the background, the commonest such colour) against the
//!   background (the box's commonest colour) ≥ 4.5:1. Disabled buttons are exempt (as in
//!   WCAG 1.4.3).
//!
//! Overlays are checked inside their dialog (the elements under it are dimmed, and were
//! checked on their own screen). The posing screen's guide oval is also checked against
//! where the validator wants the face (`convert::guide_box`), through the preview's cover fit.

use crate::screens::{self, Screen};
use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementRoot};
use kiosk::ui::{AppState, AppWindow};
use slint::{ComponentHandle, Rgba8Pixel, SharedPixelBuffer};

const MIN_FONT_PX: f32 = 28.0;
const MIN_CONTRAST: f32 = 4.5;
/// Labels that name a symbol rather than the text drawn (the key shows ·, ABC).
const SYMBOL_LABELS: &[&str] = &["间隔号", "英文字母", "Name dot", "Latin letters", "admin-corner"];

type Shot = SharedPixelBuffer<Rgba8Pixel>;

fn luminance(c: [u8; 3]) -> f32 {
    let lin = |v: u8| {
        let s = v as f32 / 255.0;
        if s <= 0.04045 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])
}

fn contrast(a: [u8; 3], b: [u8; 3]) -> f32 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

fn dist(a: [u8; 3], b: [u8; 3]) -> f32 {
    let d = |i: usize| a[i] as f32 - b[i] as f32;
    (d(0) * d(0) + d(1) * d(1) + d(2) * d(2)).sqrt()
}

/// The text drawn by an element, as far as accessibility tells it.
fn drawn_text(e: &ElementHandle) -> String {
    let label = e.accessible_label().unwrap_or_default().to_string();
    if e.accessible_role() == Some(AccessibleRole::Text) {
        if let Some(d) = e.accessible_description().filter(|d| !d.is_empty()) {
            return d.to_string();
        }
        if let Some(v) = e.accessible_value().filter(|v| !v.is_empty()) {
            return v.to_string();
        }
    }
    label
}

/// What the embedded font says about `text` per em: the advance width (less the first
/// glyph's left and the last's right bearing) and the glyphs' ink height (tallest top to
/// lowest bottom).
fn font_measure(text: &str) -> (f32, f32) {
    use ab_glyph::{Font, PxScale, ScaleFont};
    let font = kiosk::receipt::font::font();
    // PxScale is the ascent-to-descent height; this many px make one em.
    let scale = PxScale::from(1000.0);
    let em = 1000.0 * font.units_per_em().unwrap() / font.height_unscaled();
    let sf = font.as_scaled(scale);
    let chars: Vec<char> = text.chars().filter(|c| !c.is_control()).collect();
    let (mut width, mut top, mut bottom) = (0.0f32, f32::MAX, f32::MIN);
    for (i, c) in chars.iter().enumerate() {
        let id = font.glyph_id(*c);
        let adv = sf.h_advance(id);
        width += adv;
        // Ink bounds at the origin (y grows downwards, 0 at the baseline).
        if let Some(o) = font.outline_glyph(id.with_scale_and_position(scale, ab_glyph::point(0.0, 0.0))) {
            let b = o.px_bounds();
            top = top.min(b.min.y);
            bottom = bottom.max(b.max.y);
            if i == 0 {
                width -= b.min.x;
            }
            if i + 1 == chars.len() {
                width -= adv - b.max.x;
            }
        }
    }
    (width / em, (bottom - top).max(1.0) / em)
}

/// Checks the pixels of one element's box; returns the problems found.
fn check_pixels(shot: &Shot, e: &ElementHandle, text: &str, inset: u32) -> Vec<String> {
    let mut out = vec![];
    let (p, s) = (e.absolute_position(), e.size());
    let (bw, bh) = (shot.width() as i64, shot.height() as i64);
    let x0 = (p.x.round() as i64 + inset as i64).clamp(0, bw);
    let y0 = (p.y.round() as i64 + inset as i64).clamp(0, bh);
    let x1 = ((p.x + s.width).round() as i64 - inset as i64).clamp(0, bw);
    let y1 = ((p.y + s.height).round() as i64 - inset as i64).clamp(0, bh);
    if x1 - x0 < 4 || y1 - y0 < 4 {
        return vec!["box is empty".into()];
    }
    let px = shot.as_slice();
    let at = |x: i64, y: i64| {
        let c = px[(y * bw + x) as usize];
        [c.r, c.g, c.b]
    };
    let mut counts = std::collections::HashMap::<[u8; 3], usize>::new();
    for y in y0..y1 {
        for x in x0..x1 {
            *counts.entry(at(x, y)).or_default() += 1;
        }
    }
    let bg = *counts.iter().max_by_key(|(_, n)| **n).unwrap().0;
    let max_ratio = counts.keys().map(|c| contrast(*c, bg)).fold(1.0f32, f32::max);
    if max_ratio < 1.05 {
        return vec!["draws nothing (no text in its box)".into()];
    }
    // The text colour: the commonest among the colours of (nearly) the highest contrast.
    let fg = *counts
        .iter()
        .filter(|(c, _)| contrast(**c, bg).ln() >= 0.85 * max_ratio.ln())
        .max_by_key(|(_, n)| **n)
        .unwrap()
        .0;
    let enabled = e.accessible_enabled() != Some(false);
    let ratio = contrast(fg, bg);
    if enabled && ratio < MIN_CONTRAST {
        out.push(format!(
            "contrast {ratio:.2}:1 (text {fg:?} on {bg:?}), needs ≥ {MIN_CONTRAST}:1"
        ));
    }
    let full = dist(fg, bg);
    let ink = |x: i64, y: i64| dist(at(x, y), bg) > 0.5 * full;
    // Lines of ink: rows with ink, gaps of up to 2 rows bridged.
    let rows: Vec<(i64, i64, i64)> = (y0..y1)
        .map(|y| {
            let xs: Vec<i64> = (x0..x1).filter(|x| ink(*x, y)).collect();
            (y, xs.first().copied().unwrap_or(-1), xs.last().copied().unwrap_or(-1))
        })
        .collect();
    let mut bands: Vec<(i64, i64, i64, i64)> = vec![]; // top, bottom, left, right
    for (y, l, r) in rows {
        if l < 0 {
            continue;
        }
        match bands.last_mut() {
            Some(b) if y - b.1 <= 3 => {
                b.1 = y;
                b.2 = b.2.min(l);
                b.3 = b.3.max(r);
            }
            _ => bands.push((y, y, l, r)),
        }
    }
    // One or two characters never wrap: their strokes (三) are one line, whatever the gaps.
    if text.chars().count() <= 2 && bands.len() > 1 {
        let (t, b) = (bands[0].0, bands[bands.len() - 1].1);
        let (l, r) = (
            bands.iter().map(|b| b.2).min().unwrap(),
            bands.iter().map(|b| b.3).max().unwrap(),
        );
        bands = vec![(t, b, l, r)];
    }
    // Cut at an edge: ink along the box's sides (corners left out: rounded backgrounds).
    // A descender may graze the bottom row (the font's descent is shallower than its
    // g and y), so top and bottom count as cut when ink runs along a sixth of the line.
    let tallest = bands.iter().map(|b| b.1 - b.0 + 1).max().unwrap_or(0);
    let widest = bands.iter().map(|b| b.3 - b.2 + 1).max().unwrap_or(0);
    let m = 12.min((y1 - y0) / 4).max(1);
    let mx = 12.min((x1 - x0) / 4).max(1);
    let col = |x: i64| ((y0 + m)..(y1 - m)).filter(|y| ink(x, *y)).count() as i64;
    let row = |y: i64| ((x0 + mx)..(x1 - mx)).filter(|x| ink(*x, y)).count() as i64;
    for (side, n, limit) in [
        ("left", col(x0), (tallest / 5).max(2)),
        ("right", col(x1 - 1), (tallest / 5).max(2)),
        ("top", row(y0), (widest / 6).max(4)),
        ("bottom", row(y1 - 1), (widest / 6).max(4)),
    ] {
        if n >= limit {
            out.push(format!(
                "text cut at the {side} edge of its box ({n} px of ink on the edge)"
            ));
        }
    }
    if text.trim().is_empty() || bands.is_empty() {
        return out;
    }
    let (adv_em, ink_em) = font_measure(text);
    let font_px = tallest as f32 / ink_em;
    if font_px + 0.75 < MIN_FONT_PX {
        out.push(format!("text is {font_px:.1} px, needs ≥ {MIN_FONT_PX} px"));
    }
    let drawn: f32 = bands.iter().map(|b| (b.3 - b.2 + 1) as f32).sum();
    let needed = adv_em * font_px;
    let slack = 0.08 * needed + 0.6 * font_px * (bands.len() as f32 - 1.0) + 3.0;
    if drawn + slack < needed {
        out.push(format!(
            "text elided or cut: {drawn:.0} px of ink for {needed:.0} px of text at {font_px:.0} px ({} lines)",
            bands.len()
        ));
    }
    out
}

/// The problems of every labelled text and button under `scope` (the window, or an
/// overlay's dialog).
fn check_elements(shot: &Shot, scope: &ElementHandle, size: (f32, f32)) -> Vec<(String, String)> {
    let mut out = vec![];
    let elements = scope
        .query_descendants()
        .match_predicate(|e| matches!(e.accessible_role(), Some(AccessibleRole::Text | AccessibleRole::Button)))
        .find_all();
    let mut seen = std::collections::HashSet::new();
    for e in elements {
        let (p, s) = (e.absolute_position(), e.size());
        let key = (
            e.accessible_label().unwrap_or_default().to_string(),
            p.x as i32,
            p.y as i32,
            s.width as i32,
            s.height as i32,
        );
        if !seen.insert(key) {
            continue;
        }
        let label = e.accessible_label().unwrap_or_default().to_string();
        let text = drawn_text(&e);
        if label.is_empty() && text.is_empty() {
            continue;
        }
        let (p, s) = (e.absolute_position(), e.size());
        let mut problems = vec![];
        if p.x < -0.5 || p.y < -0.5 || p.x + s.width > size.0 + 0.5 || p.y + s.height > size.1 + 0.5 {
            problems.push(format!(
                "outside the window: ({:.0}, {:.0}) {:.0}×{:.0}",
                p.x, p.y, s.width, s.height
            ));
        }
        let button = e.accessible_role() == Some(AccessibleRole::Button);
        if button && s.height < 109.5 {
            problems.push(format!("button only {:.0} px tall", s.height));
        }
        if problems.is_empty() {
            let symbol = SYMBOL_LABELS.contains(&label.as_str());
            // Inside a button: its border and rounded corners are not text.
            let found = check_pixels(shot, &e, if symbol { "" } else { &text }, if button { 8 } else { 0 });
            problems.extend(found);
        }
        for pr in problems {
            out.push((label.clone(), pr));
        }
    }
    out
}

fn init() {
    use i_slint_backend_testing::{TestingBackend, TestingBackendOptions};
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .unwrap();
}

fn snapshot(w: &AppWindow) -> Shot {
    i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_millis(20));
    w.window().take_snapshot().expect("software snapshot")
}

/// Where checks start on this screen: an overlay's dialog when one is open.
fn scope(w: &AppWindow) -> ElementHandle {
    let g = w.global::<AppState>();
    if g.get_still_there() >= 0 && g.get_admin_page() == kiosk::ui::AdminPage::None {
        if let Some(d) = w
            .root_element()
            .query_descendants()
            .match_accessible_role(AccessibleRole::Groupbox)
            .find_first()
        {
            return d;
        }
    }
    w.root_element()
}

pub const ORIENTATIONS: [(&str, u32, u32); 2] = [("portrait", 1080, 1920), ("landscape", 1920, 1080)];

/// Sets the window to an orientation as the bridge does (`AppState.portrait`).
pub fn orient(w: &AppWindow, width: u32, height: u32) {
    w.window().set_size(slint::PhysicalSize::new(width, height));
    w.global::<AppState>().set_portrait(height >= width);
}

fn select_language(en: bool) {
    slint::select_bundled_translation(if en { "en" } else { "zh" }).unwrap();
}

/// Renders `screen` in the orientation and language; returns the problems found.
fn check_screen(w: &AppWindow, screen: &Screen, (o, width, height): (&str, u32, u32), en: bool) -> Vec<String> {
    let g = w.global::<AppState>();
    select_language(en);
    orient(w, width, height);
    screens::base(&g, en);
    (screen.setup)(&g, en);
    let shot = snapshot(w);
    let lang = if en { "English" } else { "中文" };
    check_elements(&shot, &scope(w), (width as f32, height as f32))
        .into_iter()
        .map(|(label, p)| format!("{} [{o}, {lang}] {label:?}: {p}", screen.name))
        .collect()
}

#[test]
fn every_screen_fits_both_orientations_readably() {
    init();
    let w = AppWindow::new().unwrap();
    w.show().unwrap();
    let mut problems = vec![];
    let mut checked = 0;
    for screen in screens::all() {
        for o in ORIENTATIONS {
            for en in [false, true] {
                problems.extend(check_screen(&w, &screen, o, en));
                checked += 1;
            }
        }
    }
    assert!(checked >= 100, "{checked} screens checked");
    assert!(
        problems.is_empty(),
        "{} layout problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The test's own eyes: a text it must see as cut, elided, small or faint is reported.
#[test]
fn the_checks_see_cut_small_and_faint_text() {
    init();
    let w = AppWindow::new().unwrap();
    w.show().unwrap();
    let g = w.global::<AppState>();
    select_language(false);
    orient(&w, 1080, 1920);
    screens::base(&g, false);
    g.set_page(kiosk::ui::Page::Attract);
    // A site name too long for one line.
    let long = "广州市天河区政务服务中心第一分中心二楼东侧自助服务区A区第三排左数第二台自助机";
    g.set_site(long.into());
    let shot = snapshot(&w);
    let site = ElementHandle::find_by_accessible_label(&w, long).next().unwrap();
    // It wraps on the attract screen: fine.
    assert_eq!(check_pixels(&shot, &site, long, 0), Vec::<String>::new());
    // The same box judged against a longer text than it shows: "elided or cut".
    let more = format!("{long}{long}");
    assert!(check_pixels(&shot, &site, &more, 0)
        .iter()
        .any(|p| p.contains("elided or cut")));
    let title = ElementHandle::find_by_accessible_label(&w, "自助拍摄证件照")
        .next()
        .unwrap();
    let found = check_pixels(&shot, &title, "自助拍摄证件照", 0);
    assert!(found.is_empty(), "{found:?}");
    // Faint: muted grey is fine on white, the contrast of the disabled key colour is not.
    assert!(contrast([0x8a, 0x92, 0x9c], [0xe8, 0xea, 0xed]) < MIN_CONTRAST);
    assert!(contrast([0x3c, 0x46, 0x50], [0xff, 0xff, 0xff]) > 7.0);
    // Font size measured from ink: the 96 px title measures 96 ± 3.
    let (_, ink_em) = font_measure("自助拍摄证件照");
    let (p, s) = (title.absolute_position(), title.size());
    let rows: Vec<u32> = (p.y as u32..(p.y + s.height) as u32)
        .filter(|y| {
            (p.x as u32..(p.x + s.width) as u32).any(|x| shot.as_slice()[(y * shot.width() + x) as usize].r < 128)
        })
        .collect();
    let px = (rows.last().unwrap() - rows[0] + 1) as f32 / ink_em;
    assert!((px - 96.0).abs() <= 3.0, "the 96 px title measures {px:.1} px");
}

/// The posing screen's oval is where the validator wants the face: the box
/// `convert::guide_box` gives in the camera frame, through the preview's cover fit.
#[test]
fn the_guide_oval_matches_the_expected_face_box() {
    init();
    let w = AppWindow::new().unwrap();
    w.show().unwrap();
    let g = w.global::<AppState>();
    select_language(false);
    let cfg = screens::config();
    let spec = cfg.spec_for(kiosk::config::DocumentId::IdCard, None);
    for (o, width, height) in ORIENTATIONS {
        orient(&w, width, height);
        screens::base(&g, false);
        g.set_page(kiosk::ui::Page::Posing);
        snapshot(&w);
        let preview = ElementHandle::find_by_accessible_label(&w, "摄像头画面")
            .next()
            .unwrap();
        let oval = ElementHandle::find_by_accessible_label(&w, "请对准轮廓")
            .next()
            .unwrap();
        let img = g.get_preview().size();
        let (fw, fh) = (img.width as f32, img.height as f32);
        let [bx, by, bw, bh] = kiosk::ui::convert::guide_box(&spec, img.width, img.height);
        let (pp, ps) = (preview.absolute_position(), preview.size());
        let k = (ps.width / fw).max(ps.height / fh);
        let (ox, oy) = (pp.x + (ps.width - fw * k) / 2.0, pp.y + (ps.height - fh * k) / 2.0);
        let want = [ox + bx * fw * k, oy + by * fh * k, bw * fw * k, bh * fh * k];
        let (p, s) = (oval.absolute_position(), oval.size());
        let got = [p.x, p.y, s.width, s.height];
        for (a, b) in got.iter().zip(want) {
            assert!((a - b).abs() <= 2.0, "{o}: oval {got:?}, face box {want:?}");
        }
        // And it is on screen, within the preview.
        assert!(
            p.x >= pp.x && p.y >= pp.y && p.x + s.width <= pp.x + ps.width && p.y + s.height <= pp.y + ps.height,
            "{o}: oval {got:?} outside the preview at {pp:?} {ps:?}"
        );
    }
}
