//! The check thresholds come from the document table in the config
//! (`[documents.ID.limits.checks]`, overridable per region): an override changes the
//! validator's verdict on a real capture, and bad settings are refused with the field named.

use kiosk::config::{CheckLimits, Config, DocumentId, RegionCode};
use kiosk::vision::Validator;
use std::path::Path;

fn capture() -> image::RgbImage {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = [here.join("../shared"), here.join("../../shared")]
        .into_iter()
        .map(|p| p.join("corpus/images/pub_ok_collins_00.jpg"))
        .find(|p| p.exists())
        .expect("../shared/corpus beside the checkout");
    image::open(p).expect("corpus image").to_rgb8()
}

/// Parses `text` as a file that asked for demo mode (the defaults' embedded review centre
/// needs it; these tests are about the vision limits).
fn parse(text: &str) -> Result<Config, kiosk::config::ConfigError> {
    let text = if text.contains("[kiosk]") {
        text.to_string()
    } else {
        format!("{text}\n[kiosk]\ndemo = true\n")
    };
    Config::from_toml_str(&text, Path::new("/etc/kiosk/kiosk.toml"))
}

#[test]
fn a_document_and_a_region_override_change_the_verdict() {
    let cfg = parse(
        r#"
[documents.id-card.limits.checks]
min_sharpness = 5.0

[regions.440000.overrides.social-security.limits.checks]
min_eye_visibility = 0.99
"#,
    )
    .expect("config parses");
    let img = capture();
    let mut v = Validator::new().expect("models load");

    // Defaults: the capture passes for both documents.
    let builtin = Config::builtin();
    for doc in [DocumentId::IdCard, DocumentId::SocialSecurity] {
        let r = v.check(&img, &builtin.spec_for(doc, None)).expect("analysis");
        assert!(r.pass(), "{doc}: {:?}", r.failed());
    }

    // The document-wide override: the same capture now fails sharpness, and only that.
    let spec = cfg.spec_for(DocumentId::IdCard, None);
    assert_eq!(spec.limits.checks.min_sharpness, 5.0);
    let r = v.check(&img, &spec).expect("analysis");
    assert_eq!(r.failed(), vec!["sharpness"]);
    let c = r.checks.iter().find(|c| c.name == "sharpness").unwrap();
    assert!(
        c.limit.contains('5'),
        "the limit shown is the configured one: {}",
        c.limit
    );

    // The region override applies in Guangdong only.
    let gd = RegionCode::new("440000").unwrap();
    let r = v
        .check(&img, &cfg.spec_for(DocumentId::SocialSecurity, Some(&gd)))
        .expect("analysis");
    assert_eq!(r.failed(), vec!["eyes_visible"]);
    let r = v
        .check(&img, &cfg.spec_for(DocumentId::SocialSecurity, None))
        .expect("analysis");
    assert!(r.pass(), "{:?}", r.failed());
    // Other thresholds keep their defaults.
    assert_eq!(
        cfg.spec_for(DocumentId::SocialSecurity, Some(&gd))
            .limits
            .checks
            .min_sharpness,
        CheckLimits::default().min_sharpness
    );
}

#[test]
fn unknown_and_out_of_range_thresholds_are_refused_with_the_field() {
    let e = parse("[documents.id-card.limits.checks]\nmin_sharpnes = 0.5\n").unwrap_err();
    assert!(e.to_string().contains("min_sharpnes"), "{e}");
    let e = parse("[documents.exit-entry.limits.checks]\nmax_glare_share = 2.0\n").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("documents.exit-entry") && msg.contains("max_glare_share"),
        "{msg}"
    );
    let e = parse("[regions.440000.overrides.id-card.limits.checks]\nmin_face_luma = 240.0\n").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("regions.440000") && msg.contains("min_face_luma"), "{msg}");
}

#[test]
fn defaults_are_todays_values() {
    let c = CheckLimits::default();
    assert_eq!(
        Config::builtin()
            .spec_for(DocumentId::DrivingLicence, None)
            .limits
            .checks,
        c
    );
    assert_eq!(
        (
            c.min_eye_openness,
            c.min_eye_visibility,
            c.min_sharpness,
            c.pitch_shape_tolerance_deg
        ),
        (0.09, 0.35, 0.55, 8.0)
    );
}
