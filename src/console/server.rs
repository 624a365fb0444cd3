//! The console's HTTP side: `POST /v1/heartbeat` and `POST /v1/events` for kiosks (by key),
//! `GET /healthz`, and the offline watcher. Every refusal is a 4xx with a JSON body in both
//! languages and changes nothing: no or unknown key 401, a body naming another kiosk 403,
//! not JSON 415, garbage or out-of-bounds 400, over the body limit 413, a replayed heartbeat
//! 409.

use super::store::{AlertRow, ConsoleStore, EventsStored, HeartbeatOutcome, SqliteShared, Write, Written};
use super::wire::{EventBatch, EventsAccepted, Heartbeat, KioskEvent};
use super::ConsoleError;
use crate::review::keys::Keys;
use crate::review::server::transport::{self, Limits};
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Settings of a running console (every interval is one, so tests run with short ones).
#[derive(Debug, Clone)]
pub struct ConsoleOptions {
    /// How often kiosks send a heartbeat (kiosk `[console] heartbeat_s`, default 30 s).
    pub heartbeat: Duration,
    /// Heartbeats missed before "kiosk offline" (3).
    pub missed_for_offline: u32,
    /// Largest request body (64 KiB).
    pub body_limit: usize,
    /// Kiosk writes committed together at most (group commit, see [`Console::write`]).
    pub max_group: usize,
    /// Where alerts are forwarded (`--webhooks FILE`), with the delivery settings.
    pub webhooks: Option<Arc<super::webhook::Webhooks>>,
    /// Connection cap and the header, body and idle timeouts: the review centre's
    /// transport, so a client that opens connections and sends nothing cannot hold them.
    pub transport: Limits,
}

impl Default for ConsoleOptions {
    fn default() -> Self {
        ConsoleOptions {
            heartbeat: Duration::from_secs(30),
            missed_for_offline: 3,
            body_limit: 64 * 1024,
            max_group: 256,
            webhooks: None,
            transport: Limits {
                max_connections: 1024,
                header_timeout: Duration::from_secs(30),
                body_timeout: Duration::from_secs(30),
                // Above the staff page's live-feed keep-alive (15 s), which keeps it open.
                idle_timeout: Duration::from_secs(60),
                shutdown_deadline: Duration::from_secs(5),
                name: "hall console",
            },
        }
    }
}

pub struct Console {
    store: ConsoleStore,
    /// The group-commit writer's queue ([`Console::write`]); SQLite only.
    writer: Option<std::sync::mpsc::Sender<WriteJob>>,
    keys: Keys,
    pub opts: ConsoleOptions,
    /// Every alert this console opened, in order: the webhooks listen here, so an alert
    /// is forwarded by the one instance that stored it.
    opened: tokio::sync::broadcast::Sender<AlertRow>,
    /// Every alert opened on this database, by any instance: the staff pages' live feed.
    /// On SQLite it is `opened`; on PostgreSQL the announcements (`PgConsole::listen`)
    /// fill it. A listener that falls behind misses alerts (it reloads from the store).
    feed: tokio::sync::broadcast::Sender<AlertRow>,
    /// The staff page and its logins ([`Console::with_staff`]); none: kiosks only.
    pub(super) staff: Option<Arc<super::staff_page::StaffSide>>,
}

impl Console {
    pub fn new(store: ConsoleStore, keys: Keys, opts: ConsoleOptions) -> Console {
        let opened = tokio::sync::broadcast::channel(1024).0;
        let feed = match &store {
            ConsoleStore::Sqlite(_) => opened.clone(),
            ConsoleStore::Postgres(_) => tokio::sync::broadcast::channel(1024).0,
        };
        let writer = match &store {
            ConsoleStore::Sqlite(s) => {
                let (writer, jobs) = std::sync::mpsc::channel();
                let (s, f, max) = (s.clone(), opened.clone(), opts.max_group.max(1));
                // Ends when the console (the queue's only sender) is dropped.
                let spawned = std::thread::Builder::new()
                    .name("console-writer".into())
                    .spawn(move || group_writer(&s, &f, &jobs, max));
                if let Err(e) = spawned {
                    // Every write then answers 500 (its reply channel closes) instead of hanging.
                    log::error!("console: cannot start the database writer: {e}");
                }
                Some(writer)
            }
            // PostgreSQL commits concurrent transactions together by itself.
            ConsoleStore::Postgres(_) => None,
        };
        Console {
            store,
            writer,
            keys,
            opts,
            opened,
            feed,
            staff: None,
        }
    }

    /// Stores a kiosk's heartbeat or events. On SQLite through the group-commit writer:
    /// requests that arrive while a commit is on its way to the disk are committed
    /// together by the next one (one fsync for all, `synchronous=FULL` kept), and the
    /// database work stays off the async workers. On PostgreSQL in a transaction of its
    /// own. Alerts opened are on the feed before this returns.
    async fn write(&self, write: Write) -> Result<Written, ConsoleError> {
        let Some(writer) = &self.writer else {
            let ConsoleStore::Postgres(pg) = &self.store else {
                return Err(ConsoleError::Commit("the database writer has stopped".into()));
            };
            let (written, opened) = pg.write(&write, now_ms()).await?;
            for a in opened {
                let _ = self.opened.send(a);
            }
            return Ok(written);
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let gone = || ConsoleError::Commit("the database writer has stopped".into());
        writer.send(WriteJob { write, reply }).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// New alerts on this database from now on (the staff pages' live feed).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<AlertRow> {
        self.feed.subscribe()
    }

    /// New alerts this console opens from now on (the webhooks).
    pub fn subscribe_opened(&self) -> tokio::sync::broadcast::Receiver<AlertRow> {
        self.opened.subscribe()
    }

    /// Sends the alerts just opened to their listeners (none listening is fine).
    async fn publish(&self, ids: &[i64]) -> Result<(), ConsoleError> {
        for id in ids {
            if let Some(a) = self.store.alert(*id).await? {
                let _ = self.opened.send(a);
            }
        }
        Ok(())
    }

    /// Stores a heartbeat (see [`Console::write`]).
    pub async fn heartbeat(&self, hb: Heartbeat) -> Result<HeartbeatOutcome, ConsoleError> {
        match self.write(Write::Heartbeat(hb)).await? {
            Written::Heartbeat(h) => Ok(h),
            Written::Events(_) => Err(mismatch()),
        }
    }

    /// Stores a kiosk's events (see [`Console::write`]).
    pub async fn add_events(&self, kiosk: &str, events: Vec<KioskEvent>) -> Result<EventsStored, ConsoleError> {
        let kiosk = kiosk.to_string();
        match self.write(Write::Events { kiosk, events }).await? {
            Written::Events(e) => Ok(e),
            Written::Heartbeat(_) => Err(mismatch()),
        }
    }

    /// The store, for the staff side and tests.
    pub fn store(&self) -> &ConsoleStore {
        &self.store
    }

    /// One pass of the offline watcher: raises "offline" for kiosks silent for
    /// `missed_for_offline` heartbeat intervals.
    pub async fn watch_once(&self) -> Result<Vec<String>, ConsoleError> {
        let now = now_ms();
        let silent = self.opts.heartbeat.as_millis() as u64 * u64::from(self.opts.missed_for_offline);
        let gone = self.store.mark_offline(now.saturating_sub(silent), now).await?;
        for (k, _) in &gone {
            log::warn!("kiosk {k} offline: no heartbeat for {:.1} s", silent as f64 / 1000.0);
        }
        self.publish(&gone.iter().map(|g| g.1).collect::<Vec<_>>()).await?;
        Ok(gone.into_iter().map(|g| g.0).collect())
    }
}

/// The writer answered a write with another kind's outcome (a bug, not an input).
fn mismatch() -> ConsoleError {
    ConsoleError::Commit("the writer answered with the wrong kind of outcome".into())
}

struct WriteJob {
    write: Write,
    reply: tokio::sync::oneshot::Sender<Result<Written, ConsoleError>>,
}

/// The SQLite writer thread: takes what is queued (up to `max` writes), commits it as
/// one group, publishes the alerts opened, answers each request, and goes again.
fn group_writer(
    store: &SqliteShared,
    feed: &tokio::sync::broadcast::Sender<AlertRow>,
    jobs: &std::sync::mpsc::Receiver<WriteJob>,
    max: usize,
) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < max {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let (writes, replies): (Vec<Write>, Vec<_>) = group.into_iter().map(|j| (j.write, j.reply)).unzip();
        let mut st = store.lock();
        let results = st.write_group(&writes, now_ms());
        for r in &results {
            if let Ok(Written::Events(e)) = r {
                for id in &e.opened {
                    match st.alert(*id) {
                        Ok(Some(a)) => {
                            let _ = feed.send(a);
                        }
                        Ok(None) => {}
                        Err(e) => log::error!("console: alert {id} stored but not read back: {e}"),
                    }
                }
            }
        }
        drop(st);
        for (reply, r) in replies.into_iter().zip(results) {
            let _ = reply.send(r);
        }
    }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A refusal: status and a bilingual JSON body.
pub struct Refusal(StatusCode, &'static str, &'static str, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.1, "message_zh": self.2, "message_en": self.3});
        (self.0, Json(body)).into_response()
    }
}

impl From<ConsoleError> for Refusal {
    fn from(e: ConsoleError) -> Refusal {
        if let ConsoleError::Unavailable { .. } = e {
            // The kiosk keeps the request in its queue and sends it again.
            log::warn!("console: {e}");
            return Refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "服务暂时不可用，请稍后重试",
                "The console's database is unavailable; retry shortly".into(),
            );
        }
        log::error!("console: {e}");
        Refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务内部错误，请稍后重试",
            "Internal error; please retry later".into(),
        )
    }
}

/// A kiosk, by its key (`Authorization: Bearer KEY`).
pub struct KioskKey(pub String);

impl FromRequestParts<Arc<Console>> for KioskKey {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, c: &Arc<Console>) -> Result<Self, Refusal> {
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.strip_prefix("Bearer "));
        match key.and_then(|k| c.keys.kiosk_for(k.trim())) {
            Some(id) => Ok(KioskKey(id.to_string())),
            None => {
                let from = parts
                    .extensions
                    .get::<axum::extract::ConnectInfo<SocketAddr>>()
                    .map_or_else(|| "?".into(), |a| a.0.ip().to_string());
                log::warn!("console: request from {from} refused: missing or unknown kiosk key");
                Err(Refusal(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "缺少或无效的终端密钥",
                    "Missing or unknown kiosk key (Authorization: Bearer KEY)".into(),
                ))
            }
        }
    }
}

/// Reads a JSON body by hand, so every malformed one gets the same bilingual 4xx.
fn json_body<T: DeserializeOwned>(headers: &axum::http::HeaderMap, body: &[u8]) -> Result<T, Refusal> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/json")
    {
        return Err(Refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "请求内容类型必须为 application/json",
            "Content-Type must be application/json".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| bad(e.to_string()))
}

fn bad(why: String) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, "bad_request", "请求内容有误", why)
}

fn same_kiosk(key: &KioskKey, claimed: &str) -> Result<(), Refusal> {
    if key.0 == claimed {
        return Ok(());
    }
    log::warn!("console: kiosk {} sent a body naming kiosk {claimed:?}; refused", key.0);
    Err(Refusal(
        StatusCode::FORBIDDEN,
        "wrong_kiosk",
        "终端编号与密钥不符",
        "The kiosk id does not match the key".into(),
    ))
}

async fn heartbeat(
    State(c): State<Arc<Console>>,
    key: KioskKey,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<StatusCode, Refusal> {
    let hb: Heartbeat = json_body(&headers, &body)?;
    hb.validate().map_err(bad)?;
    same_kiosk(&key, &hb.kiosk_id)?;
    let seq = hb.seq;
    match c.heartbeat(hb).await? {
        HeartbeatOutcome::Stored => Ok(StatusCode::NO_CONTENT),
        HeartbeatOutcome::Replay => Err(Refusal(
            StatusCode::CONFLICT,
            "replay",
            "重复或过期的心跳",
            format!("heartbeat seq {seq} is not newer than the last one stored"),
        )),
    }
}

async fn events(
    State(c): State<Arc<Console>>,
    key: KioskKey,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<EventsAccepted>, Refusal> {
    let batch: EventBatch = json_body(&headers, &body)?;
    batch.validate().map_err(bad)?;
    same_kiosk(&key, &batch.kiosk_id)?;
    let logged: Vec<_> = batch
        .events
        .iter()
        .filter(|e| e.kind.alerts())
        .map(|e| (e.kind, e.seq))
        .collect();
    let stored = c.add_events(&key.0, batch.events).await?;
    for (kind, seq) in logged {
        log::info!("kiosk {}: {} (seq {seq})", key.0, kind.id());
    }
    Ok(Json(EventsAccepted {
        stored_up_to: stored.up_to,
        new: stored.new,
    }))
}

/// The routes kiosks call, `/healthz`, and the staff page's when the console has one.
pub fn router(c: Arc<Console>) -> Router {
    let limit = c.opts.body_limit;
    let staff = super::staff_page::routes(&c);
    let kiosks = Router::new()
        .route("/v1/heartbeat", post(heartbeat))
        .route("/v1/events", post(events))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async {
            Refusal(
                StatusCode::NOT_FOUND,
                "not_found",
                "没有这个地址",
                "No such path".into(),
            )
        })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(c);
    match staff {
        Some(staff) => kiosks.merge(staff),
        None => kiosks,
    }
}

/// A console serving on its own thread and Tokio runtime; stops when dropped.
pub struct RunningConsole {
    pub addr: SocketAddr,
    pub console: Arc<Console>,
    /// The webhook delivery, when `opts.webhooks` is set.
    pub webhooks: Option<super::webhook::Forwarder>,
    handle: tokio::runtime::Handle,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningConsole {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs `f` on the console's runtime and waits for it (tools and tests: the store's
    /// calls are async).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.handle.block_on(f)
    }

    /// Serves until the process is stopped.
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RunningConsole {
    fn drop(&mut self) {
        self.console.stop_streams();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A runtime for a console: open a PostgreSQL store on it, then [`spawn_on`] it (a pool's
/// connections live on the runtime that opened them).
pub fn runtime() -> Result<tokio::runtime::Runtime, ConsoleError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ConsoleError::Runtime)
}

/// Binds `listen` and serves `console` (with its offline watcher) until dropped, on a
/// runtime of its own.
pub fn spawn(console: Arc<Console>, listen: &str) -> Result<RunningConsole, ConsoleError> {
    spawn_on(runtime()?, console, listen)
}

/// [`spawn`] on runtime `rt` (the one a PostgreSQL store was opened on).
pub fn spawn_on(
    rt: tokio::runtime::Runtime,
    console: Arc<Console>,
    listen: &str,
) -> Result<RunningConsole, ConsoleError> {
    let listen_err = |source| ConsoleError::Listen {
        addr: listen.to_string(),
        source,
    };
    let std_listener = std::net::TcpListener::bind(listen).map_err(listen_err)?;
    std_listener.set_nonblocking(true).map_err(listen_err)?;
    let addr = std_listener.local_addr().map_err(listen_err)?;
    let handle = rt.handle().clone();
    // Subscribed before serving, so no alert is missed.
    let webhooks = match &console.opts.webhooks {
        Some(w) => Some(
            super::webhook::Forwarder::start(w.clone(), console.subscribe_opened()).map_err(ConsoleError::Runtime)?,
        ),
        None => None,
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let c = console.clone();
    let thread = std::thread::Builder::new()
        .name("kiosk-console".into())
        .spawn(move || {
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(std_listener) {
                    Ok(l) => l,
                    Err(e) => {
                        log::error!("console: cannot listen: {e}");
                        return;
                    }
                };
                // The watcher looks twice per heartbeat interval: "offline" shows within
                // half an interval of the third missed heartbeat.
                let w = c.clone();
                let every = (c.opts.heartbeat / 2).max(Duration::from_millis(10));
                let watcher = tokio::spawn(async move {
                    let mut tick = tokio::time::interval(every);
                    loop {
                        tick.tick().await;
                        if let Err(e) = w.watch_once().await {
                            log::error!("console offline watcher: {e}");
                        }
                    }
                });
                // Other instances' alerts, for this one's staff pages.
                let announcements = match c.store() {
                    ConsoleStore::Postgres(p) => Some(tokio::spawn(p.clone().listen(c.feed.clone(), c.opts.heartbeat))),
                    ConsoleStore::Sqlite(_) => None,
                };
                let limits = c.opts.transport.clone();
                transport::serve(listener, router(c), &limits, async {
                    let _ = rx.await;
                })
                .await;
                watcher.abort();
                if let Some(a) = announcements {
                    a.abort();
                }
            });
        })
        .map_err(ConsoleError::Runtime)?;
    Ok(RunningConsole {
        addr,
        console,
        webhooks,
        handle,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}
