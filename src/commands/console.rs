//! `kiosk console`: the hall console service (issue #16). This increment serves the kiosk
//! routes (heartbeat, events) and raises "kiosk offline"; the staff page comes next.

use super::Verdict;
use crate::console::{server::Console, ConsoleOptions, ConsoleStore};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    /// Address to listen on, e.g. 0.0.0.0:8800.
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// SQLite database file (created 0600 if missing; WAL mode).
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// Kiosk keys: one `KIOSK_ID KEY` per line (keys ≥ 32 chars), the review centre's format.
    #[arg(long, value_name = "FILE")]
    pub keys: PathBuf,
    /// The kiosks' heartbeat interval in seconds; three missed ones raise "kiosk offline".
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub heartbeat_s: f64,
}

pub fn run(a: &ConsoleArgs) -> anyhow::Result<Verdict> {
    if !(a.heartbeat_s.is_finite() && (0.05..=3600.0).contains(&a.heartbeat_s)) {
        anyhow::bail!("--heartbeat-s {}: must be 0.05–3600 seconds", a.heartbeat_s);
    }
    // The error names the file and the fix.
    let keys = crate::review::keys::Keys::load(&a.keys)?;
    if keys.is_empty() {
        anyhow::bail!(
            "{}: no kiosk keys. Fix: add one `KIOSK_ID KEY` line per kiosk",
            a.keys.display()
        );
    }
    let store = ConsoleStore::open(&a.db)?;
    let opts = ConsoleOptions {
        heartbeat: Duration::from_secs_f64(a.heartbeat_s),
        ..ConsoleOptions::default()
    };
    let n = keys.len();
    let running = crate::console::spawn(Arc::new(Console::new(store, keys, opts)), &a.listen)?;
    // The bound address, for scripts and tests that asked for port 0.
    println!("console listening on {}", running.url());
    log::info!("console listening on {} ({n} kiosk keys)", running.url());
    running.wait();
    Ok(Verdict::Ok)
}
