//! The runtime: carries out the session's effects with real or test backends and turns
//! what devices report into session events. `kiosk run` (touch UI), `kiosk simulate` and
//! the end-to-end tests all drive sessions through it.

mod analysis;
mod engine;
mod kiosk;
mod reprint;

pub use analysis::AnalysisMode;
pub use engine::{Backends, CameraCheck, Engine, View};
pub use kiosk::Kiosk;
pub use reprint::{check_layout, reprint};

#[cfg(test)]
mod tests;
