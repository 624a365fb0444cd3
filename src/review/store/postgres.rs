//! The PostgreSQL backend: one database shared by every `kiosk review-center` instance.
//!
//! * Migrations: numbered steps in `kiosk_migrations`, applied at start-up while holding a
//!   session advisory lock, so instances starting together apply each step once.
//! * Tables in the URL's default schema (its `search_path`; `public` unless the URL sets
//!   `options=-csearch_path=…`): no name is schema-qualified.
//! * Idempotency: `INSERT … ON CONFLICT DO NOTHING RETURNING` against the unique
//!   `(kiosk_id, idem_key)` and `claim_code` constraints, never read-then-write.
//! * The review loop claims rows with `FOR UPDATE SKIP LOCKED` and a lease
//!   (`claimed_until`): an instance killed mid-check leaves its rows to the others once the
//!   lease runs out; every state change is guarded by the state it leaves, so a decision
//!   is recorded once.
//! * Receipt numbers: a row per (region, day) in `sequences`, bumped with
//!   `INSERT … ON CONFLICT DO UPDATE … RETURNING` inside the approval's transaction.
//! * A lost server (restart, network) makes calls fail with [`ReviewError::Unavailable`]
//!   (503 to the client); the pool opens new connections on the next call.

use super::copy::{FullRow, Small};
use super::{day_text, number_day, parse_day, reasons_json, Insert, NewSubmission, Row, Unchecked, ROW_COLS};
use crate::config::{DocumentId, RegionCode};
use crate::domain::{Prompt, ReceiptToken};
use crate::pgdb::{self, Migrations, PgTarget};
use crate::review::number;
use crate::review::ReviewError;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::Pool;
use std::sync::Arc;
use std::time::Duration;

/// Pool and lease settings (`kiosk review-center` flags).
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Connections one instance keeps at most.
    pub pool_size: usize,
    /// Connecting (TCP and authentication) may take this long.
    pub connect_timeout: Duration,
    /// A request waits this long for a free pooled connection before 503.
    pub wait_timeout: Duration,
    /// A machine check claimed by an instance is left to others after this long.
    pub claim_lease: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            pool_size: 16,
            connect_timeout: Duration::from_secs(5),
            wait_timeout: Duration::from_secs(5),
            claim_lease: Duration::from_secs(60),
        }
    }
}

impl PgOptions {
    /// The pool part of these settings.
    pub fn pool(&self) -> pgdb::PoolSettings {
        pgdb::PoolSettings {
            size: self.pool_size,
            connect_timeout: self.connect_timeout,
            wait_timeout: self.wait_timeout,
        }
    }
}

/// The advisory lock key migrations run under ("kioskrev" as bytes).
const MIGRATION_LOCK: i64 = 0x6b69_6f73_6b72_6576;

/// The schema, step by step; `kiosk_migrations` records the steps applied.
const MIGRATIONS: &[&str] = &[
    // 1 (#17): the SQLite schema with its migrations, plus `seq` (insertion order for the
    // audit trail), `claimed_until` (the review loop's lease); staff tables follow.
    "CREATE TABLE submissions (
        seq BIGSERIAL NOT NULL,
        id TEXT PRIMARY KEY,
        kiosk_id TEXT NOT NULL,
        idem_key TEXT NOT NULL,
        body_sha256 TEXT NOT NULL,
        doc TEXT NOT NULL,
        region TEXT NOT NULL,
        claim_code TEXT NOT NULL UNIQUE,
        details TEXT,
        photo BYTEA,
        state TEXT NOT NULL CHECK (state IN ('received','pending','approved','rejected')),
        reasons TEXT,
        received_at BIGINT NOT NULL,
        checked_at BIGINT,
        decided_at BIGINT,
        receipt_number TEXT UNIQUE,
        token TEXT UNIQUE,
        valid_until TEXT,
        purged INTEGER NOT NULL DEFAULT 0,
        decided_by TEXT,
        claimed_until BIGINT,
        UNIQUE (kiosk_id, idem_key)
    );
    CREATE INDEX submissions_state ON submissions(state, received_at);
    CREATE INDEX submissions_purge ON submissions(purged, valid_until);
    CREATE TABLE sequences (
        region TEXT NOT NULL,
        day TEXT NOT NULL,
        last INTEGER NOT NULL,
        PRIMARY KEY (region, day)
    );
    CREATE TABLE revoked_kiosks (
        kiosk_id TEXT PRIMARY KEY,
        revoked_at BIGINT NOT NULL
    );",
    crate::staff::PG_SCHEMA,
];

/// The PostgreSQL store (a pool; cheap to clone).
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    name: Arc<str>,
    lease_ms: i64,
}

impl PgStore {
    /// Connects, creating the pool, and applies the migrations. A connection that cannot
    /// be made is an error naming the setting and the fix.
    pub async fn connect(target: &PgTarget, opts: &PgOptions) -> Result<PgStore, ReviewError> {
        let migrations = Migrations {
            service: "review",
            lock: MIGRATION_LOCK,
            table: "kiosk_migrations",
            steps: MIGRATIONS,
        };
        let pool = pgdb::open(target, &opts.pool(), "kiosk review-center", &migrations).await?;
        Ok(PgStore {
            pool,
            name: target.describe().into(),
            lease_ms: i64::try_from(opts.claim_lease.as_millis()).unwrap_or(i64::MAX),
        })
    }

    pub fn describe(&self) -> &str {
        &self.name
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    fn err(&self, what: &'static str) -> impl Fn(tokio_postgres::Error) -> ReviewError + '_ {
        move |source| pgdb::query_error(&self.name, what, source).into()
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, ReviewError> {
        self.pool
            .get()
            .await
            .map_err(|e| pgdb::pool_error(&self.name, e).into())
    }

    fn row(&self, r: &tokio_postgres::Row) -> Result<Row, ReviewError> {
        row_from(r).map_err(|m| ReviewError::Corrupt(format!("{}: {m}", self.name)))
    }

    async fn one(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<Row>, ReviewError> {
        let c = self.client().await?;
        let st = c.prepare_cached(sql).await.map_err(self.err("prepare"))?;
        match c.query_opt(&st, params).await.map_err(self.err("query"))? {
            Some(r) => Ok(Some(self.row(&r)?)),
            None => Ok(None),
        }
    }

    pub async fn by_idem(&self, kiosk_id: &str, idem_key: &str) -> Result<Option<Row>, ReviewError> {
        self.one(
            &format!("SELECT {ROW_COLS} FROM submissions WHERE kiosk_id=$1 AND idem_key=$2"),
            &[&kiosk_id, &idem_key],
        )
        .await
    }

    /// By a unique column: `id`, `claim_code` or `receipt_number`.
    pub(super) async fn by_col(&self, col: &'static str, value: &str) -> Result<Option<Row>, ReviewError> {
        self.one(&format!("SELECT {ROW_COLS} FROM submissions WHERE {col}=$1"), &[&value])
            .await
    }

    pub async fn insert(&self, s: &NewSubmission, now: DateTime<Utc>) -> Result<Insert, ReviewError> {
        let id = hex::encode(rand::random::<[u8; 16]>());
        let created = self
            .one(
                &format!(
                    "INSERT INTO submissions (id, kiosk_id, idem_key, body_sha256, doc, region, claim_code, details, photo, state, received_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'received', $10)
                     ON CONFLICT DO NOTHING RETURNING {ROW_COLS}"
                ),
                &[
                    &id,
                    &s.kiosk_id,
                    &s.idem_key,
                    &s.body_sha256,
                    &s.doc.as_str(),
                    &s.region.as_str(),
                    &s.claim_code.0,
                    &s.details_json,
                    &s.photo,
                    &now.timestamp(),
                ],
            )
            .await?;
        if let Some(row) = created {
            return Ok(Insert::Created(row));
        }
        // A unique constraint held: the same key (committed before this insert returned),
        // or the claim code of another submission.
        if let Some(row) = self.by_idem(&s.kiosk_id, &s.idem_key).await? {
            return Ok(if row.body_sha256 == s.body_sha256 {
                Insert::Replayed(row)
            } else {
                Insert::Conflict
            });
        }
        if self.by_col("claim_code", &s.claim_code.0).await?.is_some() {
            return Ok(Insert::ClaimTaken);
        }
        Err(ReviewError::Corrupt(format!(
            "{}: an insert conflicted with no submission of that key or claim code",
            self.name
        )))
    }

    pub async fn claim_unchecked(&self, limit: u32, now: DateTime<Utc>) -> Result<Vec<Unchecked>, ReviewError> {
        let c = self.client().await?;
        let now_ms = now.timestamp_millis();
        let rows = c
            .query(
                "UPDATE submissions SET claimed_until = $2 WHERE id IN (
                     SELECT id FROM submissions
                     WHERE state='received' AND (claimed_until IS NULL OR claimed_until < $1)
                     ORDER BY received_at LIMIT $3 FOR UPDATE SKIP LOCKED)
                 RETURNING id, doc, region, photo",
                &[&now_ms, &now_ms.saturating_add(self.lease_ms), &i64::from(limit)],
            )
            .await
            .map_err(self.err("claim"))?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let id: String = r.try_get(0).ok()?;
                let doc: String = r.try_get(1).ok()?;
                let region: String = r.try_get(2).ok()?;
                let photo: Option<Vec<u8>> = r.try_get(3).ok()?;
                Some((id, doc.parse().ok()?, region.parse().ok()?, photo.unwrap_or_default()))
            })
            .collect())
    }

    async fn exec(
        &self,
        what: &'static str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, ReviewError> {
        let c = self.client().await?;
        let st = c.prepare_cached(sql).await.map_err(self.err(what))?;
        c.execute(&st, params).await.map_err(self.err(what))
    }

    pub async fn mark_checked(&self, id: &str, now: DateTime<Utc>) -> Result<bool, ReviewError> {
        self.exec(
            "mark checked",
            "UPDATE submissions SET state='pending', checked_at=$2, claimed_until=NULL WHERE id=$1 AND state='received'",
            &[&id, &now.timestamp_millis()],
        )
        .await
        .map(|n| n == 1)
    }

    pub async fn reject(
        &self,
        id: &str,
        reasons: &[Prompt],
        now: DateTime<Utc>,
        by: &str,
    ) -> Result<bool, ReviewError> {
        self.exec(
            "reject",
            "UPDATE submissions SET state='rejected', reasons=$2, decided_at=$3, decided_by=$4, photo=NULL, details=NULL,
                 claimed_until=NULL
             WHERE id=$1 AND state IN ('received','pending')",
            &[&id, &reasons_json(reasons), &now.timestamp(), &by],
        )
        .await
        .map(|n| n == 1)
    }

    pub async fn approve(
        &self,
        id: &str,
        now: DateTime<Utc>,
        validity_days: u32,
        by: &str,
    ) -> Result<bool, ReviewError> {
        let (day, valid_until) = number_day(now, validity_days)?;
        let mut c = self.client().await?;
        let e = self.err("approve");
        let tx = c.transaction().await.map_err(&e)?;
        // The row lock: a concurrent approval (another instance, an operator) waits here
        // and then finds the row no longer pending.
        let region: Option<String> = tx
            .query_opt(
                "SELECT region FROM submissions WHERE id=$1 AND state='pending' FOR UPDATE",
                &[&id],
            )
            .await
            .map_err(&e)?
            .map(|r| r.get(0));
        let Some(region) = region else { return Ok(false) };
        let region: RegionCode = region.parse().map_err(ReviewError::Corrupt)?;
        let seq: i32 = tx
            .query_one(
                "INSERT INTO sequences (region, day, last) VALUES ($1, $2, 1)
                 ON CONFLICT (region, day) DO UPDATE SET last = sequences.last + 1
                 RETURNING last",
                &[&region.as_str(), &day_text(day)],
            )
            .await
            .map_err(&e)?
            .get(0);
        let number = u32::try_from(seq)
            .ok()
            .and_then(|s| number::make(&region, day, s))
            .ok_or_else(|| ReviewError::Exhausted {
                region: region.to_string(),
                day,
            })?;
        let token = ReceiptToken::random();
        tx.execute(
            "UPDATE submissions SET state='approved', receipt_number=$2, token=$3, valid_until=$4, decided_at=$5,
                 decided_by=$6, claimed_until=NULL
             WHERE id=$1",
            &[
                &id,
                &number.as_str(),
                &token.expose(),
                &day_text(valid_until),
                &now.timestamp(),
                &by,
            ],
        )
        .await
        .map_err(&e)?;
        tx.commit().await.map_err(&e)?;
        Ok(true)
    }

    pub async fn pending_checked_before(
        &self,
        cutoff: i64,
    ) -> Result<Vec<(String, DocumentId, RegionCode)>, ReviewError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, doc, region FROM submissions WHERE state='pending' AND checked_at <= $1 ORDER BY checked_at LIMIT 256",
                &[&cutoff],
            )
            .await
            .map_err(self.err("due approvals"))?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let (i, d, g): (String, String, String) = (r.get(0), r.get(1), r.get(2));
                Some((i, d.parse().ok()?, g.parse().ok()?))
            })
            .collect())
    }

    pub async fn pending_for_operator(&self) -> Result<Vec<(Row, Option<String>)>, ReviewError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {ROW_COLS}, details FROM submissions WHERE state='pending' ORDER BY checked_at LIMIT 200"
                ),
                &[],
            )
            .await
            .map_err(self.err("pending"))?;
        rows.iter()
            .map(|r| Ok((self.row(r)?, r.get::<_, Option<String>>(15))))
            .collect()
    }

    pub async fn recent_decisions(&self, limit: u32) -> Result<Vec<Row>, ReviewError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {ROW_COLS} FROM submissions WHERE state IN ('approved','rejected')
                     ORDER BY decided_at DESC, seq DESC LIMIT $1"
                ),
                &[&i64::from(limit)],
            )
            .await
            .map_err(self.err("recent decisions"))?;
        rows.iter().map(|r| self.row(r)).collect()
    }

    pub async fn revoke_kiosk(&self, kiosk_id: &str, now: DateTime<Utc>) -> Result<bool, ReviewError> {
        self.exec(
            "revoke",
            "INSERT INTO revoked_kiosks (kiosk_id, revoked_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&kiosk_id, &now.timestamp()],
        )
        .await
        .map(|n| n == 1)
    }

    pub async fn is_revoked(&self, kiosk_id: &str) -> Result<bool, ReviewError> {
        let c = self.client().await?;
        let st = c
            .prepare_cached("SELECT 1 FROM revoked_kiosks WHERE kiosk_id=$1")
            .await
            .map_err(self.err("revoked"))?;
        Ok(c.query_opt(&st, &[&kiosk_id])
            .await
            .map_err(self.err("revoked"))?
            .is_some())
    }

    pub async fn photo(&self, id: &str) -> Result<Option<Vec<u8>>, ReviewError> {
        let c = self.client().await?;
        Ok(c.query_opt("SELECT photo FROM submissions WHERE id=$1", &[&id])
            .await
            .map_err(self.err("photo"))?
            .and_then(|r| r.get::<_, Option<Vec<u8>>>(0)))
    }

    pub async fn purge(&self, today: NaiveDate, grace_days: u32) -> Result<usize, ReviewError> {
        let Some(cutoff) = today.checked_sub_days(chrono::Days::new(u64::from(grace_days))) else {
            return Ok(0);
        };
        // Row locks make concurrent purges on several instances wait for each other and
        // then skip what is already purged (`purged=0` is re-checked).
        self.exec(
            "purge",
            "UPDATE submissions SET photo=NULL, details=NULL, purged=1
             WHERE purged=0 AND state='approved' AND valid_until < $1",
            &[&day_text(cutoff)],
        )
        .await
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub async fn count_state(&self, state: &str) -> Result<u64, ReviewError> {
        let c = self.client().await?;
        let n: i64 = c
            .query_one("SELECT COUNT(*) FROM submissions WHERE state=$1", &[&state])
            .await
            .map_err(self.err("count"))?
            .get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl PgStore {
    /// Writes rows moved from SQLite in one transaction, skipping any already here;
    /// how many were new.
    pub(super) async fn copy_submissions(&self, rows: &[FullRow]) -> Result<u64, ReviewError> {
        let mut c = self.client().await?;
        let e = self.err("copy submissions");
        let tx = c.transaction().await.map_err(&e)?;
        let st = tx
            .prepare(
                "INSERT INTO submissions (id, kiosk_id, idem_key, body_sha256, doc, region, claim_code, details, photo,
                     state, reasons, received_at, checked_at, decided_at, receipt_number, token, valid_until, purged,
                     decided_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
                 ON CONFLICT DO NOTHING",
            )
            .await
            .map_err(&e)?;
        let mut new = 0;
        for r in rows {
            let purged = i32::from(r.purged != 0);
            let n = tx
                .execute(
                    &st,
                    &[
                        &r.id,
                        &r.kiosk_id,
                        &r.idem_key,
                        &r.body_sha256,
                        &r.doc,
                        &r.region,
                        &r.claim_code,
                        &r.details,
                        &r.photo,
                        &r.state,
                        &r.reasons,
                        &r.received_at,
                        &r.checked_at,
                        &r.decided_at,
                        &r.receipt_number,
                        &r.token,
                        &r.valid_until,
                        &purged,
                        &r.decided_by,
                    ],
                )
                .await
                .map_err(&e)?;
            if n == 0
                && tx
                    .query_opt("SELECT 1 FROM submissions WHERE id=$1", &[&r.id])
                    .await
                    .map_err(&e)?
                    .is_none()
            {
                // Not moved before: another submission holds its key, claim code or number.
                return Err(ReviewError::DbConfig {
                    db: self.name.to_string(),
                    message: format!(
                        "submission {} clashes with a different one already here (same kiosk and idempotency key, claim code or receipt number); nothing of this batch was written",
                        r.id
                    ),
                    fix: "move into an empty database (or one that only holds an earlier move of this file)".into(),
                });
            }
            new += n;
        }
        tx.commit().await.map_err(&e)?;
        Ok(new)
    }

    /// Sequences (the higher count wins), revoked kiosks and staff accounts (existing ones
    /// kept) moved from SQLite: how many of each were written.
    pub(super) async fn copy_small(&self, s: &Small) -> Result<(u64, u64, u64), ReviewError> {
        let mut c = self.client().await?;
        let e = self.err("copy");
        let tx = c.transaction().await.map_err(&e)?;
        let (mut seq, mut rev, mut acc) = (0, 0, 0);
        for (region, day, last) in &s.sequences {
            let last =
                i32::try_from(*last).map_err(|_| ReviewError::Corrupt(format!("sequence {region} {day}: {last}")))?;
            seq += tx
                .execute(
                    "INSERT INTO sequences (region, day, last) VALUES ($1, $2, $3)
                     ON CONFLICT (region, day) DO UPDATE SET last = GREATEST(sequences.last, excluded.last)",
                    &[region, day, &last],
                )
                .await
                .map_err(&e)?;
        }
        for (kiosk, at) in &s.revoked {
            rev += tx
                .execute(
                    "INSERT INTO revoked_kiosks (kiosk_id, revoked_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[kiosk, at],
                )
                .await
                .map_err(&e)?;
        }
        for (name, hash, created, updated) in &s.accounts {
            acc += tx
                .execute(
                    "INSERT INTO staff_accounts (name, hash, created_at, updated_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT DO NOTHING",
                    &[name, hash, created, updated],
                )
                .await
                .map_err(&e)?;
        }
        tx.commit().await.map_err(&e)?;
        Ok((seq, rev, acc))
    }
}

fn row_from(r: &tokio_postgres::Row) -> Result<Row, String> {
    let g = |e: tokio_postgres::Error| e.to_string();
    let doc: String = r.try_get(3).map_err(g)?;
    let region: String = r.try_get(4).map_err(g)?;
    let valid: Option<String> = r.try_get(10).map_err(g)?;
    Ok(Row {
        id: r.try_get(0).map_err(g)?,
        kiosk_id: r.try_get(1).map_err(g)?,
        body_sha256: r.try_get(2).map_err(g)?,
        doc: doc.parse()?,
        region: region.parse()?,
        claim_code: r.try_get(5).map_err(g)?,
        state: r.try_get(6).map_err(g)?,
        reasons: r.try_get(7).map_err(g)?,
        receipt_number: r.try_get(8).map_err(g)?,
        token: r.try_get(9).map_err(g)?,
        valid_until: valid.as_deref().map(parse_day).transpose()?,
        decided_at: r.try_get(11).map_err(g)?,
        checked_at: r.try_get(12).map_err(g)?,
        purged: r.try_get::<_, i32>(13).map_err(g)? != 0,
        decided_by: r.try_get(14).map_err(g)?,
    })
}
