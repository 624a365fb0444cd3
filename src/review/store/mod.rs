//! The review service's store: submissions, decisions, receipt numbers, revoked kiosks (and,
//! through [`crate::staff`], the operator accounts), on one of two backends:
//!
//! * [`SqliteStore`] — one file (WAL), one process: the embedded default and the demo.
//! * [`PgStore`] — PostgreSQL, shared by several `kiosk review-center` instances behind a
//!   balancer (issue #17): versioned migrations under an advisory lock, idempotency by a
//!   unique constraint and `ON CONFLICT`, review work claimed with `FOR UPDATE SKIP LOCKED`
//!   and a lease, receipt numbers from a sequence row per region and day.
//!
//! [`Store`] is the seam the service uses: an enum over the two, every call async (the
//! SQLite calls run on the blocking pool, so an fsync never holds an async worker).
//!
//! One row per accepted submission. A row's `state` moves `received` → (`pending` →)
//! `approved` | `rejected` and never back. Photo and details are removed on rejection and,
//! for approved rows, at `valid_until + grace days` (the retention purge); the receipt
//! number stays so that it is never reused and `/verify` can still say "expired".

mod copy;
mod postgres;
mod sqlite;

pub use crate::pgdb::DbTarget;
pub use copy::{sqlite_to_postgres, Copied};
pub use postgres::{PgOptions, PgStore};
pub use sqlite::SqliteStore;

use super::api::{Status, Validity};
use super::ReviewError;
use crate::config::{DocumentId, RegionCode};
use crate::domain::{ClaimCode, Prompt, ReceiptNumber, ReceiptToken};
use chrono::{DateTime, NaiveDate, Utc};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The columns [`Row`] is read from, in order (both backends).
pub(super) const ROW_COLS: &str = "id, kiosk_id, body_sha256, doc, region, claim_code, state, reasons, receipt_number, token, valid_until, decided_at, checked_at, purged, decided_by";

/// Who decides, as the audit trail records it.
pub mod decided_by {
    /// The machine check rejected the photo.
    pub const MACHINE: &str = "machine";
    /// Approved by `--auto-approve-after`.
    pub const AUTO: &str = "auto";

    /// A member of staff, by account name.
    pub fn staff(name: &str) -> String {
        format!("staff:{name}")
    }
}

/// A stored submission as the handlers need it (no photo, no details).
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub kiosk_id: String,
    pub body_sha256: String,
    pub doc: DocumentId,
    pub region: RegionCode,
    pub claim_code: String,
    pub state: String,
    pub reasons: Option<String>,
    pub receipt_number: Option<String>,
    pub token: Option<String>,
    pub valid_until: Option<NaiveDate>,
    pub decided_at: Option<i64>,
    pub checked_at: Option<i64>,
    pub purged: bool,
    /// Who decided ([`decided_by`]); `None` before a decision or for rows decided before
    /// the audit trail existed.
    pub decided_by: Option<String>,
}

impl Row {
    pub fn status(&self) -> Status {
        match self.state.as_str() {
            "approved" => match (
                self.receipt_number.as_deref().and_then(|n| ReceiptNumber::new(n).ok()),
                self.valid_until,
                self.token.as_deref().and_then(|t| ReceiptToken::new(t).ok()),
            ) {
                (Some(receipt_number), Some(valid_until), Some(token)) => Status::Approved {
                    receipt_number,
                    valid_until,
                    token,
                },
                _ => Status::Pending,
            },
            "rejected" => Status::Rejected {
                reasons: self
                    .reasons
                    .as_deref()
                    .and_then(|r| serde_json::from_str(r).ok())
                    .unwrap_or_default(),
            },
            _ => Status::Pending,
        }
    }

    pub fn validity(&self, today: NaiveDate) -> Validity {
        match (self.state.as_str(), self.valid_until) {
            ("approved", Some(v)) if today <= v => Validity::Valid,
            ("approved", Some(_)) => Validity::Expired,
            _ => Validity::Unknown,
        }
    }
}

/// A submission waiting for the machine check: (id, document, region, JPEG).
pub type Unchecked = (String, DocumentId, RegionCode, Vec<u8>);

/// A new submission, validated by the handler.
pub struct NewSubmission {
    pub kiosk_id: String,
    pub idem_key: String,
    pub body_sha256: String,
    pub doc: DocumentId,
    pub region: RegionCode,
    pub claim_code: ClaimCode,
    pub details_json: String,
    pub photo: Vec<u8>,
}

/// The outcome of an insert under an idempotency key.
pub enum Insert {
    Created(Row),
    /// Same key, same content: the earlier submission.
    Replayed(Row),
    /// Same key, different content.
    Conflict,
    /// The claim code belongs to another submission.
    ClaimTaken,
}

/// The date text both backends store (`valid_until`, sequence days).
pub(super) fn day_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// `valid_until` back from its text; a damaged value is an error naming it.
pub(super) fn parse_day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| format!("date {s:?}: {e}"))
}

/// The day a receipt number is counted in (China Standard Time) and the date it is valid
/// until; an error, never a panic, when the validity runs past the calendar.
pub(super) fn number_day(now: DateTime<Utc>, validity_days: u32) -> Result<(NaiveDate, NaiveDate), ReviewError> {
    let day = now.with_timezone(&crate::domain::china_time()).date_naive();
    let valid_until = day
        .checked_add_days(chrono::Days::new(u64::from(validity_days)))
        .ok_or_else(|| ReviewError::Corrupt(format!("validity of {validity_days} days from {day} is out of range")))?;
    Ok((day, valid_until))
}

/// The rejection reasons as stored.
pub(super) fn reasons_json(reasons: &[Prompt]) -> String {
    serde_json::to_string(reasons).unwrap_or_else(|_| "[]".into())
}

/// The store of one running service (cheap to clone: both backends are shared handles).
#[derive(Clone)]
pub enum Store {
    Sqlite(Arc<SqliteShared>),
    Postgres(PgStore),
}

/// The SQLite store behind its lock.
pub struct SqliteShared {
    store: Mutex<SqliteStore>,
    path: PathBuf,
}

impl SqliteShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, SqliteStore> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Runs a SQLite call on the blocking pool.
async fn blocking<T: Send + 'static>(
    s: &Arc<SqliteShared>,
    f: impl FnOnce(&mut SqliteStore) -> Result<T, ReviewError> + Send + 'static,
) -> Result<T, ReviewError> {
    let s = s.clone();
    tokio::task::spawn_blocking(move || f(&mut s.lock()))
        .await
        .map_err(|e| ReviewError::Task(format!("database call: {e}")))?
}

impl Store {
    /// Opens (creating) the SQLite database at `path`.
    pub fn open_sqlite(path: &Path) -> Result<Store, ReviewError> {
        Ok(Store::Sqlite(Arc::new(SqliteShared {
            store: Mutex::new(SqliteStore::open(path)?),
            path: path.to_path_buf(),
        })))
    }

    /// Opens the database `target` names: a SQLite file, or PostgreSQL (connecting and
    /// running the migrations; call it on the runtime that will serve).
    pub async fn open(target: &DbTarget, pg: &PgOptions) -> Result<Store, ReviewError> {
        match target {
            DbTarget::Sqlite(path) => Store::open_sqlite(path),
            DbTarget::Postgres(t) => Ok(Store::Postgres(PgStore::connect(t, pg).await?)),
        }
    }

    /// The database for logs and messages: a path, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Store::Sqlite(s) => s.path.display().to_string(),
            Store::Postgres(p) => p.describe().to_string(),
        }
    }

    /// The operator accounts (and, on PostgreSQL, their sessions) in this database.
    pub fn staff_auth(&self, settings: crate::staff::StaffSettings) -> Result<crate::staff::StaffAuth, ReviewError> {
        Ok(match self {
            Store::Sqlite(s) => crate::staff::StaffAuth::open(&s.path, settings)?,
            Store::Postgres(p) => crate::staff::StaffAuth::postgres(p.pool().clone(), p.describe(), settings),
        })
    }

    pub async fn by_idem(&self, kiosk_id: &str, idem_key: &str) -> Result<Option<Row>, ReviewError> {
        match self {
            Store::Sqlite(s) => {
                let (k, i) = (kiosk_id.to_string(), idem_key.to_string());
                blocking(s, move |st| st.by_idem(&k, &i)).await
            }
            Store::Postgres(p) => p.by_idem(kiosk_id, idem_key).await,
        }
    }

    pub async fn by_id(&self, id: &str) -> Result<Option<Row>, ReviewError> {
        match self {
            Store::Sqlite(s) => {
                let id = id.to_string();
                blocking(s, move |st| st.by_id(&id)).await
            }
            Store::Postgres(p) => p.by_col("id", id).await,
        }
    }

    pub async fn by_claim(&self, code: &str) -> Result<Option<Row>, ReviewError> {
        match self {
            Store::Sqlite(s) => {
                let c = code.to_string();
                blocking(s, move |st| st.by_claim(&c)).await
            }
            Store::Postgres(p) => p.by_col("claim_code", code).await,
        }
    }

    pub async fn by_number(&self, number: &str) -> Result<Option<Row>, ReviewError> {
        match self {
            Store::Sqlite(s) => {
                let n = number.to_string();
                blocking(s, move |st| st.by_number(&n)).await
            }
            Store::Postgres(p) => p.by_col("receipt_number", number).await,
        }
    }

    /// Inserts under the idempotency key: at most one submission per (kiosk, key) however
    /// many instances receive it at once.
    pub async fn insert(&self, s: NewSubmission, now: DateTime<Utc>) -> Result<Insert, ReviewError> {
        match self {
            Store::Sqlite(sh) => blocking(sh, move |st| st.insert(&s, now)).await,
            Store::Postgres(p) => p.insert(&s, now).await,
        }
    }

    /// Submissions not yet machine-checked, claimed for this instance: on PostgreSQL no
    /// other instance gets them until `claim_lease` has passed (it died mid-check).
    pub async fn claim_unchecked(&self, limit: u32, now: DateTime<Utc>) -> Result<Vec<Unchecked>, ReviewError> {
        match self {
            Store::Sqlite(s) => blocking(s, move |st| st.unchecked(limit)).await,
            Store::Postgres(p) => p.claim_unchecked(limit, now).await,
        }
    }

    /// The machine check passed: wait for approval. False when the row was no longer
    /// waiting for the check (another instance recorded it first).
    pub async fn mark_checked(&self, id: &str, now: DateTime<Utc>) -> Result<bool, ReviewError> {
        match self {
            Store::Sqlite(s) => {
                let id = id.to_string();
                blocking(s, move |st| st.mark_checked(&id, now)).await
            }
            Store::Postgres(p) => p.mark_checked(id, now).await,
        }
    }

    /// Rejects a submission not yet decided; removes its photo and details. False when it
    /// was already decided.
    pub async fn reject(
        &self,
        id: &str,
        reasons: &[Prompt],
        now: DateTime<Utc>,
        by: &str,
    ) -> Result<bool, ReviewError> {
        match self {
            Store::Sqlite(s) => {
                let (id, reasons, by) = (id.to_string(), reasons.to_vec(), by.to_string());
                blocking(s, move |st| st.reject(&id, &reasons, now, &by)).await
            }
            Store::Postgres(p) => p.reject(id, reasons, now, by).await,
        }
    }

    /// Approves a checked submission: the next number for (region, day) and the token, in
    /// one transaction. False when it was not pending (decided elsewhere meanwhile).
    pub async fn approve(
        &self,
        id: &str,
        now: DateTime<Utc>,
        validity_days: u32,
        by: &str,
    ) -> Result<bool, ReviewError> {
        match self {
            Store::Sqlite(s) => {
                let (id, by) = (id.to_string(), by.to_string());
                blocking(s, move |st| st.approve(&id, now, validity_days, &by)).await
            }
            Store::Postgres(p) => p.approve(id, now, validity_days, by).await,
        }
    }

    /// Checked submissions whose check finished at or before `cutoff` (unix milliseconds).
    pub async fn pending_checked_before(
        &self,
        cutoff: i64,
    ) -> Result<Vec<(String, DocumentId, RegionCode)>, ReviewError> {
        match self {
            Store::Sqlite(s) => blocking(s, move |st| st.pending_checked_before(cutoff)).await,
            Store::Postgres(p) => p.pending_checked_before(cutoff).await,
        }
    }

    /// For the operator page: pending rows with the details JSON.
    pub async fn pending_for_operator(&self) -> Result<Vec<(Row, Option<String>)>, ReviewError> {
        match self {
            Store::Sqlite(s) => blocking(s, |st| st.pending_for_operator()).await,
            Store::Postgres(p) => p.pending_for_operator().await,
        }
    }

    /// For the operator page's audit trail: the latest decisions, newest first.
    pub async fn recent_decisions(&self, limit: u32) -> Result<Vec<Row>, ReviewError> {
        match self {
            Store::Sqlite(s) => blocking(s, move |st| st.recent_decisions(limit)).await,
            Store::Postgres(p) => p.recent_decisions(limit).await,
        }
    }

    /// Marks `kiosk_id` revoked: its key is refused from the next request on, by every
    /// instance on this database. False when it already was.
    pub async fn revoke_kiosk(&self, kiosk_id: &str, now: DateTime<Utc>) -> Result<bool, ReviewError> {
        match self {
            Store::Sqlite(s) => {
                let k = kiosk_id.to_string();
                blocking(s, move |st| st.revoke_kiosk(&k, now)).await
            }
            Store::Postgres(p) => p.revoke_kiosk(kiosk_id, now).await,
        }
    }

    /// Whether `kiosk_id` was revoked (read on every kiosk request).
    pub async fn is_revoked(&self, kiosk_id: &str) -> Result<bool, ReviewError> {
        match self {
            Store::Sqlite(s) => {
                let k = kiosk_id.to_string();
                blocking(s, move |st| st.is_revoked(&k)).await
            }
            Store::Postgres(p) => p.is_revoked(kiosk_id).await,
        }
    }

    pub async fn photo(&self, id: &str) -> Result<Option<Vec<u8>>, ReviewError> {
        match self {
            Store::Sqlite(s) => {
                let id = id.to_string();
                blocking(s, move |st| st.photo(&id)).await
            }
            Store::Postgres(p) => p.photo(id).await,
        }
    }

    /// Removes photo and details of receipts whose `valid_until + grace_days` has passed;
    /// how many rows this call purged (safe on every instance at once).
    pub async fn purge(&self, today: NaiveDate, grace_days: u32) -> Result<usize, ReviewError> {
        match self {
            Store::Sqlite(s) => blocking(s, move |st| st.purge(today, grace_days)).await,
            Store::Postgres(p) => p.purge(today, grace_days).await,
        }
    }

    pub async fn count_state(&self, state: &str) -> Result<u64, ReviewError> {
        match self {
            Store::Sqlite(s) => {
                let state = state.to_string();
                blocking(s, move |st| st.count_state(&state)).await
            }
            Store::Postgres(p) => p.count_state(state).await,
        }
    }
}
