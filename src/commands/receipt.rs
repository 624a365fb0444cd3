//! `kiosk receipt`: render one receipt (also the operator's test print).

use super::Verdict;
use crate::config::{Config, DocumentId, RegionCode};
use crate::domain::Slip;
use crate::domain::SlipJob;
use crate::domain::{PhotoJpeg, ReceiptNumber};
use crate::receipt::model::Receipt;
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ReceiptArgs {
    /// The receipt number to print.
    #[arg(long, value_name = "N", required_unless_present_any = ["reprint", "test_print"])]
    pub number: Option<String>,
    /// Document type.
    #[arg(long, value_name = "DOC", required_unless_present = "reprint")]
    pub doc: Option<DocumentId>,
    /// Issuing region (GB/T 2260 code).
    #[arg(long, value_name = "CODE", required_unless_present = "reprint")]
    pub region: Option<RegionCode>,
    /// The photo to show as the thumbnail.
    #[arg(long, value_name = "PHOTO.jpg", required_unless_present_any = ["reprint", "test_print"])]
    pub photo: Option<PathBuf>,
    /// The operator's test slip for DOC and REGION: numbered TEST-PRINT, marked 测试打印，
    /// 不能使用, no photo; checks the layout, the paper and the barcode.
    #[arg(long, conflicts_with_all = ["number", "photo", "reprint"])]
    pub test_print: bool,
    /// Staff reprint (补打): fetch receipt N again from the configured review service
    /// (`devices.review`, with this kiosk's key) and print it marked 补打 with the time.
    #[arg(long, value_name = "N", conflicts_with_all = ["number", "doc", "region", "photo"])]
    pub reprint: Option<String>,
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
    if args.test_print {
        let (Some(doc), Some(region)) = (args.doc, &args.region) else {
            anyhow::bail!("--test-print needs --doc and --region");
        };
        known_region(cfg, region)?;
        let issued_at = chrono::Utc::now().with_timezone(&crate::domain::china_time());
        return Ok(SlipJob {
            slip: Slip::Receipt {
                number: ReceiptNumber::test_print(),
                valid_until: issued_at.date_naive(),
                doc,
                region: region.clone(),
            },
            photo: None,
            masked_name: None,
            issued_at,
            token: None,
        });
    }
    let (Some(number), Some(doc), Some(region), Some(photo)) = (&args.number, args.doc, &args.region, &args.photo)
    else {
        anyhow::bail!("--number, --doc, --region and --photo are required (or --reprint N, or --test-print)");
    };
    let number = ReceiptNumber::new(number).map_err(anyhow::Error::msg)?;
    known_region(cfg, region)?;
    let photo = std::fs::read(photo).with_context(|| format!("cannot read the photo {}", photo.display()))?;
    let issued_at = chrono::Utc::now().with_timezone(&crate::domain::china_time());
    let days = cfg.validity_days(doc, region);
    let valid_until = issued_at.date_naive() + chrono::Days::new(u64::from(days));
    Ok(SlipJob {
        slip: Slip::Receipt {
            number,
            valid_until,
            doc,
            region: region.clone(),
        },
        photo: Some(PhotoJpeg(photo)),
        masked_name: None,
        issued_at,
        // A slip made by hand has no token from the service: its QR is the number.
        token: None,
    })
}

fn known_region(cfg: &Config, region: &RegionCode) -> anyhow::Result<()> {
    if cfg.regions.contains_key(region) {
        return Ok(());
    }
    anyhow::bail!(
        "region {} is not configured; configured: {}",
        region,
        cfg.regions.keys().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
    )
}

/// `--reprint N`: the receipt as the review service keeps it, or why it cannot be had.
fn fetch_for_reprint(cfg: &Config, number: &str) -> anyhow::Result<SlipJob> {
    let number = ReceiptNumber::new(number).map_err(anyhow::Error::msg)?;
    let fetcher = crate::review::client::ReceiptFetcher::open(cfg)
        .with_context(|| format!("review service {}", cfg.devices.review))?;
    let view = fetcher.fetch(&number).map_err(|e| {
        let p = crate::review::reprint::fetch_error(&number, &e);
        anyhow::anyhow!("{} / {} ({e})", p.zh, p.en)
    })?;
    let job =
        crate::review::reprint::job_from_view(&number, view).map_err(|p| anyhow::anyhow!("{} / {}", p.zh, p.en))?;
    crate::runtime::check_layout(cfg, &job).map_err(|p| anyhow::anyhow!("{} / {}", p.zh, p.en))?;
    Ok(job)
}

pub fn run(cfg: &Config, args: &ReceiptArgs) -> anyhow::Result<Verdict> {
    if let Some(number) = &args.reprint {
        return reprint(cfg, args, number);
    }
    let job = job_for(cfg, args)?;
    let receipt = Receipt::build(&job, cfg, None).with_context(|| {
        format!(
            "photo {}",
            args.photo.as_deref().unwrap_or(std::path::Path::new("?")).display()
        )
    })?;
    if let Some(out) = &args.pdf {
        let bytes = crate::receipt::pdf::render(&receipt, crate::receipt::pdf::PageSize::Roll80)?;
        crate::private_fs::write_atomic(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
        println!("已生成 PDF 回执 / PDF receipt written: {}", out.display());
    } else if let Some(out) = &args.png {
        let dots = match cfg.devices.printer.device() {
            crate::config::Device::Serial { paper, .. } => paper.dots(),
            _ => 576,
        };
        let img = crate::receipt::raster::render(&receipt, dots, &cfg.printer);
        write_png(&img, out)?;
        println!("已生成回执图片 / PNG receipt written: {}", out.display());
    } else if let Some(spec) = &args.printer {
        let at = crate::printer::print_once(cfg, spec, &receipt)?;
        println!("回执已打印 / receipt printed on {at}");
    } else {
        anyhow::bail!("choose an output: --pdf OUT.pdf, --png OUT.png or --printer serial:PATH");
    }
    Ok(Verdict::Ok)
}

/// `kiosk receipt --reprint N (--printer …|--pdf …|--png …)`. Nothing is printed or
/// written unless the review service has the receipt and it is still valid.
fn reprint(cfg: &Config, args: &ReceiptArgs, number: &str) -> anyhow::Result<Verdict> {
    if args.pdf.is_none() && args.png.is_none() && args.printer.is_none() {
        anyhow::bail!("choose an output for the reprint: --printer serial:PATH, --pdf OUT.pdf or --png OUT.png");
    }
    let job = fetch_for_reprint(cfg, number)?;
    if let Some(spec) = &args.printer {
        let at = crate::printer::reprint_once(cfg, spec, &job)?;
        println!("已补打回执 {number} / receipt {number} reprinted on {at}");
        return Ok(Verdict::Ok);
    }
    let now = chrono::Utc::now().with_timezone(&crate::domain::china_time());
    let receipt = Receipt::build(&job, cfg, Some(now))?;
    if let Some(out) = &args.pdf {
        let bytes = crate::receipt::pdf::render(&receipt, crate::receipt::pdf::PageSize::Roll80)?;
        crate::private_fs::write_atomic(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
        println!("已生成补打 PDF / reprint PDF written: {}", out.display());
    } else if let Some(out) = &args.png {
        let dots = match cfg.devices.printer.device() {
            crate::config::Device::Serial { paper, .. } => paper.dots(),
            _ => 576,
        };
        write_png(&crate::receipt::raster::render(&receipt, dots, &cfg.printer), out)?;
        println!("已生成补打图片 / reprint PNG written: {}", out.display());
    }
    Ok(Verdict::Ok)
}

/// A receipt image names the person and shows their photo: written owner-only, atomically.
fn write_png<P, C>(img: &image::ImageBuffer<P, C>, out: &std::path::Path) -> anyhow::Result<()>
where
    P: image::PixelWithColorType,
    [P::Subpixel]: image::EncodableLayout,
    C: std::ops::Deref<Target = [P::Subpixel]>,
{
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)
        .with_context(|| format!("cannot encode {}", out.display()))?;
    crate::private_fs::write_atomic(out, bytes.get_ref()).with_context(|| format!("cannot write {}", out.display()))
}
