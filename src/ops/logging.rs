//! Logging to stderr (journald picks it up under systemd), `RUST_LOG` respected.
//!
//! Call sites never log personal data in clear (they use the `mask_*` helpers). As a
//! second line of defence every line goes through [`redact`] (`ops::redact`: ID numbers,
//! mobile numbers, named values, the session's registered name) before it is written;
//! so do panic messages ([`install_panic_hook`]) and the command line's error lines
//! ([`eprint_line`]).
//!
//! The last [`RING_LINES`] lines (already redacted) are also kept in memory for the admin
//! screen's "recent log lines" ([`recent`]), so it needs no journal access.

pub use super::redact::redact;
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

/// Whether [`init`] installed this logger (the panic hook then logs through it).
static LOGGER_ON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Installs the logger once (later calls are no-ops). Default level `info`.
pub fn init() {
    let inner = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .build();
    let max = inner.filter();
    if log::set_boxed_logger(Box::new(Redacting { inner })).is_ok() {
        log::set_max_level(max);
        LOGGER_ON.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Panic messages go through the redactor too: a panic that quotes its input (an
/// `expect` on a parsed field, an index out of bounds in a value) must not print a name
/// or an ID number in clear. The hook writes one redacted `ERROR` line (through the
/// logger when it is installed, else straight to stderr) in place of the standard
/// hook's clear text; `RUST_BACKTRACE` still adds a backtrace, which holds code
/// locations only.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let thread = std::thread::current();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let line = format!(
            "panic in thread '{}'{at}: {payload}",
            thread.name().unwrap_or("<unnamed>")
        );
        if LOGGER_ON.load(std::sync::atomic::Ordering::SeqCst) && log::log_enabled!(log::Level::Error) {
            log::error!("{line}");
            log::logger().flush();
        } else {
            eprintln!("{}", redact(&line));
        }
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
    }));
}

/// Writes `line` to stderr through the redactor: the command line's own messages
/// (errors that may quote a path, a value or a server's reply).
pub fn eprint_line(line: &str) {
    eprintln!("{}", redact(line));
}

#[cfg(test)]
mod tests {
    use super::{init, recent, remember, RING_LINES};

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

    /// The child half of [`a_panic_message_is_redacted`]: panics only when run by it.
    #[test]
    fn panic_child() {
        if std::env::var_os("KIOSK_PANIC_CHILD").is_none() {
            return;
        }
        super::install_panic_hook();
        let details = "name=张三丰 id=110101199003071234 tel=13800138000";
        let n: Option<u32> = std::hint::black_box(None);
        n.expect(details);
    }

    /// A panic whose message quotes personal data is written masked: runs
    /// [`panic_child`] in a child process (the hook is process-wide) and reads its stderr.
    #[test]
    fn a_panic_message_is_redacted() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "ops::logging::tests::panic_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("KIOSK_PANIC_CHILD", "1")
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "the child must have panicked: {err}");
        assert!(err.contains("panic in thread"), "{err}");
        assert!(err.contains("name=张** id=1101**********1234 tel=138****8000"), "{err}");
        for clear in ["张三丰", "110101199003071234", "13800138000"] {
            assert!(!err.contains(clear), "{clear} in clear: {err}");
        }
    }
}
