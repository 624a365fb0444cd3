//! Login throttling: after `max` failures within `window`, a key (a client address or an
//! account name) is refused until the window that began with its first failure ends.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(super) struct Throttle {
    max: u32,
    window: Duration,
    map: Mutex<HashMap<String, (u32, Instant)>>,
}

/// Keys kept before stale ones are dropped (bounds memory under a spray of addresses).
const PRUNE_ABOVE: usize = 100_000;

impl Throttle {
    pub(super) fn new(max: u32, window: Duration) -> Throttle {
        Throttle {
            max: max.max(1),
            window,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Err(wait)` while `key` is locked out.
    pub(super) fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        match self.map().get(key) {
            Some((n, since)) if *n >= self.max => {
                let elapsed = now.saturating_duration_since(*since);
                if elapsed < self.window {
                    Err(self.window - elapsed)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    pub(super) fn fail(&self, key: &str, now: Instant) {
        let mut m = self.map();
        if m.len() > PRUNE_ABOVE {
            let w = self.window;
            m.retain(|_, (_, since)| now.saturating_duration_since(*since) < w);
        }
        let e = m.entry(key.to_string()).or_insert((0, now));
        if now.saturating_duration_since(e.1) >= self.window {
            *e = (0, now);
        }
        e.0 = e.0.saturating_add(1);
    }

    pub(super) fn clear(&self, key: &str) {
        self.map().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_until_the_window_ends() {
        let t = Throttle::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(t.check("alice", t0).is_ok(), "attempt {i}");
            t.fail("alice", t0 + Duration::from_secs(i));
        }
        let wait = t.check("alice", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(t.check("bob", t0).is_ok(), "per key");
        assert!(
            t.check("alice", t0 + Duration::from_secs(60)).is_ok(),
            "the window ended"
        );
        t.clear("alice");
        assert!(t.check("alice", t0 + Duration::from_secs(10)).is_ok());
    }
}
