//! The operator page: plain HTML forms, no script, no external assets. Pending photos
//! with approve and reject (a reason from a fixed list), and the latest decisions with who
//! made them. Every route needs a logged-in operator ([`crate::staff`]: a GET without one
//! goes to `/login`, a POST without the session's CSRF token gets 403) and is counted
//! against the client's address.

use super::auth::OperatorClient;
use super::errors::{fail, not_found, not_pending, Fail};
use super::{esc, Service};
use crate::domain::Prompt;
use crate::review::api::OperatorView;
use crate::review::store::{decided_by, Row};
use crate::session::Details;
use crate::staff::{csrf_input, logout_form, Staff, StaffForm};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::Arc;

/// Decisions listed under the pending photos.
const RECENT_DECISIONS: u32 = 50;

/// `GET /review`, `GET /review/photo/{id}`, `GET /review/{id}`,
/// `POST /review/{id}/approve|reject`; the staff login routes; security headers on all.
pub(super) fn routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/review", get(operator_page))
        .route("/review/photo/{id}", get(operator_photo))
        .route("/review/{id}", get(operator_submission))
        .route("/review/{id}/approve", post(operator_approve))
        .route("/review/{id}/reject", post(operator_reject))
        .merge(crate::staff::routes())
        .layer(axum::middleware::map_response(crate::staff::security_headers))
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

/// A decision time as the page and the JSON show it (China Standard Time).
fn decided_at(row: &Row) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    row.decided_at
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.with_timezone(&crate::domain::china_time()))
}

/// Who decided, in words for the page.
fn who(by: Option<&str>) -> String {
    match by {
        Some(decided_by::MACHINE) => "机器检查 / machine check".into(),
        Some(decided_by::AUTO) => "自动批准 / auto-approve".into(),
        Some(b) => b.strip_prefix("staff:").unwrap_or(b).to_string(),
        None => "—".into(),
    }
}

async fn operator_page(
    State(svc): State<Arc<Service>>,
    _: OperatorClient,
    Staff(me): Staff,
) -> Result<Html<String>, Fail> {
    let rows = svc.store().pending_for_operator().await?;
    let csrf = csrf_input(&me);
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
             <form method=\"post\" action=\"/review/{id}/approve\">{csrf}<button type=\"submit\" class=\"approve\">批准 / Approve</button></form>\
             <form method=\"post\" action=\"/review/{id}/reject\">{csrf}<select name=\"reason\">{options}</select>\
             <button type=\"submit\" class=\"reject\">驳回 / Reject</button></form></li>",
            doc = esc(svc.cfg.documents[&row.doc].name_zh.as_str()),
            region = esc(svc.cfg.regions.get(&row.region).map(|r| r.name_zh.as_str()).unwrap_or(row.region.as_str())),
            kiosk = esc(&row.kiosk_id),
            name = esc(&name),
        ));
    }
    let recent = svc.store().recent_decisions(RECENT_DECISIONS).await?;
    let audit: String = recent
        .iter()
        .map(|row| {
            let state = if row.state == "approved" {
                "批准 / approved"
            } else {
                "驳回 / rejected"
            };
            format!(
                "<tr class=\"decision\" data-decision=\"{id}\"><td>{when}</td><td>{id}</td><td>{kiosk}</td>\
                 <td>{state}</td><td>{number}</td><td class=\"by\">{by}</td></tr>",
                when = decided_at(row)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_default(),
                id = esc(&row.id),
                kiosk = esc(&row.kiosk_id),
                number = esc(row.receipt_number.as_deref().unwrap_or("")),
                by = esc(&who(row.decided_by.as_deref())),
            )
        })
        .collect();
    Ok(Html(format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <title>照片审核 / Photo review</title>\
         <style>body{{font-family:sans-serif;margin:1em}}li{{list-style:none;border:1px solid #ccc;margin:.5em 0;padding:.5em}}\
         form{{display:inline-block;margin-right:1em}}td,th{{padding:.2em .6em;text-align:left}}</style></head><body>\
         {logout}<h1>待审核照片 / Pending photos</h1><p id=\"count\">{n}</p><ul id=\"pending\">{items}</ul>\
         <p><a href=\"/review\">刷新 / Refresh</a></p>\
         <h2>最近的决定 / Recent decisions</h2><table id=\"audit\"><tr><th>时间 / When</th><th>编号 / Id</th>\
         <th>终端 / Kiosk</th><th>结果 / Decision</th><th>回执号 / Receipt</th><th>操作人 / By</th></tr>{audit}</table>\
         </body></html>",
        logout = logout_form(&me),
        n = rows.len()
    )))
}

async fn operator_photo(
    State(svc): State<Arc<Service>>,
    _: OperatorClient,
    _: Staff,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    let photo = svc.store().photo(&id).await?.ok_or_else(not_found)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        photo,
    )
        .into_response())
}

/// A submission's state and audit trail, as JSON.
async fn operator_submission(
    State(svc): State<Arc<Service>>,
    _: OperatorClient,
    _: Staff,
    Path(id): Path<String>,
) -> Result<Json<OperatorView>, Fail> {
    let row = svc.store().by_id(&id).await?.ok_or_else(not_found)?;
    let reasons = match row.status() {
        crate::review::api::Status::Rejected { reasons } => reasons,
        _ => vec![],
    };
    Ok(Json(OperatorView {
        id: row.id.clone(),
        kiosk_id: row.kiosk_id.clone(),
        doc: row.doc,
        region: row.region.clone(),
        state: row.state.clone(),
        receipt_number: row
            .receipt_number
            .as_deref()
            .and_then(|n| crate::domain::ReceiptNumber::new(n).ok()),
        reasons,
        decided_at: decided_at(&row).map(|t| t.to_rfc3339()),
        decided_by: row.decided_by.clone(),
    }))
}

async fn operator_approve(
    State(svc): State<Arc<Service>>,
    _: OperatorClient,
    Path(id): Path<String>,
    form: StaffForm,
) -> Result<Response, Fail> {
    let row = svc.store().by_id(&id).await?.ok_or_else(not_found)?;
    if !svc
        .approve(&row.id, row.doc, &row.region, &decided_by::staff(&form.staff.user))
        .await?
    {
        return Err(not_pending());
    }
    Ok(Redirect::to("/review").into_response())
}

/// The reject form: one `<select name="reason">`; a form without it rejects as `other`.
async fn operator_reject(
    State(svc): State<Arc<Service>>,
    _: OperatorClient,
    Path(id): Path<String>,
    form: StaffForm,
) -> Result<Response, Fail> {
    let key = form.get("reason").unwrap_or("other");
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
    let by = decided_by::staff(&form.staff.user);
    if !svc
        .store()
        .reject(&id, &[Prompt::new(k, zh, en)], svc.clock.now(), &by)
        .await?
    {
        return Err(not_pending());
    }
    log::info!("submission {id}: rejected by {by} ({k})");
    Ok(Redirect::to("/review").into_response())
}
