//! PostgreSQL plumbing shared by the review centre's and the hall console's stores (issue
//! #17), so both services connect, migrate and fail the same way:
//!
//! * the database setting ([`DbTarget`]: `sqlite:PATH`, a plain path, or a `postgres://`
//!   URL, only ever shown without its password; one without a password takes it from
//!   libpq's password file, `PGPASSFILE` or `~/.pgpass`);
//! * TLS ([`tls`]) as the URL's `sslmode` says, the server's certificate always verified
//!   against `--db-ca-file` or the compiled-in roots;
//! * the connection pool ([`PoolSettings`], [`open`]): `tokio-postgres` with `deadpool`;
//!   a start-up failure (wrong password, no such database, server out of reach) is a
//!   [`DbError::Config`] naming the setting and the fix;
//! * versioned migrations ([`Migrations`]) applied at start-up under a session advisory
//!   lock, so instances starting together apply each step once;
//! * telling a server out of reach for now ([`DbError::Unavailable`]: the caller answers
//!   503 and the pool reconnects on a later call) from a statement the server refused.

mod passfile;
mod target;
pub mod tls;

pub use target::{DbTarget, PgTarget};
pub use tls::{Connector, Trust};

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod};
use std::time::Duration;

/// What went wrong with a PostgreSQL database, naming it (without its password).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A setting that cannot work (bad URL, refused login, no such database, server out
    /// of reach at start-up): what and the fix.
    #[error("database {db}: {message}. Fix: {fix}")]
    Config { db: String, message: String, fix: String },
    /// Out of reach for now (restart, network): answer 503 and retry.
    #[error("database {db} is unavailable: {message}")]
    Unavailable { db: String, message: String },
    /// The server refused a statement.
    #[error("database {db}: {what}: {source}")]
    Query {
        db: String,
        what: &'static str,
        source: tokio_postgres::Error,
    },
}

/// The pool of one instance.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Connections kept at most.
    pub size: usize,
    /// Connecting (TCP and authentication) may take this long.
    pub connect_timeout: Duration,
    /// A caller waits this long for a free pooled connection before [`DbError::Unavailable`].
    pub wait_timeout: Duration,
}

/// A service's schema: numbered steps recorded in `table`, applied under advisory lock `lock`.
pub struct Migrations {
    /// The service, for the log ("review database …").
    pub service: &'static str,
    /// The advisory lock key (unique per service, so two services may share a server).
    pub lock: i64,
    /// The table recording the steps applied.
    pub table: &'static str,
    pub steps: &'static [&'static str],
}

/// Whether a driver error means the server is out of reach (restart, network, shutdown)
/// rather than a refused statement: no SQLSTATE (I/O, a closed connection), or a
/// connection-class (08) or operator-intervention (57P) one.
pub fn is_unavailable(e: &tokio_postgres::Error) -> bool {
    e.is_closed()
        || e.code()
            .is_none_or(|c| c.code().starts_with("08") || c.code().starts_with("57P"))
}

/// A driver error on database `db` during `what`, classified.
pub fn query_error(db: &str, what: &'static str, source: tokio_postgres::Error) -> DbError {
    if is_unavailable(&source) {
        DbError::Unavailable {
            db: db.to_string(),
            message: format!("{what}: {source}"),
        }
    } else {
        DbError::Query {
            db: db.to_string(),
            what,
            source,
        }
    }
}

/// A pool error after start-up: the server's refusal, or out of reach for now.
pub fn pool_error(db: &str, e: PoolError) -> DbError {
    match e {
        PoolError::Backend(pe) => query_error(db, "connect", pe),
        other => DbError::Unavailable {
            db: db.to_string(),
            message: other.to_string(),
        },
    }
}

/// Builds the pool for `target`, connects once (a failure explained by [`startup_error`])
/// and applies `migrations`. `app` is the `application_name` the server's views show.
pub async fn open(
    target: &PgTarget,
    settings: &PoolSettings,
    app: &str,
    migrations: &Migrations,
) -> Result<Pool, DbError> {
    let mut config = target.config().clone();
    config.connect_timeout(settings.connect_timeout);
    if config.get_application_name().is_none() {
        config.application_name(app);
    }
    let mgr = Manager::from_config(
        config,
        target.connector(),
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let db = target.describe();
    let pool = Pool::builder(mgr)
        .max_size(settings.size.max(1))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .wait_timeout(Some(settings.wait_timeout))
        .create_timeout(Some(settings.connect_timeout + Duration::from_secs(1)))
        .recycle_timeout(Some(settings.connect_timeout))
        .build()
        .map_err(|e| DbError::Config {
            db: db.to_string(),
            message: format!("cannot build the connection pool: {e}"),
            fix: "check --db-pool-size".into(),
        })?;
    let mut c = pool.get().await.map_err(|e| startup_error(db, e))?;
    migrate(&mut c, db, migrations).await?;
    Ok(pool)
}

/// A start-up connection failure, explained: the setting and the fix.
pub fn startup_error(db: &str, e: PoolError) -> DbError {
    if let PoolError::Backend(pe) = &e {
        if let Some((message, fix)) = tls::explain(pe) {
            return DbError::Config {
                db: db.to_string(),
                message,
                fix,
            };
        }
    }
    let (message, fix) = match &e {
        PoolError::Backend(pe) => match pe.code().map(|c| c.code()) {
            Some("28P01") | Some("28000") => (
                format!("the server refused the login: {pe}"),
                "check the user and password in the URL (--db-file or the environment variable) and pg_hba.conf",
            ),
            Some("3D000") => (
                format!("the database does not exist: {pe}"),
                "create it (createdb -O USER DATABASE) or correct the database name in the URL",
            ),
            Some(_) => (
                format!("the server refused the connection: {pe}"),
                "check the URL and the server's log",
            ),
            None => (
                format!("cannot reach the server: {pe}"),
                "check the host and port in the URL, that PostgreSQL runs and listens there (listen_addresses), and the firewall",
            ),
        },
        PoolError::Timeout(_) => (
            "no connection within the connect timeout".to_string(),
            "check the host and port in the URL, that PostgreSQL runs and listens there, and the firewall (or raise --db-connect-timeout)",
        ),
        other => (other.to_string(), "check the URL"),
    };
    DbError::Config {
        db: db.to_string(),
        message,
        fix: fix.to_string(),
    }
}

/// Applies the steps not yet recorded, each in its own transaction, holding the advisory
/// lock so that instances starting together wait for each other.
async fn migrate(c: &mut deadpool_postgres::Object, db: &str, m: &Migrations) -> Result<(), DbError> {
    let e = |source| query_error(db, "migration", source);
    c.execute("SELECT pg_advisory_lock($1)", &[&m.lock]).await.map_err(e)?;
    let result = async {
        c.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {} (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
            m.table
        ))
        .await
        .map_err(e)?;
        let done: i32 = c
            .query_one(&format!("SELECT COALESCE(MAX(version), 0) FROM {}", m.table), &[])
            .await
            .map_err(e)?
            .get(0);
        for (i, step) in m.steps.iter().enumerate().skip(usize::try_from(done).unwrap_or(0)) {
            let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
            let tx = c.transaction().await.map_err(e)?;
            tx.batch_execute(step).await.map_err(e)?;
            tx.execute(
                &format!("INSERT INTO {} (version, applied_at) VALUES ($1, $2)", m.table),
                &[&version, &chrono::Utc::now().timestamp()],
            )
            .await
            .map_err(e)?;
            tx.commit().await.map_err(e)?;
            log::info!("{} database {db}: applied migration {version}", m.service);
        }
        Ok::<_, DbError>(())
    }
    .await;
    let unlocked = c.execute("SELECT pg_advisory_unlock($1)", &[&m.lock]).await.map_err(e);
    result.and(unlocked.map(drop))
}
