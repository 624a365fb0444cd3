//! Staff accounts: a name and an argon2id hash (the `argon2` crate's defaults: Argon2id,
//! version 0x13, 19 MiB, 2 passes) in the `staff_accounts` table of the database the caller
//! names: a SQLite file here (the connection is this module's own, so hashing never holds
//! anyone else's lock), or PostgreSQL ([`super::pg`]).

use super::StaffError;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS staff_accounts (
    name TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    created_at INTEGER NOT NULL, -- unix seconds
    updated_at INTEGER NOT NULL
);
";

/// Longest password accepted (bytes): hashing is the costly step, so bound its input.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// What [`Accounts::set_password`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    New,
    /// The account existed; its password was replaced.
    Replaced,
}

/// The accounts table.
pub struct Accounts {
    conn: Mutex<Connection>,
    path: PathBuf,
}

/// An account name: 1–32 of `A–Z a–z 0–9 . _ -`.
pub fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Hashes `password` (argon2id, random salt) as a PHC string.
pub fn hash_password(password: &str) -> Result<String, StaffError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StaffError::Hash(e.to_string()))
}

/// Checks `password` against a PHC string; a damaged hash never matches.
pub fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash no password typed at the login form matches, verified for unknown names so that
/// an unknown name takes as long as a wrong password (no name oracle by timing).
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password(&hex::encode(rand::random::<[u8; 32]>())).unwrap_or_default())
}

/// A new account's name and password within the rules.
pub(super) fn check_new(name: &str, password: &str, min_len: usize) -> Result<(), StaffError> {
    if !valid_name(name) {
        return Err(StaffError::Name(name.chars().take(40).collect()));
    }
    if password.chars().count() < min_len || password.len() > MAX_PASSWORD_BYTES {
        return Err(StaffError::Password { min: min_len });
    }
    Ok(())
}

/// Whether `password` matches the `stored` hash; costs one argon2 verification whether or
/// not there is one (a decoy for unknown names). Blocking.
pub fn check_stored(stored: Option<&str>, password: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    match stored {
        Some(h) => verify_password(h, password),
        None => {
            let _ = verify_password(decoy_hash(), password);
            false
        }
    }
}

impl Accounts {
    /// Opens (creating the table in) the SQLite database at `path`.
    pub fn open(path: &Path) -> Result<Accounts, StaffError> {
        let e = |source| StaffError::Db {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(e)?;
        conn.execute_batch("PRAGMA busy_timeout=5000;").map_err(e)?;
        conn.execute_batch(SCHEMA).map_err(e)?;
        Ok(Accounts {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn e(&self) -> impl Fn(rusqlite::Error) -> StaffError + '_ {
        move |source| StaffError::Db {
            path: self.path.clone(),
            source,
        }
    }

    /// Creates account `name`, or replaces its password.
    pub fn set_password(&self, name: &str, password: &str, min_len: usize) -> Result<Added, StaffError> {
        check_new(name, password, min_len)?;
        let hash = hash_password(password)?;
        self.store_hash(name, &hash)
    }

    /// Stores `hash` (a PHC string) as `name`'s password.
    pub(super) fn store_hash(&self, name: &str, hash: &str) -> Result<Added, StaffError> {
        let now = now_s();
        let conn = self.conn();
        let existed = conn
            .query_row("SELECT 1 FROM staff_accounts WHERE name=?1", [name], |_| Ok(()))
            .optional()
            .map_err(self.e())?
            .is_some();
        conn.execute(
            "INSERT INTO staff_accounts (name, hash, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT (name) DO UPDATE SET hash=excluded.hash, updated_at=excluded.updated_at",
            params![name, hash, now],
        )
        .map_err(self.e())?;
        Ok(if existed { Added::Replaced } else { Added::New })
    }

    /// Whether `password` is `name`'s. Costs one argon2 verification whether or not the
    /// account exists.
    pub fn verify(&self, name: &str, password: &str) -> Result<bool, StaffError> {
        let stored = self.hash_of(name)?;
        Ok(check_stored(stored.as_deref(), password))
    }

    /// The stored hash of `name` (none for an invalid or unknown name).
    pub fn hash_of(&self, name: &str) -> Result<Option<String>, StaffError> {
        if !valid_name(name) {
            return Ok(None);
        }
        self.conn()
            .query_row("SELECT hash FROM staff_accounts WHERE name=?1", [name], |r| r.get(0))
            .optional()
            .map_err(self.e())
    }

    /// How many accounts exist.
    pub fn count(&self) -> Result<u64, StaffError> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM staff_accounts", [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(self.e())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_argon2id_salted_and_checked() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        assert!(verify_password(&a, "correct horse battery"));
        assert!(!verify_password(&a, "correct horse batterx"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn accounts_are_stored_hashed_and_validated() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("staff.sqlite");
        let acc = Accounts::open(&db).unwrap();
        assert_eq!(acc.count().unwrap(), 0);
        assert!(matches!(
            acc.set_password("alice", "short", 10),
            Err(StaffError::Password { min: 10 })
        ));
        assert!(matches!(
            acc.set_password("a b", "long enough pw", 10),
            Err(StaffError::Name(_))
        ));
        assert_eq!(acc.set_password("alice", "long enough pw", 10).unwrap(), Added::New);
        assert!(acc.verify("alice", "long enough pw").unwrap());
        assert!(!acc.verify("alice", "long enough px").unwrap());
        assert!(!acc.verify("bob", "long enough pw").unwrap());
        assert_eq!(
            acc.set_password("alice", "another password", 10).unwrap(),
            Added::Replaced
        );
        assert!(!acc.verify("alice", "long enough pw").unwrap());
        assert!(acc.verify("alice", "another password").unwrap());
        // No clear text in the database file.
        let raw = std::fs::read(&db).unwrap();
        assert!(!raw.windows(16).any(|w| w == b"another password"));
        // A second handle (another process) sees the account.
        assert_eq!(Accounts::open(&db).unwrap().count().unwrap(), 1);
    }
}
