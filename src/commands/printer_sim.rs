//! `kiosk printer-sim`: the ESC/POS emulator on a pseudo-terminal, until killed.

use super::Verdict;
use crate::printer_sim::{start, SimArgs};
use std::time::Duration;

pub fn run(args: &SimArgs) -> anyhow::Result<Verdict> {
    let h = start(args)?;
    println!(
        "printer-sim: {} → pty, {} dots, {} baud, slips in {}, control {}",
        args.link.display(),
        if args.paper == 58 { 384 } else { 576 },
        args.baud,
        args.out.display(),
        h.control_path.display()
    );
    // Runs until killed; the handle's thread never ends on its own.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
