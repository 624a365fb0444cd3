//! Every screen of the kiosk, set up from real product state, for the layout test
//! (`layout.rs`) and the screenshots (`screenshots.rs`), in either orientation and language.
//!
//! Where the state comes from (docs/ui.md, "Screenshots"):
//! - documents, regions, consent wording, site, next steps: the built-in configuration
//!   with a Guangzhou hall (`kiosk.home_region` 440100), through the same `convert`
//!   functions the bridge uses (`region_choices`, `document_name`, `next_steps`);
//! - the preview: a frame of the built-in replay camera (what `kiosk run` shows without a
//!   camera), and the guide oval from `convert::guide_box` for the ID card's spec;
//! - the review photo: made by the make-photo code path (`vision::Maker::make_photo`, what
//!   `kiosk make-photo` runs) from the corpus capture `images/pub_ok_obama_00.jpg`;
//! - the reasons on posing and see-staff: the validator's hints (`vision::Validator::check`,
//!   what `kiosk check-photo` runs) on `images/pub_accessory_cap_hv_test2_1.jpg` (a cap);
//! - the card fault: `CardFault::Silent`'s prompt (the reader does not answer); the printer
//!   fault: `PrinterFault::PaperOut.plain`;
//! - the receipt number: a sample in the reference review centre's format (no centre runs
//!   here), valid for the ID card's `validity_days` from today; the QR is the URL the
//!   bridge builds for it.

use crate::ui_support::{admin_page_named, AdminPage, Page};
use kiosk::config::{Config, DocumentId};
use kiosk::pinyin::{Dict, PAGE_SIZE};
use kiosk::ui::convert;
use kiosk::ui::{AppState, CardState, Choice, PinState};
use slint::{ModelRc, SharedString, VecModel};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The read-only corpus beside the checkout (README: `../shared`).
pub fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// The compliant photo the maker makes from a corpus capture (once per process).
pub fn made_photo() -> &'static image::RgbImage {
    static P: OnceLock<image::RgbImage> = OnceLock::new();
    P.get_or_init(|| {
        let path = corpus().join("images/pub_ok_obama_00.jpg");
        let img = kiosk::vision::read_image(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (the corpus must be at ../shared)", path.display()));
        let spec = Config::builtin().spec_for(DocumentId::IdCard, None);
        let made = kiosk::vision::Maker::new()
            .unwrap()
            .make_photo(&img, &spec)
            .unwrap()
            .unwrap_or_else(|r| panic!("make-photo refused {}: {:?}", path.display(), r.prompts()));
        image::load_from_memory(&made.jpeg.bytes).unwrap().to_rgb8()
    })
}

/// The validator's hints for a capture with a cap on, most important first.
pub fn failed_reasons() -> &'static Vec<kiosk::domain::Prompt> {
    static R: OnceLock<Vec<kiosk::domain::Prompt>> = OnceLock::new();
    R.get_or_init(|| {
        let path = corpus().join("images/pub_accessory_cap_hv_test2_1.jpg");
        let img = kiosk::vision::read_image(&path).unwrap();
        let spec = Config::builtin().spec_for(DocumentId::IdCard, None);
        let report = kiosk::vision::Validator::new().unwrap().check(&img, &spec).unwrap();
        let prompts: Vec<_> = report
            .checks
            .iter()
            .filter(|c| !c.pass)
            .filter_map(|c| c.hint.map(|h| h.prompt()))
            .collect();
        assert!(!prompts.is_empty(), "{} passed the validator", path.display());
        prompts
    })
}

/// The kiosk's configuration for the screens: built-in, in a Guangzhou hall.
pub fn config() -> Config {
    let mut cfg = Config::builtin();
    cfg.kiosk.home_region = Some("440100".parse().unwrap());
    cfg.kiosk.public_receipt_url = Some("https://review.example.gov.cn".into());
    cfg
}

/// Sets what every screen shares (the data a session shows), in `en` or Chinese.
pub fn base(g: &AppState<'_>, en: bool) {
    let cfg = config();
    let doc = DocumentId::IdCard;
    let region: kiosk::config::RegionCode = "440100".parse().unwrap();
    g.set_english(en);
    g.set_site(
        convert::pick(
            en,
            "广州市天河区政务服务中心",
            "Tianhe District Government Service Centre, Guangzhou",
        )
        .into(),
    );
    let docs: Vec<Choice> = cfg
        .offered_documents()
        .into_iter()
        .map(|d| Choice {
            id: d.as_str().into(),
            label: convert::document_name(&cfg, en, d).into(),
        })
        .collect();
    g.set_documents(ModelRc::new(VecModel::from(docs)));
    let (home, others) = convert::region_choices(&cfg, doc, en);
    g.set_home_region(home);
    g.set_regions(ModelRc::new(VecModel::from(others)));
    g.set_doc_name(convert::document_name(&cfg, en, doc).into());
    let (zh, en_text) = cfg.consent_text(doc, &region);
    g.set_consent_text(if en { en_text } else { zh }.into());
    g.set_needs_name(true);
    g.set_needs_id(true);
    g.set_card_state(CardState::NoReader);
    g.set_card_message("".into());
    g.set_details_error("".into());
    g.set_typing_name(true);
    g.set_name_pick_first(false);
    show_pinyin(g, "张", "san");
    g.set_id_number("44010619900101123".into());

    let mut cam = kiosk::camera::ReplaySource::open(Path::new("builtin"), 15.0, false).unwrap();
    use kiosk::camera::FrameSource as _;
    let mut frame = cam.next_frame().unwrap();
    for _ in 0..20 {
        frame = cam.next_frame().unwrap();
    }
    g.set_preview(convert::preview_image(&frame.image, true));
    g.set_has_preview(true);
    let spec = cfg.spec_for(doc, Some(&region));
    let [x, y, width, height] = convert::guide_box(&spec, frame.image.width(), frame.image.height());
    g.set_guide(kiosk::ui::GuideBox { x, y, width, height });
    g.set_pose_ok(false);
    g.set_countdown(-1);
    g.set_hint("".into());
    g.set_reasons("".into());
    g.set_photo(convert::photo_image(made_photo()));
    g.set_retakes_left(2);

    // The number as the review centre issues it: today's 17th in this region (20 digits,
    // Luhn-checked), not a hand-written one.
    let today = kiosk::ops::daily::today();
    let number = kiosk::review::number::make(&region, today, 17).expect("a receipt number");
    let valid_until = today + chrono::Days::new(spec.validity_days as u64);
    let slip = kiosk::domain::Slip::Receipt {
        number: number.clone(),
        valid_until,
        doc,
        region: region.clone(),
    };
    let (shown, valid, claim) = convert::slip_text(&slip);
    g.set_number(shown.into());
    g.set_valid_until(valid.into());
    g.set_is_claim(claim);
    g.set_next_steps(convert::next_steps(&cfg, &slip, en).into());
    let token = kiosk::domain::ReceiptToken::random();
    let url = kiosk::receipt::model::screen_qr(&cfg, &slip, Some(&token)).expect("a public receipt URL");
    g.set_qr(convert::qr_image(&url).unwrap());
    g.set_has_qr(true);
    g.set_can_another(true);
    g.set_printer_fault(kiosk::domain::PrinterFault::PaperOut.plain(en).into());
    g.set_faults(convert::device_name(en, kiosk::session::Device::Printer).into());
    g.set_help_desk("".into());
    g.set_hand_off_code("".into());
    g.set_staff_call(kiosk::ui::StaffCall::None);
    g.set_paper_near_end(false);
    g.set_demo(false);
    g.set_still_there(-1);
    g.set_admin_page(AdminPage::None);
    g.set_pin_state(PinState::None);
    g.set_version(concat!("v", env!("CARGO_PKG_VERSION")).into());
    g.set_volume(80);
    g.set_admin_message("".into());
    g.set_reload_step(0);
    g.set_admin_lines(ModelRc::new(VecModel::from(vec![
        SharedString::from("正常 ok storage: /var/lib/kiosk: 51234 MB free"),
        "正常 ok camera: replay:builtin@15, 1280x720".into(),
        "纸张 paper: 212 slips since reload, 1 spoiled, ~18200 mm left".into(),
    ])));
}

/// The name keyboard with `name` typed and `pending` pinyin waiting: the first page of
/// candidates, as the composer offers them.
pub fn show_pinyin(g: &AppState<'_>, name: &str, pending: &str) {
    g.set_name(name.into());
    g.set_name_pending(pending.into());
    let page: Vec<SharedString> = Dict::shared()
        .candidates(pending, name.is_empty())
        .iter()
        .take(PAGE_SIZE)
        .map(|c| c.to_string().into())
        .collect();
    g.set_name_has_prev(false);
    g.set_name_has_next(!page.is_empty());
    g.set_name_latin(false);
    g.set_name_candidates(ModelRc::new(VecModel::from(page)));
}

/// One screen: its file name and how to reach it from [`base`].
pub struct Screen {
    pub name: &'static str,
    pub setup: fn(&AppState<'_>, bool),
}

fn page(g: &AppState<'_>, p: Page) {
    g.set_page(p);
}

/// Every screen: each `Page`, the overlays and the variants (card states, an error, the
/// hand-off, the staff call, the admin screens).
pub fn all() -> Vec<Screen> {
    macro_rules! s {
        ($name:literal, |$g:ident, $en:ident| $body:expr) => {
            Screen {
                name: $name,
                setup: |$g, $en| {
                    let _ = $en;
                    $body
                },
            }
        };
    }
    vec![
        s!("01-attract", |g, en| page(g, Page::Attract)),
        s!("02-attract-paper-near-end", |g, en| {
            page(g, Page::Attract);
            g.set_paper_near_end(true);
            g.set_demo(true);
        }),
        s!("03-choose-document", |g, en| page(g, Page::ChooseDocument)),
        s!("04-choose-region", |g, en| page(g, Page::ChooseRegion)),
        s!("05-consent", |g, en| page(g, Page::Consent)),
        s!("06-declined", |g, en| page(g, Page::Declined)),
        s!("07-details", |g, en| page(g, Page::Details)),
        s!("08-details-id-keypad", |g, en| {
            page(g, Page::Details);
            g.set_typing_name(false);
        }),
        s!("09-details-error", |g, en| {
            page(g, Page::Details);
            g.set_typing_name(false);
            let e = kiosk::session::details::validate_id_number("440106199001011230").unwrap_err();
            g.set_details_error(convert::pick(en, e.zh, e.en).into());
        }),
        s!("10-details-card-read", |g, en| {
            page(g, Page::Details);
            g.set_card_state(CardState::Filled);
            g.set_demo(true);
        }),
        s!("11-details-card-fault", |g, en| {
            page(g, Page::Details);
            let (state, msg) = convert::card_state(
                en,
                &kiosk::session::CardStatus::Fault(kiosk::domain::CardFault::Silent.prompt()),
            );
            g.set_card_state(state);
            g.set_card_message(msg.into());
        }),
        s!("12-posing", |g, en| page(g, Page::Posing)),
        s!("13-posing-reasons", |g, en| {
            page(g, Page::Posing);
            // The live hint is the most important failure; the reasons line lists them all.
            let reasons = failed_reasons();
            g.set_hint(convert::prompt(en, &reasons[0]).into());
            g.set_reasons(convert::prompts(en, reasons).into());
        }),
        s!("14-review-photo", |g, en| page(g, Page::ReviewPhoto)),
        s!("15-uploading", |g, en| page(g, Page::Uploading)),
        s!("16-printing", |g, en| page(g, Page::Printing)),
        s!("17-waiting-for-printer", |g, en| page(g, Page::WaitingForPrinter)),
        s!("18-done", |g, en| page(g, Page::Done)),
        s!("19-see-staff", |g, en| {
            page(g, Page::SeeStaff);
            g.set_reasons(convert::prompts(en, failed_reasons()).into());
            g.set_hand_off_code(kiosk::domain::HandOffCode::random().as_str().into());
            g.set_staff_call(kiosk::ui::StaffCall::NotReached);
        }),
        s!("20-out-of-service", |g, en| page(g, Page::OutOfService)),
        s!("21-still-there", |g, en| {
            page(g, Page::Details);
            g.set_still_there(8);
        }),
        s!("22-call-staff", |g, en| {
            page(g, Page::ChooseDocument);
            g.set_staff_call(kiosk::ui::StaffCall::NotReached);
        }),
        s!("23-admin-pin", |g, en| {
            g.set_admin_page(admin_page_named("pin"));
            g.set_pin_state(PinState::LockedOut);
            g.set_pin_wait(30);
        }),
        s!("24-admin-menu", |g, en| g.set_admin_page(admin_page_named("menu"))),
        s!("25-admin-reload", |g, en| g.set_admin_page(admin_page_named("reload"))),
        s!("26-admin-reprint", |g, en| g
            .set_admin_page(admin_page_named("reprint"))),
    ]
}
