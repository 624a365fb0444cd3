//! Operator daily counters: totals per calendar day (China Standard Time), kept on disk
//! in `DATA_DIR/counters/YYYY-MM-DD.json` so they survive a restart, and exported per day
//! as CSV. Totals only — never personal data.
//!
//! The runtime's [`Counters`] count since the process started and the printer's
//! [`PaperStatus`] since the last paper reload; [`DailyCounters::absorb`] turns both into
//! increments and adds them to the current day.

use super::metrics::Counters;
use crate::ports::PaperStatus;
use chrono::{DateTime, FixedOffset, NaiveDate};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum DailyError {
    #[error(
        "cannot write the daily counters {path}: {source} (check that the data directory is writable and not full)"
    )]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read the daily counters {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the daily counters file {path} is damaged ({source}); move it aside and the day starts from zero")]
    Damaged { path: PathBuf, source: serde_json::Error },
}

/// One day's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DayTotals {
    pub sessions: u64,
    pub receipts: u64,
    pub claims: u64,
    pub retakes: u64,
    pub rejections: u64,
    pub captures: u64,
    /// Slips spoiled by a printer fault (paper out, cover open, cutter) and reprinted.
    pub spoiled_slips: u64,
    /// Analysed frames whose guidance named this failed capture check.
    pub failures_by_check: BTreeMap<String, u64>,
}

/// The last runtime/printer figures seen, to compute increments.
#[derive(Debug, Clone)]
struct Seen {
    counters: Counters,
    spoiled_since_reload: u32,
}

/// Today's totals, bound to a data directory.
#[derive(Debug)]
pub struct DailyCounters {
    dir: PathBuf,
    day: NaiveDate,
    totals: DayTotals,
    seen: Option<Seen>,
    /// Changes not yet on disk, and when the file was last written.
    dirty: bool,
    written: Option<Instant>,
}

/// Frame-by-frame failures change up to 10 times a second while posing; they are written
/// at most this often. Receipts, sessions and spoiled slips are written at once.
const HINT_FLUSH_EVERY: Duration = Duration::from_secs(2);

/// The file of day `day` in `data_dir`.
pub fn day_file(data_dir: &Path, day: NaiveDate) -> PathBuf {
    data_dir
        .join("counters")
        .join(format!("{}.json", day.format("%Y-%m-%d")))
}

/// The totals stored for `day` (zero when nothing was counted that day).
pub fn load_day(data_dir: &Path, day: NaiveDate) -> Result<DayTotals, DailyError> {
    let path = day_file(data_dir, day);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| DailyError::Damaged { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DayTotals::default()),
        Err(source) => Err(DailyError::Read { path, source }),
    }
}

/// Today in China Standard Time.
pub fn today() -> NaiveDate {
    now().date_naive()
}

fn now() -> DateTime<FixedOffset> {
    chrono::Utc::now().with_timezone(&crate::domain::china_time())
}

impl DailyCounters {
    /// Opens today's totals from `data_dir` (as stored by an earlier run of the kiosk).
    pub fn open(data_dir: &Path) -> Result<DailyCounters, DailyError> {
        DailyCounters::open_on(data_dir, today())
    }

    pub fn open_on(data_dir: &Path, day: NaiveDate) -> Result<DailyCounters, DailyError> {
        Ok(DailyCounters {
            dir: data_dir.to_path_buf(),
            day,
            totals: load_day(data_dir, day)?,
            seen: None,
            dirty: false,
            written: None,
        })
    }

    pub fn day(&self) -> NaiveDate {
        self.day
    }

    pub fn totals(&self) -> &DayTotals {
        &self.totals
    }

    /// Adds what changed since the last call to the totals of `day` (a new day starts
    /// from that day's file). The first call only takes the figures as the baseline:
    /// whatever they hold was counted before this process watched them (the paper
    /// counter comes from the print journal on disk) or by an earlier call.
    pub fn absorb(&mut self, day: NaiveDate, c: &Counters, paper: &PaperStatus) -> Result<(), DailyError> {
        if day != self.day {
            self.flush()?;
            self.day = day;
            self.totals = load_day(&self.dir, day)?;
        }
        let Some(seen) = self.seen.replace(Seen {
            counters: c.clone(),
            spoiled_since_reload: paper.spoiled_since_reload,
        }) else {
            return Ok(());
        };
        let t = &mut self.totals;
        let before = (
            t.sessions,
            t.receipts,
            t.claims,
            t.retakes,
            t.rejections,
            t.captures,
            t.spoiled_slips,
        );
        let s = &seen.counters;
        // `saturating_sub`: a runtime restarted under us starts from zero again.
        t.sessions += c.sessions.saturating_sub(s.sessions);
        t.receipts += c.receipts.saturating_sub(s.receipts);
        t.claims += c.claims.saturating_sub(s.claims);
        t.retakes += c.retakes.saturating_sub(s.retakes);
        t.rejections += c.rejections.saturating_sub(s.rejections);
        t.captures += c.captures.saturating_sub(s.captures);
        // The paper counter drops to zero on a reload: then all of today's value is new.
        let spoiled = if paper.spoiled_since_reload >= seen.spoiled_since_reload {
            paper.spoiled_since_reload - seen.spoiled_since_reload
        } else {
            paper.spoiled_since_reload
        };
        t.spoiled_slips += u64::from(spoiled);
        let mut hints_changed = false;
        for (check, n) in &c.hints {
            let was = s.hints.get(check).copied().unwrap_or(0);
            if *n > was {
                *t.failures_by_check.entry(check.clone()).or_default() += n - was;
                hints_changed = true;
            }
        }
        let after = (
            t.sessions,
            t.receipts,
            t.claims,
            t.retakes,
            t.rejections,
            t.captures,
            t.spoiled_slips,
        );
        if before != after {
            self.dirty = true;
            return self.flush();
        }
        if hints_changed {
            self.dirty = true;
            if self.written.is_none_or(|w| w.elapsed() >= HINT_FLUSH_EVERY) {
                return self.flush();
            }
        }
        Ok(())
    }

    /// Writes the current day's totals if anything changed (write to a temporary file,
    /// then rename, so a power cut leaves the old or the new file, never half of one).
    pub fn flush(&mut self) -> Result<(), DailyError> {
        if !self.dirty {
            return Ok(());
        }
        let path = day_file(&self.dir, self.day);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(path.parent().expect("day file has a parent"))?;
            let tmp = path.with_extension("json.tmp");
            let json = serde_json::to_vec_pretty(&self.totals).map_err(std::io::Error::other)?;
            std::fs::write(&tmp, json)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|source| DailyError::Write {
            path: path.clone(),
            source,
        })?;
        self.dirty = false;
        self.written = Some(Instant::now());
        Ok(())
    }
}

impl Drop for DailyCounters {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            log::error!("{e}");
        }
    }
}

/// The CSV header of a daily export.
pub const CSV_HEADER: &str =
    "date,kiosk,sessions,receipts,claims,retakes,rejections,captures,spoiled_slips,failures_by_check";

/// Writes day `day`'s totals (from disk) to `DATA_DIR/exports/counters-YYYY-MM-DD.csv`
/// and returns the file. `failures_by_check` is `check=count` pairs joined by `;`.
pub fn export_day(data_dir: &Path, kiosk_id: &str, day: NaiveDate) -> Result<PathBuf, DailyError> {
    let t = load_day(data_dir, day)?;
    let dir = data_dir.join("exports");
    let path = dir.join(format!("counters-{}.csv", day.format("%Y-%m-%d")));
    let by: Vec<String> = t.failures_by_check.iter().map(|(k, n)| format!("{k}={n}")).collect();
    let text = format!(
        "{CSV_HEADER}\n{},{},{},{},{},{},{},{},{},{}\n",
        day.format("%Y-%m-%d"),
        csv_field(kiosk_id),
        t.sessions,
        t.receipts,
        t.claims,
        t.retakes,
        t.rejections,
        t.captures,
        t.spoiled_slips,
        by.join(";")
    );
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, text))
        .map_err(|source| DailyError::Write {
            path: path.clone(),
            source,
        })?;
    Ok(path)
}

/// Kiosk ids come from the config; keep a stray comma or quote from breaking the row.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl DayTotals {
    /// Whether anything at all was counted.
    pub fn any(&self) -> bool {
        *self != DayTotals::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn counters(sessions: u64, receipts: u64, face: u64) -> Counters {
        let mut c = Counters {
            sessions,
            receipts,
            ..Default::default()
        };
        if face > 0 {
            c.hints.insert("face_size".into(), face);
        }
        c
    }

    fn paper(spoiled: u32) -> PaperStatus {
        PaperStatus {
            spoiled_since_reload: spoiled,
            ..Default::default()
        }
    }

    #[test]
    fn counts_increments_and_survives_a_restart() {
        let d = tempfile::tempdir().unwrap();
        let mut dc = DailyCounters::open_on(d.path(), day(26)).unwrap();
        // Baseline: the journal already says 2 spoiled slips on this roll.
        dc.absorb(day(26), &counters(0, 0, 0), &paper(2)).unwrap();
        dc.absorb(day(26), &counters(1, 1, 5), &paper(3)).unwrap();
        dc.absorb(day(26), &counters(2, 1, 9), &paper(3)).unwrap();
        assert_eq!(dc.totals().sessions, 2);
        assert_eq!(dc.totals().receipts, 1);
        assert_eq!(dc.totals().spoiled_slips, 1);
        assert_eq!(dc.totals().failures_by_check["face_size"], 9);
        drop(dc);

        // A restart: the runtime counts from zero again; the day goes on from the file.
        let mut dc = DailyCounters::open_on(d.path(), day(26)).unwrap();
        assert_eq!(dc.totals().sessions, 2, "totals reloaded from disk");
        dc.absorb(day(26), &counters(0, 0, 0), &paper(3)).unwrap();
        dc.absorb(day(26), &counters(1, 1, 0), &paper(0)).unwrap(); // paper reloaded
        dc.absorb(day(26), &counters(1, 1, 0), &paper(1)).unwrap();
        assert_eq!(dc.totals().sessions, 3);
        assert_eq!(dc.totals().receipts, 2);
        assert_eq!(
            dc.totals().spoiled_slips,
            2,
            "a reload resets the printer's count, not the day's"
        );
        drop(dc);
        assert_eq!(load_day(d.path(), day(26)).unwrap().receipts, 2);
    }

    #[test]
    fn a_new_day_starts_from_zero_and_keeps_the_old_one() {
        let d = tempfile::tempdir().unwrap();
        let mut dc = DailyCounters::open_on(d.path(), day(26)).unwrap();
        dc.absorb(day(26), &counters(0, 0, 0), &paper(0)).unwrap();
        dc.absorb(day(26), &counters(3, 2, 0), &paper(0)).unwrap();
        dc.absorb(day(27), &counters(4, 3, 0), &paper(1)).unwrap();
        assert_eq!(dc.day(), day(27));
        assert_eq!(dc.totals().receipts, 1);
        assert_eq!(dc.totals().spoiled_slips, 1);
        drop(dc);
        assert_eq!(load_day(d.path(), day(26)).unwrap().receipts, 2);
        assert_eq!(load_day(d.path(), day(27)).unwrap().sessions, 1);
        assert!(!load_day(d.path(), day(28)).unwrap().any());
    }

    #[test]
    fn exports_one_day_as_csv() {
        let d = tempfile::tempdir().unwrap();
        let mut dc = DailyCounters::open_on(d.path(), day(26)).unwrap();
        dc.absorb(day(26), &counters(0, 0, 0), &paper(0)).unwrap();
        let mut c = counters(5, 4, 7);
        c.hints.insert("eyes_open".into(), 2);
        c.retakes = 1;
        dc.absorb(day(26), &c, &paper(1)).unwrap();
        dc.flush().unwrap();
        let p = export_day(d.path(), "GZ-TH-01, hall 2", day(26)).unwrap();
        assert!(p.ends_with("exports/counters-2026-11-26.csv"), "{}", p.display());
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(
            lines[1],
            "2026-11-26,\"GZ-TH-01, hall 2\",5,4,0,1,0,0,1,eyes_open=2;face_size=7"
        );
        // Another day exports its own (empty) row.
        let other = std::fs::read_to_string(export_day(d.path(), "k", day(25)).unwrap()).unwrap();
        assert_eq!(other.lines().nth(1), Some("2026-11-25,k,0,0,0,0,0,0,0,"));
    }

    #[test]
    fn a_damaged_file_is_named_in_the_error() {
        let d = tempfile::tempdir().unwrap();
        let f = day_file(d.path(), day(26));
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, b"{not json").unwrap();
        let e = DailyCounters::open_on(d.path(), day(26)).unwrap_err().to_string();
        assert!(e.contains("2026-11-26.json") && e.contains("move it aside"), "{e}");
    }
}
