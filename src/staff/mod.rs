//! Staff accounts and their logins, for any page run by people rather than kiosks (the
//! review centre's operator page and the hall console's staff page).
//!
//! * [`accounts`]: names and argon2id hashes in a table of the database the caller names,
//!   SQLite or PostgreSQL (`kiosk review-center --add-user NAME` writes it).
//! * sessions: a random 256-bit token in an `HttpOnly; SameSite=Strict; Path=/` cookie, held
//!   by the server with an absolute expiry ([`StaffSettings::session_ttl`]), and a
//!   per-session CSRF token that every POST form carries (checked in constant time). With
//!   SQLite (one process) they are held in memory; with PostgreSQL in the `staff_sessions`
//!   table ([`pg`]), so every instance behind a balancer knows every login.
//! * throttling: failed logins counted per client address and per account, per instance.
//! * [`http`]: the axum side — the [`Staff`] and [`StaffForm`] extractors, `/login` and
//!   `/logout`, and the security headers of staff pages. A service opts in by exposing its
//!   [`StaffAuth`] through [`StaffState`].

pub mod accounts;
pub mod http;
mod pg;
mod sessions;
mod throttle;

pub use accounts::{valid_name, Accounts, Added};
pub use http::{csrf_input, logout_form, routes, security_headers, Staff, StaffForm, StaffState, COOKIE};
pub use pg::PG_SCHEMA;
pub use sessions::{ct_eq, SessionInfo};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything that can go wrong with staff accounts, naming the database or the fix.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("staff accounts in {path}: {source}. Fix: check the database path is writable")]
    Db { path: PathBuf, source: rusqlite::Error },
    #[error("account name {0:?}: use 1–32 letters, digits, '.', '_' or '-'")]
    Name(String),
    #[error("密码至少{min}个字符 / the password needs at least {min} characters (and at most 1024 bytes)")]
    Password { min: usize },
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("staff accounts in {db}: {source}")]
    Pg { db: String, source: tokio_postgres::Error },
    #[error("staff accounts in {db}: the database is unavailable ({message}); retry shortly")]
    Unavailable { db: String, message: String },
    /// A blocking call on accounts kept in PostgreSQL (use the async one).
    #[error("internal: {0} needs the async call with accounts in PostgreSQL")]
    NeedsAsync(&'static str),
}

/// Limits of the staff logins (the review centre's flags set some of them).
#[derive(Debug, Clone)]
pub struct StaffSettings {
    /// A login is valid this long (absolute, checked by the server).
    pub session_ttl: Duration,
    /// Live sessions kept at most; beyond it the one nearest expiry is dropped.
    pub max_sessions: usize,
    /// Failed logins of one account before it is locked for `lockout`.
    pub account_failures: u32,
    /// Failed logins from one client address before it is locked for `lockout`.
    pub address_failures: u32,
    pub lockout: Duration,
    /// Shortest password `--add-user` accepts (characters).
    pub min_password_len: usize,
    /// Where a login lands without a `next` page.
    pub home: String,
    /// Password checks run at once at most (each argon2 check takes 19 MiB for a moment);
    /// further logins wait their turn.
    pub concurrent_checks: usize,
}

impl Default for StaffSettings {
    fn default() -> Self {
        StaffSettings {
            session_ttl: Duration::from_secs(8 * 3600),
            max_sessions: 1000,
            account_failures: 5,
            address_failures: 20,
            lockout: Duration::from_secs(15 * 60),
            min_password_len: 10,
            home: "/".into(),
            concurrent_checks: 4,
        }
    }
}

/// Why a login was refused.
#[derive(Debug)]
pub enum LoginError {
    /// Wrong name or password (the same answer for both).
    Wrong,
    /// Too many failures from this address or for this account: try again after this long.
    Throttled(Duration),
    Internal(StaffError),
}

/// Where accounts and sessions live.
enum Backend {
    /// Accounts in a SQLite file, sessions in this process's memory (one instance).
    Sqlite {
        accounts: Arc<Accounts>,
        sessions: sessions::Sessions,
    },
    /// Both in PostgreSQL, shared by every instance.
    Postgres(pg::PgStaff),
}

/// The accounts, the live sessions and the throttles of one service.
pub struct StaffAuth {
    backend: Backend,
    by_address: throttle::Throttle,
    by_account: throttle::Throttle,
    /// Bounds the memory of concurrent argon2 checks ([`StaffSettings::concurrent_checks`]).
    checks: tokio::sync::Semaphore,
    settings: StaffSettings,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl StaffAuth {
    fn with(backend: Backend, settings: StaffSettings) -> StaffAuth {
        StaffAuth {
            backend,
            by_address: throttle::Throttle::new(settings.address_failures, settings.lockout),
            by_account: throttle::Throttle::new(settings.account_failures, settings.lockout),
            checks: tokio::sync::Semaphore::new(settings.concurrent_checks.max(1)),
            settings,
        }
    }

    /// Opens the accounts table in the SQLite database at `db`; sessions in memory.
    pub fn open(db: &Path, settings: StaffSettings) -> Result<StaffAuth, StaffError> {
        let backend = Backend::Sqlite {
            accounts: Arc::new(Accounts::open(db)?),
            sessions: sessions::Sessions::new(settings.session_ttl, settings.max_sessions),
        };
        Ok(StaffAuth::with(backend, settings))
    }

    /// Accounts and sessions in PostgreSQL (tables from [`PG_SCHEMA`]); `name` is the
    /// database as messages show it (no password).
    pub fn postgres(pool: deadpool_postgres::Pool, name: &str, settings: StaffSettings) -> StaffAuth {
        StaffAuth::with(Backend::Postgres(pg::PgStaff::new(pool, name)), settings)
    }

    pub fn settings(&self) -> &StaffSettings {
        &self.settings
    }

    /// Creates account `name` or replaces its password (at least `min_password_len`
    /// chars). Blocking, SQLite accounts only: [`StaffAuth::set_user_password`] serves both.
    pub fn add_user(&self, name: &str, password: &str) -> Result<Added, StaffError> {
        match &self.backend {
            Backend::Sqlite { accounts, .. } => accounts.set_password(name, password, self.settings.min_password_len),
            Backend::Postgres(_) => Err(StaffError::NeedsAsync("add_user")),
        }
    }

    /// Creates account `name` or replaces its password, on either backend (hashing runs
    /// on the blocking pool).
    pub async fn set_user_password(&self, name: &str, password: &str) -> Result<Added, StaffError> {
        accounts::check_new(name, password, self.settings.min_password_len)?;
        let pw = zeroize::Zeroizing::new(password.to_string());
        let hash = tokio::task::spawn_blocking(move || accounts::hash_password(&pw))
            .await
            .map_err(|e| StaffError::Hash(e.to_string()))??;
        match &self.backend {
            Backend::Sqlite { accounts, .. } => {
                let (a, n) = (accounts.clone(), name.to_string());
                tokio::task::spawn_blocking(move || a.store_hash(&n, &hash))
                    .await
                    .map_err(|e| StaffError::Hash(e.to_string()))?
            }
            Backend::Postgres(p) => p.set_hash(name, &hash, now_ms() / 1000).await,
        }
    }

    /// How many accounts exist. Blocking, SQLite accounts only ([`StaffAuth::count_accounts`]).
    pub fn account_count(&self) -> Result<u64, StaffError> {
        match &self.backend {
            Backend::Sqlite { accounts, .. } => accounts.count(),
            Backend::Postgres(_) => Err(StaffError::NeedsAsync("account_count")),
        }
    }

    /// How many accounts exist, on either backend.
    pub async fn count_accounts(&self) -> Result<u64, StaffError> {
        match &self.backend {
            Backend::Sqlite { accounts, .. } => accounts.count(),
            Backend::Postgres(p) => p.count().await,
        }
    }

    /// Checks a login from `address` and starts a session: `(cookie token, session)`.
    /// Blocking (one argon2 verification), SQLite accounts only; the login page uses
    /// [`StaffAuth::sign_in`].
    pub fn login(&self, name: &str, password: &str, address: &str) -> Result<(String, SessionInfo), LoginError> {
        let Backend::Sqlite { accounts, sessions } = &self.backend else {
            return Err(LoginError::Internal(StaffError::NeedsAsync("login")));
        };
        let now = Instant::now();
        let account_key = self.throttled(name, address, now)?;
        if !accounts.verify(name, password).map_err(LoginError::Internal)? {
            self.failed(name, &account_key, address, now);
            return Err(LoginError::Wrong);
        }
        self.by_account.clear(&account_key);
        Ok(sessions.create(name, now))
    }

    /// The throttles' verdict; the account's throttle key.
    fn throttled(&self, name: &str, address: &str, now: Instant) -> Result<String, LoginError> {
        let account_key = name.to_ascii_lowercase();
        self.by_address
            .check(address, now)
            .and_then(|_| self.by_account.check(&account_key, now))
            .map_err(LoginError::Throttled)?;
        Ok(account_key)
    }

    fn failed(&self, name: &str, account_key: &str, address: &str, now: Instant) {
        self.by_address.fail(address, now);
        if valid_name(name) {
            self.by_account.fail(account_key, now);
        }
    }

    /// Checks a login from `address` and starts a session, on either backend: the argon2
    /// check on the blocking pool, at most `concurrent_checks` at once.
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
        address: &str,
    ) -> Result<(String, SessionInfo), LoginError> {
        let now = Instant::now();
        let account_key = self.throttled(name, address, now)?;
        // A flood of logins queues here instead of running argon2 (19 MiB each) all at once.
        let _permit = self
            .checks
            .acquire()
            .await
            .map_err(|_| LoginError::Internal(StaffError::Hash("shutting down".into())))?;
        let stored = match &self.backend {
            Backend::Sqlite { accounts, .. } => {
                let (a, n) = (accounts.clone(), name.to_string());
                tokio::task::spawn_blocking(move || a.hash_of(&n))
                    .await
                    .map_err(|e| LoginError::Internal(StaffError::Hash(e.to_string())))?
            }
            Backend::Postgres(p) => p.hash_of(name).await,
        }
        .map_err(LoginError::Internal)?;
        let pw = zeroize::Zeroizing::new(password.to_string());
        let ok = tokio::task::spawn_blocking(move || accounts::check_stored(stored.as_deref(), &pw))
            .await
            .map_err(|e| LoginError::Internal(StaffError::Hash(e.to_string())))?;
        if !ok {
            self.failed(name, &account_key, address, now);
            return Err(LoginError::Wrong);
        }
        self.by_account.clear(&account_key);
        match &self.backend {
            Backend::Sqlite { sessions, .. } => Ok(sessions.create(name, now)),
            Backend::Postgres(p) => {
                let token = sessions::random_hex();
                let info = SessionInfo {
                    user: name.to_string(),
                    csrf: sessions::random_hex(),
                };
                let now = now_ms();
                let ttl = i64::try_from(self.settings.session_ttl.as_millis()).unwrap_or(i64::MAX);
                p.create(
                    &sessions::digest(&token),
                    &info,
                    now,
                    now.saturating_add(ttl),
                    self.settings.max_sessions,
                )
                .await
                .map_err(LoginError::Internal)?;
                Ok((token, info))
            }
        }
    }

    /// The live session of a cookie token, on either backend (an error when the database
    /// cannot answer right now: not a logout).
    pub async fn session(&self, token: &str) -> Result<Option<SessionInfo>, StaffError> {
        match &self.backend {
            Backend::Sqlite { sessions, .. } => Ok(sessions.get(token, Instant::now())),
            Backend::Postgres(p) => p.get(&sessions::digest(token), now_ms()).await,
        }
    }

    /// Ends the session of `token` (on every instance, with PostgreSQL).
    pub async fn logout(&self, token: &str) -> Result<(), StaffError> {
        match &self.backend {
            Backend::Sqlite { sessions, .. } => {
                sessions.remove(token);
                Ok(())
            }
            Backend::Postgres(p) => p.remove(&sessions::digest(token)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().build().unwrap()
    }

    fn auth(settings: StaffSettings) -> (tempfile::TempDir, StaffAuth) {
        let d = tempfile::tempdir().unwrap();
        let a = StaffAuth::open(&d.path().join("db.sqlite"), settings).unwrap();
        a.add_user("alice", "alice's long password").unwrap();
        (d, a)
    }

    #[test]
    fn login_gives_a_session_with_its_own_csrf_token() {
        let (_d, a) = auth(StaffSettings::default());
        let (token, info) = a.login("alice", "alice's long password", "127.0.0.1").unwrap();
        assert_eq!(info.user, "alice");
        assert_eq!(rt().block_on(a.session(&token)).unwrap(), Some(info.clone()));
        let (token2, info2) = a.login("alice", "alice's long password", "127.0.0.1").unwrap();
        assert_ne!(token, token2);
        assert_ne!(info.csrf, info2.csrf, "a CSRF token per session");
        rt().block_on(a.logout(&token)).unwrap();
        assert!(rt().block_on(a.session(&token)).unwrap().is_none());
        assert!(rt().block_on(a.session(&token2)).unwrap().is_some());
    }

    #[test]
    fn sessions_expire_after_the_setting() {
        let (_d, a) = auth(StaffSettings {
            session_ttl: Duration::from_millis(200),
            ..StaffSettings::default()
        });
        let (token, _) = a.login("alice", "alice's long password", "127.0.0.1").unwrap();
        assert!(rt().block_on(a.session(&token)).unwrap().is_some());
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            rt().block_on(a.session(&token)).unwrap().is_none(),
            "expired on the server"
        );
    }

    #[test]
    fn failures_lock_the_account_and_the_address() {
        let (_d, a) = auth(StaffSettings {
            account_failures: 2,
            address_failures: 3,
            ..StaffSettings::default()
        });
        for _ in 0..2 {
            assert!(matches!(
                a.login("alice", "wrong password!", "10.0.0.1"),
                Err(LoginError::Wrong)
            ));
        }
        // The account is locked, even with the right password and from elsewhere.
        assert!(matches!(
            a.login("alice", "alice's long password", "10.0.0.2"),
            Err(LoginError::Throttled(_))
        ));
        // 10.0.0.1 has one more try on another name, then it is locked too.
        assert!(matches!(
            a.login("bob", "whatever pw", "10.0.0.1"),
            Err(LoginError::Wrong)
        ));
        assert!(matches!(
            a.login("carol", "whatever pw", "10.0.0.1"),
            Err(LoginError::Throttled(_))
        ));
    }
}
