//! Built-in document table: the numbers of `shared/specs/photo-standards.md` §1 and §4.
//! They are only defaults; the config file may override any field, globally or per region.

use super::{DocumentId, DocumentSpec, Field, Limits, Rgb, SpanF, SpanU};

/// Capture-check defaults shared by every document (photo-standards §2 and §4).
pub fn default_limits() -> Limits {
    Limits {
        min_face_px: 100,
        advisory_eye_distance_px: 90,
        max_yaw_deg: 5.0,
        max_pitch_deg: 5.0,
        max_roll_deg: 8.0,
        centre_band: 0.70,
        background_min_lightness: 80.0,
        background_max_delta_e: 10.0,
        background_min_share: 0.90,
        mouth_closed: false,
        expression_neutral: false,
        hold_still_s: 0.8,
        checks: super::CheckLimits::default(),
    }
}

const WHITE: Rgb = Rgb([255, 255, 255]);

fn id_like(id: DocumentId, name_zh: &str, name_en: &str, kb: (u32, u32)) -> DocumentSpec {
    DocumentSpec {
        id,
        name_zh: name_zh.into(),
        name_en: name_en.into(),
        width: 358,
        height: 441,
        dpi: 350,
        face_width: Some(SpanU::new(193, 221)),
        head_width: None,
        head_length: None,
        head_length_ratio: None,
        eye_distance_ratio: None,
        hair_top: Some(SpanU::new(7, 21)),
        eye_line_min_from_bottom: Some(207),
        eye_mid_x: None,
        face_centre_x_ratio: SpanF::new(0.45, 0.55),
        backgrounds: vec![WHITE],
        jpeg_quality_min: 70,
        file_kb: SpanU::new(kb.0, kb.1),
        validity_days: 60,
        fields: vec![Field::Name, Field::IdNumber],
        limits: default_limits(),
    }
}

/// The five documents with their built-in numbers.
pub fn builtin_documents() -> Vec<DocumentSpec> {
    let id_card = id_like(DocumentId::IdCard, "居民身份证", "Resident ID card", (14, 20));
    let mut rp = id_like(DocumentId::ResidencePermit, "居住证", "Residence permit", (14, 30));
    rp.validity_days = 180;
    let mut ss = id_like(
        DocumentId::SocialSecurity,
        "社会保障卡",
        "Social security card",
        (14, 40),
    );
    ss.face_width = Some(SpanU::new(179, 255));
    ss.eye_mid_x = Some(SpanU::new(162, 196));
    ss.validity_days = 180;
    let dl = DocumentSpec {
        id: DocumentId::DrivingLicence,
        name_zh: "机动车驾驶证".into(),
        name_en: "Driving licence".into(),
        width: 260,
        height: 378,
        dpi: 300,
        face_width: None,
        head_width: Some(SpanU::new(165, 189)),
        head_length: Some(SpanU::new(224, 260)),
        head_length_ratio: None,
        eye_distance_ratio: None,
        hair_top: Some(SpanU::new(10, 20)),
        eye_line_min_from_bottom: None,
        eye_mid_x: None,
        face_centre_x_ratio: SpanF::new(0.45, 0.55),
        backgrounds: vec![WHITE],
        jpeg_quality_min: 70,
        file_kb: SpanU::new(14, 30),
        validity_days: 180,
        fields: vec![Field::Name, Field::IdNumber],
        limits: default_limits(),
    };
    let ee = DocumentSpec {
        id: DocumentId::ExitEntry,
        name_zh: "出入境证件".into(),
        name_en: "Exit-entry document".into(),
        width: 354,
        height: 472,
        dpi: 300,
        face_width: None,
        head_width: None,
        head_length: None,
        head_length_ratio: Some(SpanF::new(0.70, 0.80)),
        eye_distance_ratio: Some(SpanF::new(0.23, 0.33)),
        hair_top: None,
        eye_line_min_from_bottom: None,
        eye_mid_x: None,
        face_centre_x_ratio: SpanF::new(0.45, 0.55),
        backgrounds: vec![WHITE],
        jpeg_quality_min: 70,
        file_kb: SpanU::new(20, 80),
        validity_days: 180,
        fields: vec![Field::Name, Field::IdNumber],
        limits: default_limits(),
    };
    vec![id_card, ss, dl, ee, rp]
}
