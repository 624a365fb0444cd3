//! Logging to stderr (journald picks it up under systemd), `RUST_LOG` respected.
//!
//! Call sites never log personal data in clear (they use the `mask_*` helpers). As a
//! second line of defence this logger redacts anything shaped like an 18-character
//! resident ID number or an 11-digit mobile number before it is written.
//!
//! The last [`RING_LINES`] lines (already redacted) are also kept in memory for the admin
//! screen's "recent log lines" ([`recent`]), so it needs no journal access.

use log::{Log, Metadata, Record};
use std::collections::VecDeque;
use std::sync::Mutex;

/// How many recent log lines the admin screen can show.
pub const RING_LINES: usize = 200;

static RING: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());

/// Keeps `line` (already redacted) in the ring, dropping the oldest beyond [`RING_LINES`].
fn remember(line: String) {
    let mut ring = RING.lock().unwrap_or_else(|e| e.into_inner());
    if ring.len() == RING_LINES {
        ring.pop_front();
    }
    ring.push_back(line);
}

/// The last `n` lines logged through this logger, oldest first, as
/// `HH:MM:SS LEVEL message` (China Standard Time), redacted like the journal's copy.
pub fn recent(n: usize) -> Vec<String> {
    let ring = RING.lock().unwrap_or_else(|e| e.into_inner());
    ring.iter().skip(ring.len().saturating_sub(n)).cloned().collect()
}

struct Redacting {
    inner: env_logger::Logger,
}

impl Log for Redacting {
    fn enabled(&self, m: &Metadata) -> bool {
        self.inner.enabled(m)
    }
    fn log(&self, r: &Record) {
        if !self.inner.matches(r) {
            return;
        }
        let msg = redact(&r.args().to_string());
        let now = chrono::Utc::now().with_timezone(&crate::domain::china_time());
        remember(format!("{} {:<5} {msg}", now.format("%H:%M:%S"), r.level()));
        self.inner.log(
            &Record::builder()
                .args(format_args!("{msg}"))
                .level(r.level())
                .target(r.target())
                .module_path(r.module_path())
                .file(r.file())
                .line(r.line())
                .build(),
        );
    }
    fn flush(&self) {
        self.inner.flush()
    }
}

/// Installs the logger once (later calls are no-ops). Default level `info`.
pub fn init() {
    let inner = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .build();
    let max = inner.filter();
    if log::set_boxed_logger(Box::new(Redacting { inner })).is_ok() {
        log::set_max_level(max);
    }
}

/// Replaces ID-number-like runs (17 digits + digit/X) and mobile-like runs (11 digits
/// starting with 1) by their masked forms.
pub fn redact(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            let digits = j - i;
            let x_end = digits == 17 && j < chars.len() && matches!(chars[j], 'X' | 'x');
            let run_end = if x_end { j + 1 } else { j };
            let bounded = run_end == chars.len() || !chars[run_end].is_ascii_alphanumeric();
            let run: String = chars[i..run_end].iter().collect();
            if bounded && (digits == 18 || x_end) {
                out.push_str(&crate::session::details::mask_id_number(&run));
            } else if bounded && digits == 11 && chars[i] == '1' {
                out.push_str(&crate::session::details::mask_mobile(&run));
            } else {
                out.push_str(&run);
            }
            i = run_end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{init, recent, redact, remember, RING_LINES};

    #[test]
    fn the_ring_keeps_the_newest_lines_redacted() {
        init();
        log::warn!("ring test: holder 44010619900101123X");
        let last = recent(RING_LINES);
        let line = last
            .iter()
            .rev()
            .find(|l| l.contains("ring test"))
            .expect("logged line kept");
        assert!(line.contains("WARN") && line.contains("4401**********123X"), "{line}");
        assert!(!line.contains("44010619900101123X"), "{line}");
        for i in 0..RING_LINES + 5 {
            remember(format!("filler {i}"));
        }
        let all = recent(usize::MAX);
        assert_eq!(all.len(), RING_LINES);
        assert_eq!(all.last().unwrap(), &format!("filler {}", RING_LINES + 4));
        assert_eq!(recent(2).len(), 2);
    }

    #[test]
    fn redacts_id_and_mobile_shapes_only() {
        assert_eq!(redact("id=44010619900101123X ok"), "id=4401**********123X ok");
        assert_eq!(redact("id 440106199001011234."), "id 4401**********1234.");
        assert_eq!(redact("tel 13800138000"), "tel 138****8000");
        // Receipt numbers are 18 digits too, but they are not personal: they sit inside
        // `receipt=` fields; still, the redactor masks any bare 18-digit run by design.
        assert_eq!(redact("took 1234 ms, 3 frames"), "took 1234 ms, 3 frames");
        assert_eq!(redact("abc44010619900101123X"), "abc44010619900101123X");
        assert_eq!(redact("state=posing"), "state=posing");
    }
}
