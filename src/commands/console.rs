//! `kiosk console`: the hall console service (issue #16): the kiosk routes (heartbeat,
//! events), "kiosk offline", the staff page at `/` with its logins (`--add-user`), and the
//! alert webhooks (`--webhooks`).

use super::Verdict;
use crate::console::{server::Console, webhook::Webhooks, ConsoleOptions, ConsoleStore, StaffPageOptions};
use crate::staff::{Added, StaffSettings};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    /// Address to listen on, e.g. 0.0.0.0:8800.
    #[arg(long, value_name = "ADDR", required_unless_present = "add_user")]
    pub listen: Option<String>,
    /// The database (it also holds the staff accounts and, on PostgreSQL, their logins):
    /// see --db; several consoles may share one PostgreSQL database behind a balancer.
    #[command(flatten)]
    pub db: super::db::DbArgs,
    /// Kiosk keys: one `KIOSK_ID KEY` per line (keys ≥ 32 chars), the review centre's format.
    #[arg(long, value_name = "FILE", required_unless_present = "add_user")]
    pub keys: Option<PathBuf>,
    /// The kiosks' heartbeat interval in seconds; three missed ones raise "kiosk offline".
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub heartbeat_s: f64,
    /// Add staff account NAME to the database (or set a new password for it), then exit.
    /// The password (at least 10 characters) is read from stdin: typed twice at a
    /// terminal, or one line from a pipe.
    #[arg(long, value_name = "NAME")]
    pub add_user: Option<String>,
    /// A staff login lasts this many minutes (checked by the server).
    #[arg(long, value_name = "MIN", default_value_t = 480, value_parser = clap::value_parser!(u64).range(1..=10080))]
    pub session_minutes: u64,
    /// How often the staff page refreshes its tiles, and polls when its live feed is down.
    #[arg(long, value_name = "SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub refresh_s: u64,
    /// Seconds between keep-alive comments on the staff page's live feed.
    #[arg(long, value_name = "SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub keepalive_s: u64,
    /// The console is reached through TLS (a proxy in front): staff cookies get `Secure`.
    #[arg(long)]
    pub behind_tls: bool,
    /// Forward alerts to WeCom/DingTalk group robots or a JSON receiver: a TOML file of
    /// alert kind → url and format (`[default]` for all kinds), mode 0600.
    #[arg(long, value_name = "FILE")]
    pub webhooks: Option<PathBuf>,
}

/// The environment variable that may hold the --db value (read when neither --db nor
/// --db-file is given).
pub const DB_ENV: &str = "KIOSK_CONSOLE_DB";

fn add_user(
    rt: &tokio::runtime::Runtime,
    store: &ConsoleStore,
    settings: StaffSettings,
    name: &str,
) -> anyhow::Result<Verdict> {
    let staff = store.staff_auth(settings)?;
    let password = super::review::read_password(name)?;
    let what = match rt.block_on(staff.set_user_password(name, &password))? {
        Added::New => "已添加 / added",
        Added::Replaced => "密码已更改 / password changed",
    };
    log::info!("console staff account {name}: {what}");
    println!("staff {name}: {what} ({})", store.describe());
    Ok(Verdict::Ok)
}

pub fn run(a: &ConsoleArgs) -> anyhow::Result<Verdict> {
    let settings = StaffSettings {
        session_ttl: Duration::from_secs(a.session_minutes * 60),
        ..StaffSettings::default()
    };
    let target = a.db.target(DB_ENV)?;
    // One runtime for everything: a PostgreSQL pool's connections live on the runtime
    // that opened them.
    let rt = crate::console::server::runtime()?;
    if let Some(name) = &a.add_user {
        let store = rt.block_on(ConsoleStore::open(&target, &a.db.pool()))?;
        return add_user(&rt, &store, settings, name);
    }
    let (Some(listen), Some(keys_file)) = (a.listen.as_deref(), a.keys.as_ref()) else {
        anyhow::bail!("--listen ADDR and --keys FILE are needed to serve");
    };
    if !(a.heartbeat_s.is_finite() && (0.05..=3600.0).contains(&a.heartbeat_s)) {
        anyhow::bail!("--heartbeat-s {}: must be 0.05–3600 seconds", a.heartbeat_s);
    }
    // The error names the file and the fix.
    let keys = crate::review::keys::Keys::load(keys_file)?;
    if keys.is_empty() {
        anyhow::bail!(
            "{}: no kiosk keys. Fix: add one `KIOSK_ID KEY` line per kiosk",
            keys_file.display()
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
    // Opened once every other setting is known good: a refused start creates nothing.
    let store = rt.block_on(ConsoleStore::open(&target, &a.db.pool()))?;
    let staff = store.staff_auth(settings.clone())?;
    if rt.block_on(staff.count_accounts())? == 0 {
        log::warn!(
            "console database {}: no staff account yet, so nobody can log in to the staff page. Fix: \
             kiosk console (the same --db/--db-file) --add-user NAME",
            store.describe()
        );
    }
    let db = store.describe();
    let opts = ConsoleOptions {
        heartbeat: Duration::from_secs_f64(a.heartbeat_s),
        webhooks,
        ..ConsoleOptions::default()
    };
    let page = StaffPageOptions {
        staff: settings,
        secure_cookie: a.behind_tls,
        refresh: Duration::from_secs(a.refresh_s),
        keepalive: Duration::from_secs(a.keepalive_s),
        ..StaffPageOptions::default()
    };
    let n = keys.len();
    let console = Console::new(store, keys, opts).with_staff(staff, page);
    let running = crate::console::server::spawn_on(rt, Arc::new(console), listen)?;
    // The bound address, for scripts and tests that asked for port 0.
    println!("console listening on {}", running.url());
    log::info!(
        "console listening on {} (db {db}, {n} kiosk keys; staff page at {}/)",
        running.url(),
        running.url()
    );
    running.wait();
    Ok(Verdict::Ok)
}
