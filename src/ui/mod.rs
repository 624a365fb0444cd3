//! The touch UI (issue #7): the Slint screens in `ui/` bound to the runtime's [`Kiosk`].
//!
//! [`run`] opens the window (winit on X11 when `$DISPLAY` is set, linuxkms on the kiosk,
//! software renderer either way), or runs the same flow headless without a display.
//!
//! [`Kiosk`]: crate::runtime::Kiosk

mod admin;
mod alsa_sink;
pub mod audio;
mod bridge;
pub mod convert;
mod reprint;
mod smoke;
mod generated {
    #![allow(clippy::all, clippy::pedantic)]
    slint::include_modules!();
}

pub use bridge::KioskUi;
pub use generated::{AppState, AppWindow, Choice};

use crate::config::Config;
use crate::Verdict;
use anyhow::Context as _;
use slint::ComponentHandle;

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
        (true, _) => return crate::simulate::run_headless(cfg),
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
            return crate::simulate::run_headless(cfg);
        }
    };
    let backends = crate::runtime::Backends::from_config(cfg, true)?;
    run_with(cfg, args, backend, backends)
}

/// Opens the window on Slint backend `backend` (`winit` or `linuxkms`, software
/// renderer) over `backends`, notifies systemd, and runs the UI loop until quit.
pub fn run_with(
    cfg: &Config,
    args: &RunArgs,
    backend: &str,
    backends: crate::runtime::Backends,
) -> anyhow::Result<Verdict> {
    let t0 = std::time::Instant::now();
    slint::BackendSelector::new()
        .backend_name(backend.into())
        .renderer_name("software".into())
        .select()
        .with_context(|| format!("cannot start the {backend} display backend with the software renderer"))?;
    let ui = KioskUi::new(cfg, backends, audio::from_config(&cfg.audio)).context("cannot create the kiosk window")?;
    if let Some((w, h)) = args.size {
        ui.window()
            .window()
            .set_size(slint::LogicalSize::new(w as f32, h as f32));
    }
    ui.window().show().context("cannot show the kiosk window")?;
    crate::ops::notify::ready();
    log::info!(
        "window shown on the {backend} backend, attract screen after {} ms",
        t0.elapsed().as_millis()
    );
    let ui = std::rc::Rc::new(ui);
    let sync = slint::Timer::default();
    let u = ui.clone();
    // 100 Hz, not the camera's 30: polled at the camera's own rate, the UI misses a frame
    // whenever one lands just after a tick and two arrive before the next (beats measured
    // at 20–24 of 30 fps shown). A tick with no new frame only compares an `Arc` and sets
    // unchanged properties, which do not repaint.
    sync.start(
        slint::TimerMode::Repeated,
        std::time::Duration::from_millis(10),
        move || u.sync(),
    );
    // Watchdog pings come from the UI loop itself, so a hung UI gets restarted.
    let watchdog = slint::Timer::default();
    if let Some(every) = crate::ops::notify::watchdog_interval() {
        crate::ops::notify::watchdog();
        watchdog.start(slint::TimerMode::Repeated, every, crate::ops::notify::watchdog);
    }
    let smoke = slint::Timer::default();
    if args.demo_walk || args.screenshot.is_some() || args.quit_after.is_some() {
        let walker = smoke::Walker::new(ui.clone(), args);
        smoke.start(
            slint::TimerMode::Repeated,
            std::time::Duration::from_millis(100),
            move || walker.step(),
        );
    }
    slint::run_event_loop_until_quit().context("the UI event loop failed")?;
    Ok(Verdict::Ok)
}
