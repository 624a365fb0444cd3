//! Webhooks (issue #16, "Forwarding"): every alert the console opens can also be sent, as
//! a JSON POST, to a WeCom (企业微信) or DingTalk (钉钉) group robot or to any receiver
//! that takes the alert's fields as JSON. Which alert goes where is a small TOML file
//! (`kiosk console --webhooks FILE`): one table per alert kind, and `[default]` for the
//! kinds without their own.
//!
//! ```toml
//! [delivery]            # optional; these are the defaults
//! first_retry_s = 2     # first retry after 2 s, then doubling…
//! max_retry_s = 300     # …up to 5 min between tries
//! max_tries = 10        # then the alert is given up (logged; it stays on the staff page)
//! connect_timeout_s = 5
//! timeout_s = 10        # one whole try
//! queue = 1000          # alerts waiting per receiver; when full the oldest is dropped
//!
//! [default]
//! url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"
//! format = "wecom"      # wecom | wecom-markdown | dingtalk | generic
//!
//! [call_staff]
//! url = "https://oapi.dingtalk.com/robot/send?access_token=…"
//! format = "dingtalk"
//! secret = "SEC…"       # DingTalk 加签: adds timestamp and sign (HMAC-SHA256) to the URL
//!
//! [pin_locked_out]
//! enabled = false       # not forwarded, even with a [default]
//! ```
//!
//! Delivery ([`deliver`]) runs on its own threads, fed by [`Console::subscribe`]: a
//! receiver that is down or hangs never holds up a kiosk's request. The texts are Chinese
//! first, then one English line; they name the kiosk, what happened, the hand-off code and
//! the failing checks' ids, and the time in China Standard Time — no personal data, since
//! the console has none.
//!
//! [`Console::subscribe`]: super::server::Console::subscribe

pub mod deliver;

pub use deliver::Forwarder;

use super::store::{AlertRow, OFFLINE};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The alert kinds a webhooks file may name (the kiosk events that open alerts, and the
/// console's own "offline").
pub const ALERT_KINDS: [&str; 10] = [
    "call_staff",
    "hand_off",
    "paper_near_end",
    "paper_out",
    "printer_fault",
    "camera_lost",
    "review_unreachable",
    "pin_locked_out",
    "quarantine",
    OFFLINE,
];

const DOCS: &str = "docs/operations.md, \"Hall console: webhooks\"";

/// What a receiver is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// WeCom group robot, text message: `{"msgtype":"text","text":{"content":…}}`.
    Wecom,
    /// WeCom group robot, markdown message: `{"msgtype":"markdown","markdown":{"content":…}}`.
    WecomMarkdown,
    /// DingTalk group robot, text message (signed when a `secret` is given).
    Dingtalk,
    /// The alert's fields as JSON, with the text.
    Generic,
}

impl Format {
    pub fn id(self) -> &'static str {
        match self {
            Format::Wecom => "wecom",
            Format::WecomMarkdown => "wecom-markdown",
            Format::Dingtalk => "dingtalk",
            Format::Generic => "generic",
        }
    }

    /// Whether the receiver is a group robot that answers 200 with `{"errcode":…}`.
    fn robot(self) -> bool {
        !matches!(self, Format::Generic)
    }
}

/// One receiver. Its URL usually carries the robot's key, so `Debug` and the logs show the
/// host only.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub url: String,
    pub format: Format,
    /// DingTalk's signing secret (加签).
    pub secret: Option<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({} {}", self.format.id(), self.host())?;
        if self.secret.is_some() {
            f.write_str(", signed")?;
        }
        f.write_str(")")
    }
}

impl Target {
    /// `scheme://host[:port]`, for logs (no path, query or user info: they hold keys).
    pub fn host(&self) -> String {
        let (scheme, rest) = self.url.split_once("://").unwrap_or(("?", &self.url));
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or("");
        format!("{scheme}://{host}")
    }
}

/// How hard delivery tries (every interval a setting; tests use short ones).
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub first_retry: Duration,
    pub max_retry: Duration,
    /// Tries per alert, the first included.
    pub max_tries: u32,
    pub connect_timeout: Duration,
    /// One whole try: connect, send, read the answer.
    pub timeout: Duration,
    /// Alerts waiting per receiver; when full the oldest is dropped (and logged).
    pub queue: usize,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            first_retry: Duration::from_secs(2),
            max_retry: Duration::from_secs(300),
            max_tries: 10,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            queue: 1000,
        }
    }
}

impl Delivery {
    /// The wait after failed try `n` (1-based): `first_retry` doubling up to `max_retry`.
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1).min(30));
        self.first_retry.saturating_mul(factor).min(self.max_retry)
    }
}

/// A loaded webhooks file: the receivers and which alert kind goes to which.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhooks {
    pub targets: Vec<Target>,
    /// Alert kind → index into `targets`.
    routes: BTreeMap<String, usize>,
    pub delivery: Delivery,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{}: cannot read the webhooks file: {source}. Fix: check the path given with `--webhooks`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `place` is `FILE` or `FILE:LINE`.
    #[error("{place}: {message}. Fix: {fix}")]
    Invalid {
        place: String,
        message: String,
        fix: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    url: Option<String>,
    format: Option<Format>,
    secret: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct FileDelivery {
    first_retry_s: Option<f64>,
    max_retry_s: Option<f64>,
    max_tries: Option<u32>,
    connect_timeout_s: Option<f64>,
    timeout_s: Option<f64>,
    queue: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhooksFile {
    #[serde(default)]
    delivery: FileDelivery,
    default: Option<FileEntry>,
    call_staff: Option<FileEntry>,
    hand_off: Option<FileEntry>,
    paper_near_end: Option<FileEntry>,
    paper_out: Option<FileEntry>,
    printer_fault: Option<FileEntry>,
    camera_lost: Option<FileEntry>,
    review_unreachable: Option<FileEntry>,
    pin_locked_out: Option<FileEntry>,
    quarantine: Option<FileEntry>,
    offline: Option<FileEntry>,
}

impl WebhooksFile {
    /// The per-kind tables, in [`ALERT_KINDS`] order.
    fn kinds(&self) -> [(&'static str, Option<&FileEntry>); 10] {
        let k = ALERT_KINDS;
        [
            (k[0], self.call_staff.as_ref()),
            (k[1], self.hand_off.as_ref()),
            (k[2], self.paper_near_end.as_ref()),
            (k[3], self.paper_out.as_ref()),
            (k[4], self.printer_fault.as_ref()),
            (k[5], self.camera_lost.as_ref()),
            (k[6], self.review_unreachable.as_ref()),
            (k[7], self.pin_locked_out.as_ref()),
            (k[8], self.quarantine.as_ref()),
            (k[9], self.offline.as_ref()),
        ]
    }
}

impl Webhooks {
    /// Reads and checks a webhooks file. The URLs carry the robots' keys, so the file must
    /// be readable by its owner only.
    pub fn load(path: &Path) -> Result<Webhooks, WebhookError> {
        crate::review::keys::check_private(path, "the webhooks file").map_err(|e| WebhookError::Invalid {
            place: path.display().to_string(),
            message: e.to_string(),
            fix: format!("chmod 600 {} (its URLs hold the robots' keys)", path.display()),
        })?;
        let text = std::fs::read_to_string(path).map_err(|source| WebhookError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Webhooks::parse(&text, path)
    }

    /// Parses `text`, named `path` in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Webhooks, WebhookError> {
        let invalid = |line: Option<usize>, message: String, fix: String| WebhookError::Invalid {
            place: match line {
                Some(l) => format!("{}:{l}", path.display()),
                None => path.display().to_string(),
            },
            message,
            fix,
        };
        let file: WebhooksFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let message = e.message().trim().to_string();
            let fix = if message.contains("unknown field") {
                format!(
                    "tables are `[delivery]`, `[default]` or an alert kind ({}); keys are url, format, secret, enabled (see {DOCS})",
                    ALERT_KINDS.join(", ")
                )
            } else if message.contains("unknown variant") {
                "format is one of wecom, wecom-markdown, dingtalk, generic".to_string()
            } else {
                format!("write it as in {DOCS}")
            };
            invalid(line, message, fix)
        })?;
        let delivery = delivery(&file.delivery).map_err(|(key, message)| {
            invalid(
                key_line(text, "delivery", key),
                format!("[delivery] {key}: {message}"),
                format!("give {key} within the bounds, or leave it out for the default"),
            )
        })?;
        let mut targets: Vec<Target> = vec![];
        let mut routes = BTreeMap::new();
        let mut add = |t: Target| match targets.iter().position(|x| *x == t) {
            Some(i) => i,
            None => {
                targets.push(t);
                targets.len() - 1
            }
        };
        let default = match &file.default {
            Some(e) => target("default", e).map_err(|(key, m, fix)| invalid(key_line(text, "default", key), m, fix))?,
            None => None,
        };
        for (kind, entry) in file.kinds() {
            let t = match entry {
                Some(e) => target(kind, e).map_err(|(key, m, fix)| invalid(key_line(text, kind, key), m, fix))?,
                None => default.clone(),
            };
            if let Some(t) = t {
                routes.insert(kind.to_string(), add(t));
            }
        }
        if routes.is_empty() {
            return Err(invalid(
                None,
                "no alert kind is forwarded".into(),
                format!("add a `[default]` table with url and format, or one per alert kind (see {DOCS})"),
            ));
        }
        Ok(Webhooks {
            targets,
            routes,
            delivery,
            path: path.to_path_buf(),
        })
    }

    /// Where alerts of `kind` go, if anywhere.
    pub fn target_for(&self, kind: &str) -> Option<usize> {
        self.routes.get(kind).copied()
    }

    /// The kinds forwarded, for the start-up log.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.routes.keys().map(String::as_str)
    }
}

type EntryError = (&'static str, String, String);

/// Checks one table; `None` when it says `enabled = false`.
fn target(table: &str, e: &FileEntry) -> Result<Option<Target>, EntryError> {
    if !e.enabled {
        return Ok(None);
    }
    let Some(url) = e.url.as_deref() else {
        return Err((
            "",
            format!("[{table}] has no url"),
            "add `url = \"https://…\"` (the robot's webhook address), or `enabled = false`".into(),
        ));
    };
    let Some(format) = e.format else {
        return Err((
            "",
            format!("[{table}] has no format"),
            "add `format = \"wecom\"`, \"wecom-markdown\", \"dingtalk\" or \"generic\"".into(),
        ));
    };
    check_url(url).map_err(|m| {
        (
            "url",
            format!("[{table}] url: {m}"),
            "use the https:// address the robot's settings show; plain http:// only to 127.0.0.1 or localhost".into(),
        )
    })?;
    if let Some(s) = &e.secret {
        if format != Format::Dingtalk {
            return Err((
                "secret",
                format!("[{table}] secret: only DingTalk robots sign their URL"),
                "remove `secret`, or set `format = \"dingtalk\"`".into(),
            ));
        }
        if s.trim().is_empty() || s.chars().any(char::is_whitespace) {
            return Err((
                "secret",
                format!("[{table}] secret is empty or holds spaces"),
                "copy the SEC… string from the robot's 加签 setting".into(),
            ));
        }
    }
    Ok(Some(Target {
        url: url.to_string(),
        format,
        secret: e.secret.clone(),
    }))
}

/// `https://…`, or `http://` to this machine only: alert texts and the robots' keys must
/// not cross a network in clear.
fn check_url(url: &str) -> Result<(), String> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("holds spaces or control characters".into());
    }
    if let Some(rest) = url.strip_prefix("https://") {
        if rest.split(['/', '?', '#']).next().unwrap_or("").is_empty() {
            return Err("has no host".into());
        }
        return Ok(());
    }
    if let Some(rest) = url.strip_prefix("http://") {
        if crate::config::is_loopback_host(rest) {
            return Ok(());
        }
        return Err(format!(
            "`{}` must use https:// (plain http:// is allowed only on loopback)",
            Target {
                url: url.into(),
                format: Format::Generic,
                secret: None
            }
            .host()
        ));
    }
    Err("must start with https://".into())
}

fn delivery(f: &FileDelivery) -> Result<Delivery, (&'static str, String)> {
    let d = Delivery::default();
    let secs = |key: &'static str, v: Option<f64>, default: Duration, min: f64, max: f64| match v {
        None => Ok(default),
        Some(s) if s.is_finite() && (min..=max).contains(&s) => Ok(Duration::from_secs_f64(s)),
        Some(s) => Err((key, format!("{s} is not within {min}–{max} seconds"))),
    };
    let first_retry = secs("first_retry_s", f.first_retry_s, d.first_retry, 0.01, 3600.0)?;
    let max_retry = secs("max_retry_s", f.max_retry_s, d.max_retry, 0.01, 86_400.0)?;
    if max_retry < first_retry {
        return Err(("max_retry_s", "is shorter than first_retry_s".into()));
    }
    let max_tries = match f.max_tries {
        None => d.max_tries,
        Some(n @ 1..=1000) => n,
        Some(n) => return Err(("max_tries", format!("{n} is not within 1–1000"))),
    };
    let queue = match f.queue {
        None => d.queue,
        Some(n @ 1..=100_000) => n,
        Some(n) => return Err(("queue", format!("{n} is not within 1–100000"))),
    };
    Ok(Delivery {
        first_retry,
        max_retry,
        max_tries,
        connect_timeout: secs("connect_timeout_s", f.connect_timeout_s, d.connect_timeout, 0.01, 600.0)?,
        timeout: secs("timeout_s", f.timeout_s, d.timeout, 0.01, 600.0)?,
        queue,
    })
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

/// The line of `key` in table `[table]` (or of the table's header when the key is not
/// written there, or `key` is empty).
fn key_line(text: &str, table: &str, key: &str) -> Option<usize> {
    let header = format!("[{table}]");
    let mut lines = text.lines().enumerate();
    let start = lines.by_ref().find(|(_, l)| l.trim() == header)?.0;
    for (i, l) in lines {
        let l = l.trim();
        if l.starts_with('[') {
            break;
        }
        if !key.is_empty() && l.split('=').next().is_some_and(|k| k.trim() == key) {
            return Some(i + 1);
        }
    }
    Some(start + 1)
}

/// What happened, in plain words: (Chinese, English).
pub fn what(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "call_staff" => ("有人呼叫工作人员，请到终端旁协助", "someone is calling for staff"),
        "hand_off" => (
            "有人需转到人工窗口办理，请凭交接码接待",
            "a person was sent to a counter; receive them by the hand-off code",
        ),
        "paper_near_end" => ("回执纸即将用完，请准备换纸", "receipt paper is nearly out"),
        "paper_out" => ("回执纸已用完，请换纸", "receipt paper is out"),
        "printer_fault" => ("打印机故障", "printer fault"),
        "camera_lost" => ("摄像头已断开", "the camera is lost"),
        "review_unreachable" => ("无法连接照片审核服务", "the photo review service cannot be reached"),
        "pin_locked_out" => ("管理密码多次输错，已锁定", "admin PIN locked out after failed tries"),
        "quarantine" => (
            "有照片提交无法发送，已隔离，请管理员处理",
            "a submission was quarantined in the outbox",
        ),
        OFFLINE => (
            "终端离线：连续多次未收到心跳",
            "the kiosk is offline: heartbeats stopped",
        ),
        _ => ("其他告警", "other alert"),
    }
}

/// `raised_ms` in China Standard Time, `YYYY-MM-DD HH:MM:SS`.
pub fn china_time_text(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .with_timezone(&crate::domain::china_time())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The alert as text lines, Chinese first: the robots' message and the generic `text`.
pub fn text(a: &AlertRow) -> String {
    let (zh, en) = what(&a.kind);
    let when = china_time_text(a.raised_ms);
    let mut s = format!("【自助拍照终端告警】\n终端：{}\n事件：{zh}\n", a.kiosk);
    if let Some(c) = &a.code {
        s.push_str(&format!("交接码：{c}\n"));
    }
    if !a.reasons.is_empty() {
        s.push_str(&format!("原因：{}\n", a.reasons.join("、")));
    }
    s.push_str(&format!("时间：{when}（北京时间）\n"));
    s.push_str(&format!("Kiosk {}: {en}", a.kiosk));
    if let Some(c) = &a.code {
        s.push_str(&format!(", hand-off code {c}"));
    }
    s.push_str(&format!(" ({when} UTC+8)"));
    clip(s, 2000)
}

/// The WeCom markdown message: the same facts, the headline in the warning colour.
fn markdown(a: &AlertRow) -> String {
    let (zh, en) = what(&a.kind);
    let when = china_time_text(a.raised_ms);
    let mut s = format!(
        "**<font color=\"warning\">自助拍照终端告警</font>**\n> 终端：{}\n> 事件：{zh}\n",
        a.kiosk
    );
    if let Some(c) = &a.code {
        s.push_str(&format!("> 交接码：**{c}**\n"));
    }
    if !a.reasons.is_empty() {
        s.push_str(&format!("> 原因：{}\n", a.reasons.join("、")));
    }
    s.push_str(&format!(
        "> 时间：{when}（北京时间）\n\n<font color=\"comment\">Kiosk {}: {en}</font>",
        a.kiosk
    ));
    clip(s, 4000)
}

/// At most `max` bytes (the robots' limits: WeCom text 2048, markdown 4096), cut on a
/// character boundary.
fn clip(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The JSON body for `format`.
pub fn body(format: Format, a: &AlertRow) -> serde_json::Value {
    match format {
        Format::Wecom | Format::Dingtalk => serde_json::json!({"msgtype": "text", "text": {"content": text(a)}}),
        Format::WecomMarkdown => serde_json::json!({"msgtype": "markdown", "markdown": {"content": markdown(a)}}),
        Format::Generic => {
            let at = chrono::DateTime::from_timestamp_millis(a.raised_ms as i64)
                .unwrap_or_default()
                .with_timezone(&crate::domain::china_time())
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
            serde_json::json!({
                "source": "kiosk-console",
                "alert_id": a.id,
                "kiosk": a.kiosk,
                "kind": a.kind,
                "seq": a.seq,
                "code": a.code,
                "reasons": a.reasons,
                "raised_ms": a.raised_ms,
                "raised_at": at,
                "text": text(a),
            })
        }
    }
}

/// HMAC-SHA256 (RFC 2104) over `sha2`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.map(|x| x ^ b);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(msg).finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// DingTalk's signed URL (加签): `timestamp` (ms) and `sign` =
/// urlencode(base64(HMAC-SHA256(secret, "{timestamp}\n{secret}"))) added to the query.
pub fn dingtalk_signed_url(url: &str, secret: &str, timestamp_ms: u64) -> String {
    use base64::Engine as _;
    let mac = hmac_sha256(secret.as_bytes(), format!("{timestamp_ms}\n{secret}").as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(mac);
    let sign: String = form_urlencoded::byte_serialize(b64.as_bytes()).collect();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}timestamp={timestamp_ms}&sign={sign}")
}

#[cfg(test)]
mod tests;
