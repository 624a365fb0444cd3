//! Test and benchmark helpers (not part of the kiosk's behaviour): a JPEG that passes the
//! service's checks for a document, and a ready-made submission.

use crate::config::{Config, DocumentId, RegionCode};
use crate::domain::PhotoJpeg;
use crate::ports::Submission;
use crate::session::Details;

/// A JPEG of exactly the document's pixel size whose file size lies inside `file_kb`
/// (aiming at `target_kb` when given): a smooth gradient with seeded noise, the quality
/// searched until the size fits.
pub fn sample_photo(cfg: &Config, doc: DocumentId, region: &RegionCode, target_kb: Option<u32>) -> PhotoJpeg {
    let spec = cfg.spec_for(doc, Some(region));
    if target_kb.is_none() {
        return made_photo(&spec);
    }
    let want = target_kb.unwrap_or((spec.file_kb.min + spec.file_kb.max) / 2);
    let mut seed: u32 = 0x9E37_79B9;
    let mut noise_amp = 40u32;
    let mut best: Option<Vec<u8>> = None;
    for _ in 0..12 {
        let img = image::RgbImage::from_fn(spec.width, spec.height, |x, y| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let n = seed % (noise_amp + 1);
            let base = 120 + (x * 100 / spec.width) + (y * 30 / spec.height);
            let v = (base + n).min(255) as u8;
            image::Rgb([v, v.saturating_sub(10), v.saturating_sub(20)])
        });
        for q in (40..=95).rev().step_by(5) {
            let mut buf = vec![];
            if image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, q)
                .encode_image(&img)
                .is_err()
            {
                continue;
            }
            let kb = buf.len().div_ceil(1024) as u32;
            if spec.file_kb.contains(kb) && kb <= want.max(spec.file_kb.min) {
                return PhotoJpeg(buf);
            }
            if kb < spec.file_kb.min {
                break;
            }
            best = Some(buf);
        }
        // Too small even at the top quality: more noise; too big at the bottom: less.
        noise_amp = if best.is_none() {
            noise_amp * 2
        } else {
            noise_amp / 2 + 1
        };
    }
    PhotoJpeg(best.unwrap_or_default())
}

/// The synthetic person of GB 11643-1999's worked example (no real person).
pub const TEST_ID_NUMBER: &str = "11010519491231002X";

pub fn test_details() -> Details {
    Details {
        name: Some("张三".into()),
        id_number: Some(TEST_ID_NUMBER.into()),
        mobile: None,
    }
}

/// A real compliant photo: the last built-in replay frame (a compliant pose) through the
/// project's own photo maker, so the centre's machine check passes it. Made once per
/// document profile and test process (the maker takes a second or two in the dev profile).
pub fn made_photo(spec: &crate::config::DocumentSpec) -> PhotoJpeg {
    use crate::ports::PhotoMaker;
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Vec<u8>>>> = OnceLock::new();
    let key = format!("{:?}", spec);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(b) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return PhotoJpeg(b.clone());
    }
    let frames = crate::camera::replay::BUILTIN_FRAMES;
    let capture = image::load_from_memory(frames[frames.len() - 1])
        .expect("built-in frame")
        .to_rgb8();
    let mut maker = crate::vision::Maker::new().expect("vision models");
    let photo = maker
        .make(&capture, spec)
        .unwrap_or_else(|r| panic!("the built-in frame must make a compliant photo: {r:?}"));
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, photo.0.clone());
    photo
}

pub fn sample_submission(cfg: &Config, doc: DocumentId, region: &RegionCode) -> Submission {
    Submission {
        doc,
        region: region.clone(),
        details: test_details(),
        photo: sample_photo(cfg, doc, region, None),
    }
}

/// Which database a test service runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    /// A fresh database on the test binary's PostgreSQL server ([`super::postgres`]).
    Postgres,
}

/// A review database of a test on either backend: a SQLite file, or a fresh database on
/// the test binary's PostgreSQL server ([`super::postgres::fresh_database`]). It gives the
/// `kiosk review-center` arguments that open it and reads that hold on both backends.
pub struct TestDb {
    pub backend: Backend,
    /// The SQLite file (on PostgreSQL none is created there).
    pub path: std::path::PathBuf,
    /// The PostgreSQL URL (with the test password), when on PostgreSQL.
    pub pg_url: Option<String>,
    /// On PostgreSQL: an owner-only file holding the URL, for `--db-file`.
    url_file: Option<std::path::PathBuf>,
}

impl TestDb {
    /// On SQLite the file `sqlite_file` (created by whoever opens it first); on PostgreSQL
    /// a fresh database, its URL written (mode 0600) beside `sqlite_file` as `*.url`.
    pub fn new(backend: Backend, sqlite_file: &std::path::Path) -> TestDb {
        let pg_url = (backend == Backend::Postgres).then(super::postgres::fresh_database);
        let url_file = pg_url.as_ref().map(|url| {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let f = sqlite_file.with_extension("url");
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&f)
                .and_then(|mut w| writeln!(w, "{url}"))
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", f.display()));
            f
        });
        TestDb {
            backend,
            path: sqlite_file.to_path_buf(),
            pg_url,
            url_file,
        }
    }

    /// The arguments that point `kiosk review-center` at this database: `--db FILE`, or
    /// `--db-file URLFILE` with the tests' small pool and short timeouts
    /// ([`test_pg_options`]).
    pub fn cli_args(&self) -> Vec<std::ffi::OsString> {
        match &self.url_file {
            Some(f) => {
                let o = test_pg_options();
                vec![
                    "--db-file".into(),
                    f.into(),
                    "--db-pool-size".into(),
                    o.pool_size.to_string().into(),
                    "--db-connect-timeout".into(),
                    o.connect_timeout.as_secs().to_string().into(),
                    "--db-wait-timeout".into(),
                    o.wait_timeout.as_secs().to_string().into(),
                ]
            }
            None => vec!["--db".into(), self.path.clone().into()],
        }
    }

    /// Opens the SQLite file read-only (the test's own connection). Panics on PostgreSQL:
    /// use [`TestDb::count`] or [`TestDb::strings`], which hold on both.
    pub fn sqlite(&self) -> rusqlite::Connection {
        assert!(
            self.pg_url.is_none(),
            "TestDb::sqlite on PostgreSQL: use count() or strings(), which work on both backends"
        );
        let c = rusqlite::Connection::open_with_flags(&self.path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("open the review db {}: {e}", self.path.display()));
        c.busy_timeout(std::time::Duration::from_secs(5)).expect("busy timeout");
        c
    }

    /// Runs `sql` (SQL both backends understand, one TEXT column): every row's value.
    pub fn strings(&self, sql: &str) -> Vec<String> {
        match &self.pg_url {
            Some(url) => super::postgres::query_strings(url, sql),
            None => self
                .sqlite()
                .prepare(sql)
                .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>())
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    /// Submissions matching `sql_where` (SQL both backends understand: `TRUE`, not `1`).
    pub fn count(&self, sql_where: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM submissions WHERE {sql_where}");
        match &self.pg_url {
            Some(url) => super::postgres::query_i64(url, &sql),
            None => self
                .sqlite()
                .query_row(&sql, [], |r| r.get(0))
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    /// Every submission's id, in the order received.
    pub fn submission_ids(&self) -> Vec<String> {
        let order = if self.pg_url.is_some() { "seq" } else { "rowid" };
        self.strings(&format!("SELECT id FROM submissions ORDER BY received_at, {order}"))
    }
}

/// A service on 127.0.0.1:0 with a movable clock, for tests and benchmarks.
pub struct TestService {
    pub server: crate::review::server::RunningServer,
    pub clock: std::sync::Arc<crate::review::clock::OffsetClock>,
    /// The SQLite file (unused on PostgreSQL); the same as `database.path`.
    pub db: std::path::PathBuf,
    /// The PostgreSQL URL, when on PostgreSQL; the same as `database.pg_url`.
    pub pg_url: Option<String>,
    /// The service's database, for backend-neutral reads and `kiosk review-center` runs.
    pub database: TestDb,
    pub cfg: Config,
    _dir: tempfile::TempDir,
}

impl TestService {
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Opens the service's SQLite database read-only (the test's own connection); panics
    /// on PostgreSQL (see [`TestDb::sqlite`]).
    pub fn db(&self) -> rusqlite::Connection {
        self.database.sqlite()
    }

    /// Every submission's id, in the order received.
    pub fn submission_ids(&self) -> Vec<String> {
        self.database.submission_ids()
    }

    /// Submissions matching `sql_where` (SQL both backends understand).
    pub fn count(&self, sql_where: &str) -> i64 {
        self.database.count(sql_where)
    }

    /// Runs `sql` (one TEXT column, SQL both backends understand) on the service's database.
    pub fn strings(&self, sql: &str) -> Vec<String> {
        self.database.strings(sql)
    }

    /// The arguments that point `kiosk review-center` at the service's database.
    pub fn cli_args(&self) -> Vec<std::ffi::OsString> {
        self.database.cli_args()
    }
}

impl TestService {
    /// Adds staff account `name` with `password`, on either backend.
    pub fn add_user(&self, name: &str, password: &str) {
        self.server
            .block_on(self.server.service.staff().set_user_password(name, password))
            .unwrap_or_else(|e| panic!("add the staff account {name}: {e}"));
    }

    /// Adds the test operator account ([`OPERATOR`], [`OPERATOR_PASSWORD`]).
    pub fn add_operator(&self) {
        self.add_user(OPERATOR, OPERATOR_PASSWORD);
    }

    /// Adds the test operator and logs in.
    pub fn operator(&self) -> OperatorSession {
        self.add_operator();
        operator_login(&self.url(), OPERATOR, OPERATOR_PASSWORD)
    }
}

/// The operator account the tests add (`--add-user operator`, this password on stdin).
pub const OPERATOR: &str = "operator";
pub const OPERATOR_PASSWORD: &str = "operator-password-1";

/// An operator logged in over HTTP: the session cookie and the page's CSRF token.
pub struct OperatorSession {
    pub base: String,
    /// `kiosk_staff=TOKEN`, for a `Cookie` header.
    pub cookie: String,
    pub csrf: String,
}

/// An HTTP agent that reports every status and follows no redirect (tests look at them).
pub fn raw_agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build(),
    )
}

/// The response of a raw request: (status, headers as lowercase `name: value` lines, body).
pub type Raw = (u16, String, String);

/// Reads a raw request's answer (status, headers, body) whatever its status.
pub fn raw(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Raw {
    let mut r = r.expect("request");
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| format!("{}: {}\n", k.as_str(), v.to_str().unwrap_or("")))
        .collect();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    (r.status().as_u16(), headers, body)
}

/// POSTs a login form; the raw answer.
pub fn login_raw(base: &str, user: &str, password: &str) -> Raw {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("name", user)
        .append_pair("password", password)
        .append_pair("next", "/review")
        .finish();
    raw(raw_agent()
        .post(format!("{base}/login"))
        .content_type("application/x-www-form-urlencoded")
        .send(body.as_str()))
}

/// Logs in (303 with the session cookie) and reads the CSRF token off `/review`.
pub fn operator_login(base: &str, user: &str, password: &str) -> OperatorSession {
    operator_login_at(base, user, password, "/review")
}

/// Logs in (303 with the session cookie) and reads the CSRF token off `page` (the review
/// centre's `/review`, the hall console's `/`: both log staff in through `staff`).
pub fn operator_login_at(base: &str, user: &str, password: &str, page: &str) -> OperatorSession {
    let (st, headers, body) = login_raw(base, user, password);
    assert_eq!(st, 303, "login as {user}: {headers}{body}");
    let cookie = headers
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let mut s = OperatorSession {
        base: base.to_string(),
        cookie,
        csrf: String::new(),
    };
    let (st, _, html) = s.get(page);
    assert_eq!(st, 200, "{html}");
    s.csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a CSRF token on the page")
        .to_string();
    s
}

impl OperatorSession {
    /// GET `path` with the session cookie.
    pub fn get(&self, path: &str) -> Raw {
        raw(raw_agent()
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .call())
    }

    /// POSTs form `fields` with the session cookie and, when `csrf` is given, that token.
    pub fn post_with(&self, path: &str, fields: &[(&str, &str)], csrf: Option<&str>) -> Raw {
        let mut f = form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            f.append_pair(k, v);
        }
        if let Some(c) = csrf {
            f.append_pair("csrf", c);
        }
        let body = f.finish();
        raw(raw_agent()
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .content_type("application/x-www-form-urlencoded")
            .send(body.as_str()))
    }

    /// POSTs form `fields` as the page's forms do (with the session's CSRF token).
    pub fn post(&self, path: &str, fields: &[(&str, &str)]) -> Raw {
        self.post_with(path, fields, Some(&self.csrf))
    }
}

/// Built-in config with the data dir at `data_dir`.
pub fn test_config(data_dir: &std::path::Path) -> Config {
    let mut cfg = Config::builtin();
    cfg.kiosk.data_dir = data_dir.to_path_buf();
    cfg
}

/// Starts a service on SQLite with `kiosks` as (id, key) pairs.
pub fn start_service(opts: crate::review::server::ServerOptions, kiosks: &[(&str, &str)]) -> TestService {
    start_service_on(Backend::Sqlite, opts, kiosks)
}

/// Starts a service on `backend` with `kiosks` as (id, key) pairs.
pub fn start_service_on(
    backend: Backend,
    opts: crate::review::server::ServerOptions,
    kiosks: &[(&str, &str)],
) -> TestService {
    use crate::review::store::{DbTarget, Store};
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = test_config(dir.path());
    let database = TestDb::new(backend, &dir.path().join("review.sqlite"));
    let (db, pg_url) = (database.path.clone(), database.pg_url.clone());
    let rt = crate::review::server::runtime().expect("runtime");
    let store = match &pg_url {
        Some(url) => {
            let target = DbTarget::parse(url, "test").expect("test URL");
            rt.block_on(Store::open(&target, &test_pg_options()))
                .expect("open the PostgreSQL store")
        }
        None => Store::open_sqlite(&db).expect("open store"),
    };
    let mut keys = crate::review::keys::Keys::default();
    for (id, key) in kiosks {
        keys.insert(id, key);
    }
    let clock = std::sync::Arc::new(crate::review::clock::OffsetClock::default());
    let svc = crate::review::server::Service::new(cfg.clone(), store, keys, opts, clock.clone()).expect("service");
    let server = crate::review::server::spawn_on(rt, svc, "127.0.0.1:0").expect("spawn service");
    TestService {
        server,
        clock,
        db,
        pg_url,
        database,
        cfg,
        _dir: dir,
    }
}

/// Pool settings for tests: small pools (one PostgreSQL server serves every test of the
/// binary), short timeouts.
pub fn test_pg_options() -> crate::review::store::PgOptions {
    crate::review::store::PgOptions {
        pool_size: 4,
        connect_timeout: std::time::Duration::from_secs(3),
        wait_timeout: std::time::Duration::from_secs(3),
        claim_lease: std::time::Duration::from_secs(5),
    }
}

/// Client options with short timeouts and backoff (tests).
pub fn fast_options(url: &str, kiosk: &str, key: &str, data_dir: &std::path::Path) -> crate::review::ClientOptions {
    let mut o = crate::review::ClientOptions::new(url, kiosk, key, data_dir.to_path_buf());
    o.connect_timeout = std::time::Duration::from_secs(1);
    o.request_timeout = std::time::Duration::from_secs(3);
    o.max_response_bytes = 1024 * 1024;
    o.poll_interval = std::time::Duration::from_millis(100);
    o.backoff_base = std::time::Duration::from_millis(100);
    o.backoff_max = std::time::Duration::from_millis(800);
    o
}

/// Polls the uploader until it reports a decision or `timeout` passes.
pub fn wait_decision(
    up: &mut dyn crate::ports::Uploader,
    timeout: std::time::Duration,
) -> Option<crate::ports::Decision> {
    let t0 = std::time::Instant::now();
    while t0.elapsed() < timeout {
        if let Some(d) = up.poll() {
            return Some(d);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    None
}
