//! The photo-receipt kiosk: guided capture of a standard-compliant ID photo, its upload to
//! the photo-review centre, and the receipt slip with the receipt number (照片回执).
//!
//! Module map (see `docs/architecture.md`): a pure core (`config`, `session`, `domain`,
//! the vision checks, the receipt layout) with devices at the edges (`camera`, `printer`,
//! `review`, `ui`), and `cli` as thin commands over them.

pub mod camera;
pub mod cli;
pub mod config;
pub mod domain;
pub mod ops;
pub mod printer;
pub mod printer_sim;
pub mod receipt;
pub mod review;
pub mod runtime;
pub mod session;
pub mod simulate;
pub mod ui;
pub mod vision;

/// Returned by a command whose issue is not finished yet: it says so and exits 2.
#[derive(Debug, thiserror::Error)]
#[error("`kiosk {command}` is not implemented yet (tracked in issue {issue}); nothing was done")]
pub struct NotImplemented {
    pub command: &'static str,
    pub issue: &'static str,
}

/// How a command ended when it did not fail outright: exit 0 or 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Success / every photo passes / every device healthy.
    Ok,
    /// A negative verdict: a photo fails, a device is unhealthy (exit 1).
    Negative,
}
