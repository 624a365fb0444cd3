//! Rate limiting: a token bucket per client address (public and operator routes) or per
//! kiosk key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(super) struct Limiter {
    per_min: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Limiter {
    pub(super) fn new(per_min: u32) -> Limiter {
        Limiter {
            per_min,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `who`; when the bucket is empty, the seconds until it holds one.
    pub(super) fn allow(&self, who: &str) -> Result<(), u64> {
        let cap = f64::from(self.per_min.max(1));
        let rate = cap / 60.0;
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if b.len() > 100_000 {
            // Forget idle clients rather than grow without bound.
            b.retain(|_, (_, t)| now.duration_since(*t) < Duration::from_secs(120));
        }
        let (tokens, last) = b.entry(who.to_string()).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(cap);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_empties_and_refills_per_client() {
        let l = Limiter::new(3);
        assert!(l.allow("a").is_ok() && l.allow("a").is_ok() && l.allow("a").is_ok());
        // 3 per minute: the next token is ~20 s away.
        let wait = l.allow("a").unwrap_err();
        assert!((19..=20).contains(&wait), "{wait}");
        assert!(l.allow("b").is_ok());
    }
}
