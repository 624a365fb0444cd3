//! Sending alerts to the webhooks, away from the console's requests: one thread reads the
//! console's alert feed and hands each alert to its receiver's queue; each receiver has its
//! own queue (bounded: when full the oldest alert is dropped, and logged) and its own
//! thread, which sends the alerts in order, each retried with exponential backoff until it
//! is delivered or `max_tries` is spent. A receiver that is down or hangs delays only its
//! own queue, never a kiosk's request nor the other receivers.
//!
//! The logs name the receiver by scheme and host only (its URL holds the robot's key), the
//! alert by id, kind and kiosk; never the text.

use super::{body, dingtalk_signed_url, Delivery, Format, Target, Webhooks};
use crate::console::store::AlertRow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// The largest answer read from a receiver.
const MAX_ANSWER: u64 = 64 * 1024;

/// One receiver's queue.
struct Queue {
    target: Target,
    items: Mutex<VecDeque<AlertRow>>,
    wake: Condvar,
    stop: AtomicBool,
    delivered: AtomicU64,
    dropped: AtomicU64,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, VecDeque<AlertRow>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an alert; when `cap` are waiting, the oldest is dropped first.
    fn push(&self, a: AlertRow, cap: usize) {
        let mut q = self.lock();
        while q.len() >= cap.max(1) {
            if let Some(old) = q.pop_front() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                log::warn!(
                    "webhook {}: queue full ({cap} waiting), dropped the oldest: alert {} ({}, kiosk {}); it stays on the staff page",
                    self.target.host(),
                    old.id,
                    old.kind,
                    old.kiosk
                );
            }
        }
        q.push_back(a);
        drop(q);
        self.wake.notify_all();
    }

    /// The next alert, waiting for one; `None` once stopped.
    fn next(&self) -> Option<AlertRow> {
        let mut q = self.lock();
        loop {
            if self.stop.load(Ordering::Acquire) {
                return None;
            }
            if let Some(a) = q.pop_front() {
                return Some(a);
            }
            q = self.wake.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Sleeps `d` unless stopped first; false when stopped.
    fn pause(&self, d: Duration) -> bool {
        let q = self.lock();
        let _ = self
            .wake
            .wait_timeout_while(q, d, |_| !self.stop.load(Ordering::Acquire))
            .unwrap_or_else(|e| e.into_inner());
        !self.stop.load(Ordering::Acquire)
    }

    fn halt(&self) {
        self.stop.store(true, Ordering::Release);
        let _q = self.lock();
        self.wake.notify_all();
    }
}

/// The running webhook delivery; stops when dropped (alerts still waiting are not sent:
/// they stay on the staff page). A try under way ends within the `timeout` setting.
pub struct Forwarder {
    queues: Vec<Arc<Queue>>,
}

/// What [`Forwarder::stats`] reports per receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverStats {
    pub host: String,
    pub waiting: usize,
    pub delivered: u64,
    pub dropped: u64,
}

impl Forwarder {
    /// Starts delivering the alerts `feed` brings (subscribe before serving, so none is
    /// missed).
    pub fn start(
        hooks: Arc<Webhooks>,
        mut feed: tokio::sync::broadcast::Receiver<AlertRow>,
    ) -> std::io::Result<Forwarder> {
        let queues: Vec<Arc<Queue>> = hooks
            .targets
            .iter()
            .map(|t| {
                Arc::new(Queue {
                    target: t.clone(),
                    items: Mutex::new(VecDeque::new()),
                    wake: Condvar::new(),
                    stop: AtomicBool::new(false),
                    delivered: AtomicU64::new(0),
                    dropped: AtomicU64::new(0),
                })
            })
            .collect();
        let d = &hooks.delivery;
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .timeout_connect(Some(d.connect_timeout))
                .timeout_global(Some(d.timeout))
                .http_status_as_error(false)
                .max_redirects(0)
                .user_agent(concat!("kiosk-console/", env!("CARGO_PKG_VERSION")))
                .build(),
        );
        for (i, q) in queues.iter().enumerate() {
            let (q, agent, d) = (q.clone(), agent.clone(), d.clone());
            std::thread::Builder::new()
                .name(format!("console-webhook-{i}"))
                .spawn(move || {
                    while let Some(a) = q.next() {
                        send_with_retries(&agent, &q, &d, &a);
                    }
                })?;
        }
        let routed = queues.clone();
        std::thread::Builder::new()
            .name("console-webhook-feed".into())
            .spawn(move || {
                use tokio::sync::broadcast::error::RecvError;
                loop {
                    match feed.blocking_recv() {
                        Ok(a) => {
                            if let Some(q) = hooks.target_for(&a.kind).and_then(|i| routed.get(i)) {
                                if q.stop.load(Ordering::Acquire) {
                                    return;
                                }
                                q.push(a, hooks.delivery.queue);
                            }
                        }
                        Err(RecvError::Lagged(n)) => {
                            log::warn!("webhooks: fell behind the alert feed, {n} alert(s) not forwarded; they stay on the staff page");
                        }
                        Err(RecvError::Closed) => return,
                    }
                }
            })?;
        Ok(Forwarder { queues })
    }

    /// Per receiver: waiting, delivered and dropped alerts.
    pub fn stats(&self) -> Vec<ReceiverStats> {
        self.queues
            .iter()
            .map(|q| ReceiverStats {
                host: q.target.host(),
                waiting: q.lock().len(),
                delivered: q.delivered.load(Ordering::Relaxed),
                dropped: q.dropped.load(Ordering::Relaxed),
            })
            .collect()
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        for q in &self.queues {
            q.halt();
        }
    }
}

/// How one try went.
enum Outcome {
    Delivered,
    /// Worth another try (no connection, timeout, 408/429/5xx, a robot's non-zero errcode).
    Retry(String),
    /// Another try would get the same answer (4xx: a wrong URL or key).
    Refused(String),
}

fn send_with_retries(agent: &ureq::Agent, q: &Queue, d: &Delivery, a: &AlertRow) {
    let host = q.target.host();
    for n in 1..=d.max_tries {
        match try_once(agent, &q.target, a) {
            Outcome::Delivered => {
                q.delivered.fetch_add(1, Ordering::Relaxed);
                if n > 1 {
                    log::info!(
                        "webhook {host}: alert {} ({}, kiosk {}) delivered on try {n}",
                        a.id,
                        a.kind,
                        a.kiosk
                    );
                } else {
                    log::debug!(
                        "webhook {host}: alert {} ({}, kiosk {}) delivered",
                        a.id,
                        a.kind,
                        a.kiosk
                    );
                }
                return;
            }
            Outcome::Refused(why) => {
                log::error!(
                    "webhook {host}: alert {} ({}, kiosk {}) refused: {why}; not retried. Fix: check its url (and secret) in the webhooks file",
                    a.id,
                    a.kind,
                    a.kiosk
                );
                return;
            }
            Outcome::Retry(why) if n < d.max_tries => {
                let wait = d.backoff(n);
                log::warn!(
                    "webhook {host}: alert {} ({}, kiosk {}) try {n}/{} failed: {why}; next try in {:.1} s",
                    a.id,
                    a.kind,
                    a.kiosk,
                    d.max_tries,
                    wait.as_secs_f64()
                );
                if !q.pause(wait) {
                    return;
                }
            }
            Outcome::Retry(why) => {
                log::error!(
                    "webhook {host}: alert {} ({}, kiosk {}) given up after {n} tries: {why}; it stays on the staff page",
                    a.id,
                    a.kind,
                    a.kiosk
                );
            }
        }
    }
}

fn try_once(agent: &ureq::Agent, t: &Target, a: &AlertRow) -> Outcome {
    let payload = match serde_json::to_vec(&body(t.format, a)) {
        Ok(p) => p,
        Err(e) => return Outcome::Refused(format!("cannot encode: {e}")),
    };
    let url = match (&t.secret, t.format) {
        (Some(s), Format::Dingtalk) => dingtalk_signed_url(&t.url, s, crate::console::server::now_ms()),
        _ => t.url.clone(),
    };
    let mut resp = match agent
        .post(&url)
        .content_type("application/json; charset=utf-8")
        .send(&payload[..])
    {
        Ok(r) => r,
        // ureq's error texts name the failure, not the URL.
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let status = resp.status().as_u16();
    let answer = resp
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER)
        .read_to_vec()
        .unwrap_or_default();
    match status {
        200..=299 if t.format.robot() => robot_answer(&answer),
        200..=299 => Outcome::Delivered,
        408 | 429 | 500..=599 => Outcome::Retry(format!("HTTP {status}")),
        _ => Outcome::Refused(format!("HTTP {status}")),
    }
}

/// WeCom and DingTalk answer 200 with `{"errcode":0,"errmsg":"ok"}`; any other errcode
/// (too many messages, a keyword missing…) did not post the message.
fn robot_answer(answer: &[u8]) -> Outcome {
    let v: serde_json::Value = match serde_json::from_slice(answer) {
        Ok(v) => v,
        Err(_) => return Outcome::Retry("the robot's answer is not JSON".into()),
    };
    match v.get("errcode").and_then(serde_json::Value::as_i64) {
        Some(0) => Outcome::Delivered,
        Some(code) => {
            let msg: String = v
                .get("errmsg")
                .and_then(|m| m.as_str())
                .unwrap_or("")
                .chars()
                .take(120)
                .collect();
            Outcome::Retry(format!("robot errcode {code}: {msg}"))
        }
        None => Outcome::Retry("the robot's answer has no errcode".into()),
    }
}

#[cfg(test)]
pub(super) fn test_queue(cap_target: Target) -> (impl Fn(AlertRow, usize), impl Fn() -> (Vec<i64>, u64)) {
    let q = Arc::new(Queue {
        target: cap_target,
        items: Mutex::new(VecDeque::new()),
        wake: Condvar::new(),
        stop: AtomicBool::new(false),
        delivered: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
    });
    let q2 = q.clone();
    (
        move |a, cap| q.push(a, cap),
        move || {
            (
                q2.lock().iter().map(|a| a.id).collect(),
                q2.dropped.load(Ordering::Relaxed),
            )
        },
    )
}
