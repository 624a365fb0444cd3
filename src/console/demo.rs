//! The demo's own hall console: in demo mode `kiosk run` starts one in-process on a
//! loopback port and sends its alerts there, so the whole loop (kiosk → console → staff
//! page) shows on one machine. Its files live in `DATA_DIR/console-demo/` (0700): the
//! database, the kiosk's key, and the first-run staff login, generated once and kept so
//! the same login works at every start. A configured kiosk never starts one (the wiring
//! decides; this module only builds it).

use super::server::Console;
use super::{ConsoleError, ConsoleOptions, ConsoleStore, RunningConsole, StaffPageOptions};
use crate::review::keys::{self, Keys};
use crate::staff::{StaffAuth, StaffSettings};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// Subdirectory of the data dir holding the demo console's files.
pub const DIR: &str = "console-demo";
/// The demo's staff account.
pub const USER: &str = "demo";

/// A running demo console; stops when dropped.
pub struct DemoConsole {
    pub running: RunningConsole,
    /// The kiosk's key for it.
    pub key: Zeroizing<String>,
    /// The staff login to print: account and password.
    pub password: Zeroizing<String>,
    /// Where the login is kept (0600), for the message.
    pub login_file: PathBuf,
}

impl DemoConsole {
    pub fn url(&self) -> String {
        self.running.url()
    }
}

fn file_err(path: &Path, e: impl std::fmt::Display) -> ConsoleError {
    ConsoleError::Keys(format!(
        "{}: {e}. Fix: the kiosk's data directory must be writable by the kiosk user",
        path.display()
    ))
}

/// Reads the secret in `path` (at least `min` characters), or writes a fresh one there
/// (0600) when it is missing. One that others can read, or too short, is an error.
fn secret(path: &Path, min: usize, fresh: impl FnOnce() -> String) -> Result<Zeroizing<String>, ConsoleError> {
    if !path.exists() {
        let k = Zeroizing::new(fresh());
        keys::write_private(path, k.as_bytes()).map_err(|e| file_err(path, e))?;
        return Ok(k);
    }
    keys::check_private(path, "the demo console's secret").map_err(|e| file_err(path, e))?;
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| file_err(path, e))?);
    let k = Zeroizing::new(text.trim().to_string());
    if k.chars().count() < min {
        return Err(file_err(
            path,
            format!("shorter than {min} characters; delete it to have a new one made"),
        ));
    }
    Ok(k)
}

/// Starts the demo console for kiosk `kiosk_id` on `127.0.0.1:0`, with its staff page and
/// the account [`USER`]. Heartbeats are expected every `heartbeat`.
pub fn start(data_dir: &Path, kiosk_id: &str, heartbeat: Duration) -> Result<DemoConsole, ConsoleError> {
    let dir = data_dir.join(DIR);
    crate::private_fs::create_dir(&dir).map_err(|e| file_err(&dir, e))?;
    let key = secret(&dir.join("kiosk.key"), 32, keys::generate)?;
    let login_file = dir.join("staff-login.txt");
    // 16 characters of the key alphabet: enough for a loopback demo, short to type.
    let password = secret(&login_file, 16, || keys::generate().chars().take(16).collect())?;
    let db = dir.join("console.db");
    let store = ConsoleStore::open_sqlite(&db)?;
    let staff = StaffAuth::open(&db, StaffSettings::default()).map_err(|e| file_err(&db, e))?;
    // Set at every start: the file is the truth, an old database follows it.
    staff.add_user(USER, &password).map_err(|e| file_err(&db, e))?;
    let mut ks = Keys::default();
    ks.insert(kiosk_id, &key);
    let opts = ConsoleOptions {
        heartbeat,
        ..ConsoleOptions::default()
    };
    let console = Console::new(store, ks, opts).with_staff(staff, StaffPageOptions::default());
    let running = super::spawn(Arc::new(console), "127.0.0.1:0")?;
    Ok(DemoConsole {
        running,
        key,
        password,
        login_file,
    })
}

/// The kiosk's alerts backend in demo mode: the link to the demo console, which lives as
/// long as the backend does.
pub struct DemoAlerts {
    link: super::link::ConsoleAlerts,
    console: DemoConsole,
}

impl DemoAlerts {
    pub fn new(link: super::link::ConsoleAlerts, console: DemoConsole) -> DemoAlerts {
        DemoAlerts { link, console }
    }
}

impl crate::ports::Alerts for DemoAlerts {
    fn raise(&mut self, alert: &crate::ports::Alert) -> crate::ports::AlertOutcome {
        self.link.raise(alert)
    }
    fn status(&mut self, status: &crate::ports::HallStatus) {
        self.link.status(status);
    }
    fn admin(&mut self, event: crate::ports::AdminEvent) {
        self.link.admin(event);
    }
    fn describe(&self) -> String {
        format!("demo hall console {}", self.console.url())
    }
}
