//! Login sessions held by the server: a random 256-bit token (the cookie) maps to the
//! account, a per-session CSRF token and an absolute expiry. Only the token's SHA-256 is
//! kept, so the map's lookup time says nothing about a presented token.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// A logged-in member of staff, as the handlers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub user: String,
    /// The token every POST form of this session must carry (`csrf` field).
    pub csrf: String,
}

struct Entry {
    info: SessionInfo,
    expires: Instant,
}

pub(super) struct Sessions {
    ttl: Duration,
    max: usize,
    map: Mutex<HashMap<[u8; 32], Entry>>,
}

pub(super) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub(super) fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Compares two secrets in time independent of where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

impl Sessions {
    pub(super) fn new(ttl: Duration, max: usize) -> Sessions {
        Sessions {
            ttl,
            max: max.max(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a session for `user`; returns its cookie token and its info.
    pub(super) fn create(&self, user: &str, now: Instant) -> (String, SessionInfo) {
        let token = random_hex();
        let info = SessionInfo {
            user: user.to_string(),
            csrf: random_hex(),
        };
        let mut m = self.map();
        if m.len() >= self.max {
            m.retain(|_, e| e.expires > now);
        }
        while m.len() >= self.max {
            // Still full of live sessions: the one closest to expiry goes.
            let Some(oldest) = m.iter().min_by_key(|(_, e)| e.expires).map(|(k, _)| *k) else {
                break;
            };
            m.remove(&oldest);
        }
        m.insert(
            digest(&token),
            Entry {
                info: info.clone(),
                expires: now + self.ttl,
            },
        );
        (token, info)
    }

    /// The session of `token`, if it exists and has not expired (an expired one is removed).
    pub(super) fn get(&self, token: &str, now: Instant) -> Option<SessionInfo> {
        let key = digest(token);
        let mut m = self.map();
        match m.get(&key) {
            Some(e) if e.expires > now => Some(e.info.clone()),
            Some(_) => {
                m.remove(&key);
                None
            }
            None => None,
        }
    }

    pub(super) fn remove(&self, token: &str) {
        self.map().remove(&digest(token));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_on_the_server() {
        let s = Sessions::new(Duration::from_secs(60), 10);
        let t0 = Instant::now();
        let (token, info) = s.create("alice", t0);
        assert_eq!(token.len(), 64, "256 bits as hex");
        assert_ne!(token, info.csrf);
        assert_eq!(s.get(&token, t0 + Duration::from_secs(59)), Some(info));
        assert_eq!(s.get(&token, t0 + Duration::from_secs(60)), None, "expired");
        assert_eq!(s.get(&token, t0), None, "and forgotten");
        assert_eq!(s.get("not a token", t0), None);
        let (t2, _) = s.create("alice", t0);
        s.remove(&t2);
        assert_eq!(s.get(&t2, t0), None, "logged out");
    }

    #[test]
    fn the_session_table_is_bounded() {
        let s = Sessions::new(Duration::from_secs(60), 2);
        let t0 = Instant::now();
        let (a, _) = s.create("a", t0);
        let (b, _) = s.create("b", t0 + Duration::from_secs(1));
        let (c, _) = s.create("c", t0 + Duration::from_secs(2));
        assert_eq!(s.get(&a, t0), None, "the oldest gave way");
        assert!(s.get(&b, t0).is_some() && s.get(&c, t0).is_some());
    }

    #[test]
    fn csrf_comparison_is_exact() {
        assert!(ct_eq(b"abcd", b"abcd"));
        assert!(!ct_eq(b"abcd", b"abce"));
        assert!(!ct_eq(b"abcd", b"abc"));
        assert!(!ct_eq(b"", b"a"));
    }
}
