//! The print journal (SQLite, WAL) in the data directory: every slip goes
//! queued → sent → confirmed, or → spoiled → reprinted → confirmed, so a crash or power
//! cut neither loses a slip nor prints it twice. The photo and the masked name are kept
//! only until `confirmed` (secure_delete overwrites them); the row keeps number,
//! document, region, state and times. Also the paper counters.

use crate::domain::PhotoJpeg;
use crate::domain::Slip;
use crate::domain::SlipJob;
use crate::ports::PaperStatus;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("print journal {path}: {source}. Fix: check that the data directory is writable and not full")]
pub struct JournalError {
    pub path: PathBuf,
    #[source]
    pub source: rusqlite::Error,
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Sent,
    Confirmed,
    Spoiled,
    Reprinted,
    /// Given up before its cut was confirmed (`kiosk receipt --reprint` whose printer
    /// failed): the operator was told; never printed later.
    Cancelled,
}

impl JobState {
    fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Sent => "sent",
            JobState::Confirmed => "confirmed",
            JobState::Spoiled => "spoiled",
            JobState::Reprinted => "reprinted",
            JobState::Cancelled => "cancelled",
        }
    }
    fn parse(s: &str) -> JobState {
        match s {
            "queued" => JobState::Queued,
            "sent" => JobState::Sent,
            "confirmed" => JobState::Confirmed,
            "spoiled" => JobState::Spoiled,
            "cancelled" => JobState::Cancelled,
            _ => JobState::Reprinted,
        }
    }
}

/// A job still to print, as stored.
#[derive(Debug, Clone)]
pub struct StoredJob {
    pub id: i64,
    pub state: JobState,
    pub job: SlipJob,
    /// Printed as 补打 (a reprint, or a slip whose earlier cut was never confirmed).
    pub reprint: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    slip: SlipDto,
    issued_at: String,
    masked_name: Option<String>,
    reprint: bool,
    /// The receipt token for the QR (absent in jobs journalled before tokens existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<crate::domain::ReceiptToken>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum SlipDto {
    Receipt {
        number: String,
        valid_until: String,
        doc: String,
        region: String,
    },
    Claim {
        code: String,
        doc: String,
        region: String,
    },
    HandOff {
        code: String,
        doc: String,
        region: String,
        reasons: Vec<crate::domain::Prompt>,
    },
}

pub struct Journal {
    conn: Connection,
    path: PathBuf,
    roll_mm: u32,
}

fn now() -> String {
    chrono::Utc::now()
        .with_timezone(&crate::domain::china_time())
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}

impl Journal {
    pub fn open(path: &Path, roll_mm: u32) -> Result<Journal, JournalError> {
        let e = |source| JournalError {
            path: path.to_path_buf(),
            source,
        };
        // Slips name the person: owner-only whatever the umask. A failure here shows as
        // SQLite's own open error just below, which names the file.
        let _ = crate::private_fs::prepare_file(path);
        let conn = Connection::open(path).map_err(e)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(e)?;
        conn.pragma_update(None, "secure_delete", "ON").map_err(e)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS jobs (
                id INTEGER PRIMARY KEY,
                key TEXT NOT NULL,
                kind TEXT NOT NULL,
                doc TEXT NOT NULL,
                region TEXT NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                payload TEXT,
                photo BLOB
            );
            CREATE INDEX IF NOT EXISTS jobs_key ON jobs(key);
            CREATE TABLE IF NOT EXISTS paper (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                slips INTEGER NOT NULL,
                spoiled INTEGER NOT NULL,
                used_mm INTEGER NOT NULL,
                reloaded_at TEXT
            );
            INSERT OR IGNORE INTO paper VALUES (1, 0, 0, 0, NULL);",
        )
        .map_err(e)?;
        Ok(Journal {
            conn,
            path: path.to_path_buf(),
            roll_mm,
        })
    }

    fn err(&self, source: rusqlite::Error) -> JournalError {
        JournalError {
            path: self.path.clone(),
            source,
        }
    }

    /// Records a new job as `queued` (with its photo until confirmed).
    pub fn queue(&mut self, job: &SlipJob, reprint: bool) -> Result<i64, JournalError> {
        let (key, kind, doc, region, dto) = match &job.slip {
            Slip::Receipt {
                number,
                valid_until,
                doc,
                region,
            } => (
                number.to_string(),
                "receipt",
                doc.to_string(),
                region.to_string(),
                SlipDto::Receipt {
                    number: number.to_string(),
                    valid_until: valid_until.format("%Y-%m-%d").to_string(),
                    doc: doc.to_string(),
                    region: region.to_string(),
                },
            ),
            Slip::Claim { code, doc, region } => (
                code.to_string(),
                "claim",
                doc.to_string(),
                region.to_string(),
                SlipDto::Claim {
                    code: code.to_string(),
                    doc: doc.to_string(),
                    region: region.to_string(),
                },
            ),
            Slip::HandOff {
                code,
                doc,
                region,
                reasons,
            } => (
                code.to_string(),
                "hand-off",
                doc.to_string(),
                region.to_string(),
                SlipDto::HandOff {
                    code: code.to_string(),
                    doc: doc.to_string(),
                    region: region.to_string(),
                    reasons: reasons.clone(),
                },
            ),
        };
        // Operator reprints are their own kind of entry (an audit of who got a second slip).
        let kind = if reprint { "reprint" } else { kind };
        let payload = serde_json::to_string(&Payload {
            slip: dto,
            issued_at: job.issued_at.to_rfc3339(),
            masked_name: job.masked_name.clone(),
            reprint,
            token: job.token.clone(),
        })
        .expect("payload serialises");
        let t = now();
        self.conn
            .execute(
                "INSERT INTO jobs (key, kind, doc, region, state, created_at, updated_at, payload, photo)
                 VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?5, ?6, ?7)",
                params![
                    key,
                    kind,
                    doc,
                    region,
                    t,
                    payload,
                    job.photo.as_ref().map(|p| p.0.clone())
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn set_state(&mut self, id: i64, state: JobState) -> Result<(), JournalError> {
        let t = now();
        let sql = match state {
            // Nothing personal and no slip survives `confirmed` (or `cancelled`).
            JobState::Confirmed | JobState::Cancelled => {
                "UPDATE jobs SET state = ?1, updated_at = ?2, payload = NULL, photo = NULL WHERE id = ?3"
            }
            JobState::Spoiled => "UPDATE jobs SET state = ?1, updated_at = ?2, attempts = attempts + 1 WHERE id = ?3",
            _ => "UPDATE jobs SET state = ?1, updated_at = ?2 WHERE id = ?3",
        };
        self.conn
            .execute(sql, params![state.as_str(), t, id])
            .map_err(|e| self.err(e))?;
        if matches!(state, JobState::Confirmed | JobState::Cancelled) {
            // Old page images with the photo live on in the WAL until it is truncated.
            self.conn
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// The job's next print is marked 补打 (an earlier attempt may have come out whole);
    /// kept in the row so a crash before the reprint does not forget it.
    pub fn mark_reprint(&mut self, id: i64) -> Result<(), JournalError> {
        self.conn
            .execute(
                "UPDATE jobs SET payload = json_set(payload, '$.reprint', json('true')) WHERE id = ?1 AND payload IS NOT NULL",
                [id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn state(&self, id: i64) -> Result<Option<JobState>, JournalError> {
        self.conn
            .query_row("SELECT state FROM jobs WHERE id = ?1", [id], |r| r.get::<_, String>(0))
            .optional()
            .map(|s| s.map(|s| JobState::parse(&s)))
            .map_err(|e| self.err(e))
    }

    /// Jobs not confirmed, oldest first: printed at start-up. A job found `sent` may have
    /// come out before the crash, so it is reprinted marked 补打 — never a second original.
    pub fn unfinished(&self) -> Result<Vec<StoredJob>, JournalError> {
        let mut st = self
            .conn
            .prepare("SELECT id, state, payload, photo FROM jobs WHERE state != 'confirmed' AND payload IS NOT NULL ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<Vec<u8>>>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, state, payload, photo) = row.map_err(|e| self.err(e))?;
            let state = JobState::parse(&state);
            let Some((job, reprint)) = decode(&payload, photo) else {
                log::error!("print journal: job {id} has an unreadable payload; skipped");
                continue;
            };
            out.push(StoredJob {
                id,
                state,
                job,
                reprint: reprint || matches!(state, JobState::Sent | JobState::Reprinted),
            });
        }
        Ok(out)
    }

    /// Counts a finished slip and the paper it used.
    pub fn count_slip(&mut self, spoiled: bool, mm: u32) -> Result<(), JournalError> {
        self.conn
            .execute(
                "UPDATE paper SET slips = slips + ?1, spoiled = spoiled + ?2, used_mm = used_mm + ?3 WHERE id = 1",
                params![u32::from(!spoiled), u32::from(spoiled), mm],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn reloaded(&mut self) -> Result<(), JournalError> {
        self.conn
            .execute(
                "UPDATE paper SET slips = 0, spoiled = 0, used_mm = 0, reloaded_at = ?1 WHERE id = 1",
                [now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn paper(&self, near_end_sensor: bool) -> Result<PaperStatus, JournalError> {
        let (slips, spoiled, used): (u32, u32, u32) = self
            .conn
            .query_row("SELECT slips, spoiled, used_mm FROM paper WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| self.err(e))?;
        let left = self.roll_mm.saturating_sub(used);
        Ok(PaperStatus {
            slips_since_reload: slips,
            spoiled_since_reload: spoiled,
            estimated_left_mm: left,
            near_end: near_end_sensor || left < self.roll_mm / 20,
        })
    }

    /// Journal rows for a number (operator reprint lookup): (id, state).
    pub fn find(&self, key: &str) -> Result<Vec<(i64, JobState)>, JournalError> {
        let mut st = self
            .conn
            .prepare("SELECT id, state FROM jobs WHERE key = ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([key], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?;
        let mut v = Vec::new();
        for r in rows {
            let (id, s) = r.map_err(|e| self.err(e))?;
            v.push((id, JobState::parse(&s)));
        }
        Ok(v)
    }
}

/// One journal row as the operator and the tests see it (nothing personal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalRow {
    pub id: i64,
    /// `receipt`, `claim` or `reprint` (an operator reprint).
    pub kind: String,
    pub state: JobState,
    /// The photo/name payload is still held (only until `confirmed`).
    pub holds_payload: bool,
}

impl Journal {
    /// Every row for a number or claim code, oldest first.
    pub fn rows(&self, key: &str) -> Result<Vec<JournalRow>, JournalError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, kind, state, payload IS NOT NULL OR photo IS NOT NULL FROM jobs WHERE key = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([key], |r| {
                Ok(JournalRow {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    state: JobState::parse(&r.get::<_, String>(2)?),
                    holds_payload: r.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}

fn decode(payload: &str, photo: Option<Vec<u8>>) -> Option<(SlipJob, bool)> {
    let p: Payload = serde_json::from_str(payload).ok()?;
    let slip = match p.slip {
        SlipDto::Receipt {
            number,
            valid_until,
            doc,
            region,
        } => Slip::Receipt {
            number: crate::domain::ReceiptNumber::new(&number).ok()?,
            valid_until: chrono::NaiveDate::parse_from_str(&valid_until, "%Y-%m-%d").ok()?,
            doc: doc.parse().ok()?,
            region: region.parse().ok()?,
        },
        SlipDto::Claim { code, doc, region } => Slip::Claim {
            code: crate::domain::ClaimCode(code),
            doc: doc.parse().ok()?,
            region: region.parse().ok()?,
        },
        SlipDto::HandOff {
            code,
            doc,
            region,
            reasons,
        } => Slip::HandOff {
            code: crate::domain::HandOffCode::new(&code).ok()?,
            doc: doc.parse().ok()?,
            region: region.parse().ok()?,
            reasons,
        },
    };
    Some((
        SlipJob {
            slip,
            photo: photo.map(PhotoJpeg),
            masked_name: p.masked_name,
            issued_at: chrono::DateTime::parse_from_rfc3339(&p.issued_at).ok()?,
            token: p.token,
        },
        p.reprint,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> SlipJob {
        SlipJob {
            slip: Slip::Receipt {
                number: crate::domain::ReceiptNumber::new("20261126000042").unwrap(),
                valid_until: chrono::NaiveDate::from_ymd_opt(2027, 5, 25).unwrap(),
                doc: crate::config::DocumentId::IdCard,
                region: "440100".parse().unwrap(),
            },
            photo: Some(PhotoJpeg(b"FACE-BYTES-0123456789".to_vec())),
            masked_name: Some("张**".into()),
            issued_at: chrono::Utc::now().with_timezone(&crate::domain::china_time()),
            token: None,
        }
    }

    #[test]
    fn lifecycle_and_wipe_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("print-journal.sqlite");
        let mut j = Journal::open(&path, 50_000).unwrap();
        let id = j.queue(&job(), false).unwrap();
        assert_eq!(j.unfinished().unwrap().len(), 1);
        j.set_state(id, JobState::Sent).unwrap();
        // A crash here: the restarted journal offers it again, marked as a reprint.
        drop(j);
        let mut j = Journal::open(&path, 50_000).unwrap();
        let u = j.unfinished().unwrap();
        assert_eq!(u.len(), 1);
        assert!(u[0].reprint);
        assert_eq!(u[0].job.photo.as_ref().unwrap().0, b"FACE-BYTES-0123456789");
        // A spoiled job is reprinted unmarked, unless it may have come out whole.
        j.set_state(id, JobState::Spoiled).unwrap();
        let id2 = j.queue(&job(), false).unwrap();
        j.set_state(id2, JobState::Spoiled).unwrap();
        j.mark_reprint(id2).unwrap();
        let u = j.unfinished().unwrap();
        assert_eq!((u[0].id, u[0].reprint), (id, false));
        assert_eq!((u[1].id, u[1].reprint), (id2, true));
        j.set_state(id2, JobState::Confirmed).unwrap();
        j.set_state(id, JobState::Confirmed).unwrap();
        assert!(j.unfinished().unwrap().is_empty());
        assert_eq!(
            j.find("20261126000042").unwrap(),
            vec![(id, JobState::Confirmed), (id2, JobState::Confirmed)]
        );
        j.count_slip(false, 120).unwrap();
        let p = j.paper(false).unwrap();
        assert_eq!((p.slips_since_reload, p.estimated_left_mm), (1, 49_880));
        j.reloaded().unwrap();
        assert_eq!(j.paper(false).unwrap().slips_since_reload, 0);
        drop(j);
        // Nothing personal left in any file of the database.
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            for needle in [&b"FACE-BYTES"[..], "张**".as_bytes()] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "personal data survived"
                );
            }
        }
    }
}
