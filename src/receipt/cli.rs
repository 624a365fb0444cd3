//! `kiosk receipt`: render one receipt (also the operator's test print).

use super::model::Receipt;
use crate::config::{Config, DocumentId, RegionCode};
use crate::domain::{PhotoJpeg, ReceiptNumber};
use crate::runtime::SlipJob;
use crate::session::Slip;
use crate::Verdict;
use anyhow::Context;
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

/// The job `kiosk receipt` prints: issued now, valid for the configured days.
pub fn job_for(cfg: &Config, args: &ReceiptArgs) -> anyhow::Result<SlipJob> {
    let number = ReceiptNumber::new(&args.number).map_err(anyhow::Error::msg)?;
    if !cfg.regions.contains_key(&args.region) {
        anyhow::bail!(
            "region {} is not configured; configured: {}",
            args.region,
            cfg.regions.keys().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    let photo =
        std::fs::read(&args.photo).with_context(|| format!("cannot read the photo {}", args.photo.display()))?;
    let issued_at = chrono::Utc::now().with_timezone(&crate::ops::china_time());
    let days = cfg.validity_days(args.doc, &args.region);
    let valid_until = issued_at.date_naive() + chrono::Days::new(u64::from(days));
    Ok(SlipJob {
        slip: Slip::Receipt {
            number,
            valid_until,
            doc: args.doc,
            region: args.region.clone(),
        },
        photo: Some(PhotoJpeg(photo)),
        masked_name: None,
        issued_at,
    })
}

pub fn run(cfg: &Config, args: &ReceiptArgs) -> anyhow::Result<Verdict> {
    let job = job_for(cfg, args)?;
    let receipt = Receipt::build(&job, cfg, None).with_context(|| format!("photo {}", args.photo.display()))?;
    if let Some(out) = &args.pdf {
        let bytes = super::pdf::render(&receipt, super::pdf::PageSize::Roll80)?;
        std::fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
        println!("已生成 PDF 回执 / PDF receipt written: {}", out.display());
    } else if let Some(out) = &args.png {
        let dots = match cfg.devices.printer.device() {
            crate::config::Device::Serial { paper, .. } => paper.dots(),
            _ => 576,
        };
        let img = super::raster::render(&receipt, dots, &cfg.printer);
        img.save(out)
            .with_context(|| format!("cannot write {}", out.display()))?;
        println!("已生成回执图片 / PNG receipt written: {}", out.display());
    } else if let Some(spec) = &args.printer {
        let at = crate::printer::print_once(cfg, spec, &receipt)?;
        println!("回执已打印 / receipt printed on {at}");
    } else {
        anyhow::bail!("choose an output: --pdf OUT.pdf, --png OUT.png or --printer serial:PATH");
    }
    Ok(Verdict::Ok)
}
