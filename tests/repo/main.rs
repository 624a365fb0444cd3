//! Checks of the source tree itself: the layering of `src/` against
//! `docs/architecture.md`, and the test script's name for the soak.

mod check_script;
mod layering;

/// The checkout's root, where `src/`, `docs/` and `deploy/` are.
fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
