//! The database flags `kiosk review-center` and `kiosk console` share: where the database
//! is (`--db`, `--db-file`, or the service's environment variable) and the PostgreSQL
//! pool's settings.

use crate::pgdb::{DbTarget, PoolSettings};
use anyhow::Context;
use std::path::PathBuf;
use std::time::Duration;
use zeroize::Zeroizing;

#[derive(Debug, clap::Args)]
pub struct DbArgs {
    /// The database: `sqlite:PATH` or a plain PATH (a SQLite file, created 0600 if
    /// missing; WAL mode), or `postgres://USER@HOST:PORT/DATABASE` (several instances may
    /// share it). A URL with a password is refused here (the process list shows it): use
    /// --db-file or the service's environment variable (KIOSK_REVIEW_DB, KIOSK_CONSOLE_DB).
    #[arg(long, value_name = "DB", conflicts_with = "db_file")]
    pub db: Option<String>,
    /// A file (owner-only, mode 0600) holding the --db value, e.g. a PostgreSQL URL with
    /// its password.
    #[arg(long, value_name = "PATH")]
    pub db_file: Option<PathBuf>,
    /// PostgreSQL over TLS: the CA certificate (PEM) that signed the server's certificate.
    /// Without it the compiled-in public roots are trusted. Whether TLS is used is the
    /// URL's sslmode (disable, prefer — the default —, require); the server's certificate
    /// is always verified, and the URL's host must be a name (or IP address) in it.
    #[arg(long, value_name = "PATH")]
    pub db_ca_file: Option<PathBuf>,
    /// PostgreSQL: connections this instance keeps at most (1–1000).
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_pool_size: u32,
    /// PostgreSQL: seconds a connection (TCP and login) may take.
    #[arg(long, value_name = "SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub db_connect_timeout: u64,
    /// PostgreSQL: seconds a request waits for a free pooled connection before 503.
    #[arg(long, value_name = "SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub db_wait_timeout: u64,
}

impl DbArgs {
    /// The pool's settings.
    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            size: self.db_pool_size as usize,
            connect_timeout: Duration::from_secs(self.db_connect_timeout),
            wait_timeout: Duration::from_secs(self.db_wait_timeout),
        }
    }

    /// The database from --db, --db-file or the environment variable `env`, parsed, with
    /// --db-ca-file's trust.
    pub fn target(&self, env: &str) -> anyhow::Result<DbTarget> {
        Ok(self.location(env)?.with_ca_file(self.db_ca_file.as_deref())?)
    }

    fn location(&self, env: &str) -> anyhow::Result<DbTarget> {
        if let Some(spec) = &self.db {
            let t = DbTarget::parse(spec, "--db")?;
            if let DbTarget::Postgres(pg) = &t {
                anyhow::ensure!(
                    !pg.has_password(),
                    "--db {}: the URL holds a password, which every user can read in the process list. \
                     Fix: put the URL in a file given with --db-file (mode 0600), or in {env}, or leave \
                     the password out and keep it in PostgreSQL's own password file",
                    pg.describe()
                );
            }
            return Ok(t);
        }
        if let Some(path) = &self.db_file {
            crate::review::keys::check_private(path, "the --db-file")?;
            let text = Zeroizing::new(std::fs::read_to_string(path).with_context(|| {
                format!(
                    "--db-file {}: cannot read it. Fix: give the path of a file holding sqlite:PATH or postgres://…",
                    path.display()
                )
            })?);
            let first = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'));
            return Ok(DbTarget::parse(
                first.unwrap_or(""),
                &format!("--db-file {}", path.display()),
            )?);
        }
        match std::env::var(env) {
            Ok(v) => Ok(DbTarget::parse(&Zeroizing::new(v), env)?),
            Err(_) => anyhow::bail!(
                "no database given. Fix: --db sqlite:PATH (or a path), --db-file FILE holding a postgres:// URL, or {env}"
            ),
        }
    }
}
