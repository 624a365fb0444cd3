//! The SQLite backend (WAL), one process: its calls are synchronous; [`super::Store`] runs
//! them on the blocking pool.

use super::{Insert, NewSubmission, Row, Unchecked, ROW_COLS};
use crate::config::{DocumentId, RegionCode};
use crate::domain::{Prompt, ReceiptToken};
use crate::review::number;
use crate::review::ReviewError;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    kiosk_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    doc TEXT NOT NULL,
    region TEXT NOT NULL,
    claim_code TEXT NOT NULL UNIQUE,
    details TEXT,
    photo BLOB,
    state TEXT NOT NULL CHECK (state IN ('received','pending','approved','rejected')),
    reasons TEXT,
    received_at INTEGER NOT NULL,
    checked_at INTEGER, -- unix ms (auto-approve timing)
    decided_at INTEGER,
    receipt_number TEXT UNIQUE,
    token TEXT UNIQUE,
    valid_until TEXT,
    purged INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kiosk_id, idem_key)
);
CREATE INDEX IF NOT EXISTS submissions_state ON submissions(state);
CREATE INDEX IF NOT EXISTS submissions_purge ON submissions(purged, valid_until);
CREATE TABLE IF NOT EXISTS sequences (
    region TEXT NOT NULL,
    day TEXT NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (region, day)
);
";

/// Changes to [`SCHEMA`] since the first release, applied in order to new and existing
/// databases alike; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    // 1 (#13): the audit trail — who decided (`staff:NAME`, `machine`, `auto`) — and
    // revoked kiosks, whose keys stop working at once.
    "ALTER TABLE submissions ADD COLUMN decided_by TEXT;
     CREATE TABLE IF NOT EXISTS revoked_kiosks (
         kiosk_id TEXT PRIMARY KEY,
         revoked_at INTEGER NOT NULL -- unix seconds
     );",
];

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    // IMMEDIATE: two processes opening an old database at once apply each step once.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let done: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, step) in MIGRATIONS.iter().enumerate().skip(done.max(0) as usize) {
        tx.execute_batch(step)?;
        tx.execute_batch(&format!("PRAGMA user_version={}", i + 1))?;
    }
    tx.commit()
}

pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

fn db_err(path: &Path) -> impl Fn(rusqlite::Error) -> ReviewError + '_ {
    move |source| ReviewError::Db {
        path: path.to_path_buf(),
        source,
    }
}

fn row_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let doc: String = r.get(3)?;
    let region: String = r.get(4)?;
    let valid: Option<String> = r.get(10)?;
    let bad = |i: usize, m: String| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, m.into());
    Ok(Row {
        id: r.get(0)?,
        kiosk_id: r.get(1)?,
        body_sha256: r.get(2)?,
        doc: doc.parse().map_err(|m| bad(3, m))?,
        region: region.parse().map_err(|m| bad(4, m))?,
        claim_code: r.get(5)?,
        state: r.get(6)?,
        reasons: r.get(7)?,
        receipt_number: r.get(8)?,
        token: r.get(9)?,
        valid_until: valid
            .map(|v| NaiveDate::parse_from_str(&v, "%Y-%m-%d").map_err(|e| bad(10, e.to_string())))
            .transpose()?,
        decided_at: r.get(11)?,
        checked_at: r.get(12)?,
        purged: r.get::<_, i64>(13)? != 0,
        decided_by: r.get(14)?,
    })
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, ReviewError> {
        let e = db_err(path);
        // Names, ID numbers and photos: owner-only whatever the umask.
        crate::private_fs::prepare_file(path)
            .map_err(|err| ReviewError::file(path, format!("cannot create: {err}")))?;
        let mut conn = Connection::open(path).map_err(&e)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; PRAGMA busy_timeout=5000;",
        )
        .map_err(&e)?;
        conn.execute_batch(SCHEMA).map_err(&e)?;
        migrate(&mut conn).map_err(&e)?;
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn e(&self) -> impl Fn(rusqlite::Error) -> ReviewError + '_ {
        db_err(&self.path)
    }

    /// The connection (the move to PostgreSQL reads every table through it).
    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn by_idem(&self, kiosk_id: &str, idem_key: &str) -> Result<Option<Row>, ReviewError> {
        self.conn
            .query_row(
                &format!("SELECT {ROW_COLS} FROM submissions WHERE kiosk_id=?1 AND idem_key=?2"),
                params![kiosk_id, idem_key],
                row_from,
            )
            .optional()
            .map_err(self.e())
    }

    pub fn by_id(&self, id: &str) -> Result<Option<Row>, ReviewError> {
        self.conn
            .query_row(
                &format!("SELECT {ROW_COLS} FROM submissions WHERE id=?1"),
                [id],
                row_from,
            )
            .optional()
            .map_err(self.e())
    }

    pub fn by_claim(&self, code: &str) -> Result<Option<Row>, ReviewError> {
        self.conn
            .query_row(
                &format!("SELECT {ROW_COLS} FROM submissions WHERE claim_code=?1"),
                [code],
                row_from,
            )
            .optional()
            .map_err(self.e())
    }

    pub fn by_number(&self, number: &str) -> Result<Option<Row>, ReviewError> {
        self.conn
            .query_row(
                &format!("SELECT {ROW_COLS} FROM submissions WHERE receipt_number=?1"),
                [number],
                row_from,
            )
            .optional()
            .map_err(self.e())
    }

    /// Inserts under the idempotency key, in one transaction.
    pub fn insert(&mut self, s: &NewSubmission, now: DateTime<Utc>) -> Result<Insert, ReviewError> {
        let path = self.path.clone();
        let e = db_err(&path);
        let tx = self.conn.transaction().map_err(&e)?;
        let existing = tx
            .query_row(
                &format!("SELECT {ROW_COLS} FROM submissions WHERE kiosk_id=?1 AND idem_key=?2"),
                params![s.kiosk_id, s.idem_key],
                row_from,
            )
            .optional()
            .map_err(&e)?;
        if let Some(row) = existing {
            return Ok(if row.body_sha256 == s.body_sha256 {
                Insert::Replayed(row)
            } else {
                Insert::Conflict
            });
        }
        let taken: bool = tx
            .query_row(
                "SELECT COUNT(*) FROM submissions WHERE claim_code=?1",
                [&s.claim_code.0],
                |r| r.get::<_, i64>(0),
            )
            .map_err(&e)?
            > 0;
        if taken {
            return Ok(Insert::ClaimTaken);
        }
        let id = hex::encode(rand::random::<[u8; 16]>());
        tx.execute(
            "INSERT INTO submissions (id, kiosk_id, idem_key, body_sha256, doc, region, claim_code, details, photo, state, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'received', ?10)",
            params![
                id,
                s.kiosk_id,
                s.idem_key,
                s.body_sha256,
                s.doc.as_str(),
                s.region.as_str(),
                s.claim_code.0,
                s.details_json,
                s.photo,
                now.timestamp()
            ],
        )
        .map_err(&e)?;
        let row = tx
            .query_row(
                &format!("SELECT {ROW_COLS} FROM submissions WHERE id=?1"),
                [&id],
                row_from,
            )
            .map_err(&e)?;
        tx.commit().map_err(&e)?;
        Ok(Insert::Created(row))
    }

    /// Submissions not yet machine-checked: (id, doc, region, photo).
    pub fn unchecked(&self, limit: u32) -> Result<Vec<Unchecked>, ReviewError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, doc, region, photo FROM submissions WHERE state='received' ORDER BY received_at LIMIT ?1",
            )
            .map_err(self.e())?;
        let rows = st
            .query_map([limit], |r| {
                let doc: String = r.get(1)?;
                let region: String = r.get(2)?;
                Ok((r.get::<_, String>(0)?, doc, region, r.get::<_, Option<Vec<u8>>>(3)?))
            })
            .map_err(self.e())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.e())?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, d, r, p)| Some((id, d.parse().ok()?, r.parse().ok()?, p.unwrap_or_default())))
            .collect())
    }

    /// The machine check passed: wait for approval.
    pub fn mark_checked(&self, id: &str, now: DateTime<Utc>) -> Result<bool, ReviewError> {
        let n = self
            .conn
            .execute(
                "UPDATE submissions SET state='pending', checked_at=?2 WHERE id=?1 AND state='received'",
                params![id, now.timestamp_millis()],
            )
            .map_err(self.e())?;
        Ok(n == 1)
    }

    /// Rejects a submission not yet decided; removes its photo and details. False when it
    /// was already decided.
    pub fn reject(&self, id: &str, reasons: &[Prompt], now: DateTime<Utc>, by: &str) -> Result<bool, ReviewError> {
        let reasons = serde_json::to_string(reasons).unwrap_or_else(|_| "[]".into());
        let n = self
            .conn
            .execute(
                "UPDATE submissions SET state='rejected', reasons=?2, decided_at=?3, decided_by=?4, photo=NULL, details=NULL
                 WHERE id=?1 AND state IN ('received','pending')",
                params![id, reasons, now.timestamp(), by],
            )
            .map_err(self.e())?;
        Ok(n == 1)
    }

    /// Approves a checked submission: assigns the next number for (region, day) and the
    /// token, in one transaction. False when it was not pending.
    pub fn approve(&mut self, id: &str, now: DateTime<Utc>, validity_days: u32, by: &str) -> Result<bool, ReviewError> {
        let path = self.path.clone();
        let e = db_err(&path);
        let tx = self.conn.transaction().map_err(&e)?;
        let region: Option<String> = tx
            .query_row(
                "SELECT region FROM submissions WHERE id=?1 AND state='pending'",
                [id],
                |r| r.get(0),
            )
            .optional()
            .map_err(&e)?;
        let Some(region) = region else { return Ok(false) };
        let region: RegionCode = region.parse().map_err(ReviewError::Corrupt)?;
        let day = now.with_timezone(&crate::domain::china_time()).date_naive();
        let day_s = day.format("%Y-%m-%d").to_string();
        tx.execute(
            "INSERT INTO sequences (region, day, last) VALUES (?1, ?2, 1)
             ON CONFLICT (region, day) DO UPDATE SET last = last + 1",
            params![region.as_str(), day_s],
        )
        .map_err(&e)?;
        let seq: u32 = tx
            .query_row(
                "SELECT last FROM sequences WHERE region=?1 AND day=?2",
                params![region.as_str(), day_s],
                |r| r.get(0),
            )
            .map_err(&e)?;
        let number = number::make(&region, day, seq).ok_or_else(|| ReviewError::Exhausted {
            region: region.to_string(),
            day,
        })?;
        // Config validation bounds validity_days; a date past chrono's range is still an
        // error here, never a panic.
        let valid_until = day
            .checked_add_days(chrono::Days::new(u64::from(validity_days)))
            .ok_or_else(|| {
                ReviewError::Corrupt(format!("validity of {validity_days} days from {day} is out of range"))
            })?;
        let token = ReceiptToken::random();
        tx.execute(
            "UPDATE submissions SET state='approved', receipt_number=?2, token=?3, valid_until=?4, decided_at=?5, decided_by=?6 WHERE id=?1",
            params![
                id,
                number.as_str(),
                token.expose(),
                valid_until.format("%Y-%m-%d").to_string(),
                now.timestamp(),
                by
            ],
        )
        .map_err(&e)?;
        tx.commit().map_err(&e)?;
        Ok(true)
    }

    /// Checked submissions whose check finished at or before `cutoff` (unix milliseconds).
    pub fn pending_checked_before(&self, cutoff: i64) -> Result<Vec<(String, DocumentId, RegionCode)>, ReviewError> {
        let mut st = self
            .conn
            .prepare("SELECT id, doc, region FROM submissions WHERE state='pending' AND checked_at <= ?1 ORDER BY checked_at")
            .map_err(self.e())?;
        let rows = st
            .query_map([cutoff], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(self.e())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.e())?;
        Ok(rows
            .into_iter()
            .filter_map(|(i, d, r)| Some((i, d.parse().ok()?, r.parse().ok()?)))
            .collect())
    }

    /// For the operator page: pending rows with the details JSON.
    pub fn pending_for_operator(&self) -> Result<Vec<(Row, Option<String>)>, ReviewError> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {ROW_COLS}, details FROM submissions WHERE state='pending' ORDER BY checked_at LIMIT 200"
            ))
            .map_err(self.e())?;
        let rows = st
            .query_map([], |r| Ok((row_from(r)?, r.get::<_, Option<String>>(15)?)))
            .map_err(self.e())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.e());
        rows
    }

    /// For the operator page's audit trail: the latest decisions, newest first.
    pub fn recent_decisions(&self, limit: u32) -> Result<Vec<Row>, ReviewError> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {ROW_COLS} FROM submissions WHERE state IN ('approved','rejected')
                 ORDER BY decided_at DESC, rowid DESC LIMIT ?1"
            ))
            .map_err(self.e())?;
        let rows = st
            .query_map([limit], row_from)
            .map_err(self.e())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.e());
        rows
    }

    /// Marks `kiosk_id` revoked: its key is refused from the next request on, also by a
    /// centre already running on this database. False when it already was.
    pub fn revoke_kiosk(&self, kiosk_id: &str, now: DateTime<Utc>) -> Result<bool, ReviewError> {
        self.conn
            .execute(
                "INSERT INTO revoked_kiosks (kiosk_id, revoked_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![kiosk_id, now.timestamp()],
            )
            .map(|n| n == 1)
            .map_err(self.e())
    }

    /// Whether `kiosk_id` was revoked (read on every kiosk request).
    pub fn is_revoked(&self, kiosk_id: &str) -> Result<bool, ReviewError> {
        self.conn
            .prepare_cached("SELECT 1 FROM revoked_kiosks WHERE kiosk_id=?1")
            .and_then(|mut st| st.exists([kiosk_id]))
            .map_err(self.e())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn photo(&self, id: &str) -> Result<Option<Vec<u8>>, ReviewError> {
        Ok(self
            .conn
            .query_row("SELECT photo FROM submissions WHERE id=?1", [id], |r| {
                r.get::<_, Option<Vec<u8>>>(0)
            })
            .optional()
            .map_err(self.e())?
            .flatten())
    }

    /// Removes photo and details of receipts whose `valid_until + grace_days` has passed.
    /// Returns how many rows were purged.
    pub fn purge(&self, today: NaiveDate, grace_days: u32) -> Result<usize, ReviewError> {
        // A grace period reaching before the calendar's start: nothing has expired yet.
        let Some(cutoff) = today.checked_sub_days(chrono::Days::new(u64::from(grace_days))) else {
            return Ok(0);
        };
        let n = self
            .conn
            .execute(
                "UPDATE submissions SET photo=NULL, details=NULL, purged=1
                 WHERE purged=0 AND state='approved' AND valid_until < ?1",
                [cutoff.format("%Y-%m-%d").to_string()],
            )
            .map_err(self.e())?;
        if n > 0 {
            // Overwritten pages (secure_delete) must also leave the WAL.
            let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
        }
        Ok(n)
    }

    pub fn count_state(&self, state: &str) -> Result<u64, ReviewError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM submissions WHERE state=?1", [state], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(self.e())
    }
}

#[cfg(test)]
mod tests {
    use super::super::decided_by;
    use super::*;
    use crate::domain::ClaimCode;

    #[test]
    fn purge_and_approve_survive_extreme_day_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = SqliteStore::open(&dir.path().join("r.sqlite")).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        // `today - Days(u32::MAX)` panicked on every purge tick.
        assert_eq!(st.purge(today, u32::MAX).unwrap(), 0);
        let region = RegionCode::new("440100").unwrap();
        let claim = ClaimCode::random();
        let Insert::Created(row) = st
            .insert(
                &NewSubmission {
                    kiosk_id: "K".into(),
                    idem_key: "i1".into(),
                    body_sha256: "00".into(),
                    doc: DocumentId::IdCard,
                    region: region.clone(),
                    claim_code: claim,
                    details_json: "{}".into(),
                    photo: b"x".to_vec(),
                },
                Utc::now(),
            )
            .unwrap()
        else {
            panic!("not created")
        };
        st.mark_checked(&row.id, Utc::now()).unwrap();
        // A validity past the calendar's end is an error, not a panic, and changes nothing.
        assert!(st.approve(&row.id, Utc::now(), u32::MAX, "machine").is_err());
        assert_eq!(st.count_state("pending").unwrap(), 1);
        assert!(st.approve(&row.id, Utc::now(), 180, "machine").unwrap());
        assert_eq!(st.purge(today, u32::MAX).unwrap(), 0);
    }

    #[test]
    fn an_existing_database_gains_the_audit_trail_and_revocation() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("review.sqlite");
        // A database as the first release left it: the schema without migrations, with
        // a decided row.
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(SCHEMA).unwrap();
            c.execute(
                "INSERT INTO submissions (id, kiosk_id, idem_key, body_sha256, doc, region, claim_code, state, received_at, decided_at)
                 VALUES ('old', 'K-1', 'i', 's', 'id-card', '440100', 'c', 'rejected', 1, 2)",
                [],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let version: i64 = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let old = store.by_id("old").unwrap().expect("the old row survives");
        assert_eq!((old.state.as_str(), old.decided_by), ("rejected", None));
        // Deciding records who.
        store
            .conn
            .execute(
                "INSERT INTO submissions (id, kiosk_id, idem_key, body_sha256, doc, region, claim_code, state, received_at)
                 VALUES ('new', 'K-1', 'j', 's', 'id-card', '440100', 'd', 'pending', 3)",
                [],
            )
            .unwrap();
        assert!(store
            .reject("new", &[], Utc::now(), &decided_by::staff("alice"))
            .unwrap());
        assert_eq!(
            store.by_id("new").unwrap().unwrap().decided_by.as_deref(),
            Some("staff:alice")
        );
        let recent = store.recent_decisions(10).unwrap();
        assert_eq!(recent.first().map(|r| r.id.as_str()), Some("new"));
        // Revocation, seen by a second handle on the same file.
        assert!(!store.is_revoked("K-1").unwrap());
        assert!(SqliteStore::open(&path)
            .unwrap()
            .revoke_kiosk("K-1", Utc::now())
            .unwrap());
        assert!(store.is_revoked("K-1").unwrap());
        assert!(!store.revoke_kiosk("K-1", Utc::now()).unwrap(), "already revoked");
        drop(store);
        // Opening again applies nothing twice.
        assert!(SqliteStore::open(&path).is_ok());
    }
}
