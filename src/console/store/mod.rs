//! The console's store: kiosks (last heartbeat), events (each (kiosk, seq) once) and alerts
//! (open until acknowledged; "offline" ones also close when the kiosk is back), on one of
//! two backends (issue #17):
//!
//! * [`SqliteConsole`] — one file, one console: the embedded default and the demo. Writes
//!   go through the console's group-commit writer thread.
//! * [`PgConsole`] — PostgreSQL, shared by several `kiosk console` instances behind a
//!   balancer: each (kiosk, seq) stored once by its primary key and `ON CONFLICT`, a
//!   heartbeat stored only when newer (a conditional upsert), at most one open "offline"
//!   alert per kiosk (a partial unique index), and every new alert announced to every
//!   instance with `NOTIFY`, so each staff page's live feed shows it.
//!
//! [`ConsoleStore`] is the seam the console uses: an enum over the two, every call async
//! (the SQLite calls run on the blocking pool).

mod postgres;
mod sqlite;

pub use postgres::PgConsole;
pub(in crate::console) use sqlite::open_private;
pub use sqlite::SqliteConsole;

use super::wire::{EventKind, Heartbeat, KioskEvent};
use super::ConsoleError;
use crate::pgdb::{DbTarget, PoolSettings};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The alert kind the console raises itself (not a kiosk event).
pub const OFFLINE: &str = "offline";

/// A kiosk as the staff page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct KioskRow {
    pub id: String,
    pub last_seen_ms: u64,
    pub heartbeat: Heartbeat,
    /// An open "offline" alert.
    pub offline: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub id: i64,
    pub kiosk: String,
    /// An [`EventKind`] id, or [`OFFLINE`].
    pub kind: String,
    pub seq: Option<u64>,
    pub code: Option<String>,
    pub reasons: Vec<String>,
    pub raised_ms: u64,
    pub acked_by: Option<String>,
    pub acked_ms: Option<u64>,
    pub resolved_ms: Option<u64>,
}

/// What [`ConsoleStore::add_events`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsStored {
    /// The highest seq now stored for the kiosk.
    pub up_to: u64,
    /// Events not seen before.
    pub new: usize,
    /// Alerts opened, in order.
    pub opened: Vec<i64>,
}

/// What became of a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatOutcome {
    Stored,
    /// Its seq is not newer than the last one stored: a replay (nothing changed).
    Replay,
}

/// One kiosk request's write, for [`ConsoleStore::write_group`].
#[derive(Debug, Clone)]
pub enum Write {
    Heartbeat(Heartbeat),
    Events { kiosk: String, events: Vec<KioskEvent> },
}

/// What became of a [`Write`].
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Heartbeat(HeartbeatOutcome),
    Events(EventsStored),
}

/// An event as a kiosk's 24-hour view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub seq: u64,
    /// An [`EventKind`] id.
    pub kind: String,
    /// When it happened on the kiosk (RFC 3339, as sent).
    pub at: String,
    pub screen: Option<String>,
    pub code: Option<String>,
    pub reasons: Vec<String>,
    pub received_ms: u64,
}

/// The alert kinds a recovery event closes.
fn closes(kind: EventKind) -> &'static [EventKind] {
    match kind {
        EventKind::PaperReloaded => &[EventKind::PaperOut, EventKind::PaperNearEnd],
        EventKind::PrinterRecovered => &[EventKind::PrinterFault],
        EventKind::CameraBack => &[EventKind::CameraLost],
        EventKind::ReviewBack => &[EventKind::ReviewUnreachable],
        _ => &[],
    }
}

/// The store of one running console (cheap to clone: both backends are shared handles).
#[derive(Clone)]
pub enum ConsoleStore {
    Sqlite(Arc<SqliteShared>),
    Postgres(PgConsole),
}

/// The SQLite store behind its lock.
pub struct SqliteShared {
    store: Mutex<SqliteConsole>,
    path: PathBuf,
}

impl SqliteShared {
    /// The store, for one short call (the writer thread and the blocking pool).
    pub fn lock(&self) -> std::sync::MutexGuard<'_, SqliteConsole> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Runs a SQLite call on the blocking pool.
async fn blocking<T: Send + 'static>(
    s: &Arc<SqliteShared>,
    f: impl FnOnce(&mut SqliteConsole) -> Result<T, ConsoleError> + Send + 'static,
) -> Result<T, ConsoleError> {
    let s = s.clone();
    tokio::task::spawn_blocking(move || f(&mut s.lock()))
        .await
        .map_err(|e| ConsoleError::Commit(format!("database call: {e}")))?
}

impl ConsoleStore {
    /// Opens (creating it 0600) the SQLite database at `path`.
    pub fn open_sqlite(path: &Path) -> Result<ConsoleStore, ConsoleError> {
        Ok(ConsoleStore::Sqlite(Arc::new(SqliteShared {
            store: Mutex::new(SqliteConsole::open(path)?),
            path: path.to_path_buf(),
        })))
    }

    /// Opens the database `target` names: a SQLite file, or PostgreSQL (connecting and
    /// running the migrations; call it on the runtime that will serve).
    pub async fn open(target: &DbTarget, pool: &PoolSettings) -> Result<ConsoleStore, ConsoleError> {
        match target {
            DbTarget::Sqlite(path) => ConsoleStore::open_sqlite(path),
            DbTarget::Postgres(t) => Ok(ConsoleStore::Postgres(PgConsole::connect(t, pool).await?)),
        }
    }

    /// The database for logs and messages: a path, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            ConsoleStore::Sqlite(s) => s.path.display().to_string(),
            ConsoleStore::Postgres(p) => p.describe().to_string(),
        }
    }

    /// The staff accounts (and, on PostgreSQL, their sessions) in this database.
    pub fn staff_auth(&self, settings: crate::staff::StaffSettings) -> Result<crate::staff::StaffAuth, ConsoleError> {
        Ok(match self {
            ConsoleStore::Sqlite(s) => {
                crate::staff::StaffAuth::open(&s.path, settings).map_err(|e| ConsoleError::Staff(e.to_string()))?
            }
            ConsoleStore::Postgres(p) => crate::staff::StaffAuth::postgres(p.pool().clone(), p.describe(), settings),
        })
    }

    /// One kiosk request's write in a transaction of its own (the console's SQLite writer
    /// groups them instead, see `Console::write`).
    pub async fn write(&self, w: Write, now_ms: u64) -> Result<Written, ConsoleError> {
        match self {
            ConsoleStore::Sqlite(s) => {
                blocking(s, move |st| {
                    st.write_group(std::slice::from_ref(&w), now_ms)
                        .pop()
                        .unwrap_or_else(|| Err(ConsoleError::Commit("no outcome".into())))
                })
                .await
            }
            ConsoleStore::Postgres(p) => Ok(p.write(&w, now_ms).await?.0),
        }
    }

    /// Raises "offline" for every kiosk not heard from since `cutoff_ms` that has no open
    /// offline alert yet (once, however many consoles look at once); returns those kiosks
    /// with their new alert's id.
    pub async fn mark_offline(&self, cutoff_ms: u64, now_ms: u64) -> Result<Vec<(String, i64)>, ConsoleError> {
        match self {
            ConsoleStore::Sqlite(s) => blocking(s, move |st| st.mark_offline(cutoff_ms, now_ms)).await,
            ConsoleStore::Postgres(p) => p.mark_offline(cutoff_ms, now_ms).await,
        }
    }

    pub async fn kiosks(&self) -> Result<Vec<KioskRow>, ConsoleError> {
        match self {
            ConsoleStore::Sqlite(s) => blocking(s, |st| st.kiosks()).await,
            ConsoleStore::Postgres(p) => p.kiosks().await,
        }
    }

    /// One kiosk by id.
    pub async fn kiosk(&self, id: &str) -> Result<Option<KioskRow>, ConsoleError> {
        Ok(self.kiosks().await?.into_iter().find(|k| k.id == id))
    }

    /// One alert by id.
    pub async fn alert(&self, id: i64) -> Result<Option<AlertRow>, ConsoleError> {
        match self {
            ConsoleStore::Sqlite(s) => blocking(s, move |st| st.alert(id)).await,
            ConsoleStore::Postgres(p) => p.alert(id).await,
        }
    }

    /// Alerts, newest first: only the open ones (neither acknowledged nor resolved) or all.
    pub async fn alerts(&self, open_only: bool) -> Result<Vec<AlertRow>, ConsoleError> {
        match self {
            ConsoleStore::Sqlite(s) => blocking(s, move |st| st.alerts(open_only)).await,
            ConsoleStore::Postgres(p) => p.alerts(open_only).await,
        }
    }

    /// Acknowledges alert `id` as `who`; false when there is no such open alert (or
    /// someone acknowledged it first, on any console).
    pub async fn ack(&self, id: i64, who: &str, now_ms: u64) -> Result<bool, ConsoleError> {
        match self {
            ConsoleStore::Sqlite(s) => {
                let who = who.to_string();
                blocking(s, move |st| st.ack(id, &who, now_ms)).await
            }
            ConsoleStore::Postgres(p) => p.ack(id, who, now_ms).await,
        }
    }

    /// Alerts raised since `since_ms`, newest first, at most `limit`; every alert still open
    /// is included however old it is.
    pub async fn alerts_since(&self, since_ms: u64, limit: u32) -> Result<Vec<AlertRow>, ConsoleError> {
        match self {
            ConsoleStore::Sqlite(s) => blocking(s, move |st| st.alerts_since(since_ms, limit)).await,
            ConsoleStore::Postgres(p) => p.alerts_since(since_ms, limit).await,
        }
    }

    /// One kiosk's alerts raised since `since_ms`, newest first.
    pub async fn kiosk_alerts_since(&self, kiosk: &str, since_ms: u64) -> Result<Vec<AlertRow>, ConsoleError> {
        match self {
            ConsoleStore::Sqlite(s) => {
                let k = kiosk.to_string();
                blocking(s, move |st| st.kiosk_alerts_since(&k, since_ms)).await
            }
            ConsoleStore::Postgres(p) => p.kiosk_alerts_since(kiosk, since_ms).await,
        }
    }

    /// One kiosk's events received since `since_ms`, newest first.
    pub async fn kiosk_events_since(&self, kiosk: &str, since_ms: u64) -> Result<Vec<EventRow>, ConsoleError> {
        match self {
            ConsoleStore::Sqlite(s) => {
                let k = kiosk.to_string();
                blocking(s, move |st| st.kiosk_events_since(&k, since_ms)).await
            }
            ConsoleStore::Postgres(p) => p.kiosk_events_since(kiosk, since_ms).await,
        }
    }
}
