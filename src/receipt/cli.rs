//! `kiosk receipt`: render one receipt (also the operator's test print).

use crate::config::{Config, DocumentId, RegionCode};
use crate::Verdict;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ReceiptArgs {
    /// The receipt number to print.
    #[arg(long, value_name = "N")]
    pub number: String,
    /// Document type.
    #[arg(long, value_name = "DOC")]
    pub doc: DocumentId,
    /// Issuing region (GB/T 2260 code).
    #[arg(long, value_name = "CODE")]
    pub region: RegionCode,
    /// The photo to show as the thumbnail.
    #[arg(long, value_name = "PHOTO.jpg")]
    pub photo: PathBuf,
    /// Write a PDF.
    #[arg(long, value_name = "OUT.pdf", group = "target")]
    pub pdf: Option<PathBuf>,
    /// Write a PNG of the thermal slip.
    #[arg(long, value_name = "OUT.png", group = "target")]
    pub png: Option<PathBuf>,
    /// Print on a printer: serial:PATH[,BAUD[,58|80]].
    #[arg(long, value_name = "DEVICE", group = "target")]
    pub printer: Option<crate::config::PrinterSpec>,
}

pub fn run(_cfg: &Config, _args: &ReceiptArgs) -> anyhow::Result<Verdict> {
    crate::cli::not_implemented("receipt", "#5 (printer)")
}
