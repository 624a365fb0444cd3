//! The kiosk's durable queue of console events: SQLite in the data directory (0600), so a
//! hall network outage or a power cut loses none. Each event gets its queue position as
//! `seq`, which the console stores once per (kiosk, seq); positions start at the queue's
//! creation time in milliseconds, so a queue file lost and made again never reuses one.

use super::wire::{EventKind, KioskEvent};
use super::ConsoleError;
use rusqlite::{params, Connection};
use std::path::Path;

pub struct EventQueue {
    conn: Connection,
    max: usize,
}

impl EventQueue {
    pub fn open(path: &Path, max: usize) -> Result<EventQueue, ConsoleError> {
        let db = |source| ConsoleError::Db {
            path: path.to_path_buf(),
            source,
        };
        let conn = super::store::open_private(
            path,
            "CREATE TABLE IF NOT EXISTS q (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL);",
        )?;
        let started: i64 = conn
            .query_row("SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'q'", [], |r| {
                r.get(0)
            })
            .map_err(db)?;
        if started == 0 {
            let now = super::server::now_ms() as i64;
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('q', ?1)", [now])
                .map_err(db)?;
        }
        Ok(EventQueue { conn, max: max.max(1) })
    }

    /// Queues an event (its `seq` is assigned here); beyond the limit the oldest go.
    pub fn push(&mut self, mut event: KioskEvent) -> Result<u64, ConsoleError> {
        let tx = self.conn.transaction()?;
        event.seq = 0;
        let json = serde_json::to_string(&event).unwrap_or_default();
        tx.execute("INSERT INTO q (event) VALUES (?1)", [json])?;
        let seq = tx.last_insert_rowid() as u64;
        let n: i64 = tx.query_row("SELECT COUNT(*) FROM q", [], |r| r.get(0))?;
        let over = (n as usize).saturating_sub(self.max);
        if over > 0 {
            tx.execute(
                "DELETE FROM q WHERE seq IN (SELECT seq FROM q ORDER BY seq LIMIT ?1)",
                [over as i64],
            )?;
            log::warn!(
                "console event queue full ({} events): the {over} oldest dropped",
                self.max
            );
        }
        tx.commit()?;
        Ok(seq)
    }

    /// The oldest `limit` events, in order.
    pub fn pending(&self, limit: usize) -> Result<Vec<KioskEvent>, ConsoleError> {
        let mut st = self.conn.prepare("SELECT seq, event FROM q ORDER BY seq LIMIT ?1")?;
        let rows = st.query_map([limit as i64], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = vec![];
        for row in rows {
            let (seq, json) = row?;
            match serde_json::from_str::<KioskEvent>(&json) {
                Ok(mut e) => {
                    e.seq = seq as u64;
                    out.push(e);
                }
                Err(e) => log::error!("console event queue: entry {seq} unreadable ({e}); skipped"),
            }
        }
        Ok(out)
    }

    /// Forgets every event up to `seq` (the console has them).
    pub fn drop_up_to(&mut self, seq: u64) -> Result<(), ConsoleError> {
        self.conn
            .execute("DELETE FROM q WHERE seq <= ?1", params![seq as i64])?;
        Ok(())
    }

    pub fn len(&self) -> Result<usize, ConsoleError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM q", [], |r| r.get::<_, i64>(0))? as usize)
    }

    pub fn is_empty(&self) -> Result<bool, ConsoleError> {
        Ok(self.len()? == 0)
    }
}

/// An event now, with China Standard Time.
pub fn event(kind: EventKind, screen: Option<&str>, code: Option<&str>, reasons: Vec<String>) -> KioskEvent {
    KioskEvent {
        seq: 0,
        kind,
        at: chrono::Utc::now()
            .with_timezone(&crate::domain::china_time())
            .to_rfc3339(),
        screen: screen.map(str::to_string),
        code: code.map(str::to_string),
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_keep_their_order_survive_a_reopen_and_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let mut q = EventQueue::open(&path, 3).unwrap();
        let a = q
            .push(event(EventKind::CallStaff, Some("posing"), None, vec![]))
            .unwrap();
        let b = q.push(event(EventKind::PaperOut, None, None, vec![])).unwrap();
        assert!(a > 1_600_000_000_000 && b == a + 1, "{a} {b}");
        drop(q);
        let mut q = EventQueue::open(&path, 3).unwrap();
        let kinds: Vec<EventKind> = q.pending(10).unwrap().iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::CallStaff, EventKind::PaperOut]);
        for _ in 0..3 {
            q.push(event(EventKind::CameraLost, None, None, vec![])).unwrap();
        }
        let p = q.pending(10).unwrap();
        assert_eq!(p.len(), 3, "bounded");
        assert_eq!(p[0].kind, EventKind::CameraLost, "the oldest went first");
        q.drop_up_to(p[1].seq).unwrap();
        assert_eq!(q.pending(10).unwrap().len(), 1);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o077, 0);
    }
}
