//! The console's staff side (issue #16): the page at `/` with the kiosks as tiles and the
//! alerts of the last 24 hours, a live feed (`GET /events/stream`, server-sent events from
//! [`Console::subscribe`]) with a polling fallback (`GET /alerts.json`), acknowledging an
//! alert (`POST /alerts/{id}/ack`, the session's CSRF token in the form), a kiosk's last 24
//! hours (`GET /kiosk/{id}`), and the language switch (`GET /lang/{zh|en}`).
//!
//! Logins are [`crate::staff`]'s: accounts in the console's own database, `/login` and
//! `/logout`, sessions in `HttpOnly; SameSite=Strict` cookies (`Secure` too with
//! [`StaffPageOptions::secure_cookie`], behind TLS), a CSRF token on every POST, throttled
//! and logged failures. Every staff route needs a session: a GET without one goes to
//! `/login`, a POST gets 403. A kiosk key is no login, and a staff cookie opens no kiosk
//! route. The pages carry `X-Frame-Options: DENY` and a CSP that allows this origin's
//! script (`/console.js`) and nothing else.

use super::render::{self, Lang, LANG_COOKIE};
use super::server::{now_ms, Console};
use super::store::AlertRow;
use crate::staff::{Staff, StaffAuth, StaffForm, StaffSettings, StaffState};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// The Content-Security-Policy of the console's pages: the staff pages' policy plus this
/// origin's script and its connections (the live feed).
pub const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self'; \
     style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const SCRIPT: &str = include_str!("page.js");

/// Settings of the staff side.
#[derive(Debug, Clone)]
pub struct StaffPageOptions {
    /// Logins: session length, throttling, password length.
    pub staff: StaffSettings,
    /// Mark cookies `Secure` (the console is behind TLS: `--behind-tls`).
    pub secure_cookie: bool,
    /// How often the page refreshes its tiles, and polls when the live feed is down (5 s).
    pub refresh: Duration,
    /// A comment on the live feed this often keeps proxies from closing it (15 s).
    pub keepalive: Duration,
    /// How far back the page and a kiosk's view go (24 h).
    pub history: Duration,
    /// Alerts listed at most on the page (200).
    pub max_alerts: u32,
}

impl Default for StaffPageOptions {
    fn default() -> Self {
        StaffPageOptions {
            staff: StaffSettings::default(),
            secure_cookie: false,
            refresh: Duration::from_secs(5),
            keepalive: Duration::from_secs(15),
            history: Duration::from_secs(24 * 3600),
            max_alerts: 200,
        }
    }
}

/// The staff side of a console: logins and the page's settings.
pub struct StaffSide {
    auth: StaffAuth,
    opts: StaffPageOptions,
    /// Ends every live feed when the console stops (an open stream would hold the graceful
    /// shutdown forever).
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Console {
    /// Adds the staff page, logging staff in through `auth` (open it on the console's own
    /// database: `StaffAuth::open(db, …)`). Without it the console serves kiosks only.
    pub fn with_staff(mut self, auth: StaffAuth, opts: StaffPageOptions) -> Console {
        self.staff = Some(Arc::new(StaffSide {
            auth,
            opts,
            stopping: tokio::sync::watch::channel(false).0,
        }));
        self
    }

    /// The staff accounts and sessions, when the staff page is on.
    pub fn staff(&self) -> Option<&StaffAuth> {
        self.staff.as_deref().map(|s| &s.auth)
    }

    /// Ends the live feeds (the console is stopping).
    pub(super) fn stop_streams(&self) {
        if let Some(s) = &self.staff {
            let _ = s.stopping.send(true);
        }
    }
}

#[derive(Clone)]
struct Page {
    c: Arc<Console>,
    side: Arc<StaffSide>,
}

impl StaffState for Page {
    fn staff_auth(&self) -> &StaffAuth {
        &self.side.auth
    }
}

/// The staff routes, when the console has a staff side; merged into its router.
pub(super) fn routes(c: &Arc<Console>) -> Option<Router> {
    let side = c.staff.clone()?;
    let secure = side.opts.secure_cookie;
    let page = Page { c: c.clone(), side };
    let pages = Router::new()
        .route("/", get(index))
        .route("/board", get(board))
        .route("/alerts.json", get(alerts_json))
        .route("/events/stream", get(stream))
        .route("/alerts/{id}/ack", post(ack))
        .route("/kiosk/{id}", get(kiosk))
        .route("/lang/{lang}", get(set_lang))
        .layer(axum::middleware::map_response(console_headers))
        .route("/console.js", get(script))
        .merge(crate::staff::routes());
    Some(
        pages
            .layer(DefaultBodyLimit::max(16 * 1024))
            .layer(axum::middleware::map_response(move |res: Response| async move {
                if secure {
                    secure_cookies(res)
                } else {
                    res
                }
            }))
            .with_state(page),
    )
}

/// The staff pages' security headers with the console's CSP.
async fn console_headers(res: Response) -> Response {
    let mut res = crate::staff::security_headers(res).await;
    res.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    res
}

/// Adds `Secure` to every cookie set (behind TLS).
fn secure_cookies(mut res: Response) -> Response {
    let cookies: Vec<HeaderValue> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| HeaderValue::from_str(&format!("{v}; Secure")).ok())
        .collect();
    if !cookies.is_empty() {
        res.headers_mut().remove(header::SET_COOKIE);
        for c in cookies {
            res.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    res
}

/// A refusal page in the chosen language (every refusal changes nothing).
fn refuse(status: StatusCode, zh: &str, en: &str) -> Response {
    (
        status,
        Html(crate::staff::http::page(
            "操作未完成 / Not done",
            &format!(
                "<p id=\"refused\">{} / {}</p><p><a href=\"/\">返回 / Back</a></p>",
                crate::staff::http::esc(zh),
                crate::staff::http::esc(en)
            ),
        )),
    )
        .into_response()
}

fn internal(e: super::ConsoleError) -> Response {
    log::error!("console staff page: {e}");
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        "服务内部错误，请稍后重试",
        "Internal error; please retry later",
    )
}

impl Page {
    fn since(&self) -> u64 {
        now_ms().saturating_sub(self.side.opts.history.as_millis() as u64)
    }

    async fn recent_alerts(&self) -> Result<Vec<AlertRow>, super::ConsoleError> {
        self.c
            .store()
            .alerts_since(self.since(), self.side.opts.max_alerts)
            .await
    }

    async fn board(&self, me: &crate::staff::SessionInfo, lang: Lang) -> Result<(String, i64), super::ConsoleError> {
        let kiosks = self.c.store().kiosks().await?;
        let alerts = self.recent_alerts().await?;
        let last = alerts.iter().map(|a| a.id).max().unwrap_or(0);
        Ok((render::board(&kiosks, &alerts, me, lang), last))
    }
}

async fn index(State(p): State<Page>, Staff(me): Staff, headers: HeaderMap) -> Response {
    let lang = Lang::from_cookies(&headers);
    let (board, last) = match p.board(&me, lang).await {
        Ok(b) => b,
        Err(e) => return internal(e),
    };
    let attrs = format!(
        "data-refresh-ms=\"{}\" data-last-alert=\"{last}\" data-label-live=\"{}\" \
         data-label-polling=\"{}\" data-label-lost=\"{}\"",
        p.side.opts.refresh.as_millis(),
        lang.t("● 实时", "● live"),
        lang.t("○ 定时刷新", "○ polling"),
        lang.t("✕ 连接中断", "✕ connection lost"),
    );
    Html(render::page(
        lang.t("大厅控制台", "Hall console"),
        &me,
        lang,
        &attrs,
        &format!("<div id=\"board\">{board}</div>"),
    ))
    .into_response()
}

/// The tiles and alerts alone, for the page's script.
async fn board(State(p): State<Page>, Staff(me): Staff, headers: HeaderMap) -> Response {
    match p.board(&me, Lang::from_cookies(&headers)).await {
        Ok((html, _)) => Html(html).into_response(),
        Err(e) => internal(e),
    }
}

/// An alert as `/alerts.json` and the live feed carry it.
#[derive(serde::Serialize)]
struct AlertJson<'a> {
    id: i64,
    kiosk: &'a str,
    kind: &'a str,
    label_zh: &'a str,
    label_en: &'a str,
    code: Option<&'a str>,
    reasons: &'a [String],
    raised_ms: u64,
    acked_by: Option<&'a str>,
    acked_ms: Option<u64>,
    resolved_ms: Option<u64>,
}

impl<'a> From<&'a AlertRow> for AlertJson<'a> {
    fn from(a: &'a AlertRow) -> Self {
        AlertJson {
            id: a.id,
            kiosk: &a.kiosk,
            kind: &a.kind,
            label_zh: render::kind_label(&a.kind, Lang::Zh),
            label_en: render::kind_label(&a.kind, Lang::En),
            code: a.code.as_deref(),
            reasons: &a.reasons,
            raised_ms: a.raised_ms,
            acked_by: a.acked_by.as_deref(),
            acked_ms: a.acked_ms,
            resolved_ms: a.resolved_ms,
        }
    }
}

/// The polling fallback: the alerts of the last 24 hours (and every open one), newest first.
async fn alerts_json(State(p): State<Page>, _: Staff) -> Response {
    match p.recent_alerts().await {
        Ok(alerts) => {
            let list: Vec<AlertJson> = alerts.iter().map(AlertJson::from).collect();
            Json(serde_json::json!({ "alerts": list })).into_response()
        }
        Err(e) => internal(e),
    }
}

/// The live feed: an `alert` event per alert as it opens, `reload` when this listener fell
/// behind (the page then reads `/alerts.json`), a keep-alive comment in between. It lives
/// no longer than the login: at each keep-alive interval the session is looked up again,
/// and once it has expired or logged out the feed says `expired` (the page goes to the
/// login) and ends — an open feed never outlives the session that opened it.
async fn stream(State(p): State<Page>, Staff(me): Staff, headers: axum::http::HeaderMap) -> Response {
    let rx = p.c.subscribe();
    let stop = p.side.stopping.subscribe();
    let token = crate::staff::http::cookie_token(&headers).unwrap_or("").to_string();
    let mut check = tokio::time::interval(p.side.opts.keepalive);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    log::info!("staff: {} opened the live feed", me.user);
    let side = p.side.clone();
    let state = (rx, stop, check, Some(token));
    let feed = futures_util::stream::unfold(state, move |(mut rx, mut stop, mut check, token)| {
        let side = side.clone();
        async move {
            use tokio::sync::broadcast::error::RecvError;
            let token = token?; // None: the `expired` event was sent; the feed ends.
            if *stop.borrow() {
                return None;
            }
            let event = tokio::select! {
                _ = check.tick() => {
                    // A database that does not answer right now is no logout: only a
                    // session known to be gone ends the feed.
                    if !matches!(side.auth.session(&token).await, Ok(None)) {
                        Event::default().comment("session ok")
                    } else {
                        log::info!("staff: a live feed ended with its session");
                        return Some((Ok(Event::default().event("expired").data("login")), (rx, stop, check, None)));
                    }
                }
                r = rx.recv() => match r {
                    Ok(a) => Event::default()
                        .event("alert")
                        .id(a.id.to_string())
                        .data(serde_json::to_string(&AlertJson::from(&a)).unwrap_or_default()),
                    Err(RecvError::Lagged(n)) => {
                        log::warn!("staff live feed: {n} alerts skipped; the page reloads the list");
                        Event::default().event("reload").data(n.to_string())
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = stop.changed() => return None,
            };
            Some((Ok::<_, Infallible>(event), (rx, stop, check, Some(token))))
        }
    });
    Sse::new(feed)
        .keep_alive(KeepAlive::new().interval(p.side.opts.keepalive))
        .into_response()
}

async fn ack(State(p): State<Page>, Path(id): Path<i64>, form: StaffForm) -> Response {
    let who = form.staff.user.clone();
    let alert = match p.c.store().alert(id).await {
        Ok(Some(a)) => a,
        Ok(None) => return refuse(StatusCode::NOT_FOUND, "没有这条提醒", "No such alert"),
        Err(e) => return internal(e),
    };
    match p.c.store().ack(id, &who, now_ms()).await {
        Ok(true) => log::info!(
            "alert {id} ({} on kiosk {}) acknowledged by {who}",
            alert.kind,
            alert.kiosk
        ),
        // Someone else was quicker: the page shows who.
        Ok(false) => log::info!("alert {id}: {who} acknowledged it after {:?}", alert.acked_by),
        Err(e) => return internal(e),
    }
    Redirect::to("/").into_response()
}

async fn kiosk(State(p): State<Page>, Staff(me): Staff, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let lang = Lang::from_cookies(&headers);
    let since = p.since();
    let store = p.c.store();
    let found = async {
        Ok::<_, super::ConsoleError>(match store.kiosk(&id).await? {
            Some(k) => Some((
                k,
                store.kiosk_alerts_since(&id, since).await?,
                store.kiosk_events_since(&id, since).await?,
            )),
            None => None,
        })
    }
    .await;
    match found {
        Ok(Some((k, alerts, events))) => {
            let title = format!("{} · {}", lang.t("终端", "Kiosk"), k.id);
            Html(render::page(
                &title,
                &me,
                lang,
                "",
                &render::kiosk_history(&k, &alerts, &events, &me, lang),
            ))
            .into_response()
        }
        Ok(None) => refuse(StatusCode::NOT_FOUND, "没有这个终端", "No such kiosk"),
        Err(e) => internal(e),
    }
}

async fn set_lang(_: Staff, Path(lang): Path<String>) -> Response {
    let value = match lang.as_str() {
        "en" => "en",
        "zh" => "zh",
        _ => return refuse(StatusCode::NOT_FOUND, "不支持的语言", "No such language"),
    };
    let mut res = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={value}; SameSite=Strict; Path=/; Max-Age=31536000"
    )) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        SCRIPT,
    )
        .into_response()
}
