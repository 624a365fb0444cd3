//! Renders every screen headless with Slint's software renderer (Chinese, portrait
//! 1080×1920; a few landscape and English) and checks that Chinese text really renders
//! with the embedded font: system fonts are hidden from the renderer first.
//!
//! Regenerate `docs/screenshots/*.png` with:
//!   KIOSK_WRITE_SCREENSHOTS=1 cargo test --test ui screenshots::

use crate::ui_support::{admin_page_named, page_named, AdminPage, Page};
use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use kiosk::camera::{FrameSource, ReplaySource};
use kiosk::pinyin::{Dict, PAGE_SIZE};
use kiosk::ui::PinState;
use kiosk::ui::{AppState, AppWindow, CardState, Choice};
use slint::{ComponentHandle, ModelRc, Rgba8Pixel, SharedPixelBuffer, SharedString, VecModel};
use std::path::{Path, PathBuf};

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

/// The name keyboard as it stands with `name` typed and `pending` pinyin waiting: the
/// first page of candidates for it.
fn show_pinyin(g: &AppState<'_>, name: &str, pending: &str) {
    g.set_name(name.into());
    g.set_name_pending(pending.into());
    let page: Vec<SharedString> = Dict::shared()
        .candidates(pending, name.is_empty())
        .iter()
        .take(PAGE_SIZE)
        .map(|c| c.to_string().into())
        .collect();
    g.set_name_has_next(!page.is_empty());
    g.set_name_candidates(ModelRc::new(VecModel::from(page)));
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

fn sample(w: &AppWindow) {
    let g = w.global::<AppState>();
    let mut cfg = kiosk::config::Config::builtin();
    // A Guangzhou hall, as the kiosk is set up in one.
    cfg.kiosk.home_region = Some("440100".parse().unwrap());
    g.set_site("广州市天河区政务服务中心".into());
    let docs: Vec<Choice> = cfg
        .offered_documents()
        .into_iter()
        .map(|d| Choice {
            id: d.as_str().into(),
            label: cfg.documents[&d].name_zh.as_str().into(),
        })
        .collect();
    g.set_documents(ModelRc::new(VecModel::from(docs)));
    let (home, others) = kiosk::ui::convert::region_choices(&cfg, kiosk::config::DocumentId::IdCard, false);
    g.set_home_region(home);
    g.set_regions(ModelRc::new(VecModel::from(others)));
    g.set_doc_name("居民身份证".into());
    g.set_needs_name(true);
    g.set_needs_id(true);
    g.set_name("张三".into());
    g.set_id_number("44010619900101123".into());
    let mut cam = ReplaySource::open(Path::new("builtin"), 15.0, false).unwrap();
    let mut frame = cam.next_frame().unwrap();
    for _ in 0..20 {
        frame = cam.next_frame().unwrap();
    }
    g.set_preview(kiosk::ui::convert::preview_image(&frame.image, true));
    g.set_has_preview(true);
    g.set_hint("请靠近一些".into());
    let photo = image::imageops::crop_imm(&frame.image, 440, 60, 400, 493).to_image();
    g.set_photo(kiosk::ui::convert::photo_image(&photo));
    g.set_retakes_left(2);
    g.set_number("440100261126000017".into());
    g.set_valid_until("2027-05-25".into());
    g.set_qr(
        kiosk::ui::convert::qr_image(
            "https://review.example.gov.cn/v1/receipts/440100261126000017.pdf?token=5f0c9a1e7b2d4c86a3e91f07d6b85c24",
        )
        .unwrap(),
    );
    g.set_has_qr(true);
    g.set_can_another(true);
    g.set_printer_fault(kiosk::domain::PrinterFault::PaperOut.plain(false).into());
    g.set_faults("打印机故障或缺纸".into());
    g.set_reasons("背景不是白色；请摘下帽子".into());
    g.set_version("v0.1.0".into());
    g.set_volume(80);
    g.set_admin_lines(ModelRc::new(VecModel::from(vec![
        slint::SharedString::from("正常 ok storage: /var/lib/kiosk: 51234 MB free"),
        "正常 ok camera: replay:builtin@15, 1280x720".into(),
        "纸张 paper: 212 slips since reload, 1 spoiled, ~18200 mm left".into(),
        "统计 counters: sessions 240, receipts 212, claims 3, retakes 31, rejections 5, captures 251".into(),
    ])));
}

#[test]
fn every_screen_renders_with_chinese_glyphs() {
    init();
    let w = AppWindow::new().unwrap();
    slint::select_bundled_translation("zh").unwrap();
    w.window().set_size(slint::PhysicalSize::new(1080, 1920));
    w.show().unwrap();
    sample(&w);
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

    let pages = [
        "attract",
        "choose-document",
        "choose-region",
        "details",
        "posing",
        "review-photo",
        "uploading",
        "printing",
        "waiting-for-printer",
        "done",
        "see-staff",
        "out-of-service",
    ];
    for p in pages {
        g.set_page(page_named(p));
        let s = snapshot(&w);
        let l: Vec<u8> = s.as_slice().iter().map(|c| c.g).collect();
        let distinct: std::collections::BTreeSet<u8> = l.iter().copied().collect();
        assert!(distinct.len() > 8, "{p} renders blank");
        save(
            &s,
            &format!("{:02}-{p}", pages.iter().position(|x| *x == p).unwrap() + 1),
        );
    }
    g.set_page(Page::Details);
    g.set_details_error("身份证号码有误，请逐位核对".into());
    save(&snapshot(&w), "13-details-error");
    g.set_details_error("".into());
    // The pinyin keyboard with candidates (张 picked, "san" waiting), and the ID keypad.
    show_pinyin(&g, "张", "san");
    let s = snapshot(&w);
    assert!(ElementHandle::find_by_accessible_label(&w, "三").next().is_some());
    save(&s, "29-details-pinyin");
    g.set_typing_name(false);
    save(&snapshot(&w), "30-details-id-keypad");
    g.set_typing_name(true);
    assert_details_fit(&w, 1080.0, 1920.0);
    g.set_page(Page::ChooseDocument);
    g.set_still_there(8);
    save(&snapshot(&w), "14-still-there");
    g.set_still_there(-1);
    g.set_page(Page::Attract);
    g.set_paper_near_end(true);
    save(&snapshot(&w), "15-attract-paper-near-end");
    g.set_paper_near_end(false);
    for (i, a) in ["pin", "menu", "reload", "reprint"].into_iter().enumerate() {
        g.set_admin_page(admin_page_named(a));
        if a == "pin" {
            g.set_pin_state(PinState::LockedOut);
            g.set_pin_wait(30);
        }
        save(&snapshot(&w), &format!("{}-admin-{a}", 16 + i));
    }
    g.set_admin_page(AdminPage::None);

    // English on the done screen.
    slint::select_bundled_translation("en").unwrap();
    g.set_english(true);
    g.set_page(Page::Done);
    let s = snapshot(&w);
    assert!(
        ElementHandle::find_by_accessible_label(&w, "Please take your photo receipt")
            .next()
            .is_some()
    );
    save(&s, "20-done-english");
    slint::select_bundled_translation("zh").unwrap();
    g.set_english(false);

    // Landscape 1920×1080.
    w.window().set_size(slint::PhysicalSize::new(1920, 1080));
    g.set_portrait(false);
    for p in ["attract", "choose-region", "details", "posing", "done"] {
        g.set_page(page_named(p));
        let s = snapshot(&w);
        assert_eq!((s.width(), s.height()), (1920, 1080));
        save(&s, &format!("21-landscape-{p}"));
    }
    g.set_page(Page::Details);
    assert_details_fit(&w, 1920.0, 1080.0);
}
