//! Vision on the whole corpus: accuracy (all-in and leave-one-person-out), the command line, config, the live guide.
//!
//! One test binary of modules (as ripgrep's `tests/integration`): the crate is linked
//! once for all of them.

mod accuracy;
mod cli;
mod config;
mod guide;
mod props;
