//! The admin PIN: an argon2 hash in the data directory (the config is read-only), with a
//! lock-out after three wrong tries and a growing delay.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::path::{Path, PathBuf};

pub const PIN_FILE: &str = "admin-pin.argon2";

#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("a PIN has 6 to 12 digits")]
    Format,
    #[error("cannot write {path}: {source}. Fix: the data directory must be writable by the kiosk user")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("no admin PIN is set in {0}. Fix: run `kiosk diag --set-pin` on the console")]
    NotSet(PathBuf),
    #[error("the PIN file {0} is corrupt. Fix: run `kiosk diag --set-pin` again")]
    Corrupt(PathBuf),
}

pub fn pin_path(data_dir: &Path) -> PathBuf {
    data_dir.join(PIN_FILE)
}

/// Hashes and stores `pin` (written atomically, mode 0600).
pub fn set_pin(data_dir: &Path, pin: &str) -> Result<(), PinError> {
    if !(6..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PinError::Format);
    }
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map_err(|_| PinError::Format)?
        .to_string();
    let path = pin_path(data_dir);
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(data_dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(data_dir)?;
        std::io::Write::write_all(&mut tmp, hash.as_bytes())?;
        tmp.as_file().sync_all()?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600))?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(|source| PinError::Write {
        path: path.clone(),
        source,
    })
}

/// Checks `pin` against the stored hash.
pub fn verify_pin(data_dir: &Path, pin: &str) -> Result<bool, PinError> {
    let path = pin_path(data_dir);
    let stored = std::fs::read_to_string(&path).map_err(|_| PinError::NotSet(path.clone()))?;
    let parsed = PasswordHash::new(stored.trim()).map_err(|_| PinError::Corrupt(path))?;
    Ok(Argon2::default().verify_password(pin.as_bytes(), &parsed).is_ok())
}

/// Wrong-PIN lock-out: three tries, then a delay that doubles with each further miss.
#[derive(Debug, Default, Clone)]
pub struct Lockout {
    failures: u32,
    locked_until_ms: u64,
}

impl Lockout {
    pub const FREE_TRIES: u32 = 3;
    pub const BASE_DELAY_MS: u64 = 30_000;

    /// Remaining lock time at `now_ms` (0 = may try).
    pub fn remaining_ms(&self, now_ms: u64) -> u64 {
        self.locked_until_ms.saturating_sub(now_ms)
    }

    pub fn record(&mut self, ok: bool, now_ms: u64) {
        if ok {
            *self = Lockout::default();
            return;
        }
        self.failures += 1;
        if self.failures >= Self::FREE_TRIES {
            let exp = (self.failures - Self::FREE_TRIES).min(8);
            self.locked_until_ms = now_ms + Self::BASE_DELAY_MS * (1 << exp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_verify() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(verify_pin(d.path(), "123456"), Err(PinError::NotSet(_))));
        assert!(matches!(set_pin(d.path(), "12a"), Err(PinError::Format)));
        set_pin(d.path(), "246810").unwrap();
        assert!(verify_pin(d.path(), "246810").unwrap());
        assert!(!verify_pin(d.path(), "246811").unwrap());
        let text = std::fs::read_to_string(pin_path(d.path())).unwrap();
        assert!(!text.contains("246810") && text.starts_with("$argon2"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(pin_path(d.path())).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(pin_path(d.path()), "garbage").unwrap();
        assert!(matches!(verify_pin(d.path(), "246810"), Err(PinError::Corrupt(_))));
    }

    #[test]
    fn lockout_grows() {
        let mut l = Lockout::default();
        l.record(false, 0);
        l.record(false, 0);
        assert_eq!(l.remaining_ms(0), 0);
        l.record(false, 0);
        assert_eq!(l.remaining_ms(0), 30_000);
        l.record(false, 30_000);
        assert_eq!(l.remaining_ms(30_000), 60_000);
        l.record(true, 100_000);
        assert_eq!(l.remaining_ms(100_000), 0);
    }
}
