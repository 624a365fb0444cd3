//! An ESC/POS printer emulator on a pseudo-terminal, written from `shared/specs/escpos.md`
//! and sharing no code with `printer` (issue #5). Not implemented yet.

use crate::Verdict;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Where to symlink the pseudo-terminal's device (e.g. /tmp/kiosk-printer).
    #[arg(long, value_name = "PATH")]
    pub link: PathBuf,
    /// Directory for one PNG per cut slip.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(_args: &SimArgs) -> anyhow::Result<Verdict> {
    crate::cli::not_implemented("printer-sim", "#5 (printer)")
}
