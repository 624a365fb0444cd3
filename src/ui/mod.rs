//! The touch UI (issue #7): binds `ui/*.slint` to the session. Not implemented yet beyond
//! the entry point.

use crate::config::Config;
use crate::Verdict;

#[derive(Debug, Default, clap::Args)]
pub struct RunArgs {
    /// Run the same flow without a window even when a display exists.
    #[arg(long)]
    pub headless: bool,
}

pub fn run(_cfg: &Config, _args: &RunArgs) -> anyhow::Result<Verdict> {
    crate::cli::not_implemented("run", "#7 (touch UI)")
}
