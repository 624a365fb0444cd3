//! The public routes: health, receipts (the issuing kiosk's key or the receipt's token),
//! verification by number, and the claim slip's page. Everyone but a kiosk is counted
//! against their address.

use super::auth::{PublicClient, Reader};
use super::errors::{fail, not_found, Fail};
use super::kiosk::view;
use super::{esc, Service};
use crate::review::api::*;
use crate::review::store::Row;
use crate::review::ReviewError;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use std::sync::Arc;

/// `GET /healthz`, `/v1/receipts/{number}[.pdf]`, `/v1/receipts/{number}/verify`,
/// `/v1/claims/{code}`. `/healthz` stays unlimited: it reveals only a count and
/// monitoring polls it.
pub(super) fn routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/receipts/{number}", get(receipt))
        .route("/v1/receipts/{number}/verify", get(verify))
        .route("/v1/claims/{code}", get(claim))
}

async fn healthz(State(svc): State<Arc<Service>>) -> Result<Json<Health>, Fail> {
    let st = svc.store();
    let pending = st.count_state("pending").await? + st.count_state("received").await?;
    Ok(Json(Health {
        status: "ok".into(),
        pending,
    }))
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// Who may read receipt `row`: the kiosk that submitted it (its key), or whoever presents
/// its token. Receipt numbers are sequential, so neither a number alone nor another
/// kiosk's key opens it — both get the same 404 as an unknown number (no existence oracle).
fn may_read(row: &Row, kiosk: Option<&str>, presented: Option<&str>) -> bool {
    let own = kiosk.is_some_and(|k| k == row.kiosk_id);
    let token = match (presented, row.token.as_deref()) {
        (Some(p), Some(t)) => crate::domain::ReceiptToken::new(t).is_ok_and(|t| t.matches(p)),
        _ => false,
    };
    own || token
}

async fn receipt(
    State(svc): State<Arc<Service>>,
    Reader { kiosk }: Reader,
    Path(number): Path<String>,
    Query(q): Query<TokenQuery>,
) -> Result<Response, Fail> {
    let (number, pdf) = match number.strip_suffix(".pdf") {
        Some(n) => (n.to_string(), true),
        None => (number, false),
    };
    // A kiosk key counted against that kiosk's limit (401 when unknown); anyone else
    // against their address's: the `Reader` extractor did both.
    let row = svc
        .store()
        .by_number(&number)
        .await?
        .filter(|row| may_read(row, kiosk.as_deref(), q.token.as_deref()))
        .ok_or_else(not_found)?;
    let photo = svc.store().photo(&row.id).await?;
    let issued = row
        .decided_at
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.with_timezone(&crate::domain::china_time()).to_rfc3339())
        .unwrap_or_default();
    let (Some(n), Some(valid_until)) = (row.receipt_number.as_deref(), row.valid_until) else {
        return Err(not_found());
    };
    if pdf {
        return receipt_pdf(&svc, &row, n, valid_until, photo);
    }
    // The issuing kiosk gets the token back for its operator reprint's QR; a token
    // holder already has it.
    let token = match kiosk.as_deref() {
        Some(k) if k == row.kiosk_id => row
            .token
            .as_deref()
            .and_then(|t| crate::domain::ReceiptToken::new(t).ok()),
        _ => None,
    };
    let no_store = [
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    Ok((
        no_store,
        Json(ReceiptView {
            receipt_number: crate::domain::ReceiptNumber::new(n).map_err(ReviewError::Corrupt)?,
            doc: row.doc,
            region: row.region.clone(),
            title: svc.cfg.receipt_title(row.doc, &row.region),
            kiosk_id: row.kiosk_id.clone(),
            issued_at: issued,
            valid_until,
            status: row.validity(svc.today()),
            photo_jpeg_b64: photo.map(|p| base64::engine::general_purpose::STANDARD.encode(p)),
            token,
        }),
    )
        .into_response())
}

/// The electronic receipt as A6 PDF, rendered by the same layout as the printed slip.
fn receipt_pdf(
    svc: &Service,
    row: &Row,
    number: &str,
    valid_until: chrono::NaiveDate,
    photo: Option<Vec<u8>>,
) -> Result<Response, Fail> {
    let internal = |e: String| {
        log::error!("receipt PDF for {number}: {e}");
        fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "pdf_failed",
            "回执生成失败",
            "The receipt could not be rendered",
        )
    };
    let number = crate::domain::ReceiptNumber::new(number).map_err(internal)?;
    let issued = row
        .decided_at
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .unwrap_or_default()
        .with_timezone(&crate::domain::china_time());
    let job = crate::domain::SlipJob {
        slip: crate::domain::Slip::Receipt {
            number,
            valid_until,
            doc: row.doc,
            region: row.region.clone(),
        },
        photo: photo.map(crate::domain::PhotoJpeg),
        masked_name: None,
        issued_at: issued,
        token: row
            .token
            .as_deref()
            .and_then(|t| crate::domain::ReceiptToken::new(t).ok()),
    };
    let receipt = crate::receipt::model::Receipt::build(&job, &svc.cfg, None).map_err(|e| internal(e.to_string()))?;
    let bytes = crate::receipt::pdf::render(&receipt, crate::receipt::pdf::PageSize::A6)
        .map_err(|e| internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (header::CACHE_CONTROL, "no-store"),
            // The URL carries the token: no Referer may take it elsewhere.
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        bytes,
    )
        .into_response())
}

async fn verify(
    State(svc): State<Arc<Service>>,
    _: PublicClient,
    Path(number): Path<String>,
) -> Result<Json<VerifyView>, Fail> {
    let status = match svc.store().by_number(&number).await? {
        Some(row) => row.validity(svc.today()),
        None => Validity::Unknown,
    };
    Ok(Json(VerifyView { status }))
}

/// The claim slip's QR opens this on a phone: JSON by default (the API), or — when the
/// browser asks for HTML — a small page in both languages with the result and, once
/// approved, a link to the electronic receipt. The claim code itself is 128 random bits.
async fn claim(
    State(svc): State<Arc<Service>>,
    _: PublicClient,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, Fail> {
    let row = svc.store().by_claim(&code).await?.ok_or_else(not_found)?;
    let v = view(&row);
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !wants_html {
        return Ok(Json(v).into_response());
    }
    let body = match (&v.status, &v.receipt_pdf) {
        (
            Status::Approved {
                receipt_number,
                valid_until,
                ..
            },
            Some(pdf),
        ) => format!(
            "<p>审核已通过。/ Approved.</p><p>回执号 Receipt No.: <b id=\"number\">{n}</b></p>\
             <p>有效期至 Valid until: {valid}</p>\
             <p><a id=\"pdf\" href=\"{href}\">下载电子照片回执（PDF）/ Download the receipt (PDF)</a></p>",
            n = esc(receipt_number.as_str()),
            valid = valid_until.format("%Y-%m-%d"),
            href = esc(pdf),
        ),
        (Status::Rejected { reasons }, _) => {
            let items: String = reasons
                .iter()
                .map(|r| format!("<li>{} / {}</li>", esc(&r.zh), esc(&r.en)))
                .collect();
            format!("<p>照片未通过审核，请重新拍照。/ The photo was not accepted; please take a new one.</p><ul>{items}</ul>")
        }
        _ => "<p>审核中，请稍后刷新本页。/ Still under review; reload this page later.</p>".to_string(),
    };
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        Html(format!(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\">\
             <title>照片审核结果 / Photo review result</title></head><body>\
             <h1>照片审核结果 / Photo review result</h1>{body}</body></html>"
        )),
    )
        .into_response())
}
