//! The kiosk's upload client: [`Uploader`] over the durable [`Outbox`] and a background
//! worker thread that sends, retries and polls.
//!
//! Order of a submission: outbox row written and fsync'd → (failpoint `upload:before-send`)
//! → POST with the row's idempotency key → (`upload:after-send`) → the id is recorded and
//! photo+details erased → (`upload:after-ack`) → status polled until the decision →
//! (`upload:after-decision`) → decision recorded → delivered to the session by
//! [`Uploader::poll`], or dropped once settled when the session was abandoned.
//!
//! Retries: network errors, timeouts, unreadable/oversized/garbled replies, 408, 429 and
//! 5xx back off exponentially with jitter; any other 4xx is final and its reason is shown
//! to the person. Because every retry resends the same bytes under the same key, a
//! retry can never create a second submission — so never a second receipt.

use super::api::*;
use super::embedded::EmbeddedHandle;
use super::outbox::{Outbox, Owner};
use super::reply::SubmitReply;
use super::ReviewError;
use crate::config::{Config, Device};
use crate::domain::SlipJob;
use crate::domain::{ClaimCode, Prompt};
use crate::failpoint;
use crate::ports::{Decision, OutboxDepth, Resumed, Submission, Uploader};
use base64::Engine as _;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Connection settings and retry policy of the client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// e.g. `http://127.0.0.1:8700` (no trailing slash).
    pub base_url: String,
    pub kiosk_id: String,
    pub key: String,
    /// Where `outbox.sqlite` and `outbox.key` live.
    pub data_dir: PathBuf,
    pub connect_timeout: Duration,
    /// Whole-request bound (connect, send, and the reply, however slowly it drips).
    pub request_timeout: Duration,
    /// Replies longer than this are treated as garbage (and retried).
    pub max_response_bytes: u64,
    /// Interval between status polls of an acknowledged submission.
    pub poll_interval: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// A row the service answers badly this many times in a row (5xx, an unreadable
    /// reply, a status it cannot find) is quarantined. Unreachable network or service is
    /// retried for ever: that is not the row's fault, and nothing may be lost.
    pub max_answered_failures: u32,
}

impl ClientOptions {
    pub fn new(base_url: &str, kiosk_id: &str, key: &str, data_dir: PathBuf) -> ClientOptions {
        ClientOptions {
            base_url: base_url.trim_end_matches('/').to_string(),
            kiosk_id: kiosk_id.to_string(),
            key: key.to_string(),
            data_dir,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            max_response_bytes: 4 * 1024 * 1024,
            poll_interval: Duration::from_millis(500),
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            max_answered_failures: 20,
        }
    }
}

struct Shared {
    outbox: Mutex<Outbox>,
    opts: ClientOptions,
    agent: ureq::Agent,
    stop: AtomicBool,
    wake: (Mutex<bool>, Condvar),
    /// Receipts approved for orphaned entries, photo fetched back (or not), by idempotency
    /// key, until the engine takes them.
    resumed: Mutex<HashMap<String, Option<crate::domain::PhotoJpeg>>>,
}

impl Shared {
    fn outbox(&self) -> std::sync::MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn notify(&self) {
        let (m, c) = &self.wake;
        *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
        c.notify_all();
    }
    fn sleep(&self, d: Duration) {
        let (m, c) = &self.wake;
        let g = m.lock().unwrap_or_else(|e| e.into_inner());
        let (mut g, _) = c
            .wait_timeout_while(g, d, |woken| !*woken && !self.stop.load(Ordering::SeqCst))
            .unwrap_or_else(|e| e.into_inner());
        *g = false;
    }
}

/// The review client: implements [`Uploader`]; owns the background worker.
pub struct ReviewClient {
    shared: Arc<Shared>,
    /// The idempotency key of the current session's submission.
    current: Option<String>,

    worker: Option<std::thread::JoinHandle<()>>,
    /// Keeps the in-process service alive for `review = "embedded"`.
    _embedded: Option<EmbeddedHandle>,
}

/// The uploader for `cfg`: the embedded service, or the URL with `review_key_file`.
pub fn open(cfg: &Config) -> Result<Box<dyn Uploader>, ReviewError> {
    Ok(Box::new(open_client(cfg)?))
}

/// [`open`] with the embedded centre's approval delay (ignored for a URL).
pub fn open_with(cfg: &Config, embedded_approve_after: Duration) -> Result<Box<dyn Uploader>, ReviewError> {
    Ok(Box::new(open_client_with(cfg, embedded_approve_after)?))
}

/// [`open`] with the concrete type (for `fetch_receipt` and the outbox view).
pub fn open_client(cfg: &Config) -> Result<ReviewClient, ReviewError> {
    open_client_with(cfg, super::embedded::DEMO_APPROVE_AFTER)
}

/// [`open_client`] with the embedded centre's approval delay (ignored for a URL).
pub fn open_client_with(cfg: &Config, embedded_approve_after: Duration) -> Result<ReviewClient, ReviewError> {
    match cfg.devices.review.device() {
        Device::Embedded => {
            let h = super::embedded::start_with(cfg, embedded_approve_after)?;
            let mut opts = ClientOptions::new(&h.url, &cfg.kiosk.id, &h.key, cfg.kiosk.data_dir.clone());
            // In-process over loopback: polling often costs nothing and keeps the wait short.
            opts.poll_interval = Duration::from_millis(50);
            let mut c = ReviewClient::start(opts)?;
            c._embedded = Some(h);
            Ok(c)
        }
        Device::Http { url } => {
            let key_file = cfg.devices.review_key_file.as_ref().ok_or_else(|| {
                ReviewError::Config("devices.review_key_file is required for an http(s) review service".into())
            })?;
            let key = super::keys::read_key_file(key_file)?;
            ReviewClient::start(ClientOptions::new(url, &cfg.kiosk.id, &key, cfg.kiosk.data_dir.clone()))
        }
        other => Err(ReviewError::Config(format!("`{other:?}` is not a review service"))),
    }
}

impl ReviewClient {
    /// Opens the outbox and starts the worker; every entry left from an earlier run is
    /// resumed in the background.
    pub fn start(opts: ClientOptions) -> Result<ReviewClient, ReviewError> {
        let outbox = Outbox::open(&opts.data_dir)?;
        let resumed = outbox.orphan_all()?;
        if resumed > 0 {
            log::info!(
                "outbox: resuming {resumed} submission(s) from an earlier run; their receipts print when approved"
            );
        }
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(opts.connect_timeout))
            .timeout_global(Some(opts.request_timeout))
            .http_status_as_error(false)
            .user_agent(concat!("kiosk/", env!("CARGO_PKG_VERSION")))
            .build();
        let shared = Arc::new(Shared {
            outbox: Mutex::new(outbox),
            agent: ureq::Agent::new_with_config(config),
            opts,
            stop: AtomicBool::new(false),
            wake: (Mutex::new(false), Condvar::new()),
            resumed: Mutex::new(HashMap::new()),
        });
        let s2 = shared.clone();
        let worker = std::thread::Builder::new()
            .name("review-upload".into())
            .spawn(move || worker(&s2))
            .map_err(|source| ReviewError::Thread { what: "upload", source })?;
        Ok(ReviewClient {
            shared,
            current: None,
            worker: Some(worker),
            _embedded: None,
        })
    }

    /// Entries still in the outbox (no personal data).
    pub fn outbox_entries(&self) -> Result<Vec<super::outbox::Entry>, ReviewError> {
        self.shared.outbox().entries()
    }

    /// Fetches a receipt again by number (operator reprint), with this kiosk's key.
    pub fn fetch_receipt(&self, number: &crate::domain::ReceiptNumber) -> Result<ReceiptView, ReviewError> {
        fetch_receipt_view(
            &self.shared.agent,
            &self.shared.opts.base_url,
            &self.shared.opts.key,
            self.shared.opts.max_response_bytes,
            number,
        )
    }
}

/// `GET /v1/receipts/{number}` with the kiosk key: shared by the client and [`ReceiptFetcher`].
fn fetch_receipt_view(
    agent: &ureq::Agent,
    base_url: &str,
    key: &str,
    limit: u64,
    number: &crate::domain::ReceiptNumber,
) -> Result<ReceiptView, ReviewError> {
    let url = format!("{base_url}/v1/receipts/{number}");
    let (status, body) = agent
        .get(&url)
        .header("authorization", format!("Bearer {key}"))
        .call()
        .map_err(|e| format!("GET {url}: {e}"))
        .and_then(|r| read_limited(r, limit))
        .map_err(|message| ReviewError::Http {
            url: url.clone(),
            message,
        })?;
    super::reply::receipt(status, &body).map_err(|e| match e {
        Ok((status, code, message)) => ReviewError::Rejected { status, code, message },
        Err(e) => ReviewError::Http {
            url,
            message: format!("unreadable receipt: {e}"),
        },
    })
}

/// Fetches receipts for reprints without opening the outbox (`kiosk receipt --reprint`
/// runs beside a live kiosk, whose outbox it must not touch).
pub struct ReceiptFetcher {
    agent: ureq::Agent,
    base_url: String,
    key: String,
    /// Keeps an in-process service alive for `review = "embedded"`.
    _embedded: Option<EmbeddedHandle>,
}

impl ReceiptFetcher {
    /// For `cfg.devices.review`: the URL with `review_key_file`, or the embedded service
    /// (started in-process on the data directory's review database, its review loop idle).
    pub fn open(cfg: &Config) -> Result<ReceiptFetcher, ReviewError> {
        let (base_url, key, embedded) = match cfg.devices.review.device() {
            Device::Embedded => {
                let h = super::embedded::start_for_reading(cfg)?;
                (h.url.clone(), h.key.clone(), Some(h))
            }
            Device::Http { url } => {
                let key_file = cfg.devices.review_key_file.as_ref().ok_or_else(|| {
                    ReviewError::Config("devices.review_key_file is required for an http(s) review service".into())
                })?;
                (
                    url.trim_end_matches('/').to_string(),
                    super::keys::read_key_file(key_file)?,
                    None,
                )
            }
            other => return Err(ReviewError::Config(format!("`{other:?}` is not a review service"))),
        };
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(20)))
            .http_status_as_error(false)
            .user_agent(concat!("kiosk/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(ReceiptFetcher {
            agent: ureq::Agent::new_with_config(config),
            base_url,
            key,
            _embedded: embedded,
        })
    }

    pub fn fetch(&self, number: &crate::domain::ReceiptNumber) -> Result<ReceiptView, ReviewError> {
        fetch_receipt_view(&self.agent, &self.base_url, &self.key, 4 * 1024 * 1024, number)
    }
}

impl Drop for ReviewClient {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.notify();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl Uploader for ReviewClient {
    fn submit(&mut self, s: Submission) -> Result<ClaimCode, Prompt> {
        // One session at a time: a new submission means the previous session is over. If
        // its decision was never taken, it left with a claim slip (the deadline passed):
        // the service keeps its receipt for the claim code, and the row must settle in the
        // background instead of waiting for a session that will never poll it again.
        if let Some(prev) = &self.current {
            log::info!("outbox: submission {prev} was left with a claim slip; it settles in the background");
        }
        self.abandon();
        let idem = hex::encode(rand::random::<[u8; 16]>());
        let claim = ClaimCode::random();
        let mut req = SubmitRequest {
            kiosk_id: self.shared.opts.kiosk_id.clone(),
            doc: s.doc,
            region: s.region.clone(),
            details: s.details,
            claim_code: claim.clone(),
            photo_jpeg_b64: base64::engine::general_purpose::STANDARD.encode(&s.photo.0),
        };
        let body = Zeroizing::new(serde_json::to_vec(&req).map_err(|_| refused())?);
        // The base64 copy of the face is personal data too (details zeroize on drop).
        zeroize::Zeroize::zeroize(&mut req.photo_jpeg_b64);
        drop(req);
        if let Err(e) = self.shared.outbox().enqueue(&idem, &claim, s.doc, &s.region, &body) {
            log::error!(
                "outbox: cannot store the submission in the data dir {}: {e}; the session is refused, nothing was sent",
                self.shared.opts.data_dir.display()
            );
            return Err(refused());
        }
        log::info!("outbox: submission {idem} queued ({}, {})", s.doc, s.region);
        self.current = Some(idem);
        self.shared.notify();
        Ok(claim)
    }

    fn poll(&mut self) -> Option<Decision> {
        let idem = self.current.clone()?;
        let ob = self.shared.outbox();
        match ob.get(&idem) {
            Ok(Some(e)) => {
                let d = e.decision?;
                // A rejection is final here; an approval stays until its slip is printed
                // (`settle`), so a crash before the cut still prints it after the restart.
                if matches!(d, Decision::Rejected(_) | Decision::Refused(_)) {
                    if let Err(err) = ob.remove(&idem) {
                        log::error!("outbox: {err}");
                    }
                }
                self.current = None;
                Some(d)
            }
            Ok(None) => {
                self.current = None;
                None
            }
            Err(err) => {
                log::error!("outbox: {err}");
                None
            }
        }
    }

    fn abandon(&mut self) {
        if let Some(idem) = self.current.take() {
            if let Err(e) = self.shared.outbox().abandon(&idem) {
                log::error!("outbox: {e}");
            }
            self.shared.notify();
        }
    }

    fn outbox_depth(&mut self) -> Result<OutboxDepth, Prompt> {
        self.shared.outbox().depth().map_err(|e| {
            log::error!("outbox: {e}");
            refused()
        })
    }
    fn fetch_receipt(&mut self, number: &crate::domain::ReceiptNumber) -> Result<SlipJob, Prompt> {
        let view = ReviewClient::fetch_receipt(self, number).map_err(|e| {
            log::warn!("reprint {number}: {e}");
            super::reprint::fetch_error(number, &e)
        })?;
        super::reprint::job_from_view(number, view)
    }

    fn take_resumed(&mut self) -> Option<Resumed> {
        loop {
            // Taking it out of the map is the hand-out: the worker fetches each only once.
            let (idem, photo) = {
                let mut r = self.shared.resumed.lock().unwrap_or_else(|e| e.into_inner());
                let k = r.keys().next()?.clone();
                let p = r.remove(&k)?;
                (k, p)
            };
            let entry = match self.shared.outbox().get(&idem) {
                Ok(Some(e)) => e,
                Ok(None) => continue,
                Err(e) => {
                    log::error!("outbox: {e}");
                    continue;
                }
            };
            let Some(Decision::Approved {
                number,
                valid_until,
                token,
            }) = entry.decision
            else {
                continue;
            };
            log::info!("outbox: receipt {number} of a submission from an earlier run is ready to print");
            return Some(Resumed {
                slip: crate::domain::Slip::Receipt {
                    number,
                    valid_until,
                    doc: entry.doc,
                    region: entry.region,
                },
                photo,
                token,
            });
        }
    }

    fn settle(&mut self, number: &crate::domain::ReceiptNumber) {
        let ob = self.shared.outbox();
        let entries = match ob.entries() {
            Ok(e) => e,
            Err(e) => {
                log::error!("outbox: {e}");
                return;
            }
        };
        for e in entries {
            if matches!(&e.decision, Some(Decision::Approved { number: n, .. }) if n == number) {
                match ob.remove(&e.idem_key) {
                    Ok(()) => log::info!("outbox: receipt {number} printed; entry {} settled", e.idem_key),
                    Err(err) => log::error!("outbox: {err}"),
                }
            } else if e.owner == Owner::Session && e.claim_code.0 == number.as_str() {
                // The engine reports every cut slip by its key, and a claim slip's key is its
                // claim code: the person left with it. The entry now settles in the background
                // and nothing is printed for it, not even after a restart (the service keeps
                // the receipt for the claim code).
                match ob.abandon(&e.idem_key) {
                    Ok(()) => log::info!(
                        "outbox: claim slip printed; submission {} settles in the background",
                        e.idem_key
                    ),
                    Err(err) => log::error!("outbox: {err}"),
                }
                if self.current.as_deref() == Some(e.idem_key.as_str()) {
                    self.current = None;
                }
            }
        }
        drop(ob);
        self.shared.notify();
    }
}

/// What the person is told when the outbox cannot take the photo (disk full, …).
pub fn refused() -> Prompt {
    Prompt::new(
        "outbox_unavailable",
        "本机存储空间不足或故障，暂时无法受理，请联系工作人员",
        "This kiosk cannot store the photo right now (storage full or faulty); please ask staff",
    )
}

// ---------------------------------------------------------------------------------------
// The worker

/// Why one step did not finish.
enum StepError {
    /// The network, the service or the local disk is not there right now: retried for
    /// ever with backoff (nothing is lost, and it is not this row's fault).
    Transient(String),
    /// The service answered, but not with anything this row can move on with: retried,
    /// and quarantined after `max_answered_failures` such answers in a row.
    Answered(String),
    /// This row can never be sent (its body does not decrypt, it has neither a body nor a
    /// submission id): quarantined at once.
    Permanent(String),
}
use StepError::{Answered, Permanent, Transient};

/// 408, 429 and 503 say "not now" about the service, not about the row (503: the
/// centre's database is away for a moment, e.g. a PostgreSQL restart or fail-over).
fn answered_or_transient(status: u16, why: String) -> StepError {
    if status == 408 || status == 429 || status == 503 {
        Transient(why)
    } else {
        Answered(why)
    }
}

fn worker(s: &Shared) {
    // Per row: attempts, next try, bad answers in a row.
    let mut retry: HashMap<String, (u32, Instant, u32)> = HashMap::new();
    let mut resumed_fetched: std::collections::HashSet<String> = Default::default();
    while !s.stop.load(Ordering::SeqCst) {
        // Bound first: a `match` on `s.outbox().…` would hold the outbox's lock (the
        // guard is a temporary of the whole `match`) through the arms.
        let listed = s.outbox().entries();
        let entries = match listed {
            Ok(e) => e,
            Err(e) => {
                log::error!("outbox: {e}");
                s.sleep(s.opts.backoff_max.min(Duration::from_secs(5)));
                continue;
            }
        };
        let now = Instant::now();
        let mut next_wake = s.opts.poll_interval;
        for e in entries {
            if s.stop.load(Ordering::SeqCst) {
                return;
            }
            if let Some(d) = &e.decision {
                match (e.owner, d) {
                    // Settled with nobody waiting: the service keeps the receipt (claim code).
                    (Owner::Abandoned, _) => {
                        if let Err(err) = s.outbox().remove(&e.idem_key) {
                            log::error!("outbox: {err}");
                        }
                    }
                    (Owner::Orphaned, Decision::Rejected(_) | Decision::Refused(_)) => {
                        let ids: Vec<&str> = d.reasons().iter().map(|p| p.id.as_str()).collect();
                        log::warn!(
                            "outbox: a submission from an earlier run was rejected ({}); nobody is waiting, nothing prints",
                            ids.join(",")
                        );
                        if let Err(err) = s.outbox().remove(&e.idem_key) {
                            log::error!("outbox: {err}");
                        }
                    }
                    (Owner::Orphaned, Decision::Approved { number, .. }) => {
                        if resumed_fetched.insert(e.idem_key.clone()) {
                            let photo = fetch_photo(s, number);
                            s.resumed
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .insert(e.idem_key.clone(), photo);
                        }
                    }
                    (Owner::Session, _) => {}
                }
                continue;
            }
            if let Some((_, at, _)) = retry.get(&e.idem_key) {
                if *at > now {
                    next_wake = next_wake.min(*at - now);
                    continue;
                }
            }
            let step = match &e.submission_id {
                None => send(s, &e.idem_key),
                Some(id) => poll_status(s, &e.idem_key, id),
            };
            let (why, answered) = match step {
                Ok(()) => {
                    retry.remove(&e.idem_key);
                    continue;
                }
                Err(Permanent(why)) => {
                    quarantine(s, &e, &why);
                    retry.remove(&e.idem_key);
                    continue;
                }
                Err(Transient(why)) => (why, false),
                Err(Answered(why)) => (why, true),
            };
            let (n, bad) = retry.get(&e.idem_key).map(|r| (r.0, r.2)).unwrap_or((0, 0));
            let (n, bad) = (n + 1, if answered { bad + 1 } else { 0 });
            if bad >= s.opts.max_answered_failures {
                quarantine(s, &e, &format!("{bad} bad answers in a row, the last: {why}"));
                retry.remove(&e.idem_key);
                continue;
            }
            let wait = backoff(&s.opts, n);
            // One line per retry, and the backoff keeps them far apart.
            log::warn!("upload {}: {why}; retry {n} in {} ms", e.idem_key, wait.as_millis());
            retry.insert(e.idem_key.clone(), (n, Instant::now() + wait, bad));
            next_wake = next_wake.min(wait);
        }
        s.sleep(next_wake);
    }
}

/// Takes a row that can never be sent out of the loop (see [`Outbox::quarantine`]); a
/// session still waiting for it is told at once.
fn quarantine(s: &Shared, e: &super::outbox::Entry, why: &str) {
    if let Err(err) = s.outbox().quarantine(&e.idem_key, why, e.owner == Owner::Session) {
        log::error!("outbox: cannot quarantine {}: {err}", e.idem_key);
    }
}

/// The approved photo of receipt `number`, fetched back for a resumed slip's thumbnail;
/// `None` (the slip prints without it) when the service cannot give it.
fn fetch_photo(s: &Shared, number: &crate::domain::ReceiptNumber) -> Option<crate::domain::PhotoJpeg> {
    let url = format!("{}/v1/receipts/{}", s.opts.base_url, number);
    let fetched = get(s, &url).and_then(|(status, body)| {
        let v = super::reply::receipt(status, &body).map_err(|e| match e {
            Ok((status, code, _)) => format!("GET {url}: HTTP {status} {code}"),
            Err(e) => format!("GET {url}: {e}"),
        })?;
        let b64 = v
            .photo_jpeg_b64
            .ok_or_else(|| format!("GET {url}: no photo (purged)"))?;
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| format!("GET {url}: photo: {e}"))
    });
    match fetched {
        Ok(bytes) => Some(crate::domain::PhotoJpeg(bytes)),
        Err(why) => {
            log::warn!("resumed receipt {number}: no thumbnail ({why})");
            None
        }
    }
}

/// Exponential backoff with ±50 % jitter, capped.
fn backoff(o: &ClientOptions, attempt: u32) -> Duration {
    let exp = o.backoff_base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let capped = exp.min(o.backoff_max);
    capped.mul_f64(0.5 + rand::random::<f64>())
}

/// GET with the kiosk key; reads at most `max_response_bytes`.
fn get(s: &Shared, url: &str) -> Result<(u16, Vec<u8>), String> {
    let resp = s
        .agent
        .get(url)
        .header("authorization", format!("Bearer {}", s.opts.key))
        .call()
        .map_err(|e| format!("GET {url}: {e}"))?;
    read_limited(resp, s.opts.max_response_bytes)
}

fn read_limited(mut resp: ureq::http::Response<ureq::Body>, limit: u64) -> Result<(u16, Vec<u8>), String> {
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| format!("reading the reply (HTTP {status}): {e}"))?;
    Ok((status, body))
}

/// A reply the step cannot move on with: "not now" (408, 429) is the service's state,
/// anything else (5xx, an unreadable or confused reply) counts against the row.
fn reply_step(what: String, e: super::reply::ReplyError) -> StepError {
    use super::reply::ReplyError;
    let why = format!("{what}: {e}");
    match e {
        ReplyError::Status { status } => answered_or_transient(status, why),
        ReplyError::Unreadable { .. } | ReplyError::OtherSubmission { .. } => Answered(why),
    }
}

fn send(s: &Shared, idem: &str) -> Result<(), StepError> {
    // Bound first: in a `match` on `s.outbox().body(…)` the lock's guard lives through
    // the arms, and the `Ok(None)` arm locks the outbox again — a deadlock of the upload
    // thread (seen when a second client on the same data dir settled the row).
    let found = s.outbox().body(idem);
    let body = match found {
        Ok(Some(b)) => b,
        // Another process on this data dir (a second client) may have acknowledged or
        // settled it since this pass read the entries: only a row still without either
        // can never be sent.
        Ok(None) => {
            return match s.outbox().get(idem) {
                Ok(Some(e)) if e.submission_id.is_none() && e.decision.is_none() => {
                    Err(Permanent("entry has neither a body nor a submission id".into()))
                }
                Ok(_) => Ok(()),
                Err(e) => Err(Transient(e.to_string())),
            };
        }
        // Truncated, or sealed under another key: no retry can fix it.
        Err(e @ ReviewError::File { .. }) => return Err(Permanent(e.to_string())),
        Err(e) => return Err(Transient(e.to_string())),
    };
    failpoint::hit("upload:before-send");
    let url = format!("{}/v1/submissions", s.opts.base_url);
    let sent = s
        .agent
        .post(&url)
        .header("authorization", format!("Bearer {}", s.opts.key))
        .header(IDEMPOTENCY_HEADER, idem)
        .content_type("application/json")
        .send(&body[..]);
    drop(body);
    failpoint::hit("upload:after-send");
    let resp = sent.map_err(|e| Transient(format!("POST {url}: {e}")))?;
    let (status, reply) = read_limited(resp, s.opts.max_response_bytes).map_err(Transient)?;
    let prompt = match super::reply::submit(status, &reply) {
        Err(e) => return Err(reply_step(format!("POST {url}"), e)),
        Ok(SubmitReply::Refused { prompt, .. }) => prompt,
        Ok(SubmitReply::Accepted(acc)) => {
            s.outbox()
                .acknowledge(idem, &acc.id)
                .map_err(|e| Transient(e.to_string()))?;
            log::info!("upload {idem}: acknowledged as submission {}", acc.id);
            failpoint::hit("upload:after-ack");
            return settle(s, idem, &acc.status);
        }
    };
    // Final: the person is told why (the service's words), nothing is retried.
    log::warn!("upload {idem}: refused by the service: HTTP {status} {}", prompt.id);
    s.outbox()
        .decide(idem, &Decision::Refused(prompt))
        .map_err(|e| Transient(e.to_string()))
}

fn poll_status(s: &Shared, idem: &str, id: &str) -> Result<(), StepError> {
    let url = format!("{}/v1/submissions/{id}", s.opts.base_url);
    let (status, reply) = get(s, &url).map_err(Transient)?;
    // A reply about another submission (a confused proxy or cache) is no decision for this one.
    let st = super::reply::submission(status, &reply, id).map_err(|e| reply_step(format!("GET {url}"), e))?;
    settle(s, idem, &st)
}

fn settle(s: &Shared, idem: &str, st: &Status) -> Result<(), StepError> {
    let d = match st {
        Status::Pending => return Ok(()),
        Status::Approved {
            receipt_number,
            valid_until,
            token,
        } => Decision::Approved {
            number: receipt_number.clone(),
            valid_until: *valid_until,
            token: token.clone(),
        },
        Status::Rejected { reasons } => Decision::Rejected(reasons.clone()),
    };
    failpoint::hit("upload:after-decision");
    s.outbox().decide(idem, &d).map_err(|e| Transient(e.to_string()))?;
    log::info!(
        "upload {idem}: decision {}",
        match &d {
            Decision::Approved { number, .. } => format!("approved, receipt {number}"),
            Decision::Rejected(r) => format!(
                "rejected ({})",
                r.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(",")
            ),
            Decision::Refused(p) => format!("refused ({})", p.id),
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut o = ClientOptions::new("http://x", "k", "key", PathBuf::from("/nonexistent"));
        o.backoff_base = Duration::from_millis(100);
        o.backoff_max = Duration::from_secs(1);
        for _ in 0..50 {
            let b1 = backoff(&o, 1);
            assert!(b1 >= Duration::from_millis(50) && b1 < Duration::from_millis(150));
            let b10 = backoff(&o, 10);
            assert!(b10 >= Duration::from_millis(500) && b10 < Duration::from_millis(1500));
        }
    }
}
