//! The operator's reprint screen through the UI, by accessible label: PIN → 维护菜单 →
//! 补打回执 → the number typed on the on-screen keypad → 补打. The runtime fetches the
//! receipt from the real reference review service (HTTP on 127.0.0.1) with the kiosk's
//! key and hands it to the printer as a reprint; an unknown number shows the service's
//! answer and reaches no printer.

use crate::ui_support;
use kiosk::camera::ReplaySource;
use kiosk::config::{DocumentId, RegionCode};
use kiosk::domain::Slip;
use kiosk::ports::{Decision, Uploader};
use kiosk::review::server::ServerOptions;
use kiosk::review::ReviewClient;
use kiosk::runtime::Backends;
use kiosk::testkit::review::*;
use kiosk::testkit::runtime::{PlainMaker, RecordingPrinter, ScriptedGuide};
use kiosk::ui::audio::RecordingSink;
use kiosk::ui::KioskUi;
use slint::ComponentHandle;
use std::path::Path;
use std::time::{Duration, Instant};
use ui_support::*;

const PIN: &str = "246810";
const KIOSK: &str = "KIOSK-GZ-0001";
const KEY: &str = "ui-reprint-key-0123456789abcdef0123456789";

/// Pumps the UI until a label starting with `prefix` shows; returns it.
fn wait_label(r: &Rig, prefix: &str, secs: u64) -> String {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(secs) {
        r.ui.sync();
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(16));
        if let Some(l) = r.label_starting(prefix) {
            return l;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no label starting {prefix:?} within {secs} s (page {:?})", r.page());
}

#[test]
fn operator_reprints_a_receipt_by_number_from_the_review_service() {
    i_slint_backend_testing::init_no_event_loop();
    let svc = start_service(
        ServerOptions {
            auto_approve_after: Some(Duration::ZERO),
            tick: Duration::from_millis(50),
            ..ServerOptions::default()
        },
        &[(KIOSK, KEY)],
    );
    let issuer_dir = tempfile::tempdir().unwrap();
    let (number, token) = {
        let mut issuer = ReviewClient::start(fast_options(&svc.url(), KIOSK, KEY, issuer_dir.path())).unwrap();
        let region = RegionCode::new("440100").unwrap();
        issuer
            .submit(sample_submission(&svc.cfg, DocumentId::IdCard, &region))
            .unwrap();
        match wait_decision(&mut issuer, Duration::from_secs(30)).expect("decision") {
            Decision::Approved { number, token, .. } => (number, token),
            d => panic!("not approved: {d:?}"),
        }
    };

    // The kiosk: its review client is the real one, its printer records what it is given.
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.kiosk.id = KIOSK.into();
    let printer = RecordingPrinter::default();
    let (jobs, reprints) = (printer.jobs.clone(), printer.reprints.clone());
    let camera = ReplaySource::open(Path::new("builtin"), 15.0, false).unwrap();
    let unplug = camera.unplug_switch();
    let backends = Backends {
        camera: Box::new(camera),
        guide: Box::new(ScriptedGuide::new(4, 4)),
        maker: Box::new(PlainMaker { refuse: false }),
        uploader: Box::new(ReviewClient::start(fast_options(&svc.url(), KIOSK, KEY, data.path())).unwrap()),
        printer: Box::new(printer),
        alerts: Box::new(kiosk::ports::NoConsole),
        idcard: None,
    };
    let audio = RecordingSink::default();
    let ui = KioskUi::new(&cfg, backends, Box::new(audio.clone())).unwrap();
    ui.window().window().set_size(slint::PhysicalSize::new(1080, 1920));
    ui.window().show().unwrap();
    let r = Rig {
        ui,
        audio,
        jobs,
        unplug,
        data,
    };
    kiosk::ops::pin::set_pin(r.data.path(), PIN).unwrap();
    r.wait_for("开始", 5);
    r.long_press("admin-corner", Duration::from_millis(5100));
    r.wait_for("管理密码", 2);
    r.type_keys(PIN);
    r.tap("确定");
    r.label_starting("维护菜单").expect("admin menu");

    r.tap("补打回执");
    r.wait_for("回执号", 2);
    // An unknown (well-formed) number: the service's answer, nothing printed.
    r.type_keys("44010026010100000018");
    r.tap("补打");
    let msg = wait_label(&r, "补打失败", 10);
    assert!(
        msg.contains("审核中心没有本机签发的回执号 44010026010100000018"),
        "{msg}"
    );
    assert!(
        reprints.lock().unwrap().is_empty(),
        "an unknown number reached the printer"
    );

    // 删除 takes one digit at a time (issue #15); the issued number is then typed key by key.
    let typed = |r: &Rig| {
        r.find("回执号")[0]
            .accessible_value()
            .map(|v| v.to_string())
            .unwrap_or_default()
    };
    r.tap("删除");
    assert_eq!(typed(&r), "4401002601010000001");
    for _ in 0..19 {
        r.tap("删除");
    }
    assert_eq!(typed(&r), "");
    r.type_keys(number.as_str());
    let field = r.find("回执号");
    assert_eq!(
        field[0].accessible_value().map(|v| v.to_string()),
        Some(number.to_string()),
        "the typed number"
    );
    r.tap("补打");
    let msg = wait_label(&r, "已补打回执", 10);
    assert!(msg.contains(number.as_str()), "{msg}");
    let got = reprints.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one reprint");
    let Slip::Receipt {
        number: n, doc, region, ..
    } = &got[0].slip
    else {
        panic!("not a receipt slip")
    };
    assert_eq!((n, *doc, region.as_str()), (&number, DocumentId::IdCard, "440100"));
    let photo = got[0].photo.as_ref().expect("the photo came back from the service");
    assert_eq!(&photo.0[..2], &[0xFF, 0xD8], "a JPEG");
    assert!(got[0].masked_name.is_none(), "no name travels with a reprint");
    assert_eq!(
        got[0].token.as_ref(),
        Some(&token),
        "the service gave the issuing kiosk the token back: the reprint's QR opens the receipt"
    );
    assert!(r.jobs.lock().unwrap().is_empty(), "a reprint is not a first print");

    r.tap("返回维护菜单");
    r.label_starting("维护菜单").expect("back in the admin menu");
}
