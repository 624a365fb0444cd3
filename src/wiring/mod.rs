//! Wiring: builds the real adapters the config names and hands them to the runtime as
//! [`Backends`]. The only module that knows every adapter; the runtime knows only the
//! ports, and each adapter only its own port.

pub mod checks;

use crate::config::Config;
use crate::runtime::Backends;
use anyhow::Context as _;

pub use checks::{device_checks, Check};

/// The real backends for `cfg`: the configured camera (`live` = the kiosk itself: a
/// replay loops, paced), the vision guide and photo maker (models embedded), the review
/// client with its outbox (the embedded review centre by default) and the printer.
pub fn backends(cfg: &Config, live: bool) -> anyhow::Result<Backends> {
    backends_with(cfg, live, crate::review::embedded::DEMO_APPROVE_AFTER)
}

/// [`backends`] with the embedded review centre's approval delay (`simulate` passes
/// zero: no reviewer, nobody watching the uploading screen).
pub fn backends_with(
    cfg: &Config,
    live: bool,
    embedded_approve_after: std::time::Duration,
) -> anyhow::Result<Backends> {
    let camera = crate::camera::open_with(&cfg.devices.camera, &cfg.camera, live)
        .with_context(|| format!("camera {}", cfg.devices.camera))?;
    let guide = crate::vision::LiveGuide::new().context("vision models")?;
    let maker = crate::vision::Maker::new().context("vision models")?;
    let uploader = crate::review::client::open_with(cfg, embedded_approve_after)
        .with_context(|| format!("review service {}", cfg.devices.review))?;
    let printer = crate::printer::open(cfg).with_context(|| format!("printer {}", cfg.devices.printer))?;
    Ok(Backends {
        camera,
        guide: Box::new(guide),
        maker: Box::new(maker),
        uploader,
        printer,
        alerts: Box::new(crate::ports::NoConsole),
        idcard: crate::idcard::open(cfg),
    })
}

/// Whether the configured camera's device node is there again (the out-of-service screen
/// polls it to come back by itself). `None` for cameras that cannot go away (replay).
pub fn camera_present(cfg: &Config) -> Option<bool> {
    match cfg.devices.camera.device() {
        #[cfg(target_os = "linux")]
        crate::config::Device::V4l(id) => Some(crate::camera::v4l::present(id)),
        _ => None,
    }
}
