//! Staff accounts and login sessions in PostgreSQL, for services run as several instances
//! behind a balancer (issue #17): a session started on one instance is seen by all (the
//! cookie token's SHA-256, the account, the CSRF token and an absolute expiry in unix
//! milliseconds), and logging out ends it everywhere. The tables are created by the
//! caller's migrations ([`PG_SCHEMA`]).

use super::{Added, SessionInfo, StaffError};
use deadpool_postgres::Pool;

/// The staff tables, applied as one step of the caller's PostgreSQL migrations.
pub const PG_SCHEMA: &str = "
CREATE TABLE staff_accounts (
    name TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE staff_sessions (
    token_sha256 BYTEA PRIMARY KEY,
    name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires_at BIGINT NOT NULL -- unix ms
);
CREATE INDEX staff_sessions_expiry ON staff_sessions(expires_at);
";

pub(super) struct PgStaff {
    pool: Pool,
    name: String,
}

impl PgStaff {
    pub(super) fn new(pool: Pool, name: &str) -> PgStaff {
        PgStaff {
            pool,
            name: name.to_string(),
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StaffError> {
        self.pool.get().await.map_err(|e| StaffError::Unavailable {
            db: self.name.clone(),
            message: e.to_string(),
        })
    }

    fn e(&self) -> impl Fn(tokio_postgres::Error) -> StaffError + '_ {
        move |source| {
            if crate::pgdb::is_unavailable(&source) {
                StaffError::Unavailable {
                    db: self.name.clone(),
                    message: source.to_string(),
                }
            } else {
                StaffError::Pg {
                    db: self.name.clone(),
                    source,
                }
            }
        }
    }

    pub(super) async fn hash_of(&self, name: &str) -> Result<Option<String>, StaffError> {
        let c = self.client().await?;
        Ok(c.query_opt("SELECT hash FROM staff_accounts WHERE name=$1", &[&name])
            .await
            .map_err(self.e())?
            .map(|r| r.get(0)))
    }

    pub(super) async fn set_hash(&self, name: &str, hash: &str, now_s: i64) -> Result<Added, StaffError> {
        let c = self.client().await?;
        // `xmax = 0` only for a row this statement inserted.
        let inserted: bool = c
            .query_one(
                "INSERT INTO staff_accounts (name, hash, created_at, updated_at) VALUES ($1, $2, $3, $3)
                 ON CONFLICT (name) DO UPDATE SET hash=excluded.hash, updated_at=excluded.updated_at
                 RETURNING (xmax = 0)",
                &[&name, &hash, &now_s],
            )
            .await
            .map_err(self.e())?
            .get(0);
        Ok(if inserted { Added::New } else { Added::Replaced })
    }

    pub(super) async fn count(&self) -> Result<u64, StaffError> {
        let c = self.client().await?;
        let n: i64 = c
            .query_one("SELECT COUNT(*) FROM staff_accounts", &[])
            .await
            .map_err(self.e())?
            .get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Stores a new session; drops expired ones, and the ones nearest expiry beyond `max`.
    pub(super) async fn create(
        &self,
        digest: &[u8; 32],
        info: &SessionInfo,
        now_ms: i64,
        expires_ms: i64,
        max: usize,
    ) -> Result<(), StaffError> {
        let c = self.client().await?;
        let keep = i64::try_from(max.saturating_sub(1)).unwrap_or(i64::MAX);
        c.execute("DELETE FROM staff_sessions WHERE expires_at <= $1", &[&now_ms])
            .await
            .map_err(self.e())?;
        c.execute(
            "DELETE FROM staff_sessions WHERE token_sha256 IN (
                 SELECT token_sha256 FROM staff_sessions ORDER BY expires_at DESC OFFSET $1)",
            &[&keep],
        )
        .await
        .map_err(self.e())?;
        c.execute(
            "INSERT INTO staff_sessions (token_sha256, name, csrf, expires_at) VALUES ($1, $2, $3, $4)",
            &[&digest.as_slice(), &info.user, &info.csrf, &expires_ms],
        )
        .await
        .map_err(self.e())?;
        Ok(())
    }

    pub(super) async fn get(&self, digest: &[u8; 32], now_ms: i64) -> Result<Option<SessionInfo>, StaffError> {
        let c = self.client().await?;
        let st = c
            .prepare_cached("SELECT name, csrf FROM staff_sessions WHERE token_sha256=$1 AND expires_at > $2")
            .await
            .map_err(self.e())?;
        Ok(c.query_opt(&st, &[&digest.as_slice(), &now_ms])
            .await
            .map_err(self.e())?
            .map(|r| SessionInfo {
                user: r.get(0),
                csrf: r.get(1),
            }))
    }

    pub(super) async fn remove(&self, digest: &[u8; 32]) -> Result<(), StaffError> {
        let c = self.client().await?;
        c.execute(
            "DELETE FROM staff_sessions WHERE token_sha256=$1",
            &[&digest.as_slice()],
        )
        .await
        .map_err(self.e())?;
        Ok(())
    }
}
