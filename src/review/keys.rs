//! Per-kiosk API keys: the `--keys FILE` of the service, the key file of a kiosk.
//!
//! Keys file: one `KIOSK_ID KEY` pair per line, `#` comments; keys are at least 32
//! characters. The service keeps only SHA-256 digests of the keys in memory.

use super::ReviewError;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

/// Minimum key length (characters).
pub const MIN_KEY_LEN: usize = 32;

/// Key digest → kiosk id.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    by_digest: HashMap<[u8; 32], String>,
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl Keys {
    pub fn insert(&mut self, kiosk_id: &str, key: &str) {
        self.by_digest.insert(digest(key), kiosk_id.to_string());
    }

    /// The kiosk owning `key`, if any.
    pub fn kiosk_for(&self, key: &str) -> Option<&str> {
        self.by_digest.get(&digest(key)).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }

    pub fn parse(text: &str, path: &Path) -> Result<Keys, ReviewError> {
        let mut keys = Keys::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(id), Some(key), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(ReviewError::file(
                    path,
                    format!("line {}: expected `KIOSK_ID KEY`", i + 1),
                ));
            };
            if key.len() < MIN_KEY_LEN {
                return Err(ReviewError::file(
                    path,
                    format!(
                        "line {}: the key of {id} is shorter than {MIN_KEY_LEN} characters",
                        i + 1
                    ),
                ));
            }
            keys.insert(id, key);
        }
        Ok(keys)
    }

    /// Reads the keys file; refuses one that group or others can read ([`check_private`]).
    pub fn load(path: &Path) -> Result<Keys, ReviewError> {
        check_private(path, "the keys file")?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| ReviewError::file(path, format!("cannot read the keys file: {e}")))?;
        Keys::parse(&text, path)
    }
}

/// A new random key: 256 bits as 64 hex digits.
pub fn generate() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Refuses a secret file (`what`: "the keys file", "the kiosk key file", …) that its
/// group or others can access: the message names the file and the fix (`chmod 600`).
/// A missing file passes here; reading it reports that.
pub fn check_private(path: &Path, what: &str) -> Result<(), ReviewError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = match std::fs::metadata(path) {
        Ok(m) => m.permissions().mode(),
        Err(_) => return Ok(()),
    };
    if mode & 0o077 != 0 {
        return Err(ReviewError::file(
            path,
            format!(
                "{what} is readable by other users (mode {:o}). Fix: chmod 600 {}",
                mode & 0o777,
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Reads a kiosk's key file (the whole file, trimmed); refuses one that group or others
/// can read.
pub fn read_key_file(path: &Path) -> Result<String, ReviewError> {
    check_private(path, "the kiosk key file")?;
    let k = std::fs::read_to_string(path)
        .map_err(|e| ReviewError::file(path, format!("cannot read the kiosk key file: {e}. Fix: set devices.review_key_file to the key the review centre issued")))?;
    let k = k.trim().to_string();
    if k.len() < MIN_KEY_LEN {
        return Err(ReviewError::file(
            path,
            format!("the key is shorter than {MIN_KEY_LEN} characters"),
        ));
    }
    Ok(k)
}

/// Writes `content` to a new file readable only by its owner (0600).
pub fn write_private(path: &Path, content: &[u8]) -> Result<(), ReviewError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| ReviewError::file(path, format!("cannot create: {e}")))?;
    f.write_all(content)
        .and_then(|_| f.sync_all())
        .map_err(|e| ReviewError::file(path, format!("cannot write: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_and_names_the_bad_line() {
        let p = Path::new("keys.txt");
        let k = Keys::parse(
            &format!("# kiosks\nK-1 {}\n\nK-2 {} # spare\n", "a".repeat(32), "b".repeat(40)),
            p,
        )
        .unwrap();
        assert_eq!(k.len(), 2);
        assert_eq!(k.kiosk_for(&"a".repeat(32)), Some("K-1"));
        assert_eq!(k.kiosk_for(&"c".repeat(32)), None);
        let e = Keys::parse("K-1 short\n", p).unwrap_err().to_string();
        assert!(
            e.contains("keys.txt") && e.contains("line 1") && e.contains("shorter"),
            "{e}"
        );
        let e = Keys::parse("K-1\n", p).unwrap_err().to_string();
        assert!(e.contains("KIOSK_ID KEY"), "{e}");
    }

    #[test]
    fn key_files_readable_by_others_are_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let keys = d.path().join("keys.txt");
        std::fs::write(&keys, format!("K-1 {}\n", "a".repeat(32))).unwrap();
        let kiosk = d.path().join("kiosk.key");
        std::fs::write(&kiosk, "a".repeat(32)).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(mode)).unwrap();
            std::fs::set_permissions(&kiosk, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = Keys::load(&keys).unwrap_err().to_string();
            assert!(e.contains("keys.txt") && e.contains("chmod 600"), "{mode:o}: {e}");
            let e = read_key_file(&kiosk).unwrap_err().to_string();
            assert!(e.contains("kiosk.key") && e.contains("chmod 600"), "{mode:o}: {e}");
        }
        for mode in [0o600, 0o400] {
            std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(mode)).unwrap();
            std::fs::set_permissions(&kiosk, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(Keys::load(&keys).unwrap().len(), 1);
            assert_eq!(read_key_file(&kiosk).unwrap(), "a".repeat(32));
        }
    }

    #[test]
    fn private_files_are_0600_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k");
        write_private(&p, b"x").unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(write_private(&p, b"y").is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"x");
    }
}
