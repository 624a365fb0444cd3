//! `kiosk diag`: the maintenance checks from the command line (the admin screen shows the
//! same, from [`crate::wiring::checks`]). Exit 0 healthy, 1 something unhealthy (with the fix in words), 2 config error.

use super::Verdict;
use crate::config::Config;
use crate::wiring::{device_checks, Check};
use std::path::Path;

#[derive(Debug, Default, clap::Args)]
pub struct DiagArgs {
    /// Print one JSON object instead of readable lines.
    #[arg(long)]
    pub json: bool,
    /// Only check the configuration file; touch no device.
    #[arg(long)]
    pub config_only: bool,
    /// Set the admin PIN (6–12 digits, read from standard input) in the data directory.
    #[arg(long)]
    pub set_pin: bool,
}

pub fn run(config_flag: Option<&Path>, args: &DiagArgs) -> anyhow::Result<Verdict> {
    let cfg = Config::load(config_flag)?; // a bad config is exit 2, naming file and line
    let source = Config::locate(config_flag)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "built-in defaults".into());
    if args.set_pin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        crate::ops::pin::set_pin(&cfg.kiosk.data_dir, line.trim())?;
        println!(
            "admin PIN set in {}",
            crate::ops::pin::pin_path(&cfg.kiosk.data_dir).display()
        );
        return Ok(Verdict::Ok);
    }
    let mut checks = vec![Check::ok("config", format!("{source}: valid"))];
    if !args.config_only {
        checks.extend(device_checks(&cfg));
    }
    let healthy = checks.iter().all(|c| c.ok);
    if args.json {
        let v = serde_json::json!({ "healthy": healthy, "kiosk": cfg.kiosk.id, "checks": checks });
        println!("{v}");
    } else {
        for c in &checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            println!("{mark} {:<8} {}", c.name, c.detail);
            if let Some(f) = &c.fix {
                println!("     fix: {f}");
            }
        }
    }
    Ok(if healthy { Verdict::Ok } else { Verdict::Negative })
}
