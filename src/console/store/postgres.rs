//! The console's PostgreSQL backend: one database shared by every `kiosk console`
//! instance of a hall (or a province) behind a balancer. Each instance may receive any
//! kiosk's request, and each runs the offline watcher, so every write is one transaction
//! whose outcome the database decides:
//!
//! * an event is stored once: `(kiosk, seq)` is the primary key and the insert says
//!   `ON CONFLICT DO NOTHING`; only the transaction that stored it opens its alert;
//! * a heartbeat replaces the last one only when its seq is newer: a conditional upsert
//!   (`ON CONFLICT … DO UPDATE … WHERE`), so a replay on another instance is still a replay;
//! * at most one open "offline" alert per kiosk: a partial unique index, and the watchers'
//!   inserts say `ON CONFLICT DO NOTHING`;
//! * acknowledging is an update guarded by `acked_ms IS NULL`: the first member of staff wins;
//! * every new alert is announced with `NOTIFY` (a trigger; the payload is the row as
//!   JSON), and [`PgConsole::listen`] passes it to this instance's staff pages, whichever
//!   instance stored it.

use super::{closes, AlertRow, EventRow, EventsStored, HeartbeatOutcome, KioskRow, Write, Written, OFFLINE};
use crate::console::wire::{Heartbeat, KioskEvent};
use crate::console::ConsoleError;
use crate::pgdb::{self, Migrations, PgTarget, PoolSettings};
use deadpool_postgres::Pool;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::types::ToSql;

/// The advisory lock key the console's migrations run under ("kioskcon" as bytes).
const MIGRATION_LOCK: i64 = 0x6b69_6f73_6b63_6f6e;

/// The channel new alerts are announced on (payload: the alert's id).
const CHANNEL: &str = "kiosk_console_alerts";

const MIGRATIONS: &[&str] = &[
    // 1 (#17): the SQLite schema, with the offline alert made unique by an index and the
    // announcement trigger.
    "CREATE TABLE kiosks (
        id TEXT PRIMARY KEY,
        last_seen_ms BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,
        heartbeat TEXT NOT NULL
    );
    CREATE TABLE events (
        kiosk TEXT NOT NULL,
        seq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        screen TEXT,
        code TEXT,
        reasons TEXT NOT NULL,
        received_ms BIGINT NOT NULL,
        PRIMARY KEY (kiosk, seq)
    );
    CREATE INDEX events_received ON events (kiosk, received_ms);
    CREATE TABLE alerts (
        id BIGSERIAL PRIMARY KEY,
        kiosk TEXT NOT NULL,
        kind TEXT NOT NULL,
        seq BIGINT,
        code TEXT,
        reasons TEXT NOT NULL,
        raised_ms BIGINT NOT NULL,
        acked_by TEXT,
        acked_ms BIGINT,
        resolved_ms BIGINT
    );
    CREATE INDEX alerts_open ON alerts (kiosk, kind) WHERE acked_ms IS NULL AND resolved_ms IS NULL;
    CREATE INDEX alerts_raised ON alerts (raised_ms);
    CREATE UNIQUE INDEX alerts_one_offline ON alerts (kiosk) WHERE kind = 'offline' AND resolved_ms IS NULL;
    CREATE FUNCTION console_alert_announce() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        payload TEXT := row_to_json(NEW)::text;
    BEGIN
        -- A payload stops at 8000 bytes: a longer row is announced by its id alone.
        IF octet_length(payload) > 7900 THEN
            payload := NEW.id::text;
        END IF;
        PERFORM pg_notify('kiosk_console_alerts', payload);
        RETURN NEW;
    END $$;
    CREATE TRIGGER alerts_announce AFTER INSERT ON alerts
        FOR EACH ROW EXECUTE FUNCTION console_alert_announce();",
    crate::staff::PG_SCHEMA,
];

const ALERT_COLUMNS: &str = "id, kiosk, kind, seq, code, reasons, raised_ms, acked_by, acked_ms, resolved_ms";

/// The PostgreSQL store (a pool; cheap to clone).
#[derive(Clone)]
pub struct PgConsole {
    pool: Pool,
    name: Arc<str>,
    /// For the listener's own connection (LISTEN holds one outside the pool).
    target: Arc<PgTarget>,
    connect_timeout: Duration,
}

/// A count or a time as PostgreSQL's BIGINT (ours never exceed it).
fn big(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn alert_row(r: &tokio_postgres::Row) -> AlertRow {
    let reasons: String = r.get(5);
    AlertRow {
        id: r.get(0),
        kiosk: r.get(1),
        kind: r.get(2),
        seq: r.get::<_, Option<i64>>(3).map(|s| s as u64),
        code: r.get(4),
        reasons: serde_json::from_str(&reasons).unwrap_or_default(),
        raised_ms: r.get::<_, i64>(6) as u64,
        acked_by: r.get(7),
        acked_ms: r.get::<_, Option<i64>>(8).map(|s| s as u64),
        resolved_ms: r.get::<_, Option<i64>>(9).map(|s| s as u64),
    }
}

/// An alert row as the trigger announces it (`row_to_json`: `reasons` is the stored JSON text).
#[derive(serde::Deserialize)]
struct Announced {
    id: i64,
    kiosk: String,
    kind: String,
    seq: Option<i64>,
    code: Option<String>,
    reasons: String,
    raised_ms: i64,
    acked_by: Option<String>,
    acked_ms: Option<i64>,
    resolved_ms: Option<i64>,
}

impl From<Announced> for AlertRow {
    fn from(a: Announced) -> AlertRow {
        AlertRow {
            id: a.id,
            kiosk: a.kiosk,
            kind: a.kind,
            seq: a.seq.map(|s| s as u64),
            code: a.code,
            reasons: serde_json::from_str(&a.reasons).unwrap_or_default(),
            raised_ms: a.raised_ms as u64,
            acked_by: a.acked_by,
            acked_ms: a.acked_ms.map(|s| s as u64),
            resolved_ms: a.resolved_ms.map(|s| s as u64),
        }
    }
}

impl PgConsole {
    /// Connects, creating the pool, and applies the migrations (the console's own table
    /// `console_migrations` and lock: it may share a server, or a database in another
    /// schema, with the review centre).
    pub async fn connect(target: &PgTarget, pool: &PoolSettings) -> Result<PgConsole, ConsoleError> {
        let migrations = Migrations {
            service: "console",
            lock: MIGRATION_LOCK,
            table: "console_migrations",
            steps: MIGRATIONS,
        };
        let p = pgdb::open(target, pool, "kiosk console", &migrations).await?;
        Ok(PgConsole {
            pool: p,
            name: target.describe().into(),
            target: Arc::new(target.clone()),
            connect_timeout: pool.connect_timeout,
        })
    }

    pub fn describe(&self) -> &str {
        &self.name
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    fn err(&self, what: &'static str) -> impl Fn(tokio_postgres::Error) -> ConsoleError + '_ {
        move |source| pgdb::query_error(&self.name, what, source).into()
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, ConsoleError> {
        self.pool
            .get()
            .await
            .map_err(|e| pgdb::pool_error(&self.name, e).into())
    }

    async fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<tokio_postgres::Row>, ConsoleError> {
        let c = self.client().await?;
        let st = c.prepare_cached(sql).await.map_err(self.err("prepare"))?;
        c.query(&st, params).await.map_err(self.err("query"))
    }

    /// One kiosk request's write, in one transaction; with the alerts it opened, read
    /// back by the inserts themselves (no second query while a burst waits for the pool).
    pub async fn write(&self, w: &Write, now_ms: u64) -> Result<(Written, Vec<AlertRow>), ConsoleError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(self.err("begin"))?;
        let mut opened = vec![];
        let out = match w {
            Write::Heartbeat(hb) => Written::Heartbeat(self.heartbeat_in(&tx, hb, now_ms).await?),
            Write::Events { kiosk, events } => {
                Written::Events(self.add_events_in(&tx, kiosk, events, now_ms, &mut opened).await?)
            }
        };
        tx.commit().await.map_err(self.err("commit"))?;
        Ok((out, opened))
    }

    async fn heartbeat_in(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        hb: &Heartbeat,
        now_ms: u64,
    ) -> Result<HeartbeatOutcome, ConsoleError> {
        let json = serde_json::to_string(hb).unwrap_or_default();
        let stored = tx
            .query_opt(
                "INSERT INTO kiosks (id, last_seen_ms, last_seq, heartbeat) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET last_seen_ms = EXCLUDED.last_seen_ms,
                     last_seq = EXCLUDED.last_seq, heartbeat = EXCLUDED.heartbeat
                 WHERE kiosks.last_seq < EXCLUDED.last_seq
                 RETURNING id",
                &[&hb.kiosk_id, &big(now_ms), &big(hb.seq), &json],
            )
            .await
            .map_err(self.err("heartbeat"))?;
        if stored.is_none() {
            return Ok(HeartbeatOutcome::Replay);
        }
        tx.execute(
            "UPDATE alerts SET resolved_ms = $2 WHERE kiosk = $1 AND kind = $3 AND resolved_ms IS NULL",
            &[&hb.kiosk_id, &big(now_ms), &OFFLINE],
        )
        .await
        .map_err(self.err("heartbeat"))?;
        Ok(HeartbeatOutcome::Stored)
    }

    async fn add_events_in(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        kiosk: &str,
        events: &[KioskEvent],
        now_ms: u64,
        alerts: &mut Vec<AlertRow>,
    ) -> Result<EventsStored, ConsoleError> {
        let e = self.err("events");
        let mut new = 0;
        let mut opened = vec![];
        for ev in events {
            let reasons = serde_json::to_string(&ev.reasons).unwrap_or_else(|_| "[]".into());
            let n = tx
                .execute(
                    "INSERT INTO events (kiosk, seq, kind, at, screen, code, reasons, received_ms)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                    &[
                        &kiosk,
                        &big(ev.seq),
                        &ev.kind.id(),
                        &ev.at,
                        &ev.screen,
                        &ev.code,
                        &reasons,
                        &big(now_ms),
                    ],
                )
                .await
                .map_err(&e)?;
            if n != 1 {
                continue;
            }
            new += 1;
            if ev.kind.alerts() {
                let row = tx
                    .query_one(
                        &format!(
                            "INSERT INTO alerts (kiosk, kind, seq, code, reasons, raised_ms)
                             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ALERT_COLUMNS}"
                        ),
                        &[&kiosk, &ev.kind.id(), &big(ev.seq), &ev.code, &reasons, &big(now_ms)],
                    )
                    .await
                    .map_err(&e)?;
                let alert = alert_row(&row);
                opened.push(alert.id);
                alerts.push(alert);
            }
            // A recovery closes the alert it answers.
            for closed in closes(ev.kind) {
                tx.execute(
                    "UPDATE alerts SET resolved_ms = $3 WHERE kiosk = $1 AND kind = $2 AND resolved_ms IS NULL",
                    &[&kiosk, &closed.id(), &big(now_ms)],
                )
                .await
                .map_err(&e)?;
            }
        }
        let up_to: Option<i64> = tx
            .query_one("SELECT MAX(seq) FROM events WHERE kiosk = $1", &[&kiosk])
            .await
            .map_err(&e)?
            .get(0);
        Ok(EventsStored {
            up_to: up_to.unwrap_or(0) as u64,
            new,
            opened,
        })
    }

    /// Raises "offline" for silent kiosks; the partial unique index makes it once per
    /// kiosk however many watchers run at the same moment.
    pub async fn mark_offline(&self, cutoff_ms: u64, now_ms: u64) -> Result<Vec<(String, i64)>, ConsoleError> {
        let rows = self
            .query(
                "INSERT INTO alerts (kiosk, kind, reasons, raised_ms)
                 SELECT k.id, $3, '[]', $2 FROM kiosks k WHERE k.last_seen_ms < $1 AND NOT EXISTS
                     (SELECT 1 FROM alerts a WHERE a.kiosk = k.id AND a.kind = $3 AND a.resolved_ms IS NULL)
                 ON CONFLICT (kiosk) WHERE kind = 'offline' AND resolved_ms IS NULL DO NOTHING
                 RETURNING kiosk, id",
                &[&big(cutoff_ms), &big(now_ms), &OFFLINE],
            )
            .await?;
        let mut out: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        out.sort();
        Ok(out)
    }

    pub async fn kiosks(&self) -> Result<Vec<KioskRow>, ConsoleError> {
        let rows = self
            .query(
                "SELECT id, last_seen_ms, heartbeat, EXISTS (SELECT 1 FROM alerts a WHERE a.kiosk = k.id
                     AND a.kind = $1 AND a.resolved_ms IS NULL)
                 FROM kiosks k ORDER BY id",
                &[&OFFLINE],
            )
            .await?;
        let mut out = vec![];
        for r in rows {
            let id: String = r.get(0);
            // Written by this code from a validated heartbeat; unreadable means tampering.
            let Ok(heartbeat) = serde_json::from_str(r.get::<_, &str>(2)) else {
                log::error!("console database: kiosk {id}'s last heartbeat is unreadable; skipped");
                continue;
            };
            out.push(KioskRow {
                id,
                last_seen_ms: r.get::<_, i64>(1) as u64,
                heartbeat,
                offline: r.get(3),
            });
        }
        Ok(out)
    }

    pub async fn alert(&self, id: i64) -> Result<Option<AlertRow>, ConsoleError> {
        let rows = self
            .query(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"), &[&id])
            .await?;
        Ok(rows.first().map(alert_row))
    }

    pub async fn alerts(&self, open_only: bool) -> Result<Vec<AlertRow>, ConsoleError> {
        let filter = if open_only {
            "WHERE acked_ms IS NULL AND resolved_ms IS NULL"
        } else {
            ""
        };
        let rows = self
            .query(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts {filter} ORDER BY id DESC LIMIT 500"),
                &[],
            )
            .await?;
        Ok(rows.iter().map(alert_row).collect())
    }

    pub async fn ack(&self, id: i64, who: &str, now_ms: u64) -> Result<bool, ConsoleError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE alerts SET acked_by = $2, acked_ms = $3 WHERE id = $1 AND acked_ms IS NULL",
                &[&id, &who, &big(now_ms)],
            )
            .await
            .map_err(self.err("acknowledge"))?;
        Ok(n == 1)
    }

    pub async fn alerts_since(&self, since_ms: u64, limit: u32) -> Result<Vec<AlertRow>, ConsoleError> {
        let rows = self
            .query(
                &format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts WHERE raised_ms >= $1 OR (acked_ms IS NULL AND resolved_ms IS NULL)
                     ORDER BY id DESC LIMIT $2"
                ),
                &[&big(since_ms), &i64::from(limit)],
            )
            .await?;
        Ok(rows.iter().map(alert_row).collect())
    }

    pub async fn kiosk_alerts_since(&self, kiosk: &str, since_ms: u64) -> Result<Vec<AlertRow>, ConsoleError> {
        let rows = self
            .query(
                &format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts WHERE kiosk = $1 AND raised_ms >= $2 ORDER BY id DESC LIMIT 1000"
                ),
                &[&kiosk, &big(since_ms)],
            )
            .await?;
        Ok(rows.iter().map(alert_row).collect())
    }

    pub async fn kiosk_events_since(&self, kiosk: &str, since_ms: u64) -> Result<Vec<EventRow>, ConsoleError> {
        let rows = self
            .query(
                "SELECT seq, kind, at, screen, code, reasons, received_ms FROM events
                 WHERE kiosk = $1 AND received_ms >= $2 ORDER BY seq DESC LIMIT 1000",
                &[&kiosk, &big(since_ms)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| EventRow {
                seq: r.get::<_, i64>(0) as u64,
                kind: r.get(1),
                at: r.get(2),
                screen: r.get(3),
                code: r.get(4),
                reasons: serde_json::from_str(r.get::<_, &str>(5)).unwrap_or_default(),
                received_ms: r.get::<_, i64>(6) as u64,
            })
            .collect())
    }

    /// Passes every alert announced on the database (by any instance) to `feed`, until
    /// the task is aborted. The listening connection is this task's own; when it is lost
    /// (a restart, the network) the task reconnects with a growing wait, up to `max_wait`.
    /// Alerts announced meanwhile are not replayed: the staff page reloads its list every
    /// refresh interval, so they show then.
    pub async fn listen(self, feed: tokio::sync::broadcast::Sender<AlertRow>, max_wait: Duration) {
        let mut wait = Duration::from_millis(100);
        loop {
            let why = match self.listen_once(&feed).await {
                // It listened: the wait starts small again.
                Ok(ended) => {
                    wait = Duration::from_millis(100);
                    ended
                }
                Err(e) => e,
            };
            log::warn!(
                "console {}: alert announcements: {why}; reconnecting in {wait:?}",
                self.name
            );
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(max_wait.max(Duration::from_millis(100)));
        }
    }

    /// One listening connection: an error when it could not listen, else why it ended.
    async fn listen_once(&self, feed: &tokio::sync::broadcast::Sender<AlertRow>) -> Result<ConsoleError, ConsoleError> {
        use futures_util::StreamExt;
        let mut config = self.target.config().clone();
        config.connect_timeout(self.connect_timeout);
        config.application_name("kiosk console (alert listener)");
        let (client, mut conn) = config
            .connect(self.target.connector())
            .await
            .map_err(self.err("listen"))?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
            while let Some(m) = messages.next().await {
                match m {
                    Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                        if tx.send(n.payload().to_string()).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        log::warn!("console alert listener: {e}");
                        break;
                    }
                }
            }
        });
        let listening = client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .await
            .map_err(self.err("listen"));
        if let Err(e) = listening {
            driver.abort();
            return Err(e);
        }
        log::info!("console {}: listening for alerts from every instance", self.name);
        while let Some(payload) = rx.recv().await {
            // The row itself (read without a query, so a burst reaches the pages at once),
            // or its id when the row was too long for a payload.
            if let Ok(row) = serde_json::from_str::<Announced>(&payload) {
                let _ = feed.send(row.into());
                continue;
            }
            let Ok(id) = payload.parse::<i64>() else {
                log::warn!("console: an alert announcement it cannot read; skipped");
                continue;
            };
            match self.alert(id).await {
                Ok(Some(a)) => {
                    let _ = feed.send(a);
                }
                Ok(None) => {}
                Err(e) => log::warn!("console: announced alert {id} not read: {e}"),
            }
        }
        drop(client);
        Ok(ConsoleError::Unavailable {
            db: self.name.to_string(),
            message: "the listening connection ended".into(),
        })
    }
}
