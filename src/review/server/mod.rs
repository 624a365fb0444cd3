//! The reference review centre: axum routes over the [`Store`], the asynchronous review
//! loop (machine check, auto-approve, retention purge) and the operator page.
//!
//! One router per audience — [`kiosk`] (key-authenticated), [`public`] (receipts by
//! token, verification, claim pages) and [`operator`] (the review page) — merged here;
//! who may call what is in each handler's extractors ([`auth`]).
//!
//! Every store call is async ([`Store`]: SQLite on the blocking pool, or PostgreSQL); JPEG
//! decoding and the machine check run on the blocking pool.
//!
//! [`Store`]: crate::review::store::Store

mod auth;
mod errors;
mod kiosk;
mod limits;
mod operator;
mod public;
mod service;
mod startup;
pub mod transport;

pub use errors::Fail;
pub use operator::OPERATOR_REASONS;
pub use service::{check_photo, ServerOptions, Service};
pub use startup::{check_listen, runtime, serve, spawn, spawn_on, RunningServer};

use axum::extract::DefaultBodyLimit;
use axum::Router;
use std::sync::Arc;

/// The service's routes (documented in `docs/review-api.md`).
pub fn router(svc: Arc<Service>) -> Router {
    let limit = svc.opts.body_limit;
    Router::new()
        .merge(kiosk::routes())
        .merge(public::routes())
        .merge(operator::routes())
        .fallback(|| async { errors::not_found() })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(svc)
}

/// The electronic receipt's path (with its token) relative to the service's root; the
/// kiosk's printed QR is the same path under its public base URL
/// ([`crate::receipt::model::receipt_url`]).
pub fn receipt_pdf_path(number: &str, token: &crate::domain::ReceiptToken) -> String {
    format!("/v1/receipts/{number}.pdf?token={}", token.expose())
}

// HTML escaping for the claim and operator pages: one escaper with the staff pages.
use crate::staff::http::esc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
