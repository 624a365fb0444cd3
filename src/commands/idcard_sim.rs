//! `kiosk idcard-sim`: the ID-card reader emulator on a pseudo-terminal, until killed.

use super::Verdict;
use crate::idcard_sim::{start, SimArgs};
use anyhow::Context;
use std::time::Duration;

pub fn run(args: &SimArgs) -> anyhow::Result<Verdict> {
    let h = start(args).with_context(|| format!("idcard-sim on {}", args.link.display()))?;
    println!(
        "idcard-sim: {} → pty, card {}, control {}",
        args.link.display(),
        args.card
            .as_deref()
            .map_or_else(|| "none (send `place`)".to_string(), |c| c.display().to_string()),
        h.control_path.display()
    );
    // Runs until killed; the handle's thread never ends on its own.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
