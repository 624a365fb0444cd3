//! The touch UI (issue #7): the Slint screens in `ui/` bound to the runtime's [`Kiosk`].
//!
//! [`run_with`] opens the window (winit on X11 when `$DISPLAY` is set, linuxkms on the
//! kiosk, software renderer either way); `kiosk run` (`commands::run`) picks the backend.
//!
//! [`Kiosk`]: crate::runtime::Kiosk

mod admin;
mod alsa_sink;
pub mod audio;
mod bridge;
pub mod convert;
mod name_entry;
mod smoke;
pub mod voice;
mod generated {
    #![allow(clippy::all, clippy::pedantic)]
    slint::include_modules!();
}

pub use bridge::KioskUi;
pub use generated::{
    AdminAction, AdminPage, AppState, AppWindow, CardState, Choice, GuideBox, NameAction, Page, PinState, PinStep,
    RegionChoice, StaffCall,
};

use crate::config::Config;
use anyhow::Context as _;
use slint::ComponentHandle;

/// How the window runs: its size on a desktop and the CI smoke-test switches.
#[derive(Debug, Clone, Default)]
pub struct WindowOptions {
    /// Window size in a desktop session (default 1080x1920, portrait).
    pub size: Option<(u32, u32)>,
    /// Walk attract → posing with a synthetic person (the same callbacks a tap triggers).
    pub demo_walk: bool,
    /// Once the posing preview has shown for a second, save the window as a PNG here and quit.
    pub screenshot: Option<std::path::PathBuf>,
    /// Quit after this many seconds.
    pub quit_after: Option<f64>,
}

/// Opens the window on Slint backend `backend` (`winit` or `linuxkms`, software
/// renderer) over `backends`, notifies systemd, and runs the UI loop until quit.
pub fn run_with(
    cfg: &Config,
    args: &WindowOptions,
    backend: &str,
    backends: crate::runtime::Backends,
) -> anyhow::Result<()> {
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
    slint::run_event_loop_until_quit().context("the UI event loop failed")
}
