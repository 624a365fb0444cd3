//! The review-service API, the reference review centre (server), and the kiosk's upload
//! client with its durable, encrypted outbox (issue #6).
//!
//! * [`api`]: the JSON types both sides speak (documented in `docs/review-api.md`).
//! * [`number`]: the receipt-number format (20 digits, check digit).
//! * [`server`] + [`store`]: `kiosk review-center` (axum; SQLite WAL or PostgreSQL), one
//!   router per audience.
//! * [`outbox`] + [`client`]: the kiosk side, implementing [`crate::ports::Uploader`];
//!   [`reply`]: what the client makes of the service's replies (pure, property-tested).
//! * [`embedded`]: the server run in-process for `review = "embedded"`.

pub mod api;
pub mod client;
pub mod clock;
pub mod embedded;
pub mod keys;
pub mod number;
pub mod outbox;
pub mod reply;
pub mod reprint;
pub mod server;
pub mod store;

pub use client::{open, ClientOptions, ReviewClient};
pub use embedded::EmbeddedHandle;

use std::path::PathBuf;

impl From<crate::pgdb::DbError> for ReviewError {
    fn from(e: crate::pgdb::DbError) -> Self {
        use crate::pgdb::DbError;
        match e {
            DbError::Config { db, message, fix } => ReviewError::DbConfig { db, message, fix },
            DbError::Unavailable { db, message } => ReviewError::Unavailable { db, message },
            DbError::Query { db, what, source } => ReviewError::Pg { db, what, source },
        }
    }
}

/// Everything that can go wrong in the review service or client, naming the file or URL.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("review database {path}: {source}. Fix: check the path is writable and not used by another service")]
    Db { path: PathBuf, source: rusqlite::Error },
    /// A database setting that cannot work (bad URL, refused login, no such database,
    /// server out of reach at start-up): the setting and the fix.
    #[error("review database {db}: {message}. Fix: {fix}")]
    DbConfig { db: String, message: String, fix: String },
    #[error("review database {db}: {what}: {source}")]
    Pg {
        db: String,
        what: &'static str,
        source: tokio_postgres::Error,
    },
    /// The database is out of reach for now (restart, network): 503, retried by kiosks.
    #[error("review database {db} is unavailable: {message}")]
    Unavailable { db: String, message: String },
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
    /// The configuration cannot give a review service (missing key file, not a URL).
    #[error("{0}")]
    Config(String),
    /// A worker thread could not be started (out of memory or threads).
    #[error("cannot start the {what} thread: {source}")]
    Thread { what: &'static str, source: std::io::Error },
    /// A blocking task on the service's runtime failed (panicked or was cancelled).
    #[error("background task failed: {0}")]
    Task(String),
    /// Sealing or opening an outbox entry failed.
    #[error("outbox encryption: {0}")]
    Crypto(&'static str),
    /// Serialising a value for storage failed.
    #[error("cannot encode for storage: {0}")]
    Encode(#[from] serde_json::Error),
    /// A stored value does not parse back (a damaged or hand-edited database).
    #[error("stored data is damaged: {0}. Fix: restore the database from its backup")]
    Corrupt(String),
    /// Operator accounts or logins.
    #[error(transparent)]
    Staff(#[from] crate::staff::StaffError),
    /// A non-loopback listen address with nobody able to log in to the operator page.
    #[error("refusing to listen on {addr}: no operator account exists, so anyone who reaches this address could approve photos. Fix: add one with `kiosk review-center --db DB --add-user NAME`, or listen on 127.0.0.1")]
    Exposed { addr: std::net::SocketAddr },
    /// The day's receipt numbers for a region are used up.
    #[error("receipt sequence exhausted for {region} on {day}")]
    Exhausted { region: String, day: chrono::NaiveDate },
}

impl ReviewError {
    pub(crate) fn file(path: &std::path::Path, message: impl Into<String>) -> Self {
        ReviewError::File {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
