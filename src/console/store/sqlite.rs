//! The console's SQLite backend: one file (WAL, every commit on disk), one console. The
//! file is created 0600: it holds no personal data, but hand-off codes and the hall's
//! whereabouts are nobody else's business.

use super::{closes, AlertRow, EventRow, EventsStored, HeartbeatOutcome, KioskRow, Write, Written, OFFLINE};
use crate::console::wire::{Heartbeat, KioskEvent};
use crate::console::ConsoleError;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kiosks (
    id TEXT PRIMARY KEY,
    last_seen_ms INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    heartbeat TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    kiosk TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    screen TEXT,
    code TEXT,
    reasons TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (kiosk, seq)
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kiosk TEXT NOT NULL,
    kind TEXT NOT NULL,
    seq INTEGER,
    code TEXT,
    reasons TEXT NOT NULL,
    raised_ms INTEGER NOT NULL,
    acked_by TEXT,
    acked_ms INTEGER,
    resolved_ms INTEGER
);
CREATE INDEX IF NOT EXISTS alerts_open ON alerts (kiosk, kind) WHERE acked_ms IS NULL AND resolved_ms IS NULL;
";

pub struct SqliteConsole {
    conn: Connection,
}

impl SqliteConsole {
    pub fn open(path: &Path) -> Result<SqliteConsole, ConsoleError> {
        let conn = open_private(path, SCHEMA)?;
        Ok(SqliteConsole { conn })
    }

    /// Stores a heartbeat unless it is a replay; a kiosk that was offline is back.
    pub fn heartbeat(&mut self, hb: &Heartbeat, now_ms: u64) -> Result<HeartbeatOutcome, ConsoleError> {
        let tx = self.conn.transaction()?;
        let out = heartbeat_in(&tx, hb, now_ms)?;
        tx.commit()?;
        Ok(out)
    }

    /// Stores the events not stored before, in order; each that needs staff opens an
    /// alert. Returns the highest seq stored for the kiosk, how many were new and the
    /// alerts opened (in order).
    pub fn add_events(
        &mut self,
        kiosk: &str,
        events: &[KioskEvent],
        now_ms: u64,
    ) -> Result<EventsStored, ConsoleError> {
        let tx = self.conn.transaction()?;
        let out = add_events_in(&tx, kiosk, events, now_ms)?;
        tx.commit()?;
        Ok(out)
    }

    /// Applies several kiosks' writes in one transaction, so they share one commit (one
    /// fsync) — the group commit that lets a burst of alerts through at disk speed
    /// instead of one fsync per request. Each write runs in a savepoint of its own: one
    /// that fails is undone alone and gets its error; the others still commit. When the
    /// commit itself fails, every write gets that error.
    pub fn write_group(&mut self, writes: &[Write], now_ms: u64) -> Vec<Result<Written, ConsoleError>> {
        let run = |conn: &mut Connection| -> Result<Vec<Result<Written, ConsoleError>>, rusqlite::Error> {
            let mut tx = conn.transaction()?;
            let mut out = Vec::with_capacity(writes.len());
            for w in writes {
                let sp = tx.savepoint()?;
                let done = match w {
                    Write::Heartbeat(hb) => heartbeat_in(&sp, hb, now_ms).map(Written::Heartbeat),
                    Write::Events { kiosk, events } => add_events_in(&sp, kiosk, events, now_ms).map(Written::Events),
                };
                if done.is_ok() {
                    sp.commit()?;
                }
                out.push(done.map_err(ConsoleError::from));
            }
            tx.commit()?;
            Ok(out)
        };
        match run(&mut self.conn) {
            Ok(out) => out,
            Err(e) => {
                let why = e.to_string();
                writes.iter().map(|_| Err(ConsoleError::Commit(why.clone()))).collect()
            }
        }
    }

    /// Raises "offline" for every kiosk not heard from since `cutoff_ms` that has no open
    /// offline alert yet; returns those kiosks with their new alert's id.
    pub fn mark_offline(&mut self, cutoff_ms: u64, now_ms: u64) -> Result<Vec<(String, i64)>, ConsoleError> {
        let tx = self.conn.transaction()?;
        let ids: Vec<String> = {
            let mut st = tx.prepare(
                "SELECT id FROM kiosks k WHERE last_seen_ms < ?1 AND NOT EXISTS
                 (SELECT 1 FROM alerts a WHERE a.kiosk = k.id AND a.kind = ?2 AND a.resolved_ms IS NULL)",
            )?;
            let rows = st.query_map(params![cutoff_ms as i64, OFFLINE], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = vec![];
        for id in ids {
            tx.execute(
                "INSERT INTO alerts (kiosk, kind, reasons, raised_ms) VALUES (?1, ?2, '[]', ?3)",
                params![id, OFFLINE, now_ms as i64],
            )?;
            let alert = tx.last_insert_rowid();
            out.push((id, alert));
        }
        tx.commit()?;
        Ok(out)
    }

    pub fn kiosks(&self) -> Result<Vec<KioskRow>, ConsoleError> {
        let mut st = self.conn.prepare(
            "SELECT id, last_seen_ms, heartbeat, EXISTS (SELECT 1 FROM alerts a WHERE a.kiosk = k.id AND a.kind = ?1 AND a.resolved_ms IS NULL)
             FROM kiosks k ORDER BY id",
        )?;
        let rows = st.query_map([OFFLINE], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })?;
        let mut out = vec![];
        for row in rows {
            let (id, seen, json, offline) = row?;
            // Written by this code from a validated heartbeat; unreadable means tampering.
            let Ok(heartbeat) = serde_json::from_str(&json) else {
                log::error!("console database: kiosk {id}'s last heartbeat is unreadable; skipped");
                continue;
            };
            out.push(KioskRow {
                id,
                last_seen_ms: seen as u64,
                heartbeat,
                offline,
            });
        }
        Ok(out)
    }

    /// One alert by id.
    pub fn alert(&self, id: i64) -> Result<Option<AlertRow>, ConsoleError> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"))?;
        Ok(st.query_row([id], alert_row).optional()?)
    }

    /// Alerts, newest first: only the open ones (neither acknowledged nor resolved) or all.
    pub fn alerts(&self, open_only: bool) -> Result<Vec<AlertRow>, ConsoleError> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts {} ORDER BY id DESC LIMIT 500",
            if open_only {
                "WHERE acked_ms IS NULL AND resolved_ms IS NULL"
            } else {
                ""
            }
        );
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map([], alert_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Acknowledges alert `id` as `who`; false when there is no such open alert.
    pub fn ack(&mut self, id: i64, who: &str, now_ms: u64) -> Result<bool, ConsoleError> {
        let n = self.conn.execute(
            "UPDATE alerts SET acked_by = ?2, acked_ms = ?3 WHERE id = ?1 AND acked_ms IS NULL",
            params![id, who, now_ms as i64],
        )?;
        Ok(n == 1)
    }
}

impl SqliteConsole {
    /// Alerts raised since `since_ms`, newest first, at most `limit`; every alert still open
    /// is included however old it is.
    pub fn alerts_since(&self, since_ms: u64, limit: u32) -> Result<Vec<AlertRow>, ConsoleError> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE raised_ms >= ?1 OR (acked_ms IS NULL AND resolved_ms IS NULL)
             ORDER BY id DESC LIMIT ?2"
        ))?;
        let rows = st.query_map(params![since_ms as i64, limit], alert_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One kiosk's alerts raised since `since_ms`, newest first.
    pub fn kiosk_alerts_since(&self, kiosk: &str, since_ms: u64) -> Result<Vec<AlertRow>, ConsoleError> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE kiosk = ?1 AND raised_ms >= ?2 ORDER BY id DESC LIMIT 1000"
        ))?;
        let rows = st.query_map(params![kiosk, since_ms as i64], alert_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One kiosk's events received since `since_ms`, newest first.
    pub fn kiosk_events_since(&self, kiosk: &str, since_ms: u64) -> Result<Vec<EventRow>, ConsoleError> {
        let mut st = self.conn.prepare(
            "SELECT seq, kind, at, screen, code, reasons, received_ms FROM events
             WHERE kiosk = ?1 AND received_ms >= ?2 ORDER BY seq DESC LIMIT 1000",
        )?;
        let rows = st.query_map(params![kiosk, since_ms as i64], |r| {
            let reasons: String = r.get(5)?;
            Ok(EventRow {
                seq: r.get::<_, i64>(0)? as u64,
                kind: r.get(1)?,
                at: r.get(2)?,
                screen: r.get(3)?,
                code: r.get(4)?,
                reasons: serde_json::from_str(&reasons).unwrap_or_default(),
                received_ms: r.get::<_, i64>(6)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// [`SqliteConsole::heartbeat`] inside the caller's transaction.
fn heartbeat_in(tx: &Connection, hb: &Heartbeat, now_ms: u64) -> Result<HeartbeatOutcome, rusqlite::Error> {
    let last: Option<i64> = tx
        .query_row("SELECT last_seq FROM kiosks WHERE id = ?1", [&hb.kiosk_id], |r| {
            r.get(0)
        })
        .optional()?;
    if last.is_some_and(|l| l as u64 >= hb.seq) {
        return Ok(HeartbeatOutcome::Replay);
    }
    let json = serde_json::to_string(hb).unwrap_or_default();
    tx.execute(
        "INSERT INTO kiosks (id, last_seen_ms, last_seq, heartbeat) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET last_seen_ms = ?2, last_seq = ?3, heartbeat = ?4",
        params![hb.kiosk_id, now_ms as i64, hb.seq as i64, json],
    )?;
    tx.execute(
        "UPDATE alerts SET resolved_ms = ?2 WHERE kiosk = ?1 AND kind = ?3 AND resolved_ms IS NULL",
        params![hb.kiosk_id, now_ms as i64, OFFLINE],
    )?;
    Ok(HeartbeatOutcome::Stored)
}

/// [`SqliteConsole::add_events`] inside the caller's transaction.
fn add_events_in(
    tx: &Connection,
    kiosk: &str,
    events: &[KioskEvent],
    now_ms: u64,
) -> Result<EventsStored, rusqlite::Error> {
    let mut new = 0;
    let mut opened = vec![];
    for e in events {
        let reasons = serde_json::to_string(&e.reasons).unwrap_or_else(|_| "[]".into());
        let n = tx.execute(
            "INSERT OR IGNORE INTO events (kiosk, seq, kind, at, screen, code, reasons, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                kiosk,
                e.seq as i64,
                e.kind.id(),
                e.at,
                e.screen,
                e.code,
                reasons,
                now_ms as i64
            ],
        )?;
        if n == 1 {
            new += 1;
            if e.kind.alerts() {
                tx.execute(
                    "INSERT INTO alerts (kiosk, kind, seq, code, reasons, raised_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![kiosk, e.kind.id(), e.seq as i64, e.code, reasons, now_ms as i64],
                )?;
                opened.push(tx.last_insert_rowid());
            }
            // A recovery closes the alert it answers.
            for closed in closes(e.kind) {
                tx.execute(
                    "UPDATE alerts SET resolved_ms = ?3 WHERE kiosk = ?1 AND kind = ?2 AND resolved_ms IS NULL",
                    params![kiosk, closed.id(), now_ms as i64],
                )?;
            }
        }
    }
    let up_to: Option<i64> = tx.query_row("SELECT MAX(seq) FROM events WHERE kiosk = ?1", [kiosk], |r| r.get(0))?;
    Ok(EventsStored {
        up_to: up_to.unwrap_or(0) as u64,
        new,
        opened,
    })
}

const ALERT_COLUMNS: &str = "id, kiosk, kind, seq, code, reasons, raised_ms, acked_by, acked_ms, resolved_ms";

fn alert_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertRow> {
    let reasons: String = r.get(5)?;
    Ok(AlertRow {
        id: r.get(0)?,
        kiosk: r.get(1)?,
        kind: r.get(2)?,
        seq: r.get::<_, Option<i64>>(3)?.map(|s| s as u64),
        code: r.get(4)?,
        reasons: serde_json::from_str(&reasons).unwrap_or_default(),
        raised_ms: r.get::<_, i64>(6)? as u64,
        acked_by: r.get(7)?,
        acked_ms: r.get::<_, Option<i64>>(8)?.map(|s| s as u64),
        resolved_ms: r.get::<_, Option<i64>>(9)?.map(|s| s as u64),
    })
}

/// Opens (creating it 0600) the SQLite file at `path` in WAL mode with every commit on disk
/// (an event the kiosk dropped from its queue must survive a power cut), and runs
/// `schema`. The console's store and the kiosk's event queue both open their files so.
pub(in crate::console) fn open_private(path: &Path, schema: &str) -> Result<Connection, ConsoleError> {
    let db = |source| ConsoleError::Db {
        path: path.to_path_buf(),
        source,
    };
    crate::private_fs::prepare_file(path).map_err(|source| ConsoleError::File {
        path: path.to_path_buf(),
        source,
    })?;
    let conn = Connection::open(path).map_err(db)?;
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;")
        .map_err(db)?;
    conn.execute_batch(schema).map_err(db)?;
    Ok(conn)
}
