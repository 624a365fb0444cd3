//! Start-up: bind, run the routes and the review loop on a Tokio runtime of their own,
//! stop when dropped (tests, the embedded centre) or on a signal (`kiosk review-center`).

use super::{router, Service};
use crate::review::ReviewError;
use std::net::SocketAddr;
use std::sync::Arc;

/// A service running on its own thread and Tokio runtime; stops when dropped.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub service: Arc<Service>,
    /// The service's runtime (tests run store calls on it from their own thread).
    pub handle: tokio::runtime::Handle,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs `f` on the service's runtime and waits for it (from a thread outside it).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.handle.block_on(f)
    }
}

/// The runtime a service runs on (open a PostgreSQL store on it before [`spawn_on`]: the
/// pool's connections live on the runtime that made them).
pub fn runtime() -> Result<tokio::runtime::Runtime, ReviewError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("review-center")
        .enable_all()
        .build()
        .map_err(|source| ReviewError::Thread {
            what: "review-centre runtime",
            source,
        })
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Binds `listen` and serves `svc` on a runtime of its own until [`RunningServer`] is
/// dropped (a SQLite store; for PostgreSQL use [`spawn_on`]).
pub fn spawn(svc: Arc<Service>, listen: &str) -> Result<RunningServer, ReviewError> {
    spawn_on(runtime()?, svc, listen)
}

/// Binds `listen` and serves `svc` on `rt` until [`RunningServer`] is dropped.
pub fn spawn_on(rt: tokio::runtime::Runtime, svc: Arc<Service>, listen: &str) -> Result<RunningServer, ReviewError> {
    let std_listener = std::net::TcpListener::bind(listen).map_err(|source| ReviewError::Listen {
        addr: listen.to_string(),
        source,
    })?;
    std_listener
        .set_nonblocking(true)
        .map_err(|source| ReviewError::Listen {
            addr: listen.to_string(),
            source,
        })?;
    let addr = std_listener.local_addr().map_err(|source| ReviewError::Listen {
        addr: listen.to_string(),
        source,
    })?;
    rt.block_on(check_listen(addr, &svc))?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let svc2 = svc.clone();
    let handle = rt.handle().clone();
    let thread = std::thread::Builder::new()
        .name("review-center".into())
        .spawn(move || {
            let deadline = svc2.opts.shutdown_deadline;
            rt.block_on(async move {
                if let Err(e) = serve(svc2, std_listener, async {
                    let _ = rx.await;
                })
                .await
                {
                    log::error!("review centre stopped: {e}");
                }
            });
            // A review pass still decoding on the blocking pool is not waited for longer.
            rt.shutdown_timeout(deadline);
        })
        .map_err(|source| ReviewError::Thread {
            what: "review-centre",
            source,
        })?;
    Ok(RunningServer {
        addr,
        service: svc,
        handle,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

/// Refuses to serve on a non-loopback address while no operator account exists: the
/// operator page would be reachable by anyone on that network with nobody able to log in,
/// an invitation to leave it open (as the metrics endpoint refuses one outright).
pub async fn check_listen(addr: SocketAddr, svc: &Service) -> Result<(), ReviewError> {
    if addr.ip().is_loopback() || svc.staff().count_accounts().await? > 0 {
        Ok(())
    } else {
        Err(ReviewError::Exposed { addr })
    }
}

/// Serves until `stop` completes: the HTTP routes and the review loop. Refuses a
/// non-loopback listener without operator accounts ([`check_listen`]). Returns within
/// `opts.shutdown_deadline` of `stop` whatever the clients do ([`super::transport`]).
pub async fn serve(
    svc: Arc<Service>,
    listener: std::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ReviewError> {
    if let Ok(a) = listener.local_addr() {
        check_listen(a, &svc).await?;
    }
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let listener = tokio::net::TcpListener::from_std(listener).map_err(|source| ReviewError::Listen {
        addr: addr.clone(),
        source,
    })?;
    let looper = svc.clone();
    let review_loop = tokio::spawn(async move {
        let mut backoff = None;
        loop {
            tokio::select! {
                _ = looper.wake.notified() => {}
                _ = tokio::time::sleep(looper.opts.tick) => {}
            }
            match looper.review_pass().await {
                Ok(()) => backoff = None,
                Err(e @ ReviewError::Unavailable { .. }) => {
                    // The database is away (restart, network): wait longer each time, up to
                    // `db_backoff_max`, then try again; requests meanwhile get 503.
                    let wait = backoff.map_or(looper.opts.tick, |w: std::time::Duration| {
                        (w * 2).min(looper.opts.db_backoff_max)
                    });
                    log::warn!("review loop: {e}; retrying in {} ms", wait.as_millis());
                    backoff = Some(wait);
                    tokio::time::sleep(wait).await;
                }
                Err(e) => log::error!("review loop: {e}"),
            }
        }
    });
    let app = router(svc.clone());
    let r = super::transport::run(listener, app, &svc.opts, stop).await;
    review_loop.abort();
    r
}
