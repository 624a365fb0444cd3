//! The maintenance checks of every device the config names, as `kiosk diag` prints them
//! and the admin screen shows them: each names the device and, when unhealthy, the fix.

use crate::config::{Config, Device};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
    /// What to do about it, when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Check {
            name,
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }
    pub fn bad(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            name,
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Every device check, in the order the admin screen shows them.
pub fn device_checks(cfg: &Config) -> Vec<Check> {
    let mut checks = device_checks_but_camera(cfg);
    checks.insert(1, camera(cfg));
    checks
}

/// [`device_checks`] without the camera's, which opens the camera: the admin screen of a
/// running kiosk asks the runtime instead (`runtime::Engine::check_camera`).
pub fn device_checks_but_camera(cfg: &Config) -> Vec<Check> {
    vec![
        storage(&cfg.kiosk.data_dir),
        printer(cfg),
        idcard(cfg),
        review(cfg),
        outbox(cfg),
        console(cfg),
        clock(),
    ]
}

fn storage(dir: &Path) -> Check {
    if let Err(e) = std::fs::create_dir_all(dir) {
        return Check::bad(
            "storage",
            format!("data dir {}: {e}", dir.display()),
            "create it and give the kiosk user write access (deploy/install.sh does)",
        );
    }
    let probe = dir.join(".diag-probe");
    if let Err(e) = std::fs::write(&probe, b"x").and_then(|_| std::fs::remove_file(&probe)) {
        return Check::bad(
            "storage",
            format!("{} not writable: {e}", dir.display()),
            "chown the data dir to the kiosk user",
        );
    }
    match nix::sys::statvfs::statvfs(dir) {
        Ok(s) => {
            let free = s.blocks_available() * s.fragment_size();
            let mb = free / (1024 * 1024);
            if mb < 200 {
                Check::bad(
                    "storage",
                    format!("{}: only {mb} MB free", dir.display()),
                    "free disk space (old logs: journalctl --vacuum-size=100M)",
                )
            } else {
                Check::ok("storage", format!("{}: {mb} MB free", dir.display()))
            }
        }
        Err(e) => Check::bad(
            "storage",
            format!("statvfs {}: {e}", dir.display()),
            "check the file system",
        ),
    }
}

/// Opens the configured camera on its own and reads ten frames: for `kiosk diag`, and
/// for a replay (nothing to fight over) on the admin screen.
pub fn camera(cfg: &Config) -> Check {
    let t0 = Instant::now();
    let mut src = match crate::camera::open(&cfg.devices.camera, false) {
        Ok(s) => s,
        Err(e) => {
            return Check::bad(
                "camera",
                e.to_string(),
                "check the camera cable and devices.camera in the config",
            )
        }
    };
    let mut last = None;
    for _ in 0..10 {
        match src.next_frame() {
            Ok(f) => last = Some(f),
            Err(e) => return Check::bad("camera", e.to_string(), "check the camera cable; replug it"),
        }
    }
    let f = last.expect("ten frames were read");
    let secs = t0.elapsed().as_secs_f64();
    Check::ok(
        "camera",
        format!(
            "{}: {}x{}, 10 frames in {:.0} ms ({:.1} fps read rate)",
            src.describe(),
            f.image.width(),
            f.image.height(),
            secs * 1000.0,
            10.0 / secs
        ),
    )
}

fn printer(cfg: &Config) -> Check {
    match cfg.devices.printer.device() {
        Device::None => Check::ok("printer", "none configured: receipts are shown on screen only"),
        Device::Pdf { dir } => match std::fs::create_dir_all(dir) {
            Ok(()) => Check::ok("printer", format!("pdf:{} (writable)", dir.display())),
            Err(e) => Check::bad("printer", format!("pdf:{}: {e}", dir.display()), "make the receipt directory writable"),
        },
        Device::Serial { path, .. } => match crate::printer::probe(cfg) {
            Ok(h) => match h.first_fault() {
                None if h.near_end => Check::ok("printer", format!("{}: ready, paper near end (纸将尽)", path.display())),
                None => Check::ok("printer", format!("{}: ready", path.display())),
                Some(f) => Check::bad(
                    "printer",
                    format!("{}: {} ({} / {})", path.display(), f.id(), f.zh(), f.id().replace('_', " ")),
                    "close the cover / load paper / clear the cutter, then run the paper-reload wizard",
                ),
            },
            Err(e) => Check::bad(
                "printer",
                format!("{}: {e}", path.display()),
                "check the cable, /dev/kiosk-printer (deploy/99-kiosk.rules) and that the kiosk user is in group dialout",
            ),
        },
        other => Check::bad("printer", format!("{other}: not a printer"), "fix devices.printer"),
    }
}

fn idcard(cfg: &Config) -> Check {
    match crate::idcard::probe(cfg) {
        Ok(None) => Check::ok("idcard", "none configured: people type their name and ID number"),
        Ok(Some(path)) => Check::ok("idcard", format!("{}: ready (SAM status 90)", path.display())),
        Err(e) => Check::bad(
            "idcard",
            format!("{e} [{}]", e.fault().id()),
            "check the reader's cable and power, /dev/kiosk-idcard (deploy/99-kiosk.rules), group dialout \
             and the baud rate in devices.idcard; until then people type their details",
        ),
    }
}

/// The hall console: reachable (`/healthz`), and how many events wait in the queue.
fn console(cfg: &Config) -> Check {
    let Some(url) = &cfg.console.url else {
        return Check::ok(
            "console",
            "none configured: 呼叫工作人员 sends people to the service desk",
        );
    };
    let url = url.trim_end_matches('/');
    let queue = cfg.kiosk.data_dir.join("console-events.db");
    let waiting =
        match crate::console::queue::EventQueue::open(&queue, cfg.console.queue_max as usize).and_then(|q| q.len()) {
            Ok(n) => format!("{n} events waiting"),
            Err(e) => {
                return Check::bad(
                    "console",
                    format!("event queue: {e}"),
                    format!("check {}", queue.display()),
                )
            }
        };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_millis(u64::from(
            cfg.console.timeout_ms,
        ))))
        .http_status_as_error(false)
        .build()
        .into();
    let t0 = Instant::now();
    match agent.get(&format!("{url}/healthz")).call() {
        Ok(r) if r.status() == 200 => Check::ok(
            "console",
            format!(
                "{url} reachable in {:.0} ms, {waiting}",
                t0.elapsed().as_secs_f64() * 1000.0
            ),
        ),
        Ok(r) => Check::bad(
            "console",
            format!("{url}/healthz answered {}, {waiting}", r.status()),
            "check the hall console service (`kiosk console`) on the hall PC",
        ),
        Err(e) => Check::bad(
            "console",
            format!("{url} unreachable: {e}; {waiting}"),
            "check the network cable and [console] url; alerts wait in the queue meanwhile",
        ),
    }
}

fn review(cfg: &Config) -> Check {
    let url = match cfg.devices.review.device() {
        Device::Embedded => return Check::ok("review", "embedded reference review centre (started with the kiosk)"),
        Device::Http { url } => url.clone(),
        other => return Check::bad("review", format!("{other}: not a review service"), "fix devices.review"),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(5)))
        .http_status_as_error(false)
        .build()
        .into();
    let t0 = Instant::now();
    match agent.get(&format!("{url}/healthz")).call() {
        Ok(r) if r.status() == 200 => {}
        Ok(r) => {
            return Check::bad(
                "review",
                format!("{url}/healthz answered {}", r.status()),
                "check the review service",
            )
        }
        Err(e) => {
            return Check::bad(
                "review",
                format!("{url} unreachable: {e}"),
                "check the network cable and the review URL",
            )
        }
    }
    let latency = t0.elapsed().as_secs_f64() * 1000.0;
    // Authenticated: an unknown submission is 404 for a known kiosk, 401 for a bad key.
    let key = cfg
        .devices
        .review_key_file
        .as_deref()
        .map(crate::review::keys::read_key_file);
    let auth = match key {
        Some(Ok(k)) => agent
            .get(&format!("{url}/v1/submissions/diag-probe"))
            .header("Authorization", &format!("Bearer {k}"))
            .call()
            .map(|r| r.status().as_u16()),
        Some(Err(e)) => return Check::bad("review", e.to_string(), "install the kiosk's key file (mode 0600)"),
        None => return Check::bad("review", "no review_key_file", "set devices.review_key_file"),
    };
    match auth {
        Ok(401) => Check::bad(
            "review",
            format!("{url}: key refused (401)"),
            "register this kiosk's key at the review centre",
        ),
        Ok(_) => Check::ok("review", format!("{url}: reachable, authenticated, {latency:.0} ms")),
        Err(e) => Check::bad("review", format!("{url}: {e}"), "check the review service"),
    }
}

fn outbox(cfg: &Config) -> Check {
    match crate::review::outbox::depth(&cfg.kiosk.data_dir) {
        Ok(d) if d.quarantined > 0 => {
            let listed: Vec<String> = crate::review::outbox::dead_letters(&cfg.kiosk.data_dir)
                .unwrap_or_default()
                .iter()
                .rev()
                .take(5)
                .map(|l| format!("claim code {} ({})", l.claim_code, l.reason))
                .collect();
            Check::bad(
                "outbox",
                format!(
                    "{} submissions can never be sent and were quarantined: {}",
                    d.quarantined,
                    listed.join("; ")
                ),
                "their people hold claim slips: tell them at the counter to retake the photo; \
                 the rows are in the outbox's dead_letter table",
            )
        }
        Ok(d) if d.entries == 0 => Check::ok("outbox", "empty"),
        Ok(d) => {
            let detail = format!(
                "{} entries: {} not yet acknowledged, {} awaiting a decision",
                d.entries, d.unsent, d.undecided
            );
            if d.unsent > 20 {
                Check::bad(
                    "outbox",
                    detail,
                    "the review service is not taking uploads: check the network and `review`",
                )
            } else {
                Check::ok("outbox", detail)
            }
        }
        Err(e) => Check::bad("outbox", e.to_string(), "check the data directory"),
    }
}

fn clock() -> Check {
    let now = chrono::Utc::now();
    let year = now.format("%Y").to_string();
    if year.as_str() < "2025" {
        Check::bad(
            "clock",
            format!("system time {now} looks unset"),
            "enable time sync: timedatectl set-ntp true",
        )
    } else {
        let cst = now.with_timezone(&crate::domain::china_time());
        Check::ok("clock", format!("{} (Asia/Shanghai)", cst.format("%Y-%m-%d %H:%M:%S")))
    }
}
