//! `kiosk run`: the touchscreen kiosk, or one headless session where there is no display.

use super::Verdict;
use crate::config::Config;
use crate::runtime::Engine;
use crate::session::details::synthetic_person;
use crate::simulate::{one_session_with, DetailsFrom};
use anyhow::Context as _;
use std::time::{Duration, Instant};

#[derive(Debug, Default, clap::Args)]
pub struct RunArgs {
    /// Run the same flow without a window even when a display exists.
    #[arg(long)]
    pub headless: bool,
    /// Window size in a desktop session, e.g. 1920x1080 for landscape (default 1080x1920).
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    pub size: Option<(u32, u32)>,
    /// Smoke test: walk attract → posing with a synthetic person (the same callbacks a
    /// tap triggers), for CI under Xvfb.
    #[arg(long, hide = true)]
    pub demo_walk: bool,
    /// Smoke test: once the posing preview has shown for a second, save the window as a
    /// PNG here and quit.
    #[arg(long, hide = true, value_name = "PNG")]
    pub screenshot: Option<std::path::PathBuf>,
    /// Smoke test / benchmark: quit after this many seconds.
    #[arg(long, hide = true, value_name = "SECS")]
    pub quit_after: Option<f64>,
}

impl RunArgs {
    fn window(&self) -> crate::ui::WindowOptions {
        crate::ui::WindowOptions {
            size: self.size,
            demo_walk: self.demo_walk,
            screenshot: self.screenshot.clone(),
            quit_after: self.quit_after,
        }
    }
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or("expected WIDTHxHEIGHT, e.g. 1080x1920")?;
    let p = |v: &str| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| format!("`{v}` is not a number of pixels"))
    };
    Ok((p(w)?, p(h)?))
}

/// Which Slint backend can show a window here, if any.
pub fn display_backend() -> Option<&'static str> {
    if std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty()) {
        return Some("winit");
    }
    let has_drm = std::fs::read_dir("/dev/dri")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with("card"))
        })
        .unwrap_or(false);
    has_drm.then_some("linuxkms")
}

/// Started by systemd as a service (it sets `INVOCATION_ID` for every unit it starts).
fn under_systemd() -> bool {
    std::env::var_os("INVOCATION_ID").is_some_and(|v| !v.is_empty())
}

pub fn run(cfg: &Config, args: &RunArgs) -> anyhow::Result<Verdict> {
    let backend = match (args.headless, display_backend()) {
        (false, Some(b)) => b,
        (true, _) => return run_headless(cfg),
        // Under systemd the kiosk is a touchscreen appliance: a missing display is a fault
        // to report (and retry: the unit restarts it, and a late DRM device then appears),
        // never a reason to run demo sessions that print a slip at every restart.
        (false, None) if under_systemd() => anyhow::bail!(
            "no display: $DISPLAY is unset and /dev/dri has no card* device. \
             The kiosk needs its touchscreen: check the screen's cable and its DRM driver \
             (`ls /dev/dri`, `journalctl -k | grep -i drm`). \
             无显示设备：请检查触摸屏连接及其 DRM 驱动。"
        ),
        (false, None) => {
            log::info!("no display ($DISPLAY unset, no /dev/dri/card*): running headless");
            return run_headless(cfg);
        }
    };
    let backends = crate::wiring::kiosk_backends(cfg, true)?;
    crate::ui::run_with(cfg, &args.window(), backend, backends)?;
    Ok(Verdict::Ok)
}

/// `kiosk run` without a display: one session on the configured devices, headless,
/// printing where the receipt went.
///
/// Under the systemd unit (`Type=notify`, `WatchdogSec=`) this is still the kiosk's main
/// process: it reports READY=1 once the engine (devices, models, review client) is up and
/// pings the watchdog from the session's own step loop, so systemd neither times out the
/// start nor kills a healthy run — and a hung engine stops the pings and is restarted.
pub fn run_headless(cfg: &Config) -> anyhow::Result<Verdict> {
    eprintln!(
        "kiosk: no display — running one session headless (kiosk simulate) on {}",
        cfg.devices.camera
    );
    let doc = cfg
        .offered_documents()
        .first()
        .copied()
        .context("no document is offered in any region")?;
    let region = cfg
        .regions_for(doc)
        .first()
        .map(|(c, _)| (*c).clone())
        .context("no region")?;
    let mut engine = Engine::new(cfg, crate::wiring::kiosk_backends(cfg, false)?);
    crate::ops::notify::ready();
    crate::ops::notify::status("headless: no display, running one session");
    let mut watchdog = WatchdogPacer::from_env();
    let outcome = one_session_with(
        cfg,
        &mut engine,
        doc,
        &region,
        DetailsFrom::Given(synthetic_person()),
        &mut || watchdog.step(),
    )?;
    super::simulate::print_outcome(&outcome);
    Ok(if outcome.failed.is_none() {
        Verdict::Ok
    } else {
        Verdict::Negative
    })
}

/// Watchdog pings from a step loop that turns every few ms: one WATCHDOG=1 per
/// `interval` (half of `WatchdogSec`, from the environment systemd sets), not one per step.
struct WatchdogPacer {
    every: Option<Duration>,
    last: Option<Instant>,
}

impl WatchdogPacer {
    fn from_env() -> WatchdogPacer {
        WatchdogPacer {
            every: crate::ops::notify::watchdog_interval(),
            last: None,
        }
    }

    fn step(&mut self) {
        let Some(every) = self.every else { return };
        if self.last.is_none_or(|t| t.elapsed() >= every) {
            crate::ops::notify::watchdog();
            self.last = Some(Instant::now());
        }
    }
}
