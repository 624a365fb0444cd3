//! The operator page: plain HTML forms, no script, no external assets. Pending photos
//! with approve and reject (a reason from a fixed list), counted against the client's
//! address.

use super::auth::OperatorClient;
use super::errors::{fail, not_found, not_pending, Fail};
use super::{esc, Service};
use crate::domain::Prompt;
use crate::session::Details;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// `GET /review`, `GET /review/photo/{id}`, `POST /review/{id}/approve|reject`.
pub(super) fn routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/review", get(operator_page))
        .route("/review/photo/{id}", get(operator_photo))
        .route("/review/{id}/approve", post(operator_approve))
        .route("/review/{id}/reject", post(operator_reject))
}

/// Reasons an operator can pick when rejecting.
pub const OPERATOR_REASONS: [(&str, &str, &str); 5] = [
    (
        "background",
        "背景不符合要求",
        "The background does not meet the standard",
    ),
    (
        "expression",
        "表情或姿态不符合要求",
        "Expression or pose does not meet the standard",
    ),
    ("glare", "眼镜反光或遮挡眼睛", "Glasses glare or cover the eyes"),
    ("head_covering", "头部有遮挡", "The head or face is covered"),
    (
        "other",
        "照片不符合要求，请重新拍摄",
        "The photo does not meet the standard; please retake it",
    ),
];

async fn operator_page(State(svc): State<Arc<Service>>, _: OperatorClient) -> Result<Html<String>, Fail> {
    let rows = svc.store().pending_for_operator()?;
    let mut items = String::new();
    for (row, details) in &rows {
        let name = details
            .as_deref()
            .and_then(|d| serde_json::from_str::<Details>(d).ok())
            .and_then(|d| d.name.as_deref().map(crate::session::details::mask_name))
            .unwrap_or_default();
        let id = esc(&row.id);
        let options: String = OPERATOR_REASONS
            .iter()
            .map(|(k, zh, en)| format!("<option value=\"{k}\">{} / {}</option>", esc(zh), esc(en)))
            .collect();
        items.push_str(&format!(
            "<li class=\"pending\" id=\"sub-{id}\" data-id=\"{id}\">\
             <img src=\"/review/photo/{id}\" alt=\"photo\" width=\"179\">\
             <div>{doc} · {region} · {kiosk} · {name}</div>\
             <form method=\"post\" action=\"/review/{id}/approve\"><button type=\"submit\" class=\"approve\">批准 / Approve</button></form>\
             <form method=\"post\" action=\"/review/{id}/reject\"><select name=\"reason\">{options}</select>\
             <button type=\"submit\" class=\"reject\">驳回 / Reject</button></form></li>",
            doc = esc(svc.cfg.documents[&row.doc].name_zh.as_str()),
            region = esc(svc.cfg.regions.get(&row.region).map(|r| r.name_zh.as_str()).unwrap_or(row.region.as_str())),
            kiosk = esc(&row.kiosk_id),
            name = esc(&name),
        ));
    }
    Ok(Html(format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <title>照片审核 / Photo review</title>\
         <style>body{{font-family:sans-serif;margin:1em}}li{{list-style:none;border:1px solid #ccc;margin:.5em 0;padding:.5em}}\
         form{{display:inline-block;margin-right:1em}}</style></head><body>\
         <h1>待审核照片 / Pending photos</h1><p id=\"count\">{n}</p><ul id=\"pending\">{items}</ul>\
         <p><a href=\"/review\">刷新 / Refresh</a></p></body></html>",
        n = rows.len()
    )))
}

async fn operator_photo(
    State(svc): State<Arc<Service>>,
    _: OperatorClient,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    let photo = svc.store().photo(&id)?.ok_or_else(not_found)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        photo,
    )
        .into_response())
}

async fn operator_approve(
    State(svc): State<Arc<Service>>,
    _: OperatorClient,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    let row = svc.store().by_id(&id)?.ok_or_else(not_found)?;
    if !svc.approve(&row.id, row.doc, &row.region)? {
        return Err(not_pending());
    }
    Ok(Redirect::to("/review").into_response())
}

/// The reject form: one `<select name="reason">`; a form without it rejects as `other`.
#[derive(serde::Deserialize)]
struct RejectForm {
    reason: Option<String>,
}

async fn operator_reject(
    State(svc): State<Arc<Service>>,
    _: OperatorClient,
    Path(id): Path<String>,
    form: Result<Form<RejectForm>, FormRejection>,
) -> Result<Response, Fail> {
    let Form(form) = form.map_err(|r| fail(r.status(), "bad_form", "表单无法读取", r.body_text()))?;
    let key = form.reason.unwrap_or_else(|| "other".into());
    let (k, zh, en) = OPERATOR_REASONS
        .iter()
        .find(|(k, _, _)| *k == key)
        .copied()
        .ok_or_else(|| {
            fail(
                StatusCode::BAD_REQUEST,
                "bad_reason",
                "未知的驳回原因",
                "Unknown rejection reason",
            )
        })?;
    if !svc.store().reject(&id, &[Prompt::new(k, zh, en)], svc.clock.now())? {
        return Err(not_pending());
    }
    log::info!("submission {id}: rejected by the operator ({k})");
    Ok(Redirect::to("/review").into_response())
}
