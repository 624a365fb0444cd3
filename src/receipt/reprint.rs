//! Operator reprint by number (receipt.md §6.6): the receipt is fetched again from the
//! review service — the kiosk keeps no copy — and printed marked 补打 with the reprint
//! time. Used by the runtime ([`crate::runtime::Engine::reprint`]) and `kiosk receipt
//! --reprint`. Every refusal is a [`Prompt`] in both languages, shown to the operator.

use crate::config::Config;
use crate::domain::{PhotoJpeg, Prompt, ReceiptNumber};
use crate::review::api::{ReceiptView, Validity};
use crate::review::ReviewError;
use crate::runtime::{SlipJob, SlipPrinter, Uploader};
use crate::session::Slip;
use base64::Engine as _;

/// The uploader in use cannot fetch receipts (a test backend, or no review service).
pub fn unavailable() -> Prompt {
    Prompt::new(
        "reprint_unavailable",
        "本机未连接审核中心，无法补打",
        "This kiosk has no review service to fetch the receipt from",
    )
}

/// Why a fetch failed, for the operator: unknown number, expired, service unreachable.
pub fn fetch_error(number: &ReceiptNumber, e: &ReviewError) -> Prompt {
    match e {
        // The service answers 404 alike for an unknown number and for another kiosk's
        // receipt (kiosk keys read only their own kiosk's receipts).
        ReviewError::Rejected { status: 404, .. } => Prompt::new(
            "receipt_not_found",
            &format!("审核中心没有本机签发的回执号 {number}，请核对号码；其他自助机签发的回执请到原自助机补打"),
            &format!(
                "The review service has no receipt {number} issued by this kiosk; check the number, or reprint it at the kiosk that issued it"
            ),
        ),
        ReviewError::Rejected { status, code, .. } => Prompt::new(
            "receipt_fetch_refused",
            &format!("审核中心拒绝了补打请求（HTTP {status} {code}），请联系管理员"),
            &format!("The review service refused the reprint (HTTP {status} {code}); ask the administrator"),
        ),
        other => Prompt::new(
            "review_unreachable",
            "无法连接审核中心，请稍后再试",
            &format!("Cannot reach the review service ({other}); try again later"),
        ),
    }
}

/// The slip for a fetched receipt: its number, document, region, validity, issue time
/// and photo as the service keeps them. An expired receipt is refused (it cannot be used
/// at the counter any more); nothing personal but the photo comes back, so no name prints.
pub fn job_from_view(number: &ReceiptNumber, v: ReceiptView) -> Result<SlipJob, Prompt> {
    if v.receipt_number != *number {
        return Err(Prompt::new(
            "receipt_mismatch",
            "审核中心返回了另一个回执号，未打印",
            "The review service answered with another receipt number; nothing printed",
        ));
    }
    if v.status != Validity::Valid {
        return Err(Prompt::new(
            "receipt_expired",
            &format!(
                "回执 {number} 已过有效期（{}），不能补打",
                v.valid_until.format("%Y-%m-%d")
            ),
            &format!(
                "Receipt {number} expired on {}; it cannot be reprinted",
                v.valid_until.format("%Y-%m-%d")
            ),
        ));
    }
    let issued_at = chrono::DateTime::parse_from_rfc3339(&v.issued_at).map_err(|_| {
        Prompt::new(
            "receipt_unreadable",
            "审核中心返回的回执无法读取，未打印",
            "The review service's receipt is unreadable (issue time); nothing printed",
        )
    })?;
    let photo = match &v.photo_jpeg_b64 {
        Some(b64) => Some(PhotoJpeg(
            base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| {
                Prompt::new(
                    "receipt_unreadable",
                    "审核中心返回的照片无法读取，未打印",
                    "The review service's photo is unreadable; nothing printed",
                )
            })?,
        )),
        None => None,
    };
    Ok(SlipJob {
        slip: Slip::Receipt {
            number: v.receipt_number,
            valid_until: v.valid_until,
            doc: v.doc,
            region: v.region,
        },
        photo,
        masked_name: None,
        issued_at,
        // The service returns the token to the issuing kiosk: the reprint's QR opens the
        // electronic receipt like the original's.
        token: v.token,
    })
}

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

    fn view(status: Validity) -> ReceiptView {
        ReceiptView {
            receipt_number: ReceiptNumber::new("44010026112600000178").unwrap(),
            doc: crate::config::DocumentId::IdCard,
            region: "440100".parse().unwrap(),
            title: "广州市居民身份证数字相片采集回执".into(),
            kiosk_id: "K".into(),
            issued_at: "2026-11-26T21:40:07+08:00".into(),
            valid_until: chrono::NaiveDate::from_ymd_opt(2027, 5, 25).unwrap(),
            status,
            photo_jpeg_b64: Some("/9j/AAAA".into()),
            token: Some(crate::receipt::ReceiptToken::new("0123456789abcdef0123456789abcdef").unwrap()),
        }
    }

    #[test]
    fn a_valid_view_becomes_a_job_and_an_expired_one_is_refused() {
        let n = ReceiptNumber::new("44010026112600000178").unwrap();
        let job = job_from_view(&n, view(Validity::Valid)).unwrap();
        assert!(matches!(&job.slip, Slip::Receipt { number, .. } if *number == n));
        assert_eq!(job.photo.as_ref().unwrap().0[..2], [0xFF, 0xD8]);
        assert!(job.masked_name.is_none());
        assert_eq!(
            job.token.as_ref().map(|t| t.expose()),
            Some("0123456789abcdef0123456789abcdef"),
            "the reprint's QR carries the token the service returned"
        );
        assert_eq!(
            job_from_view(&n, view(Validity::Expired)).unwrap_err().id,
            "receipt_expired"
        );
        let other = ReceiptNumber::new("44010026112600000186").unwrap();
        assert_eq!(
            job_from_view(&other, view(Validity::Valid)).unwrap_err().id,
            "receipt_mismatch"
        );
    }

    #[test]
    fn a_region_this_kiosk_lacks_is_refused_before_printing() {
        let mut cfg = Config::builtin();
        let n = ReceiptNumber::new("44010026112600000178").unwrap();
        let job = job_from_view(&n, view(Validity::Valid)).unwrap();
        assert!(check_layout(&cfg, &job).is_ok());
        cfg.regions.remove(&"440100".parse().unwrap());
        assert_eq!(check_layout(&cfg, &job).unwrap_err().id, "region_not_configured");
    }
}
