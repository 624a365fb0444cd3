//! `kiosk review-center`: the reference review service.

use super::Verdict;
use crate::config::Config;
use crate::review::clock::SystemClock;
use crate::review::keys::Keys;
use crate::review::server::{serve, ServerOptions, Service};
use crate::review::store::{DbTarget, PgOptions, Store};
use crate::staff::Added;
use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

#[derive(Debug, clap::Args)]
pub struct ReviewCenterArgs {
    /// Address to listen on, e.g. 127.0.0.1:8700. A non-loopback address is refused while
    /// no operator account exists (`--add-user`).
    #[arg(long, value_name = "ADDR", required_unless_present_any = ["add_user", "revoke_kiosk", "migrate_from"])]
    pub listen: Option<String>,
    #[command(flatten)]
    pub db: super::db::DbArgs,
    /// PostgreSQL: seconds a machine check claimed by an instance is left to it before
    /// another instance takes it over (the first one died mid-check).
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = secs())]
    pub claim_lease: u64,
    /// Longest wait, in seconds, between the review loop's tries while the database is
    /// unavailable (the wait doubles from 250 ms up to this).
    #[arg(long, value_name = "SECS", default_value_t = 5, value_parser = secs())]
    pub db_backoff_max: u64,
    /// Approve photos that pass the machine check after SECS seconds (0–2592000, 30 days);
    /// without it every photo waits for an operator on /review.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=2_592_000))]
    pub auto_approve_after: Option<u64>,
    /// Kiosk keys: one `KIOSK_ID KEY` per line (keys ≥ 32 chars). Without it no kiosk can submit.
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// Keep photo and details this many days (0–3653) after a receipt expires, then purge them.
    #[arg(long, value_name = "N", default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..=3653))]
    pub grace_days: u32,
    /// Largest request body, in KiB (1–65536).
    #[arg(long, value_name = "KIB", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub body_limit_kib: u32,
    /// Requests per minute per client address on the public routes (1–1000000).
    #[arg(long, value_name = "N", default_value_t = 120, value_parser = rate())]
    pub public_rate: u32,
    /// Requests per minute per kiosk key (1–1000000).
    #[arg(long, value_name = "N", default_value_t = 600, value_parser = rate())]
    pub kiosk_rate: u32,
    /// Requests per minute per client address on the operator page (/review) and its
    /// approve/reject actions; each page load also fetches every pending photo (1–1000000).
    #[arg(long, value_name = "N", default_value_t = 1200, value_parser = rate())]
    pub operator_rate: u32,
    /// Failed kiosk-key checks per minute per client address before 429 (1–1000000).
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = rate())]
    pub auth_fail_rate: u32,
    /// Seconds a client may take to send a request head (the connection is then closed).
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = secs())]
    pub header_timeout: u64,
    /// Seconds a client may take to send a request body, from the end of its head (→ 408).
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = secs())]
    pub body_timeout: u64,
    /// Seconds a connection may stay silent (no byte either way) before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = secs())]
    pub idle_timeout: u64,
    /// Connections served at once (16–1000000); more wait in the listen backlog. Lowered
    /// to fit the open-file limit, which is raised to its hard limit at start-up.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(16..=1_000_000))]
    pub max_connections: u32,
    /// Seconds after SIGTERM/SIGINT before connections still open are dropped.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = secs())]
    pub shutdown_deadline: u64,
    /// Most memory one photo decode may allocate, in MiB (1–1024).
    #[arg(long, value_name = "MIB", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub decode_max_alloc_mib: u32,
    /// An operator's login lasts this many minutes (checked by the server).
    #[arg(long, value_name = "MIN", default_value_t = 480, value_parser = clap::value_parser!(u64).range(1..=10080))]
    pub session_minutes: u64,
    /// Add operator account NAME to the database (or set a new password for it), then
    /// exit. The password (at least 10 characters) is read from stdin: typed twice at a
    /// terminal, or one line from a pipe.
    #[arg(long, value_name = "NAME", conflicts_with = "revoke_kiosk")]
    pub add_user: Option<String>,
    /// Revoke kiosk ID in the database, then exit: its key is refused from the next
    /// request on, also by a centre already running on this database.
    #[arg(long, value_name = "ID", conflicts_with = "migrate_from")]
    pub revoke_kiosk: Option<String>,
    /// Copy a SQLite centre's data (`sqlite:PATH` or a path: submissions with photos and
    /// details, receipt sequences, revoked kiosks, operator accounts) into the PostgreSQL
    /// database of --db-file / KIOSK_REVIEW_DB, then exit. Stop the old centre first;
    /// running it again is safe (rows already moved are skipped).
    #[arg(long, value_name = "SRC", conflicts_with = "add_user")]
    pub migrate_from: Option<String>,
}

fn rate() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..=1_000_000)
}

/// Timeouts: 1 s to 1 h.
fn secs() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=3600)
}

/// Raises the open-file limit to its hard limit (the connection cap needs a descriptor
/// per connection); returns the soft limit now in force.
fn raise_nofile_limit() -> anyhow::Result<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("reading RLIMIT_NOFILE")?;
    if soft < hard {
        if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            log::warn!("cannot raise the open-file limit from {soft} to {hard}: {e}");
            return Ok(soft);
        }
    }
    Ok(hard.max(soft))
}

/// The connection cap that fits `nofile` descriptors (some are kept for the database,
/// the listener and logs).
fn connection_cap(wanted: u32, nofile: u64) -> usize {
    let fit = usize::try_from(nofile.saturating_sub(64)).unwrap_or(usize::MAX).max(16);
    (wanted as usize).min(fit)
}

/// The password for `--add-user`: twice without echo at a terminal, one line from a pipe.
pub(super) fn read_password(name: &str) -> anyhow::Result<Zeroizing<String>> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = Zeroizing::new(String::new());
        stdin
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        return Ok(Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_string()));
    }
    let first = read_hidden(&format!("{name} 的密码 / password for {name}: "))?;
    let again = read_hidden("再输入一次 / repeat it: ")?;
    anyhow::ensure!(
        *first == *again,
        "两次输入的密码不同，未作更改 / the two passwords differ; nothing was changed"
    );
    Ok(first)
}

/// One line from the terminal with echo off.
fn read_hidden(prompt: &str) -> anyhow::Result<Zeroizing<String>> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    use std::io::BufRead;
    let stdin = std::io::stdin();
    eprint!("{prompt}");
    let old = tcgetattr(&stdin).context("cannot read the terminal settings")?;
    let mut quiet = old.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet).context("cannot turn the echo off")?;
    let mut line = Zeroizing::new(String::new());
    let read = stdin.lock().read_line(&mut line);
    let _ = tcsetattr(&stdin, SetArg::TCSANOW, &old);
    eprintln!();
    read.context("cannot read the password")?;
    Ok(Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_string()))
}

/// The environment variable that may hold the --db value (read when neither --db nor
/// --db-file is given).
pub const DB_ENV: &str = "KIOSK_REVIEW_DB";

fn add_user(rt: &tokio::runtime::Runtime, store: &Store, opts: &ServerOptions, name: &str) -> anyhow::Result<Verdict> {
    let staff = store.staff_auth(opts.staff.clone())?;
    let password = read_password(name)?;
    let what = match rt.block_on(staff.set_user_password(name, &password))? {
        Added::New => "已添加 / added",
        Added::Replaced => "密码已更改 / password changed",
    };
    log::info!("operator account {name}: {what}");
    println!("operator {name}: {what} ({})", store.describe());
    Ok(Verdict::Ok)
}

fn migrate_from(rt: &tokio::runtime::Runtime, store: &Store, src: &str) -> anyhow::Result<Verdict> {
    let DbTarget::Sqlite(path) = DbTarget::parse(src, "--migrate-from")? else {
        anyhow::bail!("--migrate-from {src}: not a SQLite database. Fix: give sqlite:PATH of the old centre's file");
    };
    let Store::Postgres(pg) = store else {
        anyhow::bail!(
            "--migrate-from copies into PostgreSQL, but the database given is SQLite ({}). Fix: name the PostgreSQL \
             database with --db-file or {DB_ENV}",
            store.describe()
        );
    };
    let c = rt.block_on(crate::review::store::sqlite_to_postgres(&path, pg))?;
    log::info!("moved {} to {}: {c:?}", path.display(), store.describe());
    println!(
        "moved {} → {}: {} submission(s) copied, {} already there; {} sequence(s), {} revoked kiosk(s), {} operator account(s)",
        path.display(),
        store.describe(),
        c.submissions,
        c.skipped,
        c.sequences,
        c.revoked,
        c.accounts
    );
    Ok(Verdict::Ok)
}

fn revoke_kiosk(rt: &tokio::runtime::Runtime, store: &Store, kiosk: &str) -> anyhow::Result<Verdict> {
    let new = rt.block_on(store.revoke_kiosk(kiosk, chrono::Utc::now()))?;
    log::warn!("kiosk {kiosk}: revoked in {}", store.describe());
    println!(
        "kiosk {kiosk}: {} ({})",
        if new {
            "已停用 / revoked"
        } else {
            "早已停用 / was already revoked"
        },
        store.describe()
    );
    Ok(Verdict::Ok)
}

pub fn run(cfg: &Config, args: &ReviewCenterArgs) -> anyhow::Result<Verdict> {
    let defaults = ServerOptions::default();
    let opts = ServerOptions {
        auto_approve_after: args.auto_approve_after.map(Duration::from_secs),
        grace_days: args.grace_days,
        body_limit: args.body_limit_kib as usize * 1024,
        public_per_min: args.public_rate,
        kiosk_per_min: args.kiosk_rate,
        operator_per_min: args.operator_rate,
        auth_fail_per_min: args.auth_fail_rate,
        header_timeout: Duration::from_secs(args.header_timeout),
        body_timeout: Duration::from_secs(args.body_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        max_connections: args.max_connections as usize,
        shutdown_deadline: Duration::from_secs(args.shutdown_deadline),
        decode_max_alloc: u64::from(args.decode_max_alloc_mib) << 20,
        staff: crate::staff::StaffSettings {
            session_ttl: Duration::from_secs(args.session_minutes * 60),
            ..defaults.staff.clone()
        },
        db_backoff_max: Duration::from_secs(args.db_backoff_max),
        ..defaults
    };
    let target = args.db.target(DB_ENV)?;
    let pool = args.db.pool();
    let pg = PgOptions {
        pool_size: pool.size,
        connect_timeout: pool.connect_timeout,
        wait_timeout: pool.wait_timeout,
        claim_lease: Duration::from_secs(args.claim_lease),
    };
    // One runtime for everything: a PostgreSQL pool's connections live on the runtime
    // that opened them.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store = rt.block_on(Store::open(&target, &pg))?;
    if let Some(name) = &args.add_user {
        return add_user(&rt, &store, &opts, name);
    }
    if let Some(kiosk) = &args.revoke_kiosk {
        return revoke_kiosk(&rt, &store, kiosk);
    }
    if let Some(src) = &args.migrate_from {
        return migrate_from(&rt, &store, src);
    }
    let Some(listen) = args.listen.as_deref() else {
        anyhow::bail!("--listen ADDR is required to serve");
    };
    let keys = match &args.keys {
        Some(p) => Keys::load(p)?,
        None => {
            log::warn!("no --keys file: every submission will be refused with 401");
            Keys::default()
        }
    };
    let nofile = raise_nofile_limit()?;
    let max_connections = connection_cap(args.max_connections, nofile);
    if max_connections < args.max_connections as usize {
        log::warn!(
            "open-file limit {nofile}: serving at most {max_connections} connections instead of {}; \
             raise LimitNOFILE= in the unit",
            args.max_connections
        );
    }
    let opts = ServerOptions {
        max_connections,
        ..opts
    };
    let shutdown_deadline = opts.shutdown_deadline;
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}; choose a free address with --listen"))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let n_keys = keys.len();
    let svc = Service::new(cfg.clone(), store, keys, opts, Arc::new(SystemClock))?;
    let db = svc.store().describe();
    rt.block_on(crate::review::server::check_listen(addr, &svc))?;
    log::info!(
        "review centre listening on http://{addr} (db {db}, {} kiosk key(s), at most {max_connections} connections, open-file limit {nofile}, auto-approve {})",
        n_keys,
        args.auto_approve_after
            .map(|s| format!("after {s} s"))
            .unwrap_or_else(|| "off: operator page /review".into())
    );
    // Tests and scripts read the bound address (useful with port 0) from stdout.
    println!("listening http://{addr}");
    let served = rt.block_on(serve(svc, listener, async {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        log::info!("review centre: stopping");
    }));
    // A review pass still on the blocking pool is not waited for past the deadline.
    rt.shutdown_timeout(shutdown_deadline);
    served?;
    log::info!("review centre: stopped");
    Ok(Verdict::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_fits_the_open_file_limit() {
        assert_eq!(connection_cap(1024, 1_048_576), 1024);
        assert_eq!(connection_cap(1024, 1024), 960);
        assert_eq!(connection_cap(1024, 10), 16);
    }
}
