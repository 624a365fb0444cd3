//! `kiosk review-center`: the reference review service.

use super::Verdict;
use crate::config::Config;
use crate::review::clock::SystemClock;
use crate::review::keys::Keys;
use crate::review::server::{serve, ServerOptions, Service};
use crate::review::store::Store;
use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ReviewCenterArgs {
    /// Address to listen on, e.g. 127.0.0.1:8700.
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
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
}

pub fn run(cfg: &Config, args: &ReviewCenterArgs) -> anyhow::Result<Verdict> {
    let keys = match &args.keys {
        Some(p) => Keys::load(p)?,
        None => {
            log::warn!("no --keys file: every submission will be refused with 401");
            Keys::default()
        }
    };
    let store = Store::open(&args.db)?;
    let opts = ServerOptions {
        auto_approve_after: args.auto_approve_after.map(Duration::from_secs),
        grace_days: args.grace_days,
        body_limit: args.body_limit_kib * 1024,
        public_per_min: args.public_rate,
        kiosk_per_min: args.kiosk_rate,
        operator_per_min: args.operator_rate,
        ..ServerOptions::default()
    };
    let listener = std::net::TcpListener::bind(&args.listen)
        .with_context(|| format!("cannot listen on {}; choose a free address with --listen", args.listen))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    log::info!(
        "review centre listening on http://{addr} (db {}, {} kiosk key(s), auto-approve {})",
        args.db.display(),
        keys.len(),
        args.auto_approve_after
            .map(|s| format!("after {s} s"))
            .unwrap_or_else(|| "off: operator page /review".into())
    );
    // Tests and scripts read the bound address (useful with port 0) from stdout.
    println!("listening http://{addr}");
    let svc = Service::new(cfg.clone(), store, keys, opts, Arc::new(SystemClock));
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
