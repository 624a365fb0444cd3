//! Every refusal as JSON: an [`ApiError`] body in both languages, the HTTP status, and
//! `Retry-After` where the client should come back later.

use crate::review::api::ApiError;
use crate::review::ReviewError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// A 4xx/5xx answer with an [`ApiError`] body.
pub struct Fail(StatusCode, ApiError, Option<u64>);

pub(super) fn fail(status: StatusCode, code: &str, zh: &str, en: impl Into<String>) -> Fail {
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
        if matches!(
            e,
            ReviewError::Unavailable { .. } | ReviewError::Staff(crate::staff::StaffError::Unavailable { .. })
        ) {
            log::warn!("{e}");
            let mut f = fail(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "服务暂时不可用，请稍后重试",
                "The service is unavailable for a moment; please retry",
            );
            f.2 = Some(1);
            return f;
        }
        log::error!("internal error: {e}");
        fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务内部错误，请稍后重试",
            "Internal error; please retry later",
        )
    }
}

pub(super) fn unauthorized() -> Fail {
    fail(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "缺少或无效的终端密钥",
        "Missing or unknown kiosk key (Authorization: Bearer KEY)",
    )
}

pub(super) fn not_found() -> Fail {
    fail(StatusCode::NOT_FOUND, "not_found", "未找到", "Not found")
}

/// A 429 with `Retry-After`: whole seconds until the client's bucket holds a token again.
pub(super) fn too_many(retry_after_s: u64) -> Fail {
    let mut f = fail(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "请求过于频繁，请稍后再试",
        "Too many requests; slow down",
    );
    f.2 = Some(retry_after_s.max(1));
    f
}

pub(super) fn conflict() -> Fail {
    fail(
        StatusCode::CONFLICT,
        "idempotency_conflict",
        "同一 Idempotency-Key 的内容不同",
        "This Idempotency-Key was used with different content",
    )
}

/// The operator tried to decide a photo already decided.
pub(super) fn not_pending() -> Fail {
    fail(
        StatusCode::CONFLICT,
        "not_pending",
        "该照片已处理",
        "This photo was already decided",
    )
}
