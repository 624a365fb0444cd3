//! The kiosks' routes: upload a submission (idempotent), poll its status. Every handler
//! takes a [`KioskAuth`]: the kiosk's key, within its rate limit.

use super::auth::{JsonContent, KioskAuth};
use super::errors::{conflict, fail, not_found, Fail};
use super::{receipt_pdf_path, Service};
use crate::config::{DocumentId, RegionCode};
use crate::domain::ClaimCode;
use crate::review::api::*;
use crate::review::store::{Insert, NewSubmission, Row};
use crate::review::ReviewError;
use crate::session::Details;
use crate::vision::intake::{decode_jpeg_exact, wrong_size_prompt, IntakeError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// `POST /v1/submissions`, `GET /v1/submissions/{id}`.
pub(super) fn routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/v1/submissions", post(submit))
        .route("/v1/submissions/{id}", get(submission))
}

/// The submit body with the fields the service validates itself (for precise errors).
#[derive(serde::Deserialize)]
struct RawSubmit {
    kiosk_id: String,
    doc: String,
    region: String,
    details: Details,
    claim_code: String,
    photo_jpeg_b64: String,
}

async fn submit(
    State(svc): State<Arc<Service>>,
    KioskAuth(kiosk): KioskAuth,
    _: JsonContent,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let body = body.map_err(|r| {
        if super::transport::is_body_timeout(&r) {
            fail(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "请求体发送超时",
                format!(
                    "The request body did not arrive within {} s",
                    svc.opts.body_timeout.as_secs_f64()
                ),
            )
        } else if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            fail(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "请求过大",
                format!("The request body exceeds {} bytes", svc.opts.body_limit),
            )
        } else {
            fail(r.status(), "bad_body", "请求体无法读取", r.body_text())
        }
    })?;
    let idem = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|k| {
            (1..=MAX_IDEMPOTENCY_KEY).contains(&k.len())
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .ok_or_else(|| {
            fail(
                StatusCode::BAD_REQUEST,
                "idempotency_key",
                "缺少或无效的 Idempotency-Key",
                format!("Header Idempotency-Key is required: 1–{MAX_IDEMPOTENCY_KEY} chars of [A-Za-z0-9_-]"),
            )
        })?
        .to_string();
    let sha = hex::encode(Sha256::digest(&body));
    // A replay is answered before validation: same key and bytes → the same submission.
    if let Some(row) = svc.store().by_idem(&kiosk, &idem).await? {
        return replay(row, &sha);
    }
    let raw: RawSubmit = serde_json::from_slice(&body).map_err(|e| {
        fail(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "请求不是有效的JSON",
            format!("Malformed JSON at line {} column {}", e.line(), e.column()),
        )
    })?;
    if raw.kiosk_id != kiosk {
        return Err(fail(
            StatusCode::FORBIDDEN,
            "kiosk_mismatch",
            "终端编号与密钥不符",
            "kiosk_id does not match the kiosk key",
        ));
    }
    let doc: DocumentId = raw.doc.parse().map_err(|m: String| {
        fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_document",
            "未知的证件类型",
            m,
        )
    })?;
    let region: RegionCode = raw
        .region
        .parse()
        .ok()
        .filter(|r| svc.cfg.regions.contains_key(r))
        .ok_or_else(|| {
            fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_region",
                "未知的办证地区",
                "Unknown region code",
            )
        })?;
    if !svc.cfg.regions[&region].documents.contains(&doc) {
        return Err(fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "document_not_offered",
            "该地区不受理此证件的相片回执",
            format!("Region {region} does not accept photo receipts for {doc}"),
        ));
    }
    if raw.claim_code.len() != 32
        || !raw
            .claim_code
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "bad_claim_code",
            "受理码格式错误",
            "claim_code must be 32 lowercase hex digits",
        ));
    }
    let spec = svc.cfg.spec_for(doc, Some(&region));
    if let Err(errs) = raw.details.validate(&spec.fields) {
        let fields: Vec<String> = errs.iter().map(|e| format!("{:?}", e.field)).collect();
        return Err(fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_details",
            "个人信息不完整或有误",
            format!("Invalid or missing details: {}", fields.join(", ")),
        ));
    }
    let photo = base64::engine::general_purpose::STANDARD
        .decode(raw.photo_jpeg_b64.as_bytes())
        .map_err(|_| {
            fail(
                StatusCode::BAD_REQUEST,
                "bad_base64",
                "照片编码错误",
                "photo_jpeg_b64 is not standard base64",
            )
        })?;
    // The header's pixel size first (nothing decoded): only the document's exact size is
    // decoded at all, and then within `decode_max_alloc` bytes.
    let size = (spec.width, spec.height);
    let max_alloc = svc.opts.decode_max_alloc;
    let (decoded, photo) =
        tokio::task::spawn_blocking(move || (decode_jpeg_exact(&photo, size, max_alloc).map(drop), photo))
            .await
            .map_err(|e| ReviewError::Task(format!("JPEG decoder: {e}")))?;
    match decoded {
        Ok(()) => {}
        Err(IntakeError::WrongSize { width, height }) => {
            let p = wrong_size_prompt(&spec, width, height);
            return Err(fail(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "wrong_pixel_size",
                &p.zh,
                p.en,
            ));
        }
        Err(IntakeError::NotJpeg | IntakeError::Decode(_)) => {
            return Err(fail(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "not_jpeg",
                "照片不是有效的JPEG文件",
                "The photo is not a decodable JPEG",
            ))
        }
    }
    let details_json = serde_json::to_string(&raw.details).map_err(ReviewError::Encode)?;
    let outcome = svc
        .store()
        .insert(
            NewSubmission {
                kiosk_id: kiosk.clone(),
                idem_key: idem,
                body_sha256: sha.clone(),
                doc,
                region: region.clone(),
                claim_code: ClaimCode(raw.claim_code.clone()),
                details_json,
                photo,
            },
            svc.clock.now(),
        )
        .await?;
    match outcome {
        Insert::Created(row) => {
            crate::failpoint::hit("review:after-insert");
            log::info!("submission {} received from {kiosk} ({doc}, {region})", row.id);
            svc.wake.notify_one();
            Ok((StatusCode::ACCEPTED, Json(accepted(&row))).into_response())
        }
        Insert::Replayed(row) => replay(row, &sha),
        Insert::Conflict => Err(conflict()),
        Insert::ClaimTaken => Err(fail(
            StatusCode::CONFLICT,
            "claim_code_in_use",
            "受理码已被使用",
            "The claim code belongs to another submission",
        )),
    }
}

fn replay(row: Row, sha: &str) -> Result<Response, Fail> {
    if row.body_sha256 != sha {
        return Err(conflict());
    }
    Ok((StatusCode::OK, Json(accepted(&row))).into_response())
}

fn accepted(row: &Row) -> SubmitAccepted {
    SubmitAccepted {
        id: row.id.clone(),
        status: row.status(),
    }
}

pub(super) fn view(row: &Row) -> SubmissionView {
    let status = row.status();
    let receipt_pdf = match &status {
        Status::Approved {
            receipt_number, token, ..
        } => Some(receipt_pdf_path(receipt_number.as_str(), token)),
        _ => None,
    };
    SubmissionView {
        id: row.id.clone(),
        doc: row.doc,
        region: row.region.clone(),
        status,
        receipt_pdf,
    }
}

async fn submission(
    State(svc): State<Arc<Service>>,
    KioskAuth(kiosk): KioskAuth,
    Path(id): Path<String>,
) -> Result<Json<SubmissionView>, Fail> {
    // Another kiosk's submission is "not found", not "forbidden": no existence oracle.
    let row = svc
        .store()
        .by_id(&id)
        .await?
        .filter(|r| r.kiosk_id == kiosk)
        .ok_or_else(not_found)?;
    Ok(Json(view(&row)))
}
