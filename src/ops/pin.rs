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

/// The lock-out's state on disk, beside the PIN: a restart (systemd restarts the kiosk
/// after 2 s) must not give a guesser three fresh tries.
pub const LOCKOUT_FILE: &str = "admin-pin.lockout.json";

/// Wrong-PIN lock-out: three tries, then a delay that doubles with each further miss.
/// Times are wall-clock milliseconds since the Unix epoch, so they survive a restart.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Lockout {
    failures: u32,
    locked_until_ms: u64,
}

impl Lockout {
    pub const FREE_TRIES: u32 = 3;
    pub const BASE_DELAY_MS: u64 = 30_000;

    /// The longest lock: also the cap on what a clock set backwards can add.
    pub const MAX_DELAY_MS: u64 = Self::BASE_DELAY_MS << 8;

    /// Remaining lock time at `now_ms` (0 = may try).
    pub fn remaining_ms(&self, now_ms: u64) -> u64 {
        self.locked_until_ms.saturating_sub(now_ms).min(Self::MAX_DELAY_MS)
    }

    /// The lock-out as the last run left it. A missing file is a fresh start; an unreadable
    /// or corrupt one counts as a lock-out begun now (tampering must not unlock the pad),
    /// logged with the file and the fix.
    pub fn load(data_dir: &Path, now_ms: u64) -> Lockout {
        let path = data_dir.join(LOCKOUT_FILE);
        match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Lockout::default(),
            Ok(bytes) if bytes.len() <= 4096 => match serde_json::from_slice::<Lockout>(&bytes) {
                Ok(l) => l,
                Err(e) => Self::distrusted(&path, &e.to_string(), now_ms),
            },
            Ok(_) => Self::distrusted(&path, "too large", now_ms),
            Err(e) => Self::distrusted(&path, &e.to_string(), now_ms),
        }
    }

    fn distrusted(path: &Path, why: &str, now_ms: u64) -> Lockout {
        log::error!(
            "admin PIN lock-out file {} is unreadable ({why}): the PIN pad stays locked for {} s. Fix: delete the file on the console if this persists",
            path.display(),
            Self::BASE_DELAY_MS / 1000
        );
        Lockout {
            failures: Self::FREE_TRIES,
            locked_until_ms: now_ms + Self::BASE_DELAY_MS,
        }
    }

    /// Writes the state (atomically, 0600) so the next start continues it.
    pub fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        crate::private_fs::write_atomic(&data_dir.join(LOCKOUT_FILE), &json)
    }

    pub fn record(&mut self, ok: bool, now_ms: u64) {
        if ok {
            *self = Lockout::default();
            return;
        }
        self.failures += 1;
        if self.failures >= Self::FREE_TRIES {
            let exp = (self.failures - Self::FREE_TRIES).min(8);
            self.locked_until_ms = now_ms.saturating_add(Self::BASE_DELAY_MS << exp);
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

    #[test]
    fn the_lockout_survives_a_restart_and_a_corrupt_file_keeps_it_locked() {
        let d = tempfile::tempdir().unwrap();
        let t0 = 1_800_000_000_000;
        let mut l = Lockout::load(d.path(), t0);
        assert_eq!(l, Lockout::default());
        for i in 0..Lockout::FREE_TRIES {
            l.record(false, t0 + u64::from(i));
            l.save(d.path()).unwrap();
        }
        assert!(l.remaining_ms(t0 + 10) > 0);
        // A new process (the restart) reads the same lock.
        let again = Lockout::load(d.path(), t0 + 10);
        assert_eq!(again, l);
        assert!(again.remaining_ms(t0 + 10) > 25_000);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.path().join(LOCKOUT_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // The fourth miss after the restart doubles the delay.
        let mut again = again;
        again.record(false, t0 + 40_000);
        assert!(again.remaining_ms(t0 + 40_000) > 59_000);
        // A clock set back cannot lock for longer than the longest delay.
        assert!(again.remaining_ms(0) <= Lockout::MAX_DELAY_MS);
        // Tampering does not unlock.
        std::fs::write(d.path().join(LOCKOUT_FILE), b"{garbage").unwrap();
        assert!(Lockout::load(d.path(), t0).remaining_ms(t0) > 0);
        // The right PIN clears it, on disk too.
        again.record(true, t0 + 50_000);
        again.save(d.path()).unwrap();
        assert_eq!(Lockout::load(d.path(), t0 + 50_000).remaining_ms(t0 + 50_000), 0);
    }
}
