//! The one-time setup code for the first admin PIN on the touchscreen (issue #15).
//!
//! While no admin PIN is set, `kiosk diag --setup-code` prints eight random digits on the
//! console; typed on the PIN pad they allow the first PIN to be set there (console access
//! is the proof, as for `--set-pin`). The code is stored only as an argon2 hash with its
//! expiry (`kiosk.setup_code_valid_min`) in `admin-setup-code.json` (0600, written
//! atomically), is refused once a PIN exists, and is deleted when the PIN is set.

use super::pin;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::path::{Path, PathBuf};

pub const SETUP_FILE: &str = "admin-setup-code.json";

/// Digits in a setup code: typed on the PIN pad's keypad.
pub const CODE_DIGITS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("an admin PIN is already set in {0}: a setup code is only for the first PIN. Fix: change the PIN with `kiosk diag --set-pin`")]
    PinAlreadySet(PathBuf),
    #[error("no setup code is waiting in {0}. Fix: run `kiosk diag --setup-code` on the console")]
    NoCode(PathBuf),
    #[error("the setup code in {0} has expired. Fix: run `kiosk diag --setup-code` again")]
    Expired(PathBuf),
    #[error("wrong setup code")]
    Wrong,
    #[error("the setup code file {0} is unreadable. Fix: run `kiosk diag --setup-code` again (it replaces the file)")]
    Corrupt(PathBuf),
    #[error("cannot write {path}: {source}. Fix: the data directory must be writable by the kiosk user")]
    Write { path: PathBuf, source: std::io::Error },
}

/// What the file holds: the code's argon2 hash and its validity (wall-clock ms since the
/// Unix epoch, so it survives a restart).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Stored {
    hash: String,
    issued_ms: u64,
    expires_ms: u64,
}

pub fn setup_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SETUP_FILE)
}

/// A fresh code valid for `valid_ms` from `now_ms`, replacing any earlier one. Refused
/// once a PIN is set. The code is returned to be shown on the console, never logged.
pub fn issue(data_dir: &Path, valid_ms: u64, now_ms: u64) -> Result<String, SetupError> {
    if pin::pin_path(data_dir).exists() {
        return Err(SetupError::PinAlreadySet(pin::pin_path(data_dir)));
    }
    let code = format!("{:0width$}", rand::random_range(0..100_000_000u32), width = CODE_DIGITS);
    let salt = SaltString::generate(&mut OsRng);
    let path = setup_path(data_dir);
    let hash = Argon2::default()
        .hash_password(code.as_bytes(), &salt)
        .map_err(|e| SetupError::Write {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?
        .to_string();
    let stored = Stored {
        hash,
        issued_ms: now_ms,
        expires_ms: now_ms.saturating_add(valid_ms),
    };
    let json = serde_json::to_vec(&stored).map_err(std::io::Error::other);
    json.and_then(|j| crate::private_fs::write_atomic(&path, &j))
        .map_err(|source| SetupError::Write { path, source })?;
    Ok(code)
}

/// Checks `code` at `now_ms` without using it up: `Ok` lets the touchscreen ask for the
/// new PIN. A clock set back before the code was issued counts as expired.
pub fn check(data_dir: &Path, code: &str, now_ms: u64) -> Result<(), SetupError> {
    if pin::pin_path(data_dir).exists() {
        return Err(SetupError::PinAlreadySet(pin::pin_path(data_dir)));
    }
    let path = setup_path(data_dir);
    let bytes = match std::fs::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(SetupError::NoCode(path)),
        Err(_) => return Err(SetupError::Corrupt(path)),
        Ok(b) if b.len() > 4096 => return Err(SetupError::Corrupt(path)),
        Ok(b) => b,
    };
    let stored: Stored = serde_json::from_slice(&bytes).map_err(|_| SetupError::Corrupt(path.clone()))?;
    if now_ms >= stored.expires_ms || now_ms < stored.issued_ms {
        return Err(SetupError::Expired(path));
    }
    let parsed = PasswordHash::new(&stored.hash).map_err(|_| SetupError::Corrupt(path.clone()))?;
    let well_formed = code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit());
    if well_formed && Argon2::default().verify_password(code.as_bytes(), &parsed).is_ok() {
        Ok(())
    } else {
        Err(SetupError::Wrong)
    }
}

/// Sets the first PIN with a setup code: the code is checked again, the PIN written, and
/// then the code deleted (single use). A failed write leaves the code usable.
pub fn set_first_pin(data_dir: &Path, code: &str, new_pin: &str, now_ms: u64) -> Result<(), FirstPinError> {
    check(data_dir, code, now_ms)?;
    pin::set_pin(data_dir, new_pin)?;
    consume(data_dir);
    Ok(())
}

/// Deletes the code (it has been used). A code left behind by a failed delete is
/// harmless: every check refuses it once the PIN exists.
pub fn consume(data_dir: &Path) {
    let path = setup_path(data_dir);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => log::error!(
            "admin: cannot delete the used setup code {}: {e}. It is refused anyway now that a PIN is set; delete the file on the console",
            path.display()
        ),
    }
}

/// Why the first PIN was not set with a setup code.
#[derive(Debug, thiserror::Error)]
pub enum FirstPinError {
    #[error(transparent)]
    Code(#[from] SetupError),
    #[error(transparent)]
    Pin(#[from] pin::PinError),
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;
    const T0: u64 = 1_800_000_000_000;

    #[test]
    fn a_code_sets_the_first_pin_once_and_is_refused_afterwards() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(check(d.path(), "12345678", T0), Err(SetupError::NoCode(_))));
        let code = issue(d.path(), 30 * MIN, T0).unwrap();
        assert_eq!(code.len(), CODE_DIGITS);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        // Stored hashed, owner-only.
        let text = std::fs::read_to_string(setup_path(d.path())).unwrap();
        assert!(!text.contains(&code) && text.contains("$argon2"), "{text}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(setup_path(d.path())).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Wrong codes, short or long ones are refused; the right one passes the check
        // and stays until a PIN is set.
        let wrong = if code == "00000000" { "00000001" } else { "00000000" };
        assert!(matches!(check(d.path(), wrong, T0 + 1), Err(SetupError::Wrong)));
        assert!(matches!(check(d.path(), &code[..7], T0 + 1), Err(SetupError::Wrong)));
        assert!(matches!(
            check(d.path(), &format!("{code}0"), T0 + 1),
            Err(SetupError::Wrong)
        ));
        check(d.path(), &code, T0 + 1).unwrap();
        check(d.path(), &code, T0 + 2).unwrap();
        // A bad PIN leaves the code usable.
        assert!(matches!(
            set_first_pin(d.path(), &code, "12", T0 + 3),
            Err(FirstPinError::Pin(pin::PinError::Format))
        ));
        set_first_pin(d.path(), &code, "24681012", T0 + 4).unwrap();
        assert!(pin::verify_pin(d.path(), "24681012").unwrap());
        assert!(!setup_path(d.path()).exists(), "the used code is deleted");
        // Used up: refused, and no new code while a PIN is set.
        assert!(matches!(
            set_first_pin(d.path(), &code, "11112222", T0 + 5),
            Err(FirstPinError::Code(SetupError::PinAlreadySet(_)))
        ));
        assert!(matches!(
            issue(d.path(), 30 * MIN, T0),
            Err(SetupError::PinAlreadySet(_))
        ));
        assert!(pin::verify_pin(d.path(), "24681012").unwrap());
    }

    #[test]
    fn a_code_expires_and_a_new_one_replaces_the_old() {
        let d = tempfile::tempdir().unwrap();
        let first = issue(d.path(), 30 * MIN, T0).unwrap();
        assert!(matches!(
            check(d.path(), &first, T0 + 30 * MIN),
            Err(SetupError::Expired(_))
        ));
        // A clock set back before the issue does not revive it either.
        assert!(matches!(check(d.path(), &first, T0 - 1), Err(SetupError::Expired(_))));
        let second = issue(d.path(), 30 * MIN, T0 + 31 * MIN).unwrap();
        check(d.path(), &second, T0 + 32 * MIN).unwrap();
        if first != second {
            assert!(matches!(check(d.path(), &first, T0 + 32 * MIN), Err(SetupError::Wrong)));
        }
        std::fs::write(setup_path(d.path()), b"{garbage").unwrap();
        assert!(matches!(
            check(d.path(), &second, T0 + 32 * MIN),
            Err(SetupError::Corrupt(_))
        ));
    }
}
