//! Operations: logging with masking, systemd notify/watchdog, diagnostics, the admin PIN
//! and its one-time setup code, the saved voice volume.

pub mod allocator;
pub mod daily;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod pin;
pub mod redact;
pub mod setup_code;
pub mod volume;
