//! Operations: logging with masking, systemd notify/watchdog, diagnostics, the admin PIN.

pub mod allocator;
pub mod daily;
pub mod diag;
pub mod failpoint;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod pin;

/// China Standard Time. China has used UTC+8 without daylight saving since 1991, so a
/// fixed offset equals Asia/Shanghai for every date a receipt can carry.
pub fn china_time() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset")
}
