//! Which database a service uses (`--db`, `--db-file`, `KIOSK_REVIEW_DB`, `KIOSK_CONSOLE_DB`):
//! `sqlite:PATH`, a plain path (SQLite), or `postgres://…` / `postgresql://…`. A URL is only ever shown
//! without its password ([`PgTarget::describe`]). A URL without a password takes it from
//! libpq's password file (`PGPASSFILE` or `~/.pgpass`) when that has a line for it. A
//! PostgreSQL target carries its TLS trust ([`DbTarget::with_ca_file`]: `--db-ca-file`, else
//! the compiled-in roots) and the connector built from it.

use super::tls::{Connector, Trust};
use super::DbError;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A parsed database setting.
#[derive(Clone)]
pub enum DbTarget {
    Sqlite(PathBuf),
    Postgres(Box<PgTarget>),
}

/// A PostgreSQL URL, parsed.
#[derive(Clone)]
pub struct PgTarget {
    pub(super) config: tokio_postgres::Config,
    name: String,
    /// The URL itself held a password (not one from the password file).
    url_password: bool,
    /// Whose certificates a TLS connection trusts, and the connector built from it.
    trust: Trust,
    tls: Connector,
}

impl std::fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl PgTarget {
    /// `postgres://USER@HOST:PORT/DB`: the URL without its password, for logs.
    pub fn describe(&self) -> &str {
        &self.name
    }

    /// The driver's settings.
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// Whether the URL itself carries a password (refused on the command line; one
    /// from libpq's password file is fine).
    pub fn has_password(&self) -> bool {
        self.url_password
    }

    /// The TLS connector for this server (used as the URL's `sslmode` says).
    pub fn connector(&self) -> Connector {
        self.tls.clone()
    }

    /// Where the trust anchors come from.
    pub fn trust(&self) -> &Trust {
        &self.trust
    }
}

impl DbTarget {
    /// Parses `spec` as given by `setting` (named in the error).
    pub fn parse(spec: &str, setting: &str) -> Result<DbTarget, DbError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(DbError::Config {
                db: setting.to_string(),
                message: "is empty".into(),
                fix: "give sqlite:PATH, a file path, or postgres://USER@HOST:PORT/DATABASE".into(),
            });
        }
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            let mut config = tokio_postgres::Config::from_str(spec).map_err(|e| DbError::Config {
                // The text may hold a password: only the setting is named.
                db: setting.to_string(),
                message: format!("not a valid PostgreSQL URL ({e})"),
                fix: "write it as postgres://USER@HOST:PORT/DATABASE (percent-encode special characters)".into(),
            })?;
            if config.get_channel_binding() == tokio_postgres::config::ChannelBinding::Require {
                // tokio-postgres-rustls 0.13 never offers SCRAM channel binding.
                return Err(DbError::Config {
                    db: setting.to_string(),
                    message: "channel_binding=require: this client cannot bind the login to the TLS channel".into(),
                    fix: "drop channel_binding=require from the URL; with sslmode=require the server's certificate \
                          is verified (--db-ca-file) before the password exchange"
                        .into(),
                });
            }
            let url_password = config.get_password().is_some();
            if !url_password {
                if let Some(file) = super::passfile::location() {
                    if let Some(pw) = super::passfile::lookup(&config, &file)? {
                        config.password(pw.as_bytes());
                    }
                }
            }
            let name = describe(&config);
            let trust = Trust::SystemRoots;
            let tls = super::tls::connector(&trust, &name)?;
            return Ok(DbTarget::Postgres(Box::new(PgTarget {
                config,
                name,
                url_password,
                trust,
                tls,
            })));
        }
        if let Some(rest) = spec.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(DbError::Config {
                    db: setting.to_string(),
                    message: "sqlite: without a path".into(),
                    fix: "write sqlite:/var/lib/kiosk-review/review.sqlite".into(),
                });
            }
            return Ok(DbTarget::Sqlite(PathBuf::from(path)));
        }
        if spec.contains("://") {
            return Err(DbError::Config {
                db: setting.to_string(),
                message: "unknown database scheme".into(),
                fix: "use sqlite:PATH or postgres://USER@HOST:PORT/DATABASE".into(),
            });
        }
        Ok(DbTarget::Sqlite(PathBuf::from(spec)))
    }

    /// Trusts the CA certificates (PEM) in `ca_file` for TLS instead of the compiled-in
    /// roots (`--db-ca-file`). The file is read now: one that cannot be read or holds no
    /// certificate is a [`DbError::Config`] naming it; so is a CA file for SQLite.
    pub fn with_ca_file(self, ca_file: Option<&Path>) -> Result<DbTarget, DbError> {
        let Some(path) = ca_file else { return Ok(self) };
        match self {
            DbTarget::Sqlite(p) => Err(DbError::Config {
                db: p.display().to_string(),
                message: format!(
                    "--db-ca-file {} is for a PostgreSQL server, but this database is SQLite",
                    path.display()
                ),
                fix: "drop --db-ca-file, or give a postgres:// URL".into(),
            }),
            DbTarget::Postgres(mut pg) => {
                let trust = Trust::CaFile(path.to_path_buf());
                pg.tls = super::tls::connector(&trust, &pg.name)?;
                pg.trust = trust;
                Ok(DbTarget::Postgres(pg))
            }
        }
    }

    /// A path or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            DbTarget::Sqlite(p) => p.display().to_string(),
            DbTarget::Postgres(t) => t.name.clone(),
        }
    }
}

fn describe(c: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = c
        .get_hosts()
        .iter()
        .zip(c.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(h, p)| match h {
            tokio_postgres::config::Host::Tcp(h) => format!("{h}:{p}"),
            tokio_postgres::config::Host::Unix(d) => format!("{}:{p}", d.display()),
        })
        .collect();
    format!(
        "postgres://{}@{}/{}",
        c.get_user().unwrap_or(""),
        hosts.join(","),
        c.get_dbname().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_parse_and_the_password_never_shows() {
        assert!(matches!(DbTarget::parse("r.sqlite", "--db"), Ok(DbTarget::Sqlite(p)) if p.as_os_str() == "r.sqlite"));
        assert!(
            matches!(DbTarget::parse("sqlite:/var/r.db", "--db"), Ok(DbTarget::Sqlite(p)) if p.as_os_str() == "/var/r.db")
        );
        let t = DbTarget::parse("postgres://rev:s3cret@db.example:6543/review", "--db").unwrap();
        let DbTarget::Postgres(pg) = &t else { panic!() };
        assert!(pg.has_password());
        assert_eq!(t.describe(), "postgres://rev@db.example:6543/review");
        assert!(!format!("{t:?}").contains("s3cret"));
        let e = DbTarget::parse("postgres://rev:s3cret@db.example:notaport/review", "--db-file /x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("--db-file /x") && !e.contains("s3cret"), "{e}");
        assert!(DbTarget::parse("mysql://x", "--db").is_err());
        // --db-ca-file is for PostgreSQL only; none leaves the compiled-in roots.
        let e = DbTarget::parse("r.sqlite", "--db")
            .unwrap()
            .with_ca_file(Some(Path::new("/etc/ca.pem")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--db-ca-file /etc/ca.pem") && e.contains("SQLite"), "{e}");
        let t = t.with_ca_file(None).unwrap();
        let DbTarget::Postgres(pg) = &t else { panic!() };
        assert_eq!(pg.trust(), &Trust::SystemRoots);
        let e = DbTarget::parse("postgres://rev@db.example/review?channel_binding=require", "--db")
            .unwrap_err()
            .to_string();
        assert!(e.contains("channel_binding=require") && e.contains("Fix:"), "{e}");
        assert!(DbTarget::parse("  ", "--db").is_err());
    }
}
