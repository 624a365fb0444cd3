//! The `kiosk` command line: each subcommand is a thin function over the library.
//! Exit codes everywhere: 0 success, 1 a negative verdict, 2 usage/config/IO error.

use crate::config::Config;
use crate::{NotImplemented, Verdict};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

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
    Run(crate::ui::RunArgs),
    /// Validate captures against a document's photo standard.
    CheckPhoto(crate::vision::cli::CheckPhotoArgs),
    /// Produce the compliant photo (crop, scale, white background, JPEG within size bounds).
    MakePhoto(crate::vision::cli::MakePhotoArgs),
    /// Fit the corpus-derived check thresholds on a labelled corpus and score them
    /// leave-one-person-out (docs/accuracy.md).
    Calibrate(crate::vision::cli::CalibrateArgs),
    /// Render a receipt slip to PDF, PNG or a printer (also the operator's test print).
    Receipt(crate::receipt::cli::ReceiptArgs),
    /// ESC/POS printer emulator on a pseudo-terminal, for tests and demos.
    PrinterSim(crate::printer_sim::SimArgs),
    /// Reference photo-review service (HTTP JSON API and operator page).
    ReviewCenter(crate::review::cli::ReviewCenterArgs),
    /// Run whole kiosk sessions headless: replayed frames, upload, receipt.
    Simulate(crate::simulate::SimulateArgs),
    /// Diagnostics of config, camera, printer, review service, storage; set the admin PIN.
    Diag(crate::ops::diag::DiagArgs),
}

/// Parses the command line, runs the command, maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    crate::ops::logging::init();
    crate::ops::allocator::pin_allocator();
    match run(cli) {
        Ok(Verdict::Ok) => ExitCode::SUCCESS,
        Ok(Verdict::Negative) => ExitCode::from(1),
        Err(e) => {
            eprintln!("kiosk: error: {e:#}");
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
    match cli.command.unwrap_or(Command::Run(crate::ui::RunArgs::default())) {
        // diag --config-only must report a bad config itself, so it loads on its own.
        Command::Diag(a) => crate::ops::diag::run(cfg, &a),
        Command::Run(a) => crate::ui::run(&load_config(cfg)?, &a),
        Command::CheckPhoto(a) => crate::vision::cli::check_photo(&load_config(cfg)?, &a),
        Command::MakePhoto(a) => crate::vision::cli::make_photo(&load_config(cfg)?, &a),
        Command::Calibrate(a) => crate::vision::cli::calibrate(&load_config(cfg)?, &a),
        Command::Receipt(a) => crate::receipt::cli::run(&load_config(cfg)?, &a),
        Command::PrinterSim(a) => crate::printer_sim::run(&a),
        Command::ReviewCenter(a) => crate::review::cli::run(&load_config(cfg)?, &a),
        Command::Simulate(a) => crate::simulate::run(&load_config(cfg)?, &a),
    }
}

/// Helper for commands whose issue is not done: say so, exit 2.
pub fn not_implemented(command: &'static str, issue: &'static str) -> anyhow::Result<Verdict> {
    Err(NotImplemented { command, issue }.into())
}
