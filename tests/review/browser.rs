//! The operator page clicked through in a real headless Chromium (Debian `chromium` +
//! `chromium-driver`), driven over the W3C WebDriver protocol on 127.0.0.1: the operator
//! logs in, a pending photo is approved and the kiosk receives its number; on SQLite and
//! on a real PostgreSQL server (`*_on_postgres`).
//!
//! A missing Chromium or chromedriver fails the test, saying what to install; it never
//! skips.

use kiosk::config::{DocumentId, RegionCode};
use kiosk::ports::{Decision, Uploader};
use kiosk::review::server::ServerOptions;
use kiosk::review::ReviewClient;
use kiosk::testkit::review::*;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub(crate) fn find_exe(names: &[&str]) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    names
        .iter()
        .flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

pub(crate) struct Driver {
    child: Child,
    base: String,
    agent: ureq::Agent,
    session: Option<String>,
}

impl Driver {
    pub(crate) fn start(exe: &std::path::Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(60)))
                .build(),
        );
        let base = format!("http://127.0.0.1:{port}");
        let t0 = Instant::now();
        while agent.get(format!("{base}/status")).call().is_err() {
            assert!(t0.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            child,
            base,
            agent,
            session: None,
        }
    }

    pub(crate) fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let mut r = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self.agent.post(&url).send_json(&body),
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status();
        let v: Value = r.body_mut().read_json().expect("webdriver json");
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v["value"].clone()
    }

    pub(crate) fn new_session(&mut self, chromium: &std::path::Path) {
        let v = self.cmd(
            "POST",
            "/session",
            json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
                }
            }}}),
        );
        self.session = Some(v["sessionId"].as_str().expect("session id").to_string());
    }

    fn s(&self) -> String {
        format!("/session/{}", self.session.as_deref().unwrap())
    }

    pub(crate) fn goto(&self, url: &str) {
        self.cmd("POST", &format!("{}/url", self.s()), json!({ "url": url }));
    }

    pub(crate) fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            &format!("{}/element", self.s()),
            json!({"using": "css selector", "value": css}),
        );
        v[ELEMENT].as_str().expect("element id").to_string()
    }

    pub(crate) fn type_text(&self, el: &str, text: &str) {
        self.cmd(
            "POST",
            &format!("{}/element/{el}/value", self.s()),
            json!({ "text": text }),
        );
    }

    pub(crate) fn current_url(&self) -> String {
        self.cmd("GET", &format!("{}/url", self.s()), Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub(crate) fn click(&self, el: &str) {
        self.cmd("POST", &format!("{}/element/{el}/click", self.s()), json!({}));
    }

    pub(crate) fn source(&self) -> String {
        self.cmd("GET", &format!("{}/source", self.s()), Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Resources the page loaded (performance entries), as URLs.
    pub(crate) fn loaded_resources(&self) -> Vec<String> {
        let v = self.cmd(
            "POST",
            &format!("{}/execute/sync", self.s()),
            json!({"script": "return performance.getEntriesByType('resource').map(e => e.name);", "args": []}),
        );
        v.as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }
}

impl Driver {
    /// Runs `script` in the page; its return value.
    pub(crate) fn exec(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            &format!("{}/execute/sync", self.s()),
            json!({"script": script, "args": []}),
        )
    }

    /// Waits until the page's source satisfies `ok`; the source. Panics with it otherwise.
    pub(crate) fn wait_source(&self, what: &str, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            let src = self.source();
            if ok(&src) {
                return src;
            }
            assert!(t0.elapsed() < limit, "{what} within {limit:?}; the page:\n{src}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Chromium and chromedriver, found on `PATH`. Missing, the test fails saying what to
/// install: a web-page test never skips (`deploy/deps.sh test` installs both).
pub(crate) fn chromium() -> (std::path::PathBuf, std::path::PathBuf) {
    let chromium = find_exe(&["chromium", "chromium-browser", "google-chrome"]);
    let driver = find_exe(&["chromedriver"]);
    match (chromium, driver) {
        (Some(c), Some(d)) => (c, d),
        _ => panic!(
            "chromium and chromedriver are needed on PATH \
             (Debian: apt-get install -y chromium chromium-driver, or run deploy/deps.sh test)"
        ),
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            let _ = self.agent.delete(format!("{}/session/{s}", self.base)).call();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn operator_approves_in_headless_chromium_and_the_kiosk_gets_its_number() {
    operator_approves_in_headless_chromium_on(Backend::Sqlite);
}

#[test]
fn operator_approves_in_headless_chromium_on_postgres() {
    operator_approves_in_headless_chromium_on(Backend::Postgres);
}

fn operator_approves_in_headless_chromium_on(backend: Backend) {
    let (chromium, driver_exe) = chromium();

    // No auto-approve: the photo waits for the operator.
    let svc = start_service_on(
        backend,
        ServerOptions {
            tick: Duration::from_millis(50),
            ..ServerOptions::default()
        },
        &[("KIOSK-A", KEY)],
    );
    svc.add_operator();
    let data = tempfile::tempdir().unwrap();
    let mut client = ReviewClient::start(fast_options(&svc.url(), "KIOSK-A", KEY, data.path())).unwrap();
    client
        .submit(sample_submission(
            &svc.cfg,
            DocumentId::IdCard,
            &RegionCode::new("440100").unwrap(),
        ))
        .unwrap();
    let t0 = Instant::now();
    let id = loop {
        let e = client.outbox_entries().unwrap();
        if let (Some(id), 1) = (
            e.first().and_then(|e| e.submission_id.clone()),
            svc.count("state='pending'"),
        ) {
            break id;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "never became pending");
        std::thread::sleep(Duration::from_millis(50));
    };
    // Still pending after a while: nobody approved it yet.
    std::thread::sleep(Duration::from_millis(500));
    assert!(client.poll().is_none());

    let mut d = Driver::start(&driver_exe);
    d.new_session(&chromium);
    // Not logged in: the browser lands on the login page, logs in, and is sent back.
    d.goto(&format!("{}/review", svc.url()));
    assert!(
        d.current_url().starts_with(&format!("{}/login?next=", svc.url())),
        "{}",
        d.current_url()
    );
    let name = d.find("#name");
    d.type_text(&name, OPERATOR);
    let password = d.find("#password");
    d.type_text(&password, OPERATOR_PASSWORD);
    let login = d.find("#login");
    d.click(&login);
    let t0 = Instant::now();
    while !d.current_url().ends_with("/review") {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "not back on /review: {}\n{}",
            d.current_url(),
            d.source()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let src = d.source();
    assert!(src.contains(OPERATOR), "logged in as the operator");
    assert!(
        src.contains(&format!("data-id=\"{id}\"")),
        "the pending photo is listed"
    );
    let origin = svc.url();
    let resources = d.loaded_resources();
    assert!(
        resources.iter().any(|r| r.contains("/review/photo/")),
        "the photo loaded: {resources:?}"
    );
    assert!(
        resources.iter().all(|r| r.starts_with(&origin)),
        "no external assets: {resources:?}"
    );
    let button = d.find(&format!("li[data-id='{id}'] button.approve"));
    d.click(&button);
    // The form posts and redirects back to the (now empty) list.
    let t0 = Instant::now();
    while d.source().contains(&format!("data-id=\"{id}\"")) {
        assert!(t0.elapsed() < Duration::from_secs(10), "still listed after approving");
        std::thread::sleep(Duration::from_millis(100));
    }
    let decision = wait_decision(&mut client, Duration::from_secs(20)).expect("the kiosk learns the decision");
    let Decision::Approved { number, .. } = decision else {
        panic!("{decision:?}")
    };
    assert!(kiosk::review::number::is_well_formed(number.as_str()));
    assert_eq!(svc.count(&format!("receipt_number='{number}'")), 1);
    // The audit trail names who approved it.
    assert_eq!(
        svc.count(&format!("receipt_number='{number}' AND decided_by='staff:{OPERATOR}'")),
        1
    );
}
