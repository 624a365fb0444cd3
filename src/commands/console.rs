//! `kiosk console`: the hall console service (issue #16). This increment serves the kiosk
//! routes (heartbeat, events), raises "kiosk offline" and forwards alerts to webhooks
//! (`--webhooks`); the staff page comes next.

use super::Verdict;
use crate::console::{server::Console, webhook::Webhooks, ConsoleOptions, ConsoleStore};
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
    /// Forward alerts to WeCom/DingTalk group robots or a JSON receiver: a TOML file of
    /// alert kind → url and format (`[default]` for all kinds), mode 0600.
    #[arg(long, value_name = "FILE")]
    pub webhooks: Option<PathBuf>,
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
    // Checked before the database is touched: the error names the file, line and fix.
    let webhooks = match &a.webhooks {
        Some(path) => Some(Arc::new(Webhooks::load(path)?)),
        None => None,
    };
    if let Some(w) = &webhooks {
        log::info!(
            "console: forwarding alerts ({}) to {} webhook receiver(s) from {}",
            w.kinds().collect::<Vec<_>>().join(", "),
            w.targets.len(),
            w.path.display()
        );
    }
    let store = ConsoleStore::open(&a.db)?;
    let opts = ConsoleOptions {
        heartbeat: Duration::from_secs_f64(a.heartbeat_s),
        webhooks,
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
