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
    #[arg(long, conflicts_with = "setup_code")]
    pub set_pin: bool,
    /// Print a one-time setup code for setting the first admin PIN on the touchscreen
    /// (only while no PIN is set; valid `kiosk.setup_code_valid_min` minutes).
    #[arg(long)]
    pub setup_code: bool,
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
        // A setup code left waiting is refused from now on anyway; drop it.
        crate::ops::setup_code::consume(&cfg.kiosk.data_dir);
        println!(
            "admin PIN set in {}",
            crate::ops::pin::pin_path(&cfg.kiosk.data_dir).display()
        );
        return Ok(Verdict::Ok);
    }
    if args.setup_code {
        return setup_code(&cfg);
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

/// `--setup-code`: a fresh one-time code on standard output (never in the log).
fn setup_code(cfg: &Config) -> anyhow::Result<Verdict> {
    let now = chrono::Utc::now();
    let now_ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    let minutes = cfg.kiosk.setup_code_valid_min;
    let code = crate::ops::setup_code::issue(&cfg.kiosk.data_dir, u64::from(minutes) * 60_000, now_ms)?;
    let until = (now + chrono::Duration::minutes(i64::from(minutes))).with_timezone(&crate::domain::china_time());
    println!("设置码 setup code: {code}");
    println!(
        "有效至 valid until {} ({minutes} min), once. On the touchscreen: hold the top-left corner 5 s, \
         type this code, then the new PIN (6–12 digits) twice.",
        until.format("%Y-%m-%d %H:%M")
    );
    Ok(Verdict::Ok)
}
