//! The axum side of staff logins: extractors, `/login` and `/logout`, security headers.
//!
//! * [`Staff`]: a logged-in member of staff. A GET or HEAD without a session is sent to
//!   `/login?next=…` (303); any other method without a session, or without the session's
//!   CSRF token in the `X-CSRF-Token` header, gets 403.
//! * [`StaffForm`]: a POSTed form of a logged-in member of staff, whose `csrf` field must
//!   be the session's token (403 otherwise). The session is checked before the body is read.
//! * [`security_headers`]: `X-Frame-Options`, a strict CSP, `Referrer-Policy`,
//!   `X-Content-Type-Options` and `Cache-Control: no-store` on every staff page.

use super::{ct_eq, LoginError, SessionInfo, StaffAuth};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;

/// The session cookie's name.
pub const COOKIE: &str = "kiosk_staff";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// The header carrying the CSRF token on non-form requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The Content-Security-Policy of staff pages: no script at all, images and forms only
/// from this origin, inline styles, never framed.
pub const CSP: &str =
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";
/// Largest login form read (bytes).
const LOGIN_BODY_LIMIT: usize = 16 * 1024;

/// A service state that has staff logins.
pub trait StaffState: Send + Sync {
    fn staff_auth(&self) -> &StaffAuth;
}

impl<T: StaffState + ?Sized> StaffState for Arc<T> {
    fn staff_auth(&self) -> &StaffAuth {
        (**self).staff_auth()
    }
}

/// A logged-in member of staff (see the module docs for what is refused).
pub struct Staff(pub SessionInfo);

/// A form POSTed by a logged-in member of staff with the session's CSRF token.
pub struct StaffForm {
    pub staff: SessionInfo,
    fields: Vec<(String, String)>,
}

impl StaffForm {
    /// The first value of form field `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The hidden input every POST form of a staff page must carry.
pub fn csrf_input(s: &SessionInfo) -> String {
    format!(
        "<input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">",
        esc(&s.csrf)
    )
}

/// The "logged in as … / log out" line for the top of a staff page.
pub fn logout_form(s: &SessionInfo) -> String {
    format!(
        "<form method=\"post\" action=\"/logout\" class=\"logout\">{}<span id=\"user\">{}</span> \
         <button type=\"submit\" id=\"logout\">退出 / Log out</button></form>",
        csrf_input(s),
        esc(&s.user)
    )
}

/// HTML-escapes text for staff pages (and the review centre's own pages).
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .find_map(|c| c.strip_prefix(COOKIE).and_then(|r| r.strip_prefix('=')))
        .filter(|t| !t.is_empty())
}

/// The session of the request's cookie; a database that cannot answer is a 503 page.
async fn session_of(headers: &HeaderMap, auth: &StaffAuth) -> Result<Option<SessionInfo>, Response> {
    let Some(token) = cookie_token(headers) else {
        return Ok(None);
    };
    auth.session(token).await.map_err(|e| {
        log::error!("staff: cannot read the session: {e}");
        unavailable()
    })
}

/// 503: the sessions' database is out of reach for now.
fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("2"))],
        Html(page(
            "暂时无法服务 / Unavailable",
            "<p>数据库暂时不可用，请稍后重试。<br>The database is unavailable; try again shortly.</p>",
        )),
    )
        .into_response()
}

fn client_address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// 403 with a page in both languages and a way back to the login.
fn forbidden(why: &str, parts: &Parts) -> Response {
    log::warn!(
        "staff: {} {} from {} refused: {why}",
        parts.method,
        parts.uri.path(),
        client_address(parts)
    );
    (
        StatusCode::FORBIDDEN,
        Html(page(
            "操作被拒绝 / Refused",
            "<p id=\"refused\">操作被拒绝：未登录，或页面已过期。请重新登录后再试。<br>\
             Refused: you are not logged in, or the page has expired. Log in and try again.</p>\
             <p><a href=\"/login\">登录 / Log in</a></p>",
        )),
    )
        .into_response()
}

fn to_login(parts: &Parts) -> Response {
    let here = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
    Redirect::to(&format!("/login?next={next}")).into_response()
}

impl<S: StaffState> FromRequestParts<S> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let safe = parts.method == Method::GET || parts.method == Method::HEAD;
        match session_of(&parts.headers, state.staff_auth()).await? {
            Some(s) if safe => Ok(Staff(s)),
            Some(s) => {
                let presented = parts.headers.get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
                if ct_eq(presented, s.csrf.as_bytes()) {
                    Ok(Staff(s))
                } else {
                    Err(forbidden("no or wrong CSRF token", parts))
                }
            }
            None if safe => Err(to_login(parts)),
            None => Err(forbidden("no session", parts)),
        }
    }
}

impl<S: StaffState> FromRequest<S> for StaffForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        // The session first: nobody without one gets the body read.
        let Some(staff) = session_of(&parts.headers, state.staff_auth()).await? else {
            return Err(forbidden("no session", &parts));
        };
        let limit_parts = parts.clone();
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        let presented = fields
            .iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.as_bytes())
            .unwrap_or_default();
        if !ct_eq(presented, staff.csrf.as_bytes()) {
            return Err(forbidden("no or wrong CSRF token", &limit_parts));
        }
        Ok(StaffForm { staff, fields })
    }
}

/// Adds the staff pages' security headers to a response.
pub async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// `GET /login`, `POST /login`, `POST /logout`, with [`security_headers`].
pub fn routes<S>() -> Router<S>
where
    S: StaffState + Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/login", get(login_page::<S>).post(login::<S>))
        .route("/logout", post(logout::<S>))
        .layer(axum::middleware::map_response(security_headers))
}

/// A staff page: the common head and inline style.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;margin:1em}}label{{display:block;margin:.5em 0}}\
         .error{{color:#b00}}</style></head><body><h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    )
}

/// Only a path on this site: `/…` but not `//…` or `/\…` (which browsers treat as
/// another host), no control characters; else `home`.
fn safe_next(next: Option<&str>, home: &str) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && n.len() <= 2048
                && n.bytes().all(|b| (0x21..0x7f).contains(&b)) =>
        {
            n.to_string()
        }
        _ => home.to_string(),
    }
}

fn login_form(status: StatusCode, next: &str, message: Option<&str>) -> Response {
    let msg = message
        .map(|m| format!("<p class=\"error\" id=\"error\">{m}</p>"))
        .unwrap_or_default();
    (
        status,
        Html(page(
            "工作人员登录 / Staff login",
            &format!(
                "{msg}<form method=\"post\" action=\"/login\" id=\"login-form\">\
                 <input type=\"hidden\" name=\"next\" value=\"{next}\">\
                 <label>用户名 / Name <input name=\"name\" id=\"name\" autocomplete=\"username\" required autofocus></label>\
                 <label>密码 / Password <input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\" required></label>\
                 <button type=\"submit\" id=\"login\">登录 / Log in</button></form>",
                next = esc(next)
            ),
        )),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page<S: StaffState + Clone + Send + Sync + 'static>(
    State(state): State<S>,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref(), &state.staff_auth().settings().home);
    login_form(StatusCode::OK, &next, None)
}

/// A login form from another site is refused: a cross-site page must not log a browser in
/// under the attacker's account. Browsers say where a request comes from in
/// `Sec-Fetch-Site` (only `same-origin` or `none`, a typed address, pass); without it, an
/// `Origin` must be this `Host`. (Under `Referrer-Policy: no-referrer` a browser's own
/// form POST carries `Origin: null`, so `null` alone proves nothing either way.)
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    if origin.as_bytes() == b"null" {
        return true;
    }
    let (Ok(origin), Some(Ok(host))) = (origin.to_str(), headers.get(header::HOST).map(|h| h.to_str())) else {
        return false;
    };
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

async fn login<S: StaffState + Clone + Send + Sync + 'static>(State(state): State<S>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if !same_origin(&parts.headers) {
        return forbidden("cross-site login form", &parts);
    }
    let address = client_address(&parts);
    let Ok(bytes) = axum::body::to_bytes(body, LOGIN_BODY_LIMIT).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "login form too large").into_response();
    };
    let mut name = String::new();
    let mut password = zeroize::Zeroizing::new(String::new());
    let mut next = None;
    for (k, v) in form_urlencoded::parse(&bytes) {
        match k.as_ref() {
            "name" => name = v.trim().to_string(),
            "password" => *password = v.into_owned(),
            "next" => next = Some(v.into_owned()),
            _ => {}
        }
    }
    let next = safe_next(next.as_deref(), &state.staff_auth().settings().home);
    let ttl = state.staff_auth().settings().session_ttl;
    // Throttles, then at most `concurrent_checks` argon2 checks at once on the blocking pool.
    let result = state.staff_auth().sign_in(&name, &password, &address).await;
    // Only a well-formed name is logged: a password typed into the name field stays out.
    let who = if super::valid_name(&name) {
        name.as_str()
    } else {
        "(invalid name)"
    };
    match result {
        Ok((token, _)) => {
            log::info!("staff: {who} logged in from {address}");
            let cookie = format!(
                "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
                ttl.as_secs()
            );
            let mut res = Redirect::to(&next).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(LoginError::Wrong) => {
            log::warn!("staff: failed login for {who} from {address}");
            login_form(
                StatusCode::UNAUTHORIZED,
                &next,
                Some("用户名或密码错误。/ Wrong name or password."),
            )
        }
        Err(LoginError::Throttled(wait)) => {
            log::warn!("staff: login for {who} from {address} refused: too many failures");
            let mins = wait.as_secs().div_ceil(60).max(1);
            let mut res = login_form(
                StatusCode::TOO_MANY_REQUESTS,
                &next,
                Some(&format!(
                    "失败次数过多，请{mins}分钟后再试。/ Too many failed logins; try again in {mins} min."
                )),
            );
            if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Err(LoginError::Internal(e @ super::StaffError::Unavailable { .. })) => {
            log::error!("staff: login check failed: {e}");
            unavailable()
        }
        Err(LoginError::Internal(e)) => {
            log::error!("staff: login check failed: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

async fn logout<S: StaffState + Clone + Send + Sync + 'static>(
    State(state): State<S>,
    headers: HeaderMap,
    form: StaffForm,
) -> Response {
    if let Some(t) = cookie_token(&headers) {
        if let Err(e) = state.staff_auth().logout(t).await {
            log::error!("staff: cannot end the session: {e}");
            return unavailable();
        }
    }
    log::info!("staff: {} logged out", form.staff.user);
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("kiosk_staff=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/review?x=1"), "/"), "/review?x=1");
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "review",
            "/a b",
            "",
        ] {
            assert_eq!(safe_next(Some(bad), "/home"), "/home", "{bad}");
        }
        assert_eq!(safe_next(None, "/home"), "/home");
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; kiosk_staff=abc; b=2"));
        assert_eq!(cookie_token(&h), Some("abc"));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("kiosk_staffx=abc; kiosk_staff="),
        );
        assert_eq!(cookie_token(&h), None);
    }

    #[test]
    fn a_foreign_origin_is_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8700"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8700"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h), "the browser's word wins");
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8700"));
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(!same_origin(&h));
    }
}
