//! The `kiosk` command line: each subcommand is a thin function over the library.
//! Exit codes everywhere: 0 success, 1 a negative verdict, 2 usage/config/IO error.

pub mod console;
pub mod db;
pub mod diag;
pub mod idcard_sim;
pub mod printer_sim;
pub mod receipt;
pub mod review;
pub mod run;
pub mod simulate;
pub mod vision;

use crate::config::Config;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Returned by a command whose issue is not finished yet: it says so and exits 2.
#[derive(Debug, thiserror::Error)]
#[error("`kiosk {command}` is not implemented yet (tracked in issue {issue}); nothing was done")]
pub struct NotImplemented {
    pub command: &'static str,
    pub issue: &'static str,
}

/// How a command ended when it did not fail outright: exit 0 or 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Success / every photo passes / every device healthy.
    Ok,
    /// A negative verdict: a photo fails, a device is unhealthy (exit 1).
    Negative,
}

#[derive(Debug, Parser)]
#[command(
    name = "kiosk",
    version,
    about = "Self-service ID-photo kiosk: guided capture, validation, upload, receipt slip",
    long_about = "Self-service ID-photo kiosk for government service halls.\n\n\
        With no subcommand it runs the touchscreen kiosk (`kiosk run`). Every subcommand reads\n\
        the same configuration: --config PATH, else $KIOSK_CONFIG, else /etc/kiosk/kiosk.toml,\n\
        else built-in defaults that need no hardware.\n\n\
        Exit codes: 0 success, 1 a negative verdict (photo fails, device unhealthy), 2 usage,\n\
        configuration or I/O error."
)]
pub struct Cli {
    /// Configuration file (TOML). Default: $KIOSK_CONFIG, else /etc/kiosk/kiosk.toml, else built-in defaults.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the touchscreen kiosk (the default); headless when there is no display.
    Run(run::RunArgs),
    /// Validate captures against a document's photo standard.
    CheckPhoto(vision::CheckPhotoArgs),
    /// Produce the compliant photo (crop, scale, white background, JPEG within size bounds).
    MakePhoto(vision::MakePhotoArgs),
    /// Fit the corpus-derived check thresholds on a labelled corpus and score them
    /// leave-one-person-out (docs/accuracy.md).
    Calibrate(vision::CalibrateArgs),
    /// Render a receipt slip to PDF, PNG or a printer (also the operator's test print).
    Receipt(receipt::ReceiptArgs),
    /// ESC/POS printer emulator on a pseudo-terminal, for tests and demos.
    PrinterSim(crate::printer_sim::SimArgs),
    /// Resident ID-card reader emulator on a pseudo-terminal, for tests and demos.
    IdcardSim(crate::idcard_sim::SimArgs),
    /// Reference photo-review service (HTTP JSON API and operator page).
    ReviewCenter(review::ReviewCenterArgs),
    /// The hall console: kiosks' heartbeats and events, "kiosk offline" alerts.
    Console(console::ConsoleArgs),
    /// Run whole kiosk sessions headless: replayed frames, upload, receipt.
    Simulate(simulate::SimulateArgs),
    /// Diagnostics of config, camera, printer, ID-card reader, review service, storage; set the admin PIN.
    Diag(diag::DiagArgs),
}

/// Parses the command line, runs the command, maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            if !e.use_stderr() {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // Usage errors quote the arguments given: through the redactor too.
            crate::ops::logging::eprint_line(e.render().to_string().trim_end());
            return ExitCode::from(2);
        }
    };
    crate::ops::logging::init();
    crate::ops::logging::install_panic_hook();
    crate::ops::allocator::pin_allocator();
    match run(cli) {
        Ok(Verdict::Ok) => ExitCode::SUCCESS,
        Ok(Verdict::Negative) => ExitCode::from(1),
        Err(e) => {
            // An error may quote a path, a value or a server's reply: redacted like the log.
            crate::ops::logging::eprint_line(&format!("kiosk: error: {e:#}"));
            ExitCode::from(2)
        }
    }
}

/// Loads the configuration the same way for every subcommand.
pub fn load_config(cli_config: Option<&std::path::Path>) -> anyhow::Result<Config> {
    Ok(Config::load(cli_config)?)
}

fn run(cli: Cli) -> anyhow::Result<Verdict> {
    let cfg = cli.config.as_deref();
    match cli.command.unwrap_or(Command::Run(run::RunArgs::default())) {
        // diag --config-only must report a bad config itself, so it loads on its own.
        Command::Diag(a) => diag::run(cfg, &a),
        Command::Run(a) => run::run(&load_config(cfg)?, &a),
        Command::CheckPhoto(a) => vision::check_photo(&load_config(cfg)?, &a),
        Command::MakePhoto(a) => vision::make_photo(&load_config(cfg)?, &a),
        Command::Calibrate(a) => vision::calibrate(&load_config(cfg)?, &a),
        Command::Receipt(a) => receipt::run(&load_config(cfg)?, &a),
        Command::PrinterSim(a) => printer_sim::run(&a),
        Command::IdcardSim(a) => idcard_sim::run(&a),
        Command::ReviewCenter(a) => review::run(&load_config(cfg)?, &a),
        Command::Simulate(a) => simulate::run(&load_config(cfg)?, &a),
        Command::Console(a) => console::run(&a),
    }
}

/// Helper for commands whose issue is not done: say so, exit 2.
pub fn not_implemented(command: &'static str, issue: &'static str) -> anyhow::Result<Verdict> {
    Err(NotImplemented { command, issue }.into())
}
