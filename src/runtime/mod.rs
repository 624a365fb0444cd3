//! The runtime: carries out the session's effects with real or test backends and turns
//! what devices report into session events. `kiosk run` (touch UI), `kiosk simulate` and
//! the end-to-end tests all drive sessions through it.

mod analysis;
pub mod backends;
mod engine;
mod kiosk;
pub mod testing;

pub use analysis::AnalysisMode;
pub use backends::*;
pub use engine::{Backends, Counters, Engine, View};
pub use kiosk::Kiosk;

#[cfg(test)]
mod tests;
