//! `kiosk review-center --db-file PG --migrate-from sqlite:PATH`: moves a SQLite centre's
//! data into PostgreSQL — submissions (photos and details included, until the retention
//! purge takes them), receipt sequences, revoked kiosks and operator accounts — in batches,
//! each in its own transaction.
//!
//! Re-running is safe: rows already there are skipped (`ON CONFLICT DO NOTHING`) and a
//! sequence keeps the higher of the two counts, so an interrupted move is finished by
//! running it again. Stop the SQLite centre first: rows it writes meanwhile are not moved
//! (a second run takes them).

use super::{PgStore, SqliteStore};
use crate::review::ReviewError;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Rows read and written per transaction.
const BATCH: i64 = 200;

/// Every column of `submissions` both schemas share, in order.
const COLS: &str = "id, kiosk_id, idem_key, body_sha256, doc, region, claim_code, details, photo, state, reasons, \
                    received_at, checked_at, decided_at, receipt_number, token, valid_until, purged, decided_by";

/// What a move copied (rows new to PostgreSQL) and found already there.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Copied {
    pub submissions: u64,
    pub skipped: u64,
    pub sequences: u64,
    pub revoked: u64,
    pub accounts: u64,
}

/// One `submissions` row, every column.
pub(super) struct FullRow {
    pub id: String,
    pub kiosk_id: String,
    pub idem_key: String,
    pub body_sha256: String,
    pub doc: String,
    pub region: String,
    pub claim_code: String,
    pub details: Option<String>,
    pub photo: Option<Vec<u8>>,
    pub state: String,
    pub reasons: Option<String>,
    pub received_at: i64,
    pub checked_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub receipt_number: Option<String>,
    pub token: Option<String>,
    pub valid_until: Option<String>,
    pub purged: i64,
    pub decided_by: Option<String>,
}

/// The small tables: sequences (region, day, last), revoked kiosks (id, when), staff
/// accounts (name, hash, created, updated).
pub(super) struct Small {
    pub sequences: Vec<(String, String, i64)>,
    pub revoked: Vec<(String, i64)>,
    pub accounts: Vec<(String, String, i64, i64)>,
}

fn read_batch(src: &SqliteStore, after: i64) -> rusqlite::Result<Vec<(i64, FullRow)>> {
    let mut st = src.conn().prepare(&format!(
        "SELECT rowid, {COLS} FROM submissions WHERE rowid > ?1 ORDER BY rowid LIMIT ?2"
    ))?;
    let rows = st.query_map([after, BATCH], |r| {
        Ok((
            r.get(0)?,
            FullRow {
                id: r.get(1)?,
                kiosk_id: r.get(2)?,
                idem_key: r.get(3)?,
                body_sha256: r.get(4)?,
                doc: r.get(5)?,
                region: r.get(6)?,
                claim_code: r.get(7)?,
                details: r.get(8)?,
                photo: r.get(9)?,
                state: r.get(10)?,
                reasons: r.get(11)?,
                received_at: r.get(12)?,
                checked_at: r.get(13)?,
                decided_at: r.get(14)?,
                receipt_number: r.get(15)?,
                token: r.get(16)?,
                valid_until: r.get(17)?,
                purged: r.get(18)?,
                decided_by: r.get(19)?,
            },
        ))
    })?;
    rows.collect()
}

fn has_table(src: &SqliteStore, name: &str) -> rusqlite::Result<bool> {
    src.conn()
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name=?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
}

fn read_small(src: &SqliteStore) -> rusqlite::Result<Small> {
    let c = src.conn();
    let sequences = c
        .prepare("SELECT region, day, last FROM sequences")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let revoked = c
        .prepare("SELECT kiosk_id, revoked_at FROM revoked_kiosks")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    // The accounts table exists once an account was added.
    let accounts = if has_table(src, "staff_accounts")? {
        c.prepare("SELECT name, hash, created_at, updated_at FROM staff_accounts")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?
    } else {
        vec![]
    };
    Ok(Small {
        sequences,
        revoked,
        accounts,
    })
}

/// Runs `f` on the source store on the blocking pool.
async fn on_src<T: Send + 'static>(
    src: &Arc<Mutex<SqliteStore>>,
    f: impl FnOnce(&SqliteStore) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, ReviewError> {
    let s = src.clone();
    tokio::task::spawn_blocking(move || {
        let g = s.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&g).map_err(|source| ReviewError::Db {
            path: g.path().to_path_buf(),
            source,
        })
    })
    .await
    .map_err(|e| ReviewError::Task(e.to_string()))?
}

/// Copies everything from the SQLite file at `src` into `dst`.
pub async fn sqlite_to_postgres(src: &Path, dst: &PgStore) -> Result<Copied, ReviewError> {
    if !src.is_file() {
        return Err(ReviewError::file(
            src,
            "no such SQLite database. Fix: give the old centre's --db file with --migrate-from sqlite:PATH",
        ));
    }
    // Opening applies the SQLite migrations, so an old file gains the audit column first.
    let path = src.to_path_buf();
    let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
        .await
        .map_err(|e| ReviewError::Task(e.to_string()))??;
    let src = Arc::new(Mutex::new(store));
    let mut copied = Copied::default();
    let mut after = 0i64;
    loop {
        let batch = on_src(&src, move |s| read_batch(s, after)).await?;
        let Some(last) = batch.last().map(|(rowid, _)| *rowid) else {
            break;
        };
        let rows: Vec<FullRow> = batch.into_iter().map(|(_, r)| r).collect();
        let new = dst.copy_submissions(&rows).await?;
        copied.submissions += new;
        copied.skipped += rows.len() as u64 - new;
        after = last;
    }
    let small = on_src(&src, read_small).await?;
    (copied.sequences, copied.revoked, copied.accounts) = dst.copy_small(&small).await?;
    Ok(copied)
}
