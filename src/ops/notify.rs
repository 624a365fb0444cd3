//! systemd readiness and watchdog (`Type=notify`, `WatchdogSec=`). Harmless without
//! systemd: with no `$NOTIFY_SOCKET` nothing is sent.

/// Tells systemd the kiosk is up.
pub fn ready() {
    if let Err(e) = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]) {
        log::warn!("sd_notify READY failed: {e}");
    }
}

/// One watchdog ping. Call it from the UI event loop's timer so a hung UI is restarted.
pub fn watchdog() {
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
}

/// Status text shown by `systemctl status`.
pub fn status(text: &str) {
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Status(text)]);
}

/// The interval at which to ping: half of `WatchdogSec`, or `None` when no watchdog is set.
pub fn watchdog_interval() -> Option<std::time::Duration> {
    let mut usec = 0u64;
    if sd_notify::watchdog_enabled(false, &mut usec) && usec > 0 {
        Some(std::time::Duration::from_micros(usec / 2))
    } else {
        None
    }
}
