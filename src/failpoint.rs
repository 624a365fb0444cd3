//! Named crash points for fault tests, always compiled in: when `KIOSK_FAILPOINT` names
//! the point being passed, the process SIGKILLs itself there — no timing games.
//!
//! `KIOSK_FAILPOINT=upload:after-send` (several separated by commas). A point may carry a
//! count, `upload:after-send@2`, to fire on its second pass. Every point is listed in
//! `docs/operations.md`.

use std::collections::HashMap;
use std::sync::Mutex;

static PASSES: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

/// Passes the named point; kills the process if `KIOSK_FAILPOINT` selects it.
pub fn hit(name: &str) {
    let Ok(spec) = std::env::var("KIOSK_FAILPOINT") else {
        return;
    };
    for item in spec.split(',').map(str::trim) {
        let (point, nth) = match item.split_once('@') {
            Some((p, n)) => (p, n.parse().unwrap_or(1)),
            None => (item, 1),
        };
        if point != name {
            continue;
        }
        let mut guard = PASSES.lock().unwrap_or_else(|e| e.into_inner());
        let count = guard
            .get_or_insert_with(HashMap::new)
            .entry(name.to_string())
            .or_insert(0);
        *count += 1;
        if *count == nth {
            log::warn!("failpoint {name}: killing the process (KIOSK_FAILPOINT)");
            log::logger().flush();
            let _ = nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::Signal::SIGKILL);
            // SIGKILL cannot be caught; this line is never reached.
            std::process::abort();
        }
    }
}
