//! `kiosk review-center`.

use crate::config::Config;
use crate::Verdict;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ReviewCenterArgs {
    /// Address to listen on, e.g. 127.0.0.1:8700.
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// SQLite database file.
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
}

pub fn run(_cfg: &Config, _args: &ReviewCenterArgs) -> anyhow::Result<Verdict> {
    crate::cli::not_implemented("review-center", "#6 (review service)")
}
