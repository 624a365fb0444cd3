//! Files that hold personal data or secrets — the review centre's database, the outbox,
//! the print journal, receipt PDFs, keys — are created owner-only (files 0600, directories
//! 0700) whatever the process's umask, because an installer's or a shell's umask 022 would
//! otherwise leave names, ID numbers and faces readable by every local account.
//!
//! Directories that already exist are left as they are (an operator may point the database
//! at a shared directory such as `/srv`; changing its mode would break other software), but
//! the files in them are still 0600.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const FILE_MODE: u32 = 0o600;
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` and any missing parents as 0700. Existing directories keep their mode.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    // Parents first, so each directory this call creates gets its mode set explicitly
    // (`mkdir` applies the umask to the mode it is given).
    if let Some(parent) = dir.parent() {
        create_dir(parent)?;
    }
    match DirBuilder::new().mode(DIR_MODE).create(dir) {
        Ok(()) => std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE)),
        // Another process made it meanwhile.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes sure `path` exists as an owner-only file before a library (SQLite) opens it, and
/// tightens an existing one. SQLite creates its `-wal`, `-shm` and `-journal` files with
/// the database file's mode, so the database being 0600 first covers them too; those
/// already on disk from an older version are tightened here as well.
pub fn prepare_file(path: &Path) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)?;
    tighten(path)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = Path::new(&side);
        if side.exists() {
            tighten(side)?;
        }
    }
    Ok(())
}

/// Sets an existing file to 0600 unless it already is.
pub fn tighten(path: &Path) -> std::io::Result<()> {
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode != FILE_MODE {
        std::fs::set_permissions(path, Permissions::from_mode(FILE_MODE))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically (a temporary file in the same directory, synced,
/// then renamed over the target) as an owner-only file: a power cut leaves the old file or
/// the new one, never half of one, and never a readable copy.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    create_dir(dir)?;
    // tempfile creates its files 0600.
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Whether `path` can be read or written by anyone but its owner: the check every key
/// file gets before it is trusted (a message then names the file and `chmod 600`).
pub fn is_shared(path: &Path) -> std::io::Result<bool> {
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o077 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    /// The umask is process-wide: the tests that set it run in one test, one after another.
    #[test]
    fn private_files_and_dirs_whatever_the_umask() {
        let d = tempfile::tempdir().unwrap();
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
        let new_dir = d.path().join("a/b");
        create_dir(&new_dir).unwrap();
        assert_eq!(mode(&d.path().join("a")), 0o700);
        assert_eq!(mode(&new_dir), 0o700);

        let db = new_dir.join("x.sqlite");
        prepare_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        // An existing 0644 file and its WAL from an older version are tightened.
        let old_db = d.path().join("old.sqlite");
        std::fs::write(&old_db, b"").unwrap();
        std::fs::write(d.path().join("old.sqlite-wal"), b"").unwrap();
        std::fs::set_permissions(&old_db, Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(d.path().join("old.sqlite-wal"), Permissions::from_mode(0o644)).unwrap();
        prepare_file(&old_db).unwrap();
        assert_eq!(mode(&old_db), 0o600);
        assert_eq!(mode(&d.path().join("old.sqlite-wal")), 0o600);

        let pdf = d.path().join("c/receipt.pdf");
        write_atomic(&pdf, b"%PDF").unwrap();
        assert_eq!(mode(&pdf), 0o600);
        assert_eq!(mode(&d.path().join("c")), 0o700);
        assert_eq!(std::fs::read(&pdf).unwrap(), b"%PDF");
        assert!(!is_shared(&pdf).unwrap());

        // An existing shared directory keeps its mode.
        let shared = d.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, Permissions::from_mode(0o755)).unwrap();
        create_dir(&shared).unwrap();
        assert_eq!(mode(&shared), 0o755);
        nix::sys::stat::umask(old);
    }
}
