//! The reference review centre: axum routes over the [`Store`], the asynchronous review
//! loop (machine check, auto-approve, retention purge) and the operator page.
//!
//! Handlers hold the store's mutex only for single short statements/transactions; JPEG
//! decoding runs on the blocking pool.

use super::api::*;
use super::clock::Clock;
use super::keys::Keys;
use super::store::{Insert, NewSubmission, Row, Store};
use super::ReviewError;
use crate::config::{Config, DocumentId, RegionCode};
use crate::domain::{ClaimCode, Prompt};
use crate::session::Details;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Tunables of the service (CLI flags).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Approve machine-checked submissions after this long; `None` = wait for an operator.
    pub auto_approve_after: Option<Duration>,
    /// Keep photo and details this many days after the receipt expires.
    pub grace_days: u32,
    /// Largest request body in bytes.
    pub body_limit: usize,
    /// Requests per minute per client address on the public routes.
    pub public_per_min: u32,
    /// Requests per minute per kiosk key (submissions, status polls, receipt reads).
    pub kiosk_per_min: u32,
    /// Requests per minute per client address on the operator page and its actions
    /// (higher than `public_per_min`: one page load fetches every pending photo).
    pub operator_per_min: u32,
    /// How often the review loop runs when nothing wakes it.
    pub tick: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            auto_approve_after: None,
            grace_days: 7,
            body_limit: 1024 * 1024,
            public_per_min: 120,
            kiosk_per_min: 600,
            operator_per_min: 1200,
            tick: Duration::from_millis(250),
        }
    }
}

/// Shared state of one running service.
pub struct Service {
    cfg: Config,
    store: Mutex<Store>,
    keys: Keys,
    opts: ServerOptions,
    clock: Arc<dyn Clock>,
    public_limit: Limiter,
    kiosk_limit: Limiter,
    operator_limit: Limiter,
    wake: tokio::sync::Notify,
}

impl Service {
    pub fn new(cfg: Config, store: Store, keys: Keys, opts: ServerOptions, clock: Arc<dyn Clock>) -> Arc<Service> {
        Arc::new(Service {
            public_limit: Limiter::new(opts.public_per_min),
            kiosk_limit: Limiter::new(opts.kiosk_per_min),
            operator_limit: Limiter::new(opts.operator_per_min),
            cfg,
            store: Mutex::new(store),
            keys,
            opts,
            clock,
            wake: tokio::sync::Notify::new(),
        })
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn today(&self) -> chrono::NaiveDate {
        self.clock.now().with_timezone(&crate::ops::china_time()).date_naive()
    }

    /// One pass of the review loop: check new photos, auto-approve, purge.
    pub fn review_pass(&self) -> Result<(), ReviewError> {
        let unchecked = self.store().unchecked(32)?;
        for (id, doc, region, photo) in unchecked {
            let reasons = check_photo(&self.cfg, doc, &region, &photo);
            let now = self.clock.now();
            if reasons.is_empty() {
                self.store().mark_checked(&id, now)?;
                log::info!("submission {id}: machine check passed, pending approval");
            } else {
                let ids: Vec<&str> = reasons.iter().map(|r| r.id.as_str()).collect();
                self.store().reject(&id, &reasons, now)?;
                log::info!("submission {id}: rejected by the machine check: {}", ids.join(","));
            }
        }
        if let Some(after) = self.opts.auto_approve_after {
            let now = self.clock.now();
            let cutoff = now.timestamp_millis() - after.as_millis() as i64;
            let due = self.store().pending_checked_before(cutoff)?;
            for (id, doc, region) in due {
                self.approve(&id, doc, &region)?;
            }
        }
        let purged = self.store().purge(self.today(), self.opts.grace_days)?;
        if purged > 0 {
            log::info!("retention: purged photo and details of {purged} expired receipt(s)");
        }
        Ok(())
    }

    fn approve(&self, id: &str, doc: DocumentId, region: &RegionCode) -> Result<bool, ReviewError> {
        let days = self.cfg.validity_days(doc, region);
        let done = self.store().approve(id, self.clock.now(), days)?;
        if done {
            log::info!("submission {id}: approved ({doc}, {region}, valid {days} days)");
        }
        Ok(done)
    }
}

/// The service's own re-check of an uploaded JPEG: file size bounds, decoding, and the
/// project's validator ([`crate::vision::review_checks`]).
pub fn check_photo(cfg: &Config, doc: DocumentId, region: &RegionCode, jpeg: &[u8]) -> Vec<Prompt> {
    let spec = cfg.spec_for(doc, Some(region));
    let mut reasons = vec![];
    let kb = jpeg.len().div_ceil(1024) as u32;
    if !spec.file_kb.contains(kb) {
        reasons.push(Prompt::new(
            "file_size",
            &format!(
                "照片文件大小应为{}–{} KB（实际{} KB）",
                spec.file_kb.min, spec.file_kb.max, kb
            ),
            &format!(
                "The photo file must be {}–{} KB (it is {} KB)",
                spec.file_kb.min, spec.file_kb.max, kb
            ),
        ));
    }
    match image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg) {
        Ok(img) => reasons.extend(crate::vision::review_checks(&img.to_rgb8(), &spec)),
        Err(_) => reasons.push(bad_jpeg()),
    }
    reasons
}

fn bad_jpeg() -> Prompt {
    Prompt::new(
        "bad_jpeg",
        "照片不是有效的JPEG文件",
        "The photo is not a valid JPEG file",
    )
}

// ---------------------------------------------------------------------------------------
// Errors as JSON

/// A 4xx/5xx answer with an [`ApiError`] body.
pub struct Fail(StatusCode, ApiError, Option<u64>);

fn fail(status: StatusCode, code: &str, zh: &str, en: impl Into<String>) -> Fail {
    Fail(
        status,
        ApiError {
            error: code.into(),
            message_zh: zh.into(),
            message_en: en.into(),
        },
        None,
    )
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        match self.2 {
            // RFC 9110 §10.2.3: seconds until a retry can succeed.
            Some(secs) => (
                self.0,
                [(axum::http::header::RETRY_AFTER, secs.to_string())],
                Json(self.1),
            )
                .into_response(),
            None => (self.0, Json(self.1)).into_response(),
        }
    }
}

impl From<ReviewError> for Fail {
    fn from(e: ReviewError) -> Fail {
        log::error!("internal error: {e}");
        fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务内部错误，请稍后重试",
            "Internal error; please retry later",
        )
    }
}

fn unauthorized() -> Fail {
    fail(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "缺少或无效的终端密钥",
        "Missing or unknown kiosk key (Authorization: Bearer KEY)",
    )
}

fn not_found() -> Fail {
    fail(StatusCode::NOT_FOUND, "not_found", "未找到", "Not found")
}

/// A 429 with `Retry-After`: whole seconds until the client's bucket holds a token again.
fn too_many(retry_after_s: u64) -> Fail {
    let mut f = fail(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "请求过于频繁，请稍后再试",
        "Too many requests; slow down",
    );
    f.2 = Some(retry_after_s.max(1));
    f
}

// ---------------------------------------------------------------------------------------
// Rate limiting: a token bucket per client address or kiosk.

struct Limiter {
    per_min: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Limiter {
    fn new(per_min: u32) -> Limiter {
        Limiter {
            per_min,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `who`; when the bucket is empty, the seconds until it holds one.
    fn allow(&self, who: &str) -> Result<(), u64> {
        let cap = f64::from(self.per_min.max(1));
        let rate = cap / 60.0;
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if b.len() > 100_000 {
            // Forget idle clients rather than grow without bound.
            b.retain(|_, (_, t)| now.duration_since(*t) < Duration::from_secs(120));
        }
        let (tokens, last) = b.entry(who.to_string()).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(cap);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil() as u64)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Routes

/// The service's routes (documented in `docs/review-api.md`).
pub fn router(svc: Arc<Service>) -> Router {
    let limit = svc.opts.body_limit;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/submissions", post(submit))
        .route("/v1/submissions/{id}", get(submission))
        .route("/v1/receipts/{number}", get(receipt))
        .route("/v1/receipts/{number}/verify", get(verify))
        .route("/v1/claims/{code}", get(claim))
        .route("/review", get(operator_page))
        .route("/review/photo/{id}", get(operator_photo))
        .route("/review/{id}/approve", post(operator_approve))
        .route("/review/{id}/reject", post(operator_reject))
        .fallback(|| async { not_found() })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(svc)
}

/// The authenticated kiosk: `Ok(None)` without an Authorization header, 401 for an unknown key.
fn kiosk_of(svc: &Service, headers: &HeaderMap) -> Result<Option<String>, Fail> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .and_then(|s| s.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    svc.keys
        .kiosk_for(key.trim())
        .map(|k| Some(k.to_string()))
        .ok_or_else(unauthorized)
}

fn require_kiosk(svc: &Service, headers: &HeaderMap) -> Result<String, Fail> {
    let k = kiosk_of(svc, headers)?.ok_or_else(unauthorized)?;
    svc.kiosk_limit.allow(&k).map_err(too_many)?;
    Ok(k)
}

fn public_limit(svc: &Service, addr: &SocketAddr) -> Result<(), Fail> {
    svc.public_limit.allow(&addr.ip().to_string()).map_err(too_many)
}

/// The operator page and its actions, per client address. `/healthz` stays unlimited:
/// it reveals only a count and monitoring polls it.
fn operator_limit(svc: &Service, addr: &SocketAddr) -> Result<(), Fail> {
    svc.operator_limit.allow(&addr.ip().to_string()).map_err(too_many)
}

async fn healthz(State(svc): State<Arc<Service>>) -> Result<Json<Health>, Fail> {
    let pending = {
        let st = svc.store();
        st.count_state("pending")? + st.count_state("received")?
    };
    Ok(Json(Health {
        status: "ok".into(),
        pending,
    }))
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
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let kiosk = require_kiosk(&svc, &headers)?;
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
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
    if let Some(row) = svc.store().by_idem(&kiosk, &idem)? {
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
    let photo = tokio::task::spawn_blocking(move || {
        let ok = photo.starts_with(&[0xFF, 0xD8, 0xFF])
            && image::load_from_memory_with_format(&photo, image::ImageFormat::Jpeg).is_ok();
        (ok, photo)
    })
    .await
    .map_err(|e| ReviewError::Config(format!("decoder task failed: {e}")))?;
    if !photo.0 {
        return Err(fail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_jpeg",
            "照片不是有效的JPEG文件",
            "The photo is not a decodable JPEG",
        ));
    }
    let details_json = serde_json::to_string(&raw.details).map_err(|e| ReviewError::Config(e.to_string()))?;
    let claim = ClaimCode(raw.claim_code.clone());
    let outcome = svc.store.lock().unwrap_or_else(|e| e.into_inner()).insert(
        &NewSubmission {
            kiosk_id: &kiosk,
            idem_key: &idem,
            body_sha256: &sha,
            doc,
            region: &region,
            claim_code: &claim,
            details_json: &details_json,
            photo: &photo.1,
        },
        svc.clock.now(),
    )?;
    match outcome {
        Insert::Created(row) => {
            crate::ops::failpoint::hit("review:after-insert");
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

fn conflict() -> Fail {
    fail(
        StatusCode::CONFLICT,
        "idempotency_conflict",
        "同一 Idempotency-Key 的内容不同",
        "This Idempotency-Key was used with different content",
    )
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

fn view(row: &Row) -> SubmissionView {
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

/// The electronic receipt's path (with its token) relative to the service's root; the
/// kiosk's printed QR is the same path under its public base URL
/// ([`crate::receipt::model::receipt_url`]).
pub fn receipt_pdf_path(number: &str, token: &crate::receipt::ReceiptToken) -> String {
    format!("/v1/receipts/{number}.pdf?token={}", token.expose())
}

async fn submission(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<SubmissionView>, Fail> {
    let kiosk = require_kiosk(&svc, &headers)?;
    // Another kiosk's submission is "not found", not "forbidden": no existence oracle.
    let row = svc
        .store()
        .by_id(&id)?
        .filter(|r| r.kiosk_id == kiosk)
        .ok_or_else(not_found)?;
    Ok(Json(view(&row)))
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
        (Some(p), Some(t)) => crate::receipt::ReceiptToken::new(t).is_ok_and(|t| t.matches(p)),
        _ => false,
    };
    own || token
}

async fn receipt(
    State(svc): State<Arc<Service>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(number): Path<String>,
    Query(q): Query<TokenQuery>,
) -> Result<Response, Fail> {
    let (number, pdf) = match number.strip_suffix(".pdf") {
        Some(n) => (n.to_string(), true),
        None => (number, false),
    };
    // A kiosk key counts against that kiosk's limit (401 when unknown); anyone else
    // against their address's.
    let kiosk = match kiosk_of(&svc, &headers)? {
        Some(_) => Some(require_kiosk(&svc, &headers)?),
        None => {
            public_limit(&svc, &addr)?;
            None
        }
    };
    let row = svc
        .store()
        .by_number(&number)?
        .filter(|row| may_read(row, kiosk.as_deref(), q.token.as_deref()))
        .ok_or_else(not_found)?;
    let photo = svc.store().photo(&row.id)?;
    let issued = row
        .decided_at
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.with_timezone(&crate::ops::china_time()).to_rfc3339())
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
            .and_then(|t| crate::receipt::ReceiptToken::new(t).ok()),
        _ => None,
    };
    let no_store = [
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    Ok((
        no_store,
        Json(ReceiptView {
            receipt_number: crate::domain::ReceiptNumber::new(n).map_err(ReviewError::Config)?,
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
    row: &super::store::Row,
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
        .with_timezone(&crate::ops::china_time());
    let job = crate::runtime::SlipJob {
        slip: crate::session::Slip::Receipt {
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
            .and_then(|t| crate::receipt::ReceiptToken::new(t).ok()),
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
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(number): Path<String>,
) -> Result<Json<VerifyView>, Fail> {
    public_limit(&svc, &addr)?;
    let status = match svc.store().by_number(&number)? {
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
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, Fail> {
    public_limit(&svc, &addr)?;
    let row = svc.store().by_claim(&code)?.ok_or_else(not_found)?;
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

// ---------------------------------------------------------------------------------------
// Operator page: plain HTML forms, no script, no external assets.

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
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

async fn operator_page(
    State(svc): State<Arc<Service>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
) -> Result<Html<String>, Fail> {
    operator_limit(&svc, &addr)?;
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
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    operator_limit(&svc, &addr)?;
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
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    operator_limit(&svc, &addr)?;
    let row = svc.store().by_id(&id)?.ok_or_else(not_found)?;
    if !svc.approve(&row.id, row.doc, &row.region)? {
        return Err(fail(
            StatusCode::CONFLICT,
            "not_pending",
            "该照片已处理",
            "This photo was already decided",
        ));
    }
    Ok(Redirect::to("/review").into_response())
}

/// `application/x-www-form-urlencoded` value of `key` (the one field the page sends).
fn form_value(body: &[u8], key: &str) -> Option<String> {
    let s = std::str::from_utf8(body).ok()?;
    s.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn operator_reject(
    State(svc): State<Arc<Service>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Fail> {
    operator_limit(&svc, &addr)?;
    let key = form_value(&body, "reason").unwrap_or_else(|| "other".into());
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
        return Err(fail(
            StatusCode::CONFLICT,
            "not_pending",
            "该照片已处理",
            "This photo was already decided",
        ));
    }
    log::info!("submission {id}: rejected by the operator ({k})");
    Ok(Redirect::to("/review").into_response())
}

// ---------------------------------------------------------------------------------------
// Running

/// A service running on its own thread and Tokio runtime; stops when dropped.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub service: Arc<Service>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Binds `listen` and serves `svc` until [`RunningServer`] is dropped.
pub fn spawn(svc: Arc<Service>, listen: &str) -> Result<RunningServer, ReviewError> {
    let std_listener = std::net::TcpListener::bind(listen).map_err(|source| ReviewError::Listen {
        addr: listen.to_string(),
        source,
    })?;
    std_listener
        .set_nonblocking(true)
        .map_err(|source| ReviewError::Listen {
            addr: listen.to_string(),
            source,
        })?;
    let addr = std_listener.local_addr().map_err(|source| ReviewError::Listen {
        addr: listen.to_string(),
        source,
    })?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let svc2 = svc.clone();
    let thread = std::thread::Builder::new()
        .name("review-center".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    log::error!("review centre: cannot start the runtime: {e}");
                    return;
                }
            };
            rt.block_on(async move {
                if let Err(e) = serve(svc2, std_listener, async {
                    let _ = rx.await;
                })
                .await
                {
                    log::error!("review centre stopped: {e}");
                }
            });
        })
        .map_err(|e| ReviewError::Config(format!("cannot start the review-centre thread: {e}")))?;
    Ok(RunningServer {
        addr,
        service: svc,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

/// Serves until `stop` completes: the HTTP routes and the review loop.
pub async fn serve(
    svc: Arc<Service>,
    listener: std::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ReviewError> {
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let listener = tokio::net::TcpListener::from_std(listener).map_err(|source| ReviewError::Listen {
        addr: addr.clone(),
        source,
    })?;
    let looper = svc.clone();
    let review_loop = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = looper.wake.notified() => {}
                _ = tokio::time::sleep(looper.opts.tick) => {}
            }
            let s = looper.clone();
            match tokio::task::spawn_blocking(move || s.review_pass()).await {
                Ok(Err(e)) => log::error!("review loop: {e}"),
                Err(e) => log::error!("review loop task: {e}"),
                Ok(Ok(())) => {}
            }
        }
    });
    let app = router(svc).into_make_service_with_connect_info::<SocketAddr>();
    let r = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
        .map_err(|source| ReviewError::Listen { addr, source });
    review_loop.abort();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_decoded() {
        assert_eq!(form_value(b"reason=glare", "reason").as_deref(), Some("glare"));
        assert_eq!(form_value(b"a=1&reason=a+b%21", "reason").as_deref(), Some("a b!"));
        assert_eq!(form_value(b"a=1", "reason"), None);
    }

    #[test]
    fn limiter_empties_and_refills_per_client() {
        let l = Limiter::new(3);
        assert!(l.allow("a").is_ok() && l.allow("a").is_ok() && l.allow("a").is_ok());
        // 3 per minute: the next token is ~20 s away.
        let wait = l.allow("a").unwrap_err();
        assert!((19..=20).contains(&wait), "{wait}");
        assert!(l.allow("b").is_ok());
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
