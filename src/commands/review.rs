//! `kiosk review-center`: the reference review service.

use super::Verdict;
use crate::config::Config;
use crate::review::clock::SystemClock;
use crate::review::keys::Keys;
use crate::review::server::{serve, ServerOptions, Service};
use crate::review::store::Store;
use crate::staff::{Added, StaffAuth};
use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

#[derive(Debug, clap::Args)]
pub struct ReviewCenterArgs {
    /// Address to listen on, e.g. 127.0.0.1:8700. A non-loopback address is refused while
    /// no operator account exists (`--add-user`).
    #[arg(long, value_name = "ADDR", required_unless_present_any = ["add_user", "revoke_kiosk"])]
    pub listen: Option<String>,
    /// SQLite database file (created if missing; WAL mode).
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// Approve photos that pass the machine check after SECS seconds; without it every
    /// photo waits for an operator on /review.
    #[arg(long, value_name = "SECS")]
    pub auto_approve_after: Option<u64>,
    /// Kiosk keys: one `KIOSK_ID KEY` per line (keys ≥ 32 chars). Without it no kiosk can submit.
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// Keep photo and details this many days after a receipt expires, then purge them.
    #[arg(long, value_name = "N", default_value_t = 7)]
    pub grace_days: u32,
    /// Largest request body, in KiB.
    #[arg(long, value_name = "KIB", default_value_t = 1024)]
    pub body_limit_kib: usize,
    /// Requests per minute per client address on the public routes.
    #[arg(long, value_name = "N", default_value_t = 120)]
    pub public_rate: u32,
    /// Requests per minute per kiosk key.
    #[arg(long, value_name = "N", default_value_t = 600)]
    pub kiosk_rate: u32,
    /// Requests per minute per client address on the operator page (/review) and its
    /// approve/reject actions; each page load also fetches every pending photo.
    #[arg(long, value_name = "N", default_value_t = 1200)]
    pub operator_rate: u32,
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
    #[arg(long, value_name = "ID")]
    pub revoke_kiosk: Option<String>,
}

/// The password for `--add-user`: twice without echo at a terminal, one line from a pipe.
fn read_password(name: &str) -> anyhow::Result<Zeroizing<String>> {
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

fn add_user(args: &ReviewCenterArgs, opts: &ServerOptions, name: &str) -> anyhow::Result<Verdict> {
    let staff = StaffAuth::open(&args.db, opts.staff.clone())?;
    let password = read_password(name)?;
    let what = match staff.add_user(name, &password)? {
        Added::New => "已添加 / added",
        Added::Replaced => "密码已更改 / password changed",
    };
    log::info!("operator account {name}: {what}");
    println!("operator {name}: {what} ({})", args.db.display());
    Ok(Verdict::Ok)
}

fn revoke_kiosk(args: &ReviewCenterArgs, kiosk: &str) -> anyhow::Result<Verdict> {
    let store = Store::open(&args.db)?;
    let new = store.revoke_kiosk(kiosk, chrono::Utc::now())?;
    log::warn!("kiosk {kiosk}: revoked in {}", args.db.display());
    println!(
        "kiosk {kiosk}: {} ({})",
        if new {
            "已停用 / revoked"
        } else {
            "早已停用 / was already revoked"
        },
        args.db.display()
    );
    Ok(Verdict::Ok)
}

pub fn run(cfg: &Config, args: &ReviewCenterArgs) -> anyhow::Result<Verdict> {
    let defaults = ServerOptions::default();
    let opts = ServerOptions {
        auto_approve_after: args.auto_approve_after.map(Duration::from_secs),
        grace_days: args.grace_days,
        body_limit: args.body_limit_kib * 1024,
        public_per_min: args.public_rate,
        kiosk_per_min: args.kiosk_rate,
        operator_per_min: args.operator_rate,
        staff: crate::staff::StaffSettings {
            session_ttl: Duration::from_secs(args.session_minutes * 60),
            ..defaults.staff.clone()
        },
        ..defaults
    };
    if let Some(name) = &args.add_user {
        return add_user(args, &opts, name);
    }
    if let Some(kiosk) = &args.revoke_kiosk {
        return revoke_kiosk(args, kiosk);
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
    let store = Store::open(&args.db)?;
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}; choose a free address with --listen"))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let n_keys = keys.len();
    let svc = Service::new(cfg.clone(), store, keys, opts, Arc::new(SystemClock))?;
    crate::review::server::check_listen(addr, &svc)?;
    log::info!(
        "review centre listening on http://{addr} (db {}, {} kiosk key(s), auto-approve {})",
        args.db.display(),
        n_keys,
        args.auto_approve_after
            .map(|s| format!("after {s} s"))
            .unwrap_or_else(|| "off: operator page /review".into())
    );
    // Tests and scripts read the bound address (useful with port 0) from stdout.
    println!("listening http://{addr}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(serve(svc, listener, async {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        log::info!("review centre: stopping");
    }))?;
    Ok(Verdict::Ok)
}
