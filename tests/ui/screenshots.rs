//! Renders every screen headless with Slint's software renderer (`screens.rs`: each page,
//! overlay and variant from real product state; portrait 1080×1920 and landscape
//! 1920×1080; the longest English) and checks that Chinese text really renders with the
//! embedded font: system fonts are hidden from the renderer first.
//!
//! Regenerate `docs/screenshots/*.png` (and the walk-up tests' 31–37) with:
//!   KIOSK_WRITE_SCREENSHOTS=1 cargo test --offline --test ui -- screenshots:: walkup::

use crate::ui_support::Page;
use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use kiosk::ui::{AppState, AppWindow, CardState};
use slint::{ComponentHandle, Rgba8Pixel, SharedPixelBuffer};
use std::path::PathBuf;

fn init() {
    // Hide the system's CJK fonts (this machine has some; a kiosk may not): the renderer
    // sees only DejaVu (Latin), so any Chinese that renders comes from the embedded font.
    let dir = std::env::temp_dir().join(format!("kiosk-nofonts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("fonts.conf");
    std::fs::write(&conf, "<?xml version=\"1.0\"?><fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>/nonexistent</cachedir></fontconfig>").unwrap();
    std::env::set_var("FONTCONFIG_FILE", &conf);
    std::env::set_var("FONTCONFIG_PATH", &dir);
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .unwrap();
}

fn snapshot(w: &AppWindow) -> SharedPixelBuffer<Rgba8Pixel> {
    i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_millis(20));
    w.window().take_snapshot().expect("software snapshot")
}

fn save(buf: &SharedPixelBuffer<Rgba8Pixel>, name: &str) {
    if std::env::var_os("KIOSK_WRITE_SCREENSHOTS").is_none() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let img = image::RgbaImage::from_raw(buf.width(), buf.height(), buf.as_bytes().to_vec()).unwrap();
    // Half size keeps the repository small; still readable.
    let small = image::imageops::resize(
        &img,
        buf.width() / 2,
        buf.height() / 2,
        image::imageops::FilterType::Triangle,
    );
    small.save(dir.join(format!("{name}.png"))).unwrap();
}

/// Pixels inside the element's box, as luma.
fn crop_luma(buf: &SharedPixelBuffer<Rgba8Pixel>, e: &ElementHandle, scale: f32) -> Vec<u8> {
    let p = e.absolute_position();
    let s = e.size();
    let (x0, y0) = ((p.x * scale) as u32, (p.y * scale) as u32);
    let (w, h) = ((s.width * scale) as u32, (s.height * scale) as u32);
    let px = buf.as_slice();
    let mut out = vec![];
    for y in y0..(y0 + h).min(buf.height()) {
        for x in x0..(x0 + w).min(buf.width()) {
            let c = px[(y * buf.width() + x) as usize];
            out.push(((c.r as u32 * 3 + c.g as u32 * 6 + c.b as u32) / 10) as u8);
        }
    }
    out
}

fn ink(l: &[u8]) -> usize {
    l.iter().filter(|v| **v < 128).count()
}

/// Every control of the details screen lies inside the window, even with the card
/// banner and the demo banner shown (the tallest case).
fn assert_details_fit(w: &AppWindow, width: f32, height: f32) {
    let g = w.global::<AppState>();
    g.set_demo(true);
    g.set_card_state(CardState::Waiting);
    for typing_name in [true, false] {
        g.set_typing_name(typing_name);
        snapshot(w);
        let labels: &[&str] = if typing_name {
            &[
                "姓名",
                "身份证号码",
                "q",
                "p",
                "m",
                "删除",
                "清空",
                "下一页",
                "三",
                "下一步",
                "取消",
            ]
        } else {
            &["姓名", "身份证号码", "1", "X", "删除", "下一步", "取消"]
        };
        for label in labels {
            use i_slint_backend_testing::AccessibleRole;
            let e = ElementHandle::find_by_accessible_label(w, label)
                .find(|e| {
                    matches!(
                        e.accessible_role(),
                        Some(AccessibleRole::Button | AccessibleRole::TextInput)
                    )
                })
                .unwrap_or_else(|| panic!("no {label:?} on the details screen"));
            let (p, s) = (e.absolute_position(), e.size());
            assert!(
                p.x >= 0.0 && p.y >= 0.0 && p.x + s.width <= width + 0.5 && p.y + s.height <= height + 0.5,
                "{label:?} at {p:?} {s:?} is outside the {width}×{height} window (typing the name: {typing_name})"
            );
            assert!(s.height >= 110.0, "{label:?} is {} px tall", s.height);
        }
    }
    g.set_typing_name(true);
    g.set_demo(false);
    g.set_card_state(CardState::NoReader);
}

#[test]
fn every_screen_renders_with_chinese_glyphs() {
    init();
    let w = AppWindow::new().unwrap();
    slint::select_bundled_translation("zh").unwrap();
    w.window().set_size(slint::PhysicalSize::new(1080, 1920));
    w.show().unwrap();
    crate::screens::base(&w.global::<AppState>(), false);
    let g = w.global::<AppState>();

    // Chinese renders: the attract title has ink, and the same box filled with characters
    // no font has (missing-glyph boxes) looks different.
    g.set_page(Page::Attract);
    let shot = snapshot(&w);
    let site = ElementHandle::find_by_accessible_label(&w, "广州市天河区政务服务中心")
        .next()
        .expect("site text");
    let title = ElementHandle::find_by_accessible_label(&w, "自助拍摄证件照")
        .next()
        .expect("title");
    let title_px = crop_luma(&shot, &title, 1.0);
    assert!(
        ink(&title_px) > 2000,
        "the title has almost no dark pixels: Chinese did not render"
    );
    let cjk = crop_luma(&shot, &site, 1.0);
    g.set_site(
        "\u{E000}\u{E001}\u{E002}\u{E003}\u{E004}\u{E005}\u{E006}\u{E007}\u{E008}\u{E009}\u{E00A}\u{E00B}".into(),
    );
    let boxes_shot = snapshot(&w);
    let boxes = crop_luma(&boxes_shot, &site, 1.0);
    let differ = cjk.iter().zip(&boxes).filter(|(a, b)| a.abs_diff(**b) > 64).count();
    assert!(ink(&cjk) > 300, "site line has no ink");
    assert!(
        differ > cjk.len() / 50,
        "Chinese text looks like missing-glyph boxes ({differ} px differ)"
    );
    g.set_site("广州市天河区政务服务中心".into());

    // Every screen (screens.rs: real product state), portrait and landscape; English for
    // the screens with the longest English.
    g.set_site("广州市天河区政务服务中心".into());
    for (o, width, height) in crate::layout::ORIENTATIONS {
        for screen in crate::screens::all() {
            slint::select_bundled_translation("zh").unwrap();
            crate::layout::orient(&w, width, height);
            crate::screens::base(&g, false);
            (screen.setup)(&g, false);
            let s = snapshot(&w);
            assert_eq!((s.width(), s.height()), (width, height));
            let l: Vec<u8> = s.as_slice().iter().map(|c| c.g).collect();
            let distinct: std::collections::BTreeSet<u8> = l.iter().copied().collect();
            assert!(distinct.len() > 8, "{} renders blank", screen.name);
            save(&s, &file_name(screen.name, o));
        }
        for (screen, name) in [("18-done", "27-done-english"), ("05-consent", "28-consent-english")] {
            let screen = crate::screens::all().into_iter().find(|s| s.name == screen).unwrap();
            slint::select_bundled_translation("en").unwrap();
            crate::layout::orient(&w, width, height);
            crate::screens::base(&g, true);
            (screen.setup)(&g, true);
            save(&snapshot(&w), &file_name(name, o));
        }
        slint::select_bundled_translation("zh").unwrap();
        crate::screens::base(&g, false);
        g.set_page(Page::Details);
        assert_details_fit(&w, width as f32, height as f32);
    }
    // The English done screen says so in English.
    slint::select_bundled_translation("en").unwrap();
    crate::screens::base(&g, true);
    g.set_page(Page::Done);
    snapshot(&w);
    assert!(
        ElementHandle::find_by_accessible_label(&w, "Please take your photo receipt")
            .next()
            .is_some()
    );
    slint::select_bundled_translation("zh").unwrap();
}

/// `NAME.png` in portrait, `NAME-landscape.png` in landscape.
fn file_name(name: &str, orientation: &str) -> String {
    if orientation == "portrait" {
        name.to_string()
    } else {
        format!("{name}-{orientation}")
    }
}
