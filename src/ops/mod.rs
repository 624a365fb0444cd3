//! Operations: logging with masking, systemd notify/watchdog, diagnostics, the admin PIN.

pub mod allocator;
pub mod daily;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod pin;
pub mod redact;
