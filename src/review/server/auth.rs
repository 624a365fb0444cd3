//! Who is asking, as axum extractors: a kiosk by its key (counted against that kiosk's
//! rate limit), or a client address on the public and operator routes (counted against
//! that address's). A handler names the audience in its signature; a refused request never
//! reaches it. These are `FromRequestParts` extractors, listed before any body extractor,
//! so a refused request's body is never read. Failed key checks are counted per address
//! (`auth_fail_per_min`) and logged without the key.

use super::errors::{fail, too_many, unauthorized, Fail};
use super::Service;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use std::net::SocketAddr;
use std::sync::Arc;

/// An authenticated kiosk (`Authorization: Bearer KEY`): 401 without a key, with an
/// unknown one or for a revoked kiosk, 429 once that kiosk's bucket is empty.
pub struct KioskAuth(pub String);

/// A receipt reader: the issuing kiosk by its key (as [`KioskAuth`]) or, without an
/// `Authorization` header, anyone, counted against their address.
pub struct Reader {
    pub kiosk: Option<String>,
}

/// A request whose body is JSON (`Content-Type: application/json`, parameters allowed):
/// anything else is refused with 415 before the body is read.
pub struct JsonContent;

impl<S: Send + Sync> FromRequestParts<S> for JsonContent {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Fail> {
        let ct = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = ct.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("application/json") {
            Ok(JsonContent)
        } else {
            Err(fail(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "请求内容类型必须为 application/json",
                "Content-Type must be application/json",
            ))
        }
    }
}

/// A client of the public routes, counted against its address.
pub struct PublicClient;

/// A client of the operator page and its actions, counted against its address (a limit of
/// its own: one page load fetches every pending photo).
pub struct OperatorClient;

/// The kiosk a presented key belongs to: `Ok(None)` without an Authorization header, 401
/// for a malformed or unknown key or a revoked kiosk. Headers only: the body has not been
/// read yet.
async fn kiosk_of(svc: &Service, parts: &Parts) -> Result<Option<String>, Fail> {
    let Some(v) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let Some(key) = v.to_str().ok().and_then(|s| s.strip_prefix("Bearer ")) else {
        return Err(refuse_key(svc, parts, "malformed Authorization header"));
    };
    let Some(kiosk) = svc.keys.kiosk_for(key.trim()) else {
        return Err(refuse_key(svc, parts, "unknown key"));
    };
    // Read on every request, so `--revoke-kiosk` takes effect at once in a running centre.
    if svc.store().is_revoked(kiosk).await? {
        log::warn!("kiosk {kiosk}: key refused, the kiosk is revoked");
        return Err(refuse_key(svc, parts, "revoked kiosk"));
    }
    Ok(Some(kiosk.to_string()))
}

/// A failed key check: counted against the client's address (429 once its bucket is
/// empty, so keys cannot be tried quickly) and logged without the key.
fn refuse_key(svc: &Service, parts: &Parts, why: &str) -> Fail {
    let addr = match client_address(parts) {
        Ok(a) => a,
        Err(f) => return f,
    };
    let method = &parts.method;
    let path = parts.uri.path();
    match svc.auth_fail_limit.allow(&addr) {
        Ok(()) => {
            log::warn!("review centre: refused a kiosk key from {addr} ({why}) on {method} {path}");
            unauthorized()
        }
        Err(wait) => {
            log::debug!("review centre: {addr} is over its failed-key budget ({why})");
            too_many(wait)
        }
    }
}

/// Missing `Authorization` on a kiosk-only route: a failed key check like a wrong key.
async fn require_kiosk(svc: &Service, parts: &Parts) -> Result<String, Fail> {
    match kiosk_of(svc, parts).await? {
        Some(k) => Ok(k),
        None => Err(refuse_key(svc, parts, "no key")),
    }
}

fn client_address(parts: &Parts) -> Result<String, Fail> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string())
        .ok_or_else(|| {
            log::error!("review centre: the router was served without connect info");
            fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "服务内部错误，请稍后重试",
                "Internal error; please retry later",
            )
        })
}

impl FromRequestParts<Arc<Service>> for KioskAuth {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, svc: &Arc<Service>) -> Result<Self, Fail> {
        let k = require_kiosk(svc, parts).await?;
        svc.kiosk_limit.allow(&k).map_err(too_many)?;
        Ok(KioskAuth(k))
    }
}

impl FromRequestParts<Arc<Service>> for Reader {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, svc: &Arc<Service>) -> Result<Self, Fail> {
        match kiosk_of(svc, parts).await? {
            Some(k) => {
                svc.kiosk_limit.allow(&k).map_err(too_many)?;
                Ok(Reader { kiosk: Some(k) })
            }
            None => {
                svc.public_limit.allow(&client_address(parts)?).map_err(too_many)?;
                Ok(Reader { kiosk: None })
            }
        }
    }
}

impl FromRequestParts<Arc<Service>> for PublicClient {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, svc: &Arc<Service>) -> Result<Self, Fail> {
        svc.public_limit.allow(&client_address(parts)?).map_err(too_many)?;
        Ok(PublicClient)
    }
}

impl FromRequestParts<Arc<Service>> for OperatorClient {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, svc: &Arc<Service>) -> Result<Self, Fail> {
        svc.operator_limit.allow(&client_address(parts)?).map_err(too_many)?;
        Ok(OperatorClient)
    }
}
