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
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
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

/// Binds `listen` and serves `svc` until [`RunningServer`] is dropped.
pub fn spawn(svc: Arc<Service>, listen: &str) -> Result<RunningServer, ReviewError> {
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
    check_listen(addr, &svc)?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let svc2 = svc.clone();
    let thread = std::thread::Builder::new()
        .name("review-center".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    log::error!("review centre: cannot start the runtime: {e}");
                    return;
                }
            };
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
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

/// Refuses to serve on a non-loopback address while no operator account exists: the
/// operator page would be reachable by anyone on that network with nobody able to log in,
/// an invitation to leave it open (as the metrics endpoint refuses one outright).
pub fn check_listen(addr: SocketAddr, svc: &Service) -> Result<(), ReviewError> {
    if addr.ip().is_loopback() || svc.staff().account_count()? > 0 {
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
        check_listen(a, &svc)?;
    }
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let listener = tokio::net::TcpListener::from_std(listener).map_err(|source| ReviewError::Listen {
        addr: addr.clone(),
        source,
    })?;
    let looper = svc.clone();
    let review_loop = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = looper.wake.notified() => {}
                _ = tokio::time::sleep(looper.opts.tick) => {}
            }
            let s = looper.clone();
            match tokio::task::spawn_blocking(move || s.review_pass()).await {
                Ok(Err(e)) => log::error!("review loop: {e}"),
                Err(e) => log::error!("review loop task: {e}"),
                Ok(Ok(())) => {}
            }
        }
    });
    let app = router(svc.clone());
    let r = super::transport::run(listener, app, &svc.opts, stop).await;
    review_loop.abort();
    r
}
