//! The review-service API, the reference review centre (server), and the kiosk's upload
//! client with its durable, encrypted outbox (issue #6).
//!
//! * [`api`]: the JSON types both sides speak (documented in `docs/review-api.md`).
//! * [`number`]: the receipt-number format (20 digits, check digit).
//! * [`server`] + [`store`]: `kiosk review-center` (axum + SQLite WAL).
//! * [`outbox`] + [`client`]: the kiosk side, implementing [`crate::runtime::Uploader`].
//! * [`embedded`]: the server run in-process for `review = "embedded"`.

pub mod api;
pub mod cli;
pub mod client;
pub mod clock;
pub mod embedded;
pub mod keys;
pub mod number;
pub mod outbox;
pub mod server;
pub mod store;
#[doc(hidden)]
pub mod testkit;

pub use client::{open, ClientOptions, ReviewClient};
pub use embedded::EmbeddedHandle;

use std::path::PathBuf;

/// Everything that can go wrong in the review service or client, naming the file or URL.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("review database {path}: {source}. Fix: check the path is writable and not used by another service")]
    Db { path: PathBuf, source: rusqlite::Error },
    #[error("outbox {path}: {source}. Fix: check the kiosk data dir is writable and not full")]
    Outbox { path: PathBuf, source: rusqlite::Error },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("cannot listen on {addr}: {source}. Fix: choose a free address with --listen")]
    Listen { addr: String, source: std::io::Error },
    #[error("review service {url}: {message}")]
    Http { url: String, message: String },
    #[error("the review service said {status}: {code}: {message}")]
    Rejected { status: u16, code: String, message: String },
    #[error("{0}")]
    Config(String),
}

impl ReviewError {
    pub(crate) fn file(path: &std::path::Path, message: impl Into<String>) -> Self {
        ReviewError::File {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
