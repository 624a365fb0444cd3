//! Checks of the source tree itself: the layering of `src/` against
//! `docs/architecture.md`, and the names `deploy/check.sh` runs beside the rest (the soak,
//! the printer binary).

mod check_script;
mod layering;

/// The checkout's root, where `src/`, `docs/` and `deploy/` are.
fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
