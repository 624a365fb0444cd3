//! Whole sessions through real processes: the kiosk binary, the review centre, the printer emulator on a pty, crash and restart, the soak, the command line.
//!
//! One test binary of modules (as ripgrep's `tests/integration`): the crate is linked
//! once for all of them.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod faults;
mod headless_notify;
mod idcard;
mod restart;
mod session;
mod soak;
