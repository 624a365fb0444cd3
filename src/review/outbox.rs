//! The kiosk's durable outbox: SQLite in the data dir (WAL, `synchronous=FULL`, so a row
//! is on disk when `enqueue` returns), with the request body — photo and details —
//! sealed with ChaCha20-Poly1305 under a per-kiosk key file (0600).
//!
//! A row is written *before* the first byte is sent and lives until its decision is
//! delivered. When the service acknowledges the submission id the sealed body is erased
//! (`secure_delete=ON`, WAL checkpointed): from then on only the idempotency key,
//! submission id, claim code, document and region remain — and, once approved, the
//! receipt number and token until the slip is printed (the token is no personal data but
//! a secret: it is never logged).

use super::ReviewError;
use crate::config::{DocumentId, RegionCode};
use crate::domain::ReceiptToken;
use crate::domain::{ClaimCode, Prompt, ReceiptNumber};
use crate::ports::{Decision, OutboxDepth};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub const DB_FILE: &str = "outbox.sqlite";
pub const KEY_FILE: &str = "outbox.key";
/// The key's name among systemd credentials (`LoadCredentialEncrypted=outbox.key:…`),
/// looked up in `$CREDENTIALS_DIRECTORY`; see docs/security.md.
pub const CREDENTIAL: &str = "outbox.key";

/// Where the outbox key comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// A systemd credential: decrypted by systemd (with the TPM where one is bound) into a
    /// memory-backed directory only this service can read. Never created by the kiosk.
    Credential(PathBuf),
    /// `outbox.key` beside the outbox, created on first use (0600): a stolen disk holds
    /// the key with the data.
    DataDir(PathBuf),
}

impl KeySource {
    /// The credential when systemd passed one, else the data directory's key file.
    pub fn find(data_dir: &Path, credentials_dir: Option<&Path>) -> KeySource {
        match credentials_dir.map(|d| d.join(CREDENTIAL)) {
            Some(p) if p.exists() => KeySource::Credential(p),
            _ => KeySource::DataDir(data_dir.join(KEY_FILE)),
        }
    }

    /// As [`KeySource::find`] with this process's `$CREDENTIALS_DIRECTORY`.
    pub fn from_env(data_dir: &Path) -> KeySource {
        let creds = std::env::var_os("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty());
        KeySource::find(data_dir, creds.as_deref().map(Path::new))
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    idem_key TEXT PRIMARY KEY,
    claim_code TEXT NOT NULL,
    doc TEXT NOT NULL,
    region TEXT NOT NULL,
    sealed BLOB,
    submission_id TEXT,
    decision TEXT,
    -- 0: a live session waits for it; 1: the person left (a claim slip was printed);
    -- 2: orphaned by a restart (crash, power cut): its receipt prints when decided.
    abandoned INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
-- Rows that can never be sent (their body does not decrypt, their document is unknown,
-- the service keeps failing on them): out of the worker's way, kept for staff with the
-- claim code, the body still sealed under the outbox key and dropped after
-- DEAD_LETTER_BODY_DAYS.
CREATE TABLE IF NOT EXISTS dead_letter (
    idem_key TEXT PRIMARY KEY,
    claim_code TEXT NOT NULL,
    doc TEXT NOT NULL,
    region TEXT NOT NULL,
    sealed BLOB,
    submission_id TEXT,
    reason TEXT NOT NULL,
    quarantined_at INTEGER NOT NULL
);
";

/// Days a quarantined row keeps its sealed body (photo and details) for staff to look
/// into; after that only the claim code and the reason remain.
pub const DEAD_LETTER_BODY_DAYS: i64 = 7;

/// A row taken out of the outbox because it can never be sent.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeadLetter {
    pub idem_key: String,
    pub claim_code: String,
    /// Why; names no person.
    pub reason: String,
    /// Unix seconds.
    pub at: i64,
}

/// What a waiting person is told when their photo could never be sent.
pub fn undeliverable() -> Prompt {
    Prompt::new(
        "upload_undeliverable",
        "照片无法送审，请联系工作人员",
        "The photo could not be sent for review; please ask staff",
    )
}

/// One outbox row without its sealed body.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub idem_key: String,
    pub claim_code: ClaimCode,
    pub doc: DocumentId,
    pub region: RegionCode,
    /// The sealed body is still there (not yet acknowledged).
    pub has_body: bool,
    pub submission_id: Option<String>,
    pub decision: Option<Decision>,
    pub owner: Owner,
}

/// Who waits for an entry's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// The session that submitted it, in this process.
    Session,
    /// Nobody: the person left with a claim slip; the service keeps the receipt.
    Abandoned,
    /// The session died with the process (crash, power cut) before any slip was printed:
    /// the kiosk prints the receipt itself once it is approved.
    Orphaned,
}

impl Owner {
    fn from_db(v: i64) -> Owner {
        match v {
            0 => Owner::Session,
            2 => Owner::Orphaned,
            _ => Owner::Abandoned,
        }
    }
}

/// A decision as stored in the outbox.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum StoredDecision {
    /// The token is required: an approval stored by a version that kept no token does
    /// not parse, so the entry reads as undecided and the worker polls its status again
    /// (the submission id is kept), which brings the token.
    Approved {
        number: ReceiptNumber,
        valid_until: chrono::NaiveDate,
        token: ReceiptToken,
    },
    Rejected {
        reasons: Vec<Prompt>,
    },
    Refused {
        reason: Prompt,
    },
}

pub struct Outbox {
    conn: Connection,
    path: PathBuf,
    /// `None` when opened only to count and list rows ([`depth`], [`dead_letters`]):
    /// that must work beside a stopped kiosk without its credential, and must never
    /// create a key.
    cipher: Option<ChaCha20Poly1305>,
}

/// A full disk must be an error the kiosk can refuse a session with, not its death: where
/// the data dir's limit is a file-size limit (`ulimit -f`, `prlimit --fsize`, some
/// quota setups) the kernel sends SIGXFSZ, whose default action kills the process. Ignored,
/// the write fails with EFBIG instead, SQLite rolls the transaction back, and the session
/// is refused with `outbox_unavailable`.
fn ignore_sigxfsz() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use nix::sys::signal::{signal, SigHandler, Signal};
        // SAFETY: installs SIG_IGN, no handler code runs; nothing else in the kiosk handles SIGXFSZ.
        if let Err(e) = unsafe { signal(Signal::SIGXFSZ, SigHandler::SigIgn) } {
            log::warn!("cannot ignore SIGXFSZ ({e}): a file-size limit on the data dir would kill the kiosk");
        }
    });
}

impl Outbox {
    /// Opens (creating) the outbox in `data_dir`, with its key from a systemd credential
    /// when the service has one, else `outbox.key` beside it.
    pub fn open(data_dir: &Path) -> Result<Outbox, ReviewError> {
        Outbox::open_with(data_dir, &KeySource::from_env(data_dir))
    }

    pub fn open_with(data_dir: &Path, key: &KeySource) -> Result<Outbox, ReviewError> {
        let key = match key {
            KeySource::Credential(p) => load_key(p, false)?,
            KeySource::DataDir(p) => {
                crate::private_fs::create_dir(data_dir)
                    .map_err(|e| ReviewError::file(data_dir, format!("cannot create the data dir: {e}")))?;
                load_key(p, true)?
            }
        };
        Outbox::open_inner(data_dir, Some(ChaCha20Poly1305::new(Key::from_slice(&key[..]))))
    }

    /// Opens an existing outbox to count and list its rows, without its key.
    fn open_rows_only(data_dir: &Path) -> Result<Outbox, ReviewError> {
        Outbox::open_inner(data_dir, None)
    }

    fn open_inner(data_dir: &Path, cipher: Option<ChaCha20Poly1305>) -> Result<Outbox, ReviewError> {
        ignore_sigxfsz();
        crate::private_fs::create_dir(data_dir)
            .map_err(|e| ReviewError::file(data_dir, format!("cannot create the data dir: {e}")))?;
        let path = data_dir.join(DB_FILE);
        let e = |source| ReviewError::Outbox {
            path: path.clone(),
            source,
        };
        // Sealed bodies aside, the rows say who submitted what and when: owner only.
        crate::private_fs::prepare_file(&path)
            .map_err(|err| ReviewError::file(&path, format!("cannot create: {err}")))?;
        let conn = Connection::open(&path).map_err(e)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; PRAGMA busy_timeout=5000;",
        )
        .map_err(e)?;
        conn.execute_batch(SCHEMA).map_err(e)?;
        let cutoff = chrono::Utc::now().timestamp() - DEAD_LETTER_BODY_DAYS * 86_400;
        conn.execute(
            "UPDATE dead_letter SET sealed=NULL WHERE sealed IS NOT NULL AND quarantined_at < ?1",
            [cutoff],
        )
        .map_err(e)?;
        Ok(Outbox { conn, cipher, path })
    }

    fn cipher(&self) -> Result<&ChaCha20Poly1305, ReviewError> {
        self.cipher
            .as_ref()
            .ok_or(ReviewError::Crypto("the outbox was opened without its key"))
    }

    fn e(&self) -> impl Fn(rusqlite::Error) -> ReviewError + '_ {
        |source| ReviewError::Outbox {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes a new entry durably (fsync'd on return). `body` is sealed here.
    pub fn enqueue(
        &self,
        idem_key: &str,
        claim: &ClaimCode,
        doc: DocumentId,
        region: &RegionCode,
        body: &[u8],
    ) -> Result<(), ReviewError> {
        let nonce: [u8; 12] = rand::random();
        let mut sealed = nonce.to_vec();
        let ct = self
            .cipher()?
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: body,
                    aad: idem_key.as_bytes(),
                },
            )
            .map_err(|_| ReviewError::Crypto("sealing failed"))?;
        sealed.extend_from_slice(&ct);
        self.conn
            .execute(
                "INSERT INTO outbox (idem_key, claim_code, doc, region, sealed, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    idem_key,
                    claim.0,
                    doc.as_str(),
                    region.as_str(),
                    sealed,
                    chrono::Utc::now().timestamp()
                ],
            )
            .map_err(self.e())?;
        Ok(())
    }

    /// The decrypted body of an entry not yet acknowledged.
    pub fn body(&self, idem_key: &str) -> Result<Option<Zeroizing<Vec<u8>>>, ReviewError> {
        let sealed: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT sealed FROM outbox WHERE idem_key=?1", [idem_key], |r| r.get(0))
            .optional()
            .map_err(self.e())?
            .flatten();
        let Some(sealed) = sealed else { return Ok(None) };
        if sealed.len() < 12 {
            return Err(ReviewError::file(&self.path, format!("entry {idem_key} is truncated")));
        }
        let plain = self
            .cipher()?
            .decrypt(
                Nonce::from_slice(&sealed[..12]),
                Payload {
                    msg: &sealed[12..],
                    aad: idem_key.as_bytes(),
                },
            )
            .map_err(|_| {
                ReviewError::file(
                    &self.path,
                    format!("entry {idem_key} does not decrypt: was {KEY_FILE} replaced?"),
                )
            })?;
        Ok(Some(Zeroizing::new(plain)))
    }

    /// The service acknowledged the submission: keep its id, erase photo and details.
    pub fn acknowledge(&self, idem_key: &str, submission_id: &str) -> Result<(), ReviewError> {
        self.conn
            .execute(
                "UPDATE outbox SET submission_id=?2, sealed=NULL WHERE idem_key=?1",
                params![idem_key, submission_id],
            )
            .map_err(self.e())?;
        self.checkpoint();
        Ok(())
    }

    /// Moves the WAL into the database and truncates it, so erased pages leave the disk.
    fn checkpoint(&self) {
        if let Err(e) = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
            log::warn!("outbox {}: checkpoint failed: {e}", self.path.display());
        }
    }

    /// Records the decision (and erases any body still there, e.g. after a 4xx).
    pub fn decide(&self, idem_key: &str, d: &Decision) -> Result<(), ReviewError> {
        let stored = match d {
            Decision::Approved {
                number,
                valid_until,
                token,
            } => StoredDecision::Approved {
                number: number.clone(),
                valid_until: *valid_until,
                token: token.clone(),
            },
            Decision::Rejected(r) => StoredDecision::Rejected { reasons: r.clone() },
            Decision::Refused(p) => StoredDecision::Refused { reason: p.clone() },
        };
        let json = serde_json::to_string(&stored)?;
        self.conn
            .execute(
                "UPDATE outbox SET decision=?2, sealed=NULL WHERE idem_key=?1",
                params![idem_key, json],
            )
            .map_err(self.e())?;
        self.checkpoint();
        Ok(())
    }

    pub fn abandon(&self, idem_key: &str) -> Result<(), ReviewError> {
        self.conn
            .execute("UPDATE outbox SET abandoned=1 WHERE idem_key=?1", [idem_key])
            .map_err(self.e())?;
        Ok(())
    }

    /// At start-up: every entry a session owned is orphaned (that session died with the
    /// process before any slip was printed), so its receipt is printed once decided.
    pub fn orphan_all(&self) -> Result<usize, ReviewError> {
        self.conn
            .execute("UPDATE outbox SET abandoned=2 WHERE abandoned=0", [])
            .map_err(self.e())
    }

    /// Takes a row that can never be sent out of the worker's way, into `dead_letter`
    /// (body still sealed), with one ERROR line naming the row (no personal data). A live
    /// session's row stays as a refusal so the person is told at once and sent to staff;
    /// any other row leaves the outbox (its claim code is in `dead_letter` for staff).
    pub fn quarantine(&self, idem_key: &str, reason: &str, session_waits: bool) -> Result<(), ReviewError> {
        let now = chrono::Utc::now().timestamp();
        let tx = self.conn.unchecked_transaction().map_err(self.e())?;
        tx.execute(
            "INSERT OR REPLACE INTO dead_letter (idem_key, claim_code, doc, region, sealed, submission_id, reason, quarantined_at)
             SELECT idem_key, claim_code, doc, region, sealed, submission_id, ?2, ?3 FROM outbox WHERE idem_key=?1",
            params![idem_key, reason, now],
        )
        .map_err(self.e())?;
        if session_waits {
            let json = serde_json::to_string(&StoredDecision::Refused {
                reason: undeliverable(),
            })?;
            tx.execute(
                "UPDATE outbox SET decision=?2, sealed=NULL WHERE idem_key=?1",
                params![idem_key, json],
            )
            .map_err(self.e())?;
        } else {
            tx.execute("DELETE FROM outbox WHERE idem_key=?1", [idem_key])
                .map_err(self.e())?;
        }
        tx.commit().map_err(self.e())?;
        self.checkpoint();
        log::error!(
            "outbox {}: entry {idem_key} can never be sent ({reason}); quarantined. Fix: see `kiosk diag`; \
             the person's claim code is kept for staff",
            self.path.display()
        );
        Ok(())
    }

    /// The quarantined rows, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, ReviewError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT idem_key, claim_code, reason, quarantined_at FROM dead_letter ORDER BY quarantined_at, rowid",
            )
            .map_err(self.e())?;
        let rows = st
            .query_map([], |r| {
                Ok(DeadLetter {
                    idem_key: r.get(0)?,
                    claim_code: r.get(1)?,
                    reason: r.get(2)?,
                    at: r.get(3)?,
                })
            })
            .map_err(self.e())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.e())?;
        Ok(rows)
    }

    pub fn remove(&self, idem_key: &str) -> Result<(), ReviewError> {
        self.conn
            .execute("DELETE FROM outbox WHERE idem_key=?1", [idem_key])
            .map_err(self.e())?;
        Ok(())
    }

    pub fn get(&self, idem_key: &str) -> Result<Option<Entry>, ReviewError> {
        Ok(self.entries()?.into_iter().find(|e| e.idem_key == idem_key))
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> Result<Vec<Entry>, ReviewError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT idem_key, claim_code, doc, region, sealed IS NOT NULL, submission_id, decision, abandoned
                 FROM outbox ORDER BY created_at, rowid",
            )
            .map_err(self.e())?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, bool>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })
            .map_err(self.e())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.e())?;
        let mut out = vec![];
        for (idem, claim, doc, region, has_body, sid, decision, abandoned) in rows {
            let (Ok(doc), Ok(region)) = (doc.parse(), region.parse()) else {
                // Written by a version or config that knew this document or region: it can
                // never be sent from here. Quarantined once, instead of an ERROR on every read.
                self.quarantine(&idem, "unknown document or region", false)?;
                continue;
            };
            let decision = decision
                .as_deref()
                .and_then(|d| serde_json::from_str::<StoredDecision>(d).ok())
                .map(|d| match d {
                    StoredDecision::Approved {
                        number,
                        valid_until,
                        token,
                    } => Decision::Approved {
                        number,
                        valid_until,
                        token,
                    },
                    StoredDecision::Rejected { reasons } => Decision::Rejected(reasons),
                    StoredDecision::Refused { reason } => Decision::Refused(reason),
                });
            out.push(Entry {
                idem_key: idem,
                claim_code: ClaimCode(claim),
                doc,
                region,
                has_body,
                submission_id: sid,
                decision,
                owner: Owner::from_db(abandoned),
            });
        }
        Ok(out)
    }
}

/// Reads the 32-byte key, creating it (0600) on first use when `create`; refuses a key
/// readable by others.
fn load_key(path: &Path, create: bool) -> Result<Zeroizing<Vec<u8>>, ReviewError> {
    match std::fs::read(path) {
        Ok(k) => {
            let k = Zeroizing::new(k);
            super::keys::check_private(path, "the outbox key")?;
            if k.len() != 32 {
                return Err(ReviewError::file(path, "the outbox key must be 32 bytes"));
            }
            Ok(k)
        }
        Err(e) if create && e.kind() == std::io::ErrorKind::NotFound => {
            let k = Zeroizing::new(rand::random::<[u8; 32]>().to_vec());
            super::keys::write_private(path, &k)?;
            Ok(k)
        }
        Err(e) => Err(ReviewError::file(path, format!("cannot read the outbox key: {e}"))),
    }
}

/// Reads the queue depth from the outbox in `data_dir` without a running client (`kiosk
/// diag` beside a stopped kiosk): zero when none exists yet, and never creates one.
pub fn depth(data_dir: &Path) -> Result<OutboxDepth, ReviewError> {
    if !data_dir.join(DB_FILE).exists() {
        return Ok(OutboxDepth::default());
    }
    Outbox::open_rows_only(data_dir)?.depth()
}

/// The quarantined rows of the outbox in `data_dir` (`kiosk diag`), none when there is no
/// outbox yet.
pub fn dead_letters(data_dir: &Path) -> Result<Vec<DeadLetter>, ReviewError> {
    if !data_dir.join(DB_FILE).exists() {
        return Ok(vec![]);
    }
    Outbox::open_rows_only(data_dir)?.dead_letters()
}

impl Outbox {
    /// How many submissions this outbox holds, acknowledged and decided or not.
    pub fn depth(&self) -> Result<OutboxDepth, ReviewError> {
        let entries = self.entries()?;
        let quarantined: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM dead_letter", [], |r| r.get(0))
            .map_err(self.e())?;
        Ok(OutboxDepth {
            entries: entries.len(),
            unsent: entries.iter().filter(|e| e.has_body).count(),
            undecided: entries.iter().filter(|e| e.decision.is_none()).count(),
            quarantined: usize::try_from(quarantined).unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_the_unsent_and_the_undecided() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(depth(dir.path()).unwrap(), OutboxDepth::default());
        assert!(!dir.path().join(DB_FILE).exists(), "reading the depth creates nothing");
        let ob = Outbox::open(dir.path()).unwrap();
        let region = crate::config::RegionCode::new("440100").unwrap();
        for (i, key) in ["k1", "k2", "k3"].iter().enumerate() {
            let claim = crate::domain::ClaimCode(format!("{i:032}"));
            ob.enqueue(key, &claim, crate::config::DocumentId::IdCard, &region, b"sealed")
                .unwrap();
        }
        ob.acknowledge("k1", "s1").unwrap();
        ob.acknowledge("k2", "s2").unwrap();
        let approved = Decision::Approved {
            number: crate::domain::ReceiptNumber::new("440100261126000017").unwrap(),
            valid_until: chrono::NaiveDate::from_ymd_opt(2027, 5, 26).unwrap(),
            token: crate::domain::ReceiptToken::random(),
        };
        ob.decide("k1", &approved).unwrap();
        let want = OutboxDepth {
            entries: 3,
            unsent: 1,
            undecided: 2,
            quarantined: 0,
        };
        assert_eq!(ob.depth().unwrap(), want);
        assert_eq!(depth(dir.path()).unwrap(), want, "read beside a stopped kiosk");
    }

    #[test]
    fn a_key_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        drop(Outbox::open(d.path()).unwrap());
        let key = d.path().join(KEY_FILE);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Outbox::open(d.path()).err().expect("refused").to_string();
        assert!(e.contains("outbox.key") && e.contains("chmod 600"), "{e}");
    }

    #[test]
    fn sealed_bodies_round_trip_and_are_bound_to_their_key() {
        let d = tempfile::tempdir().unwrap();
        let ob = Outbox::open(d.path()).unwrap();
        let r = RegionCode::new("440100").unwrap();
        ob.enqueue("k1", &ClaimCode::random(), DocumentId::IdCard, &r, b"secret body")
            .unwrap();
        assert_eq!(ob.body("k1").unwrap().unwrap().as_slice(), b"secret body");
        // Swapping sealed bodies between rows fails authentication (the key is the AAD).
        ob.enqueue("k2", &ClaimCode::random(), DocumentId::IdCard, &r, b"other")
            .unwrap();
        ob.conn
            .execute(
                "UPDATE outbox SET sealed=(SELECT sealed FROM outbox WHERE idem_key='k1') WHERE idem_key='k2'",
                [],
            )
            .unwrap();
        assert!(ob.body("k2").is_err());
        ob.acknowledge("k1", "sid").unwrap();
        assert!(ob.body("k1").unwrap().is_none());
        let e = ob.get("k1").unwrap().unwrap();
        assert_eq!((e.has_body, e.submission_id.as_deref()), (false, Some("sid")));
    }

    #[test]
    fn rows_that_can_never_be_sent_are_quarantined_once() {
        let dir = tempfile::tempdir().unwrap();
        let ob = Outbox::open(dir.path()).unwrap();
        let region = crate::config::RegionCode::new("440100").unwrap();
        for (i, key) in ["waiting", "left", "bad-doc"].iter().enumerate() {
            let claim = crate::domain::ClaimCode(format!("{i:032}"));
            ob.enqueue(key, &claim, crate::config::DocumentId::IdCard, &region, b"sealed")
                .unwrap();
        }
        // A row an older config wrote: its document is unknown here.
        ob.conn
            .execute("UPDATE outbox SET doc='no-such-doc' WHERE idem_key='bad-doc'", [])
            .unwrap();
        let keys: Vec<String> = ob.entries().unwrap().into_iter().map(|e| e.idem_key).collect();
        assert_eq!(keys, ["waiting", "left"], "the bad row leaves the outbox");
        assert_eq!(ob.dead_letters().unwrap().len(), 1);
        ob.entries().unwrap();
        assert_eq!(
            ob.dead_letters().unwrap().len(),
            1,
            "quarantined once, not on every read"
        );

        // A live session's row becomes a refusal the person is told about; another leaves.
        ob.quarantine("waiting", "body does not decrypt", true).unwrap();
        ob.quarantine("left", "the service failed 20 times in a row", false)
            .unwrap();
        let entries = ob.entries().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].decision, Some(Decision::Refused(undeliverable())));
        assert!(!entries[0].has_body, "the sealed body left the outbox");
        let dead = ob.dead_letters().unwrap();
        assert_eq!(dead.len(), 3);
        assert_eq!(dead[1].claim_code, format!("{:032}", 0));
        let sealed: Option<Vec<u8>> = ob
            .conn
            .query_row("SELECT sealed FROM dead_letter WHERE idem_key='waiting'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(
            sealed.is_some_and(|b| b.len() > 12 && !b.windows(6).any(|w| w == b"sealed")),
            "still sealed"
        );
        assert_eq!(ob.depth().unwrap().quarantined, 3);
        assert_eq!(dead_letters(dir.path()).unwrap(), dead);
    }

    #[test]
    fn a_systemd_credential_keeps_the_key_off_the_data_disk() {
        use std::os::unix::fs::PermissionsExt;
        let data = tempfile::tempdir().unwrap();
        let creds = tempfile::tempdir().unwrap();
        assert_eq!(
            KeySource::find(data.path(), Some(creds.path())),
            KeySource::DataDir(data.path().join(KEY_FILE)),
            "no credential passed: the data dir's key"
        );
        let cred = creds.path().join(CREDENTIAL);
        std::fs::write(&cred, [7u8; 32]).unwrap();
        std::fs::set_permissions(&cred, std::fs::Permissions::from_mode(0o400)).unwrap();
        let src = KeySource::find(data.path(), Some(creds.path()));
        assert_eq!(src, KeySource::Credential(cred.clone()));
        let region = crate::config::RegionCode::new("440100").unwrap();
        let ob = Outbox::open_with(data.path(), &src).unwrap();
        let claim = crate::domain::ClaimCode(format!("{:032}", 1));
        ob.enqueue(
            "k",
            &claim,
            crate::config::DocumentId::IdCard,
            &region,
            b"face and name",
        )
        .unwrap();
        assert!(!data.path().join(KEY_FILE).exists(), "no key written beside the data");
        assert_eq!(&ob.body("k").unwrap().unwrap()[..], b"face and name");
        drop(ob);
        // The disk alone (another key) cannot open the body.
        let stolen = Outbox::open_with(data.path(), &KeySource::DataDir(data.path().join(KEY_FILE))).unwrap();
        assert!(stolen.body("k").is_err());
        // Counting rows needs no key and creates none.
        std::fs::remove_file(data.path().join(KEY_FILE)).unwrap();
        assert_eq!(depth(data.path()).unwrap().unsent, 1);
        assert!(!data.path().join(KEY_FILE).exists());
        // A credential systemd did not pass is never created.
        std::fs::remove_file(&cred).unwrap();
        assert!(Outbox::open_with(data.path(), &KeySource::Credential(cred.clone())).is_err());
        assert!(!cred.exists());
    }
}
