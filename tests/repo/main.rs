//! Checks of the source tree itself: the layering of `src/` against
//! `docs/architecture.md`, and the test script's name for the soak.

mod check_script;
mod layering;
