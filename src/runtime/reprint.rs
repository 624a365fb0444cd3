//! Operator reprint by number (receipt.md §6.6): the receipt is fetched again through the
//! [`Uploader`] — the kiosk keeps no copy — and queued on the [`SlipPrinter`] marked 补打.
//! Every refusal is a [`Prompt`] in both languages, shown to the operator.

use crate::config::Config;
use crate::domain::{Prompt, ReceiptNumber, Slip, SlipJob};
use crate::ports::{SlipPrinter, Uploader};

/// Checks the kiosk can lay the slip out (its region must be configured here).
pub fn check_layout(cfg: &Config, job: &SlipJob) -> Result<(), Prompt> {
    if let Slip::Receipt { region, .. } = &job.slip {
        if !cfg.regions.contains_key(region) {
            return Err(Prompt::new(
                "region_not_configured",
                &format!("本机未配置地区 {region}，无法补打该回执，请到该地区的自助机补打"),
                &format!("Region {region} is not configured on this kiosk; reprint it at a kiosk of that region"),
            ));
        }
    }
    Ok(())
}

/// Fetches `number` through `uploader` and queues it on `printer` as a reprint.
/// Nothing is queued when the fetch or the checks fail.
pub fn reprint(
    uploader: &mut dyn Uploader,
    printer: &mut dyn SlipPrinter,
    cfg: &Config,
    number: &ReceiptNumber,
) -> Result<(), Prompt> {
    let job = uploader.fetch_receipt(number)?;
    check_layout(cfg, &job)?;
    log::info!("operator: reprint of receipt {number}");
    printer.reprint(job).map_err(|e| {
        Prompt::new(
            "printer_unavailable",
            &format!("打印机无法补打：{e}"),
            &format!("The printer cannot reprint: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_this_kiosk_lacks_is_refused_before_printing() {
        let mut cfg = Config::builtin();
        let job = SlipJob {
            slip: Slip::Receipt {
                number: ReceiptNumber::new("44010026112600000178").unwrap(),
                valid_until: chrono::NaiveDate::from_ymd_opt(2027, 5, 25).unwrap(),
                doc: crate::config::DocumentId::IdCard,
                region: "440100".parse().unwrap(),
            },
            photo: None,
            masked_name: None,
            issued_at: chrono::DateTime::parse_from_rfc3339("2026-11-26T21:40:07+08:00").unwrap(),
            token: None,
        };
        assert!(check_layout(&cfg, &job).is_ok());
        cfg.regions.remove(&"440100".parse().unwrap());
        assert_eq!(check_layout(&cfg, &job).unwrap_err().id, "region_not_configured");
    }
}
