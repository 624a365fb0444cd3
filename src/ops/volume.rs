//! The voice volume set on the admin menu (issue #15), kept across restarts in
//! `audio-volume.json` in the data directory (0600, written atomically). At start-up it
//! overrides the config's `[audio] volume`; the config stays read-only.

use std::path::{Path, PathBuf};

pub const VOLUME_FILE: &str = "audio-volume.json";

/// The admin menu's volume steps.
pub const STEP: u8 = 10;

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Stored {
    volume: u8,
}

pub fn volume_path(data_dir: &Path) -> PathBuf {
    data_dir.join(VOLUME_FILE)
}

/// The volume the admin menu last set, if any. A missing file is `None`; an unreadable or
/// corrupt one (or a value over 100) is logged for the operator, naming the file and the
/// fix, and is `None` too, so the config's `[audio] volume` applies.
pub fn load(data_dir: &Path) -> Option<u8> {
    let path = volume_path(data_dir);
    let why = match std::fs::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => e.to_string(),
        Ok(b) if b.len() > 1024 => "too large".into(),
        Ok(b) => match serde_json::from_slice::<Stored>(&b) {
            Ok(s) if s.volume <= 100 => return Some(s.volume),
            Ok(s) => format!("volume {} is over 100", s.volume),
            Err(e) => e.to_string(),
        },
    };
    log::error!(
        "audio: the saved volume {} is unreadable ({why}); using [audio] volume from the config. Fix: set the volume again on the admin menu, or delete the file",
        path.display()
    );
    None
}

/// Keeps `volume` (0–100) for the next start.
pub fn save(data_dir: &Path, volume: u8) -> std::io::Result<()> {
    let json = serde_json::to_vec(&Stored {
        volume: volume.min(100),
    })
    .map_err(std::io::Error::other)?;
    crate::private_fs::write_atomic(&volume_path(data_dir), &json)
}

/// One step up or down from `volume`, within 0–100.
pub fn step(volume: u8, up: bool) -> u8 {
    if up {
        volume.saturating_add(STEP).min(100)
    } else {
        volume.saturating_sub(STEP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_volume_survives_a_restart_and_a_corrupt_file_falls_back() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(load(d.path()), None);
        save(d.path(), 40).unwrap();
        assert_eq!(load(d.path()), Some(40));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(volume_path(d.path())).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(volume_path(d.path()), b"{\"volume\": 250}").unwrap();
        assert_eq!(load(d.path()), None);
        std::fs::write(volume_path(d.path()), b"loud").unwrap();
        assert_eq!(load(d.path()), None);
    }

    #[test]
    fn steps_stay_within_0_and_100() {
        assert_eq!(step(80, true), 90);
        assert_eq!(step(95, true), 100);
        assert_eq!(step(100, true), 100);
        assert_eq!(step(5, false), 0);
        assert_eq!(step(0, false), 0);
    }
}
