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

/// The backends of the kiosk itself (`kiosk run`): [`backends`], and in demo mode without
/// a `[console] url` a hall console of its own on loopback, whose address and staff login
/// are printed, so the demo shows the whole loop. A configured kiosk never starts one.
pub fn kiosk_backends(cfg: &Config, live: bool) -> anyhow::Result<Backends> {
    let mut b = backends(cfg, live)?;
    if wants_demo_console(cfg) {
        match demo_console(cfg) {
            Ok(a) => b.alerts = a,
            // The demo still runs; the screen then says to see the desk, as with no console.
            Err(e) => log::warn!("demo hall console not started: {e:#}"),
        }
    }
    Ok(b)
}

/// Demo mode and no console configured: the only case a kiosk runs a console itself.
pub fn wants_demo_console(cfg: &Config) -> bool {
    cfg.kiosk.demo && cfg.console.url.is_none()
}

fn demo_console(cfg: &Config) -> anyhow::Result<Box<dyn crate::ports::Alerts>> {
    use crate::console::{demo, link, queue::EventQueue};
    let c = &cfg.console;
    let heartbeat = std::time::Duration::from_secs(u64::from(c.heartbeat_s));
    let console = demo::start(&cfg.kiosk.data_dir, &cfg.kiosk.id, heartbeat)?;
    // Its own queue: events for the demo console never go to a real one configured later.
    let queue_path = cfg.kiosk.data_dir.join(demo::DIR).join("events.db");
    let queue = EventQueue::open(&queue_path, c.queue_max as usize)?;
    let settings = link::LinkSettings {
        url: console.url(),
        key: console.key.clone(),
        kiosk_id: cfg.kiosk.id.clone(),
        heartbeat,
        timeout: std::time::Duration::from_millis(u64::from(c.timeout_ms)),
        retry: std::time::Duration::from_secs(u64::from(c.retry_s)),
        alert_wait: std::time::Duration::from_millis(u64::from(c.alert_wait_ms)),
        data_dir: cfg.kiosk.data_dir.clone(),
    };
    // Printed, not logged: the login is for the person trying the demo at this screen.
    eprintln!(
        "演示大厅控制台 / demo hall console: {}/  登录 login: {} / {}  (kept in {})",
        console.url(),
        demo::USER,
        console.password.as_str(),
        console.login_file.display()
    );
    log::info!(
        "demo hall console on {} (staff login in {})",
        console.url(),
        console.login_file.display()
    );
    Ok(Box::new(demo::DemoAlerts::new(
        link::ConsoleAlerts::start(settings, queue),
        console,
    )))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_demo_without_a_console_runs_its_own() {
        let demo = Config::builtin();
        assert!(demo.kiosk.demo && wants_demo_console(&demo));
        let mut hall = demo.clone();
        hall.console.url = Some("https://console.hall:8800".into());
        assert!(
            !wants_demo_console(&hall),
            "a configured console is used, never shadowed"
        );
        let mut real = demo;
        real.kiosk.demo = false;
        assert!(!wants_demo_console(&real), "a real kiosk never starts a console");
    }
}
