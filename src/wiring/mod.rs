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
        alerts: alerts(cfg)?,
        idcard: crate::idcard::open(cfg),
    })
}

/// The staff-alert backend: the hall console of `[console] url`, or none.
pub fn alerts(cfg: &Config) -> anyhow::Result<Box<dyn crate::ports::Alerts>> {
    let c = &cfg.console;
    let (Some(url), Some(key_file)) = (&c.url, &c.key_file) else {
        return Ok(Box::new(crate::ports::NoConsole));
    };
    let key = crate::review::keys::read_key_file(key_file)
        .with_context(|| format!("console.key_file {}", key_file.display()))?;
    let queue_path = cfg.kiosk.data_dir.join("console-events.db");
    let queue = crate::console::queue::EventQueue::open(&queue_path, c.queue_max as usize)?;
    let settings = crate::console::link::LinkSettings {
        url: url.trim_end_matches('/').to_string(),
        key: zeroize::Zeroizing::new(key),
        kiosk_id: cfg.kiosk.id.clone(),
        heartbeat: std::time::Duration::from_secs(u64::from(c.heartbeat_s)),
        timeout: std::time::Duration::from_millis(u64::from(c.timeout_ms)),
        retry: std::time::Duration::from_secs(u64::from(c.retry_s)),
        alert_wait: std::time::Duration::from_millis(u64::from(c.alert_wait_ms)),
        data_dir: cfg.kiosk.data_dir.clone(),
    };
    Ok(Box::new(crate::console::link::ConsoleAlerts::start(settings, queue)))
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
