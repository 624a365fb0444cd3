//! A real PostgreSQL server for the tests (issue #17): Debian's `postgresql` package
//! (`deploy/deps.sh test` installs it), `initdb` into a temporary directory, `postgres` on a
//! free loopback port (its unix socket in the same directory), stopped at the end.
//!
//! * Run as root (CI), `initdb` and `postgres` refuse to start, so both run as `nobody`
//!   (uid/gid 65534) through `setpriv`, the directory handed over to that user.
//! * [`shared`] starts one server per test binary; [`fresh_database`] gives each test its
//!   own database on it, so the suite pays for one `initdb`. The shared server is stopped
//!   when the process exits (an `atexit` hook: fast shutdown, directory removed); if the
//!   process dies without running it, `--pdeathsig` stops the server anyway.
//! * [`PgServer::start`] starts a private one (fault tests restart it); it stops on drop.
//!   [`PgServer::start_tls`] starts one with `ssl = on` and a certificate for `127.0.0.1`
//!   and `localhost` signed by a test CA made for it (the `openssl` command), whose
//!   certificate is [`PgServer::ca_file`]. It accepts plain connections too.
//!
//! If PostgreSQL cannot start, these panic with why: a test on PostgreSQL never skips.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The superuser the test clusters are created with, and its password (scram-sha-256 over
/// TCP, so a wrong password is refused as in production).
pub const PG_USER: &str = "kiosk";
pub const PG_PASSWORD: &str = "kiosk-test-password";

/// `nobody`'s uid and gid, which the servers run as when the tests run as root.
const NOBODY: u32 = 65534;

/// How long a starting server may take before the test fails.
const START_LIMIT: Duration = Duration::from_secs(60);

/// A PostgreSQL server of the tests' own.
pub struct PgServer {
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    bin: PathBuf,
    pub port: u16,
    child: Mutex<Option<Child>>,
    /// The test CA's certificate (PEM) when the server has TLS on.
    ca_file: Option<PathBuf>,
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`: `$PATH` first, then Debian's
/// `/usr/lib/postgresql/*/bin` (newest major version first).
pub fn pg_bin_dir() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if d.join("initdb").is_file() && d.join("postgres").is_file() {
                return Ok(d);
            }
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("initdb").is_file().then_some((v, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().map(|(_, b)| b).ok_or_else(|| {
        "PostgreSQL is not installed: no initdb on PATH nor in /usr/lib/postgresql/*/bin. \
         Fix: run `deploy/deps.sh test` (installs Debian's postgresql package)"
            .to_string()
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `setpriv` to `nobody` when running as root (PostgreSQL refuses root), always with a
/// parent-death signal so no server outlives the tests.
fn command(bin: &Path, prog: &str) -> Command {
    let mut c = Command::new("setpriv");
    if is_root() {
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
    }
    c.args(["--pdeathsig", "SIGQUIT", "--"]).arg(bin.join(prog));
    c
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

impl PgServer {
    /// initdb into a new temporary directory and start the server; waits until it accepts
    /// connections.
    pub fn start() -> Result<PgServer, String> {
        PgServer::start_with(false)
    }

    /// Like [`PgServer::start`], with TLS on: a new test CA signs the server's certificate
    /// (names `localhost` and `127.0.0.1`); its certificate is [`PgServer::ca_file`].
    pub fn start_tls() -> Result<PgServer, String> {
        PgServer::start_with(true)
    }

    /// The test CA's certificate (PEM) of a server from [`PgServer::start_tls`].
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    fn start_with(tls: bool) -> Result<PgServer, String> {
        let bin = pg_bin_dir()?;
        let tmp = tempfile::Builder::new()
            .prefix("kiosk-pg-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let dir = tmp.path().to_path_buf();
        if is_root() {
            std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY))
                .map_err(|e| format!("cannot hand {} to nobody: {e}", dir.display()))?;
        }
        let pwfile = dir.join("pw");
        std::fs::write(&pwfile, PG_PASSWORD).map_err(|e| format!("cannot write {}: {e}", pwfile.display()))?;
        if is_root() {
            let _ = std::os::unix::fs::chown(&pwfile, Some(NOBODY), None);
        }
        let out = command(&bin, "initdb")
            .arg("-D")
            .arg(dir.join("data"))
            .args([
                "-U",
                PG_USER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
            ])
            .args(["--no-locale", "--no-instructions"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run setpriv/initdb ({}): {e}", bin.display()))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let ca_file = if tls { Some(make_certificates(&dir)?) } else { None };
        let port = free_port()?;
        let s = PgServer {
            dir,
            _tmp: Some(tmp),
            bin,
            port,
            child: Mutex::new(None),
            ca_file,
        };
        s.run()?;
        Ok(s)
    }

    /// Starts `postgres` on the existing data directory and waits for it.
    fn run(&self) -> Result<(), String> {
        let log = std::fs::File::create(self.dir.join("log")).map_err(|e| format!("postgres log: {e}"))?;
        if is_root() {
            let _ = std::os::unix::fs::chown(self.dir.join("log"), Some(NOBODY), None);
        }
        let mut postgres = command(&self.bin, "postgres");
        if self.ca_file.is_some() {
            postgres.args(["-c", "ssl=on", "-c"]);
            postgres.arg(format!("ssl_cert_file={}", self.dir.join("server.crt").display()));
            postgres.arg("-c");
            postgres.arg(format!("ssl_key_file={}", self.dir.join("server.key").display()));
        }
        let child = postgres
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-p", &self.port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.display()))
            .args(["-c", "max_connections=200", "-c", "shared_buffers=32MB"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))?;
        *self.child.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
        let t0 = Instant::now();
        loop {
            if self.accepts() {
                return Ok(());
            }
            let exited = self
                .child
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(st) = exited {
                return Err(format!("postgres exited ({st}) while starting: {}", self.log_tail()));
            }
            if t0.elapsed() > START_LIMIT {
                return Err(format!(
                    "postgres did not accept connections within {START_LIMIT:?}: {}",
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn accepts(&self) -> bool {
        block_on(async {
            tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
                .await
                .is_ok()
        })
    }

    /// The server's log, last 2 KB.
    pub fn log_tail(&self) -> String {
        let mut s = String::new();
        let _ = std::fs::File::open(self.dir.join("log")).and_then(|mut f| f.read_to_string(&mut s));
        let start = s.len().saturating_sub(2048);
        let start = (start..s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(s.len());
        s[start..].to_string()
    }

    /// `postgres://kiosk:PASSWORD@127.0.0.1:PORT/db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `name` (owned by the test user).
    pub fn create_database(&self, name: &str) -> Result<String, String> {
        let url = self.url("postgres");
        let sql = format!("CREATE DATABASE \"{name}\"");
        block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| format!("cannot connect to the test server: {e}"))?;
            let drive = tokio::spawn(conn);
            let r = client.batch_execute(&sql).await.map_err(|e| format!("{sql}: {e}"));
            drop(client);
            let _ = drive.await;
            r
        })?;
        Ok(self.url(name))
    }

    /// Stops the server (fast shutdown) and waits for it to exit.
    pub fn stop(&self) {
        let child = self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut c) = child {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGINT,
            );
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(20) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops and starts the server again on the same port and data (a restart under load).
    pub fn restart(&self) -> Result<(), String> {
        self.stop();
        self.run()
    }
}

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run openssl (needed for the TLS test server; Debian's openssl package): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A test CA (`ca.pem`) and the server's certificate it signs (`server.crt`, `server.key`:
/// for `localhost` and `127.0.0.1`, the key the server's user's own and 0600, as PostgreSQL
/// demands) in `dir`. Returns the CA's certificate.
fn make_certificates(dir: &Path) -> Result<PathBuf, String> {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=kiosk test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca)?;
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
    openssl(dir, &csr)?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| format!("cannot write the certificate's extensions: {e}"))?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    )?;
    let key = dir.join("server.key");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot make {} 0600: {e}", key.display()))?;
    if is_root() {
        std::os::unix::fs::chown(&key, Some(NOBODY), Some(NOBODY))
            .map_err(|e| format!("cannot hand {} to nobody: {e}", key.display()))?;
    }
    Ok(dir.join("ca.pem"))
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `f` on a small runtime of its own (the helpers are called from test threads).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
        .block_on(f)
}

static SHARED: OnceLock<Result<&'static PgServer, String>> = OnceLock::new();

extern "C" fn stop_shared() {
    if let Some(Ok(s)) = SHARED.get() {
        s.stop();
        let _ = std::fs::remove_dir_all(&s.dir);
    }
}

/// The test binary's one server, started on first use. Panics with the reason when
/// PostgreSQL cannot start.
pub fn shared() -> &'static PgServer {
    let r = SHARED.get_or_init(|| {
        // Started from a thread that lives as long as the process: `--pdeathsig` fires
        // when the *thread* that started the server ends.
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("pg-test-server".into())
            .spawn(move || {
                let r = PgServer::start().map(|s| &*Box::leak(Box::new(s)));
                let ok = r.is_ok();
                let _ = tx.send(r);
                if ok {
                    loop {
                        std::thread::park();
                    }
                }
            });
        if let Err(e) = spawned {
            return Err(format!("cannot start the server thread: {e}"));
        }
        let r = rx.recv().unwrap_or_else(|_| Err("the server thread died".into()));
        if r.is_ok() {
            // SAFETY: registers a plain `extern "C"` function with no arguments; it only
            // reads the initialised OnceLock.
            unsafe {
                libc::atexit(stop_shared);
            }
        }
        r
    });
    match r {
        Ok(s) => s,
        Err(e) => panic!("PostgreSQL test server could not start: {e}"),
    }
}

/// A new, empty database on the shared server: its URL.
pub fn fresh_database() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!("t{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    shared()
        .create_database(&name)
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"))
}

/// A connection to `url` and the task driving it (awaited once the client is dropped).
async fn connect(
    url: &str,
) -> (
    tokio_postgres::Client,
    tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>,
) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect {}: {e}", redact(url)));
    (client, tokio::spawn(conn))
}

/// Runs `sql` (one statement returning one BIGINT) against `url`.
pub fn query_i64(url: &str, sql: &str) -> i64 {
    let (url, sql) = (url.to_string(), sql.to_string());
    block_on(async move {
        let (client, drive) = connect(&url).await;
        let n: i64 = client
            .query_one(&sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0);
        drop(client);
        let _ = drive.await;
        n
    })
}

/// Runs `sql` (any statements, no result) against `url`.
pub fn execute(url: &str, sql: &str) {
    let (url, sql) = (url.to_string(), sql.to_string());
    block_on(async move {
        let (client, drive) = connect(&url).await;
        client
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        drop(client);
        let _ = drive.await;
    })
}

/// Runs `sql` (one TEXT column) against `url`: every row's value.
pub fn query_strings(url: &str, sql: &str) -> Vec<String> {
    let (url, sql) = (url.to_string(), sql.to_string());
    block_on(async move {
        let (client, drive) = connect(&url).await;
        let v = client
            .query(&sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .iter()
            .map(|r| r.get(0))
            .collect();
        drop(client);
        let _ = drive.await;
        v
    })
}

fn redact(url: &str) -> String {
    url.replace(PG_PASSWORD, "***")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_server_gives_each_test_its_own_database() {
        let a = fresh_database();
        let b = fresh_database();
        assert_ne!(a, b);
        assert_eq!(query_i64(&a, "SELECT 1::bigint"), 1);
        // Over TCP the password is checked.
        let wrong = a.replace(PG_PASSWORD, "wrong");
        let refused = block_on(async { tokio_postgres::connect(&wrong, tokio_postgres::NoTls).await.err() });
        let e = refused.expect("a wrong password is refused");
        assert_eq!(e.as_db_error().map(|d| d.code().code()), Some("28P01"), "{e}");
    }
}
