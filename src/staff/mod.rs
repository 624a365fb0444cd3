//! Staff accounts and their logins, for any page run by people rather than kiosks (the
//! review centre's operator page and the hall console's staff page).
//!
//! * [`accounts`]: names and argon2id hashes in a SQLite table of the database the caller
//!   names (`kiosk review-center --add-user NAME` writes it).
//! * sessions: a random 256-bit token in an `HttpOnly; SameSite=Strict; Path=/` cookie, held
//!   by the server with an absolute expiry ([`StaffSettings::session_ttl`]), and a
//!   per-session CSRF token that every POST form carries (checked in constant time).
//! * throttling: failed logins counted per client address and per account.
//! * [`http`]: the axum side — the [`Staff`] and [`StaffForm`] extractors, `/login` and
//!   `/logout`, and the security headers of staff pages. A service opts in by exposing its
//!   [`StaffAuth`] through [`StaffState`].

pub mod accounts;
pub mod http;
mod sessions;
mod throttle;

pub use accounts::{valid_name, Accounts, Added};
pub use http::{csrf_input, logout_form, routes, security_headers, Staff, StaffForm, StaffState, COOKIE};
pub use sessions::{ct_eq, SessionInfo};

use std::path::{Path, PathBuf};
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

/// The accounts, the live sessions and the throttles of one service.
pub struct StaffAuth {
    accounts: Accounts,
    sessions: sessions::Sessions,
    by_address: throttle::Throttle,
    by_account: throttle::Throttle,
    /// Bounds the memory of concurrent argon2 checks ([`StaffSettings::concurrent_checks`]).
    checks: tokio::sync::Semaphore,
    settings: StaffSettings,
}

impl StaffAuth {
    /// Opens the accounts table in the SQLite database at `db`.
    pub fn open(db: &Path, settings: StaffSettings) -> Result<StaffAuth, StaffError> {
        Ok(StaffAuth {
            accounts: Accounts::open(db)?,
            sessions: sessions::Sessions::new(settings.session_ttl, settings.max_sessions),
            by_address: throttle::Throttle::new(settings.address_failures, settings.lockout),
            by_account: throttle::Throttle::new(settings.account_failures, settings.lockout),
            checks: tokio::sync::Semaphore::new(settings.concurrent_checks.max(1)),
            settings,
        })
    }

    pub fn settings(&self) -> &StaffSettings {
        &self.settings
    }

    /// Creates account `name` or replaces its password (at least `min_password_len` chars).
    pub fn add_user(&self, name: &str, password: &str) -> Result<Added, StaffError> {
        self.accounts
            .set_password(name, password, self.settings.min_password_len)
    }

    /// How many accounts exist.
    pub fn account_count(&self) -> Result<u64, StaffError> {
        self.accounts.count()
    }

    /// Checks a login from `address` and starts a session: `(cookie token, session)`.
    /// Blocking (one argon2 verification): call it off the async workers.
    pub fn login(&self, name: &str, password: &str, address: &str) -> Result<(String, SessionInfo), LoginError> {
        let now = Instant::now();
        let account_key = name.to_ascii_lowercase();
        self.by_address
            .check(address, now)
            .and_then(|_| self.by_account.check(&account_key, now))
            .map_err(LoginError::Throttled)?;
        if !self.accounts.verify(name, password).map_err(LoginError::Internal)? {
            self.by_address.fail(address, now);
            if valid_name(name) {
                self.by_account.fail(&account_key, now);
            }
            return Err(LoginError::Wrong);
        }
        self.by_account.clear(&account_key);
        Ok(self.sessions.create(name, now))
    }

    /// The live session of a cookie token.
    pub fn session(&self, token: &str) -> Option<SessionInfo> {
        self.sessions.get(token, Instant::now())
    }

    pub fn logout(&self, token: &str) {
        self.sessions.remove(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(a.session(&token), Some(info.clone()));
        let (token2, info2) = a.login("alice", "alice's long password", "127.0.0.1").unwrap();
        assert_ne!(token, token2);
        assert_ne!(info.csrf, info2.csrf, "a CSRF token per session");
        a.logout(&token);
        assert!(a.session(&token).is_none());
        assert!(a.session(&token2).is_some());
    }

    #[test]
    fn sessions_expire_after_the_setting() {
        let (_d, a) = auth(StaffSettings {
            session_ttl: Duration::from_millis(200),
            ..StaffSettings::default()
        });
        let (token, _) = a.login("alice", "alice's long password", "127.0.0.1").unwrap();
        assert!(a.session(&token).is_some());
        std::thread::sleep(Duration::from_millis(300));
        assert!(a.session(&token).is_none(), "expired on the server");
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
