//! The review centre's HTTP transport — the hall console's too ([`serve`] with its own
//! [`Limits`]): an accept loop over hyper's HTTP/1 connection builder, so that a hostile
//! client cannot hold the service's file descriptors or memory.
//!
//! * **Connection cap** (`max_connections`): a semaphore permit is taken before `accept`,
//!   so excess connections wait in the kernel's backlog instead of using descriptors here.
//! * **Header-read timeout** (`header_timeout`, hyper's timer): a request head not complete
//!   within it closes the connection. hyper starts this clock whenever the connection
//!   waits for a head, so it also bounds a fresh connection that sends nothing.
//! * **Body-read timeout** (`body_timeout`): each request body is wrapped in [`Deadline`];
//!   reading it past the deadline fails with [`BodyTimeout`] (the handler answers 408).
//! * **Idle timeout** (`idle_timeout`): a connection on which no byte has moved either
//!   way for that long is shut down (gracefully: a request in progress is finished), and
//!   dropped if still silent one more period later (a client that stopped reading).
//! * **Shutdown deadline** (`shutdown_deadline`): on stop, accepting ends, every connection
//!   is asked to finish, and whatever is still open at the deadline is dropped.

use super::ServerOptions;
use crate::review::ReviewError;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::Router;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt as _;

/// The transport's bounds (see the module's documentation for each).
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub shutdown_deadline: Duration,
    /// The service, for the log ("review centre", "hall console").
    pub name: &'static str,
}

impl From<&ServerOptions> for Limits {
    fn from(o: &ServerOptions) -> Limits {
        Limits {
            max_connections: o.max_connections,
            header_timeout: o.header_timeout,
            body_timeout: o.body_timeout,
            idle_timeout: o.idle_timeout,
            shutdown_deadline: o.shutdown_deadline,
            name: "review centre",
        }
    }
}

/// The review centre's [`serve`].
pub(super) async fn run(
    listener: tokio::net::TcpListener,
    app: Router,
    opts: &ServerOptions,
    stop: impl Future<Output = ()>,
) -> Result<(), ReviewError> {
    serve(listener, app, &Limits::from(opts), stop).await;
    Ok(())
}

/// Serves `app` on `listener` until `stop` completes, then shuts down within
/// `opts.shutdown_deadline` whatever the clients do.
pub async fn serve(listener: tokio::net::TcpListener, app: Router, opts: &Limits, stop: impl Future<Output = ()>) {
    let name = opts.name;
    let permits = Arc::new(Semaphore::new(opts.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_timeout)
        .keep_alive(true);
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            _ = &mut stop => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break, // never closed
            },
        };
        let (stream, peer) = tokio::select! {
            _ = &mut stop => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE/ENFILE and aborted handshakes: wait a little instead of spinning.
                    log::warn!("{name}: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let conn = Conn {
            app: app.clone(),
            builder: builder.clone(),
            name,
            peer,
            body_timeout: opts.body_timeout,
            idle_timeout: opts.idle_timeout,
        };
        let stop_rx = stop_rx.clone();
        conns.spawn(async move {
            conn.serve(stream, stop_rx).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let open = conns.len();
    let drained = tokio::time::timeout(opts.shutdown_deadline, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        log::warn!(
            "{name}: {} of {open} connection(s) still open at the shutdown deadline ({} s); closing them",
            conns.len(),
            opts.shutdown_deadline.as_secs_f64()
        );
        conns.abort_all();
    }
}

/// One accepted connection and what it needs.
struct Conn {
    app: Router,
    builder: hyper::server::conn::http1::Builder,
    name: &'static str,
    peer: SocketAddr,
    body_timeout: Duration,
    idle_timeout: Duration,
}

impl Conn {
    async fn serve(self, stream: TcpStream, mut stop: watch::Receiver<bool>) {
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Tracked {
            inner: stream,
            activity: activity.clone(),
        });
        let (app, peer, body_timeout) = (self.app, self.peer, self.body_timeout);
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let req = req.map(|b| Deadline::new(b, body_timeout));
            app.clone().oneshot(req)
        });
        let conn = self.builder.serve_connection(io, service);
        tokio::pin!(conn);
        let mut closing = false;
        loop {
            let quiet_until = activity.last() + self.idle_timeout;
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        log::debug!("{}: connection from {peer}: {e}", self.name);
                    }
                    return;
                }
                _ = stop.changed(), if !closing => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
                _ = tokio::time::sleep_until(quiet_until) => {
                    if activity.last() + self.idle_timeout > Instant::now() {
                        continue;
                    }
                    if closing {
                        log::debug!("{}: dropping silent connection from {peer}", self.name);
                        return;
                    }
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                    activity.touch();
                }
            }
        }
    }
}

/// When a byte last moved on a connection (milliseconds since it was opened).
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A stream that records when bytes move.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The body-read timeout expired: the client did not send the whole body in time.
#[derive(Debug, thiserror::Error)]
#[error("body_timeout: the request body was not received within {0:?}")]
pub struct BodyTimeout(Duration);

/// A request body that fails with [`BodyTimeout`] once its deadline (set when the head
/// was read) has passed.
pub(super) struct Deadline {
    inner: Incoming,
    deadline: Instant,
    limit: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Deadline {
    fn new(inner: Incoming, limit: Duration) -> Deadline {
        Deadline {
            inner,
            deadline: Instant::now() + limit,
            limit,
            sleep: None,
        }
    }
}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(r) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(r.map(|f| f.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout(this.limit))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `err` (a body or extractor error) comes from an expired [`Deadline`].
pub(super) fn is_body_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut e = Some(err);
    while let Some(cur) = e {
        if cur.downcast_ref::<BodyTimeout>().is_some() || cur.to_string().starts_with("body_timeout:") {
            return true;
        }
        e = cur.source();
    }
    false
}
