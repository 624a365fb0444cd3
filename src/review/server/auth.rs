//! Who is asking, as axum extractors: a kiosk by its key (counted against that kiosk's
//! rate limit), or a client address on the public and operator routes (counted against
//! that address's). A handler names the audience in its signature; a refused request never
//! reaches it.

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

/// A client of the public routes, counted against its address.
pub struct PublicClient;

/// A client of the operator page and its actions, counted against its address (a limit of
/// its own: one page load fetches every pending photo).
pub struct OperatorClient;

/// The kiosk a presented key belongs to: `Ok(None)` without an Authorization header, 401
/// for a malformed or unknown key or a revoked kiosk.
fn kiosk_of(svc: &Service, parts: &Parts) -> Result<Option<String>, Fail> {
    let Some(v) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .and_then(|s| s.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let kiosk = svc.keys.kiosk_for(key.trim()).ok_or_else(unauthorized)?;
    // Read on every request, so `--revoke-kiosk` takes effect at once in a running centre.
    if svc.store().is_revoked(kiosk)? {
        log::warn!("kiosk {kiosk}: key refused, the kiosk is revoked");
        return Err(unauthorized());
    }
    Ok(Some(kiosk.to_string()))
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
        let k = kiosk_of(svc, parts)?.ok_or_else(unauthorized)?;
        svc.kiosk_limit.allow(&k).map_err(too_many)?;
        Ok(KioskAuth(k))
    }
}

impl FromRequestParts<Arc<Service>> for Reader {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, svc: &Arc<Service>) -> Result<Self, Fail> {
        match kiosk_of(svc, parts)? {
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
