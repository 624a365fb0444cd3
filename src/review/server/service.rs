//! The service's shared state, its options, and the review loop's pass: the machine
//! re-check of new photos, auto-approval, the retention purge.

use super::limits::Limiter;
use crate::config::{Config, DocumentId, RegionCode};
use crate::domain::Prompt;
use crate::review::clock::Clock;
use crate::review::keys::Keys;
use crate::review::store::{decided_by, Store};
use crate::review::ReviewError;
use crate::staff::{StaffAuth, StaffSettings, StaffState};
use std::sync::Arc;
use std::time::Duration;

/// Tunables of the service (CLI flags).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Approve machine-checked submissions after this long; `None` = wait for an operator.
    pub auto_approve_after: Option<Duration>,
    /// Keep photo and details this many days after the receipt expires.
    pub grace_days: u32,
    /// Largest request body in bytes.
    pub body_limit: usize,
    /// Requests per minute per client address on the public routes.
    pub public_per_min: u32,
    /// Requests per minute per kiosk key (submissions, status polls, receipt reads).
    pub kiosk_per_min: u32,
    /// Requests per minute per client address on the operator page and its actions
    /// (higher than `public_per_min`: one page load fetches every pending photo).
    pub operator_per_min: u32,
    /// How often the review loop runs when nothing wakes it.
    pub tick: Duration,
    /// A request head not complete within this closes the connection (hyper starts the
    /// clock whenever the connection waits for a head, so it bounds silent ones too).
    pub header_timeout: Duration,
    /// A request body not complete within this (from the end of its head) → 408.
    pub body_timeout: Duration,
    /// A connection on which no byte moves either way for this long is closed.
    pub idle_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// After a stop (SIGTERM, drop), connections still open this long are dropped.
    pub shutdown_deadline: Duration,
    /// Failed kiosk-key checks per minute per client address before 429.
    pub auth_fail_per_min: u32,
    /// Most memory one JPEG decode may allocate (`image::Limits::max_alloc`), in bytes.
    pub decode_max_alloc: u64,
    /// Operator logins on `/review` (session lifetime, login throttling).
    pub staff: StaffSettings,
    /// The review loop's longest wait between tries while the database is unavailable
    /// (it doubles from `tick`).
    pub db_backoff_max: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            auto_approve_after: None,
            grace_days: 7,
            body_limit: 1024 * 1024,
            public_per_min: 120,
            kiosk_per_min: 600,
            operator_per_min: 1200,
            tick: Duration::from_millis(250),
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            shutdown_deadline: Duration::from_secs(10),
            auth_fail_per_min: 30,
            decode_max_alloc: 64 << 20,
            staff: StaffSettings {
                home: "/review".into(),
                ..StaffSettings::default()
            },
            db_backoff_max: Duration::from_secs(5),
        }
    }
}

/// Shared state of one running service.
pub struct Service {
    pub(super) cfg: Arc<Config>,
    store: Store,
    pub(super) keys: Keys,
    pub(super) opts: ServerOptions,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) public_limit: Limiter,
    pub(super) kiosk_limit: Limiter,
    pub(super) operator_limit: Limiter,
    pub(super) auth_fail_limit: Limiter,
    pub(super) wake: tokio::sync::Notify,
    staff: StaffAuth,
}

impl StaffState for Service {
    fn staff_auth(&self) -> &StaffAuth {
        &self.staff
    }
}

impl Service {
    /// The service over `store`; operator accounts live in the same database.
    pub fn new(
        cfg: Config,
        store: Store,
        keys: Keys,
        opts: ServerOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Service>, ReviewError> {
        let staff = store.staff_auth(opts.staff.clone())?;
        Ok(Arc::new(Service {
            staff,
            public_limit: Limiter::new(opts.public_per_min),
            kiosk_limit: Limiter::new(opts.kiosk_per_min),
            operator_limit: Limiter::new(opts.operator_per_min),
            auth_fail_limit: Limiter::new(opts.auth_fail_per_min),
            cfg: Arc::new(cfg),
            store,
            keys,
            opts,
            clock,
            wake: tokio::sync::Notify::new(),
        }))
    }

    /// The operator accounts and sessions (tests add accounts through it).
    pub fn staff(&self) -> &StaffAuth {
        &self.staff
    }

    /// The database (either backend; every call async).
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(super) fn today(&self) -> chrono::NaiveDate {
        self.clock
            .now()
            .with_timezone(&crate::domain::china_time())
            .date_naive()
    }

    /// One pass of the review loop: check new photos, auto-approve, purge. With several
    /// instances on one PostgreSQL database each pass claims its own rows, and every
    /// decision is recorded once (the state it leaves is its guard).
    pub async fn review_pass(&self) -> Result<(), ReviewError> {
        let unchecked = self.store.claim_unchecked(32, self.clock.now()).await?;
        for (id, doc, region, photo) in unchecked {
            let (cfg, max_alloc) = (self.cfg.clone(), self.opts.decode_max_alloc);
            let reasons =
                tokio::task::spawn_blocking(move || check_photo_limited(&cfg, doc, &region, &photo, max_alloc))
                    .await
                    .map_err(|e| ReviewError::Task(format!("machine check: {e}")))?;
            let now = self.clock.now();
            if reasons.is_empty() {
                if self.store.mark_checked(&id, now).await? {
                    log::info!("submission {id}: machine check passed, pending approval");
                }
            } else {
                let ids: Vec<&str> = reasons.iter().map(|r| r.id.as_str()).collect();
                if self.store.reject(&id, &reasons, now, decided_by::MACHINE).await? {
                    log::info!("submission {id}: rejected by the machine check: {}", ids.join(","));
                }
            }
        }
        if let Some(cutoff) = self
            .opts
            .auto_approve_after
            .and_then(|after| approve_cutoff(self.clock.now().timestamp_millis(), after))
        {
            let due = self.store.pending_checked_before(cutoff).await?;
            for (id, doc, region) in due {
                self.approve(&id, doc, &region, decided_by::AUTO).await?;
            }
        }
        let purged = self.store.purge(self.today(), self.opts.grace_days).await?;
        if purged > 0 {
            log::info!("retention: purged photo and details of {purged} expired receipt(s)");
        }
        Ok(())
    }

    pub(super) async fn approve(
        &self,
        id: &str,
        doc: DocumentId,
        region: &RegionCode,
        by: &str,
    ) -> Result<bool, ReviewError> {
        let days = self.cfg.validity_days(doc, region);
        let done = self.store.approve(id, self.clock.now(), days, by).await?;
        if done {
            log::info!("submission {id}: approved by {by} ({doc}, {region}, valid {days} days)");
        }
        Ok(done)
    }
}

/// Submissions checked at or before this instant (unix ms) are due for auto-approval;
/// `None` when the delay reaches before any representable time (nothing is due).
fn approve_cutoff(now_ms: i64, after: Duration) -> Option<i64> {
    now_ms.checked_sub(i64::try_from(after.as_millis()).ok()?)
}

/// The service's own re-check of an uploaded JPEG: file size bounds, decoding, and the
/// project's validator ([`crate::vision::review_checks`]), with the default decode limit.
pub fn check_photo(cfg: &Config, doc: DocumentId, region: &RegionCode, jpeg: &[u8]) -> Vec<Prompt> {
    check_photo_limited(cfg, doc, region, jpeg, ServerOptions::default().decode_max_alloc)
}

/// [`check_photo`] decoding with at most `max_alloc` bytes, and only a JPEG whose header
/// gives the document's exact pixel size (anything else is not decoded at all).
pub fn check_photo_limited(
    cfg: &Config,
    doc: DocumentId,
    region: &RegionCode,
    jpeg: &[u8],
    max_alloc: u64,
) -> Vec<Prompt> {
    let spec = cfg.spec_for(doc, Some(region));
    let mut reasons = vec![];
    let kb = jpeg.len().div_ceil(1024) as u32;
    if !spec.file_kb.contains(kb) {
        reasons.push(Prompt::new(
            "file_size",
            &format!(
                "照片文件大小应为{}–{} KB（实际{} KB）",
                spec.file_kb.min, spec.file_kb.max, kb
            ),
            &format!(
                "The photo file must be {}–{} KB (it is {} KB)",
                spec.file_kb.min, spec.file_kb.max, kb
            ),
        ));
    }
    match crate::vision::intake::decode_jpeg_exact(jpeg, (spec.width, spec.height), max_alloc) {
        Ok(img) => reasons.extend(crate::vision::review_checks(&img, &spec)),
        Err(crate::vision::intake::IntakeError::WrongSize { width, height }) => {
            reasons.push(crate::vision::intake::wrong_size_prompt(&spec, width, height))
        }
        Err(_) => reasons.push(bad_jpeg()),
    }
    reasons
}

fn bad_jpeg() -> Prompt {
    Prompt::new(
        "bad_jpeg",
        "照片不是有效的JPEG文件",
        "The photo is not a valid JPEG file",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_approve_cutoff_never_wraps() {
        assert_eq!(approve_cutoff(10_000, Duration::from_secs(3)), Some(7_000));
        // `as i64` made this a huge positive cutoff: everything was due at once.
        assert_eq!(approve_cutoff(10_000, Duration::from_secs(u64::MAX)), None);
        assert_eq!(approve_cutoff(i64::MIN + 5, Duration::from_millis(10)), None);
    }
}
