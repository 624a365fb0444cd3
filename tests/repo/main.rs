//! Checks of the source tree itself: the layering of `src/` against
//! `docs/architecture.md`.

mod layering;
