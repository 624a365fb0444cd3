//! The printer: the ESC/POS emulator on a real pty, the driver against it, the print journal, reprints, and the receipt renderers.
//!
//! One test binary of modules (as ripgrep's `tests/integration`): the crate is linked
//! once for all of them.

#[path = "../common/mod.rs"]
mod common;

mod emulator;
mod idcard;
mod idle;
mod journal;
mod noise;
mod receipt_pdf;
mod reprint;
mod sim;
