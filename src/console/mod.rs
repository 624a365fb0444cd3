//! The hall console (issue #16): the hall's own service, apart from the review centre,
//! that every kiosk of the hall reports to. Kiosks authenticate with their own key
//! (`Authorization: Bearer KEY`, the same key-file format as the review centre) and send a
//! heartbeat every interval and events as they happen; the console keeps them in SQLite
//! (or in PostgreSQL, shared by several instances behind a balancer: issue #17), turns
//! the events staff must act on into alerts, and raises "kiosk offline" when a kiosk
//! missed three heartbeats.
//!
//! The service: the wire types ([`wire`]), the store ([`store`]), the kiosk routes
//! `POST /v1/heartbeat`, `POST /v1/events`, `GET /healthz` ([`server`]), the staff page
//! at `/` with its logins ([`staff_page`], HTML in `render`), and the webhooks that forward
//! alerts to WeCom, DingTalk or any JSON receiver ([`webhook`]). The kiosk's end: the
//! durable event queue ([`queue`]) and the `Alerts` backend that sends it and the
//! heartbeat ([`link`]).

pub mod demo;
pub mod link;
pub mod queue;
mod render;
pub mod server;
pub mod staff_page;
pub mod store;
pub mod webhook;
pub mod wire;

pub use server::{spawn, ConsoleOptions, RunningConsole};
pub use staff_page::StaffPageOptions;
pub use store::{AlertRow, ConsoleStore, EventRow, EventsStored, KioskRow, PgConsole, SqliteConsole};

use std::path::PathBuf;

impl From<crate::pgdb::DbError> for ConsoleError {
    fn from(e: crate::pgdb::DbError) -> Self {
        use crate::pgdb::DbError;
        match e {
            DbError::Config { db, message, fix } => ConsoleError::DbConfig { db, message, fix },
            DbError::Unavailable { db, message } => ConsoleError::Unavailable { db, message },
            DbError::Query { db, what, source } => ConsoleError::Pg { db, what, source },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("console database {path}: {source}. Fix: check the path is on a writable disk (`--db`), or restore it from the backup")]
    Db {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "console database {path}: {source}. Fix: check the directory exists and is writable by the console's user"
    )]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("console database: {0}")]
    Query(#[from] rusqlite::Error),
    /// A database setting that cannot work (bad URL, refused login, no such database,
    /// server out of reach at start-up): the setting and the fix.
    #[error("console database {db}: {message}. Fix: {fix}")]
    DbConfig { db: String, message: String, fix: String },
    /// PostgreSQL is out of reach for now (restart, network): 503, kiosks retry.
    #[error("console database {db} is unavailable: {message}")]
    Unavailable { db: String, message: String },
    #[error("console database {db}: {what}: {source}")]
    Pg {
        db: String,
        what: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("console staff accounts: {0}")]
    Staff(String),
    #[error("console database: a group of writes did not commit: {0}. Fix: check the disk under `--db` has space and is writable")]
    Commit(String),
    #[error("cannot listen on {addr}: {source}. Fix: pick a free address with `--listen HOST:PORT`")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("console keys: {0}")]
    Keys(String),
    #[error("console runtime: {0}")]
    Runtime(std::io::Error),
}
