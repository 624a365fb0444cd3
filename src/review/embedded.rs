//! `review = "embedded"`: the reference service in-process on 127.0.0.1:0, auto-approving
//! after one second, with a kiosk key generated in the data dir — so `kiosk run` and
//! `kiosk simulate` need no network.

use super::clock::SystemClock;
use super::keys::{self, Keys};
use super::server::{spawn, RunningServer, ServerOptions, Service};
use super::store::Store;
use super::ReviewError;
use crate::config::Config;
use std::sync::Arc;
use std::time::Duration;

/// Subdirectory of the data dir holding the embedded service's database and key.
pub const DIR: &str = "review-embedded";

/// The running embedded service; stops when dropped.
pub struct EmbeddedHandle {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// This kiosk's key for it.
    pub key: String,
    pub server: RunningServer,
}

/// The embedded centre's approval delay in the kiosk itself, so the uploading screen is
/// seen as it would be with a real centre (`simulate` approves at once: nobody watches).
pub const DEMO_APPROVE_AFTER: Duration = Duration::from_secs(1);

/// Starts the embedded service with the default 1 s auto-approve.
pub fn start(cfg: &Config) -> Result<EmbeddedHandle, ReviewError> {
    start_with(cfg, DEMO_APPROVE_AFTER)
}

pub fn start_with(cfg: &Config, auto_approve_after: Duration) -> Result<EmbeddedHandle, ReviewError> {
    // Config validation lets the embedded centre run only with `demo = true`; say so
    // loudly, once per start, so a log reader never mistakes these receipts for real ones.
    log::warn!(
        "演示模式 / DEMO MODE: the embedded review centre approves every photo after {} ms without anyone \
         looking, and keeps the data on this kiosk; its receipts are not valid. For a real kiosk set \
         [devices] review = \"https://…\" in the config file",
        auto_approve_after.as_millis()
    );
    start_with_options(
        cfg,
        ServerOptions {
            auto_approve_after: Some(auto_approve_after),
            // One process, loopback: a short tick keeps the machine check and approval prompt.
            tick: Duration::from_millis(50),
            ..ServerOptions::default()
        },
    )
}

/// The embedded service for reading receipts only (`kiosk receipt --reprint` beside a
/// running kiosk): its review loop never runs (it waits a day for its first pass and
/// nothing wakes it), so it cannot race the kiosk's own service on the same database.
pub fn start_for_reading(cfg: &Config) -> Result<EmbeddedHandle, ReviewError> {
    start_with_options(
        cfg,
        ServerOptions {
            auto_approve_after: None,
            tick: Duration::from_secs(24 * 3600),
            ..ServerOptions::default()
        },
    )
}

fn start_with_options(cfg: &Config, opts: ServerOptions) -> Result<EmbeddedHandle, ReviewError> {
    let dir = cfg.kiosk.data_dir.join(DIR);
    crate::private_fs::create_dir(&dir).map_err(|e| ReviewError::file(&dir, format!("cannot create: {e}")))?;
    let key_path = dir.join("kiosk.key");
    let key = match keys::read_key_file(&key_path) {
        Ok(k) => k,
        Err(_) if !key_path.exists() => {
            let k = keys::generate();
            keys::write_private(&key_path, k.as_bytes())?;
            k
        }
        Err(e) => return Err(e),
    };
    let mut ks = Keys::default();
    ks.insert(&cfg.kiosk.id, &key);
    let store = Store::open_sqlite(&dir.join("review.sqlite"))?;
    let svc = Service::new(cfg.clone(), store, ks, opts, Arc::new(SystemClock))?;
    let server = spawn(svc, "127.0.0.1:0")?;
    Ok(EmbeddedHandle {
        url: server.url(),
        key,
        server,
    })
}
