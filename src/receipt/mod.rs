//! The receipt model and its two renderers, ESC/POS and PDF (issue #5).
//! Not implemented yet: only the CLI entry point exists.

pub mod cli;
