//! Operator reprint by number, the review side (receipt.md §6.6): a receipt fetched again
//! from the review service becomes the slip job the printer reprints, or a refusal in
//! both languages for the operator.

use super::api::{ReceiptView, Validity};
use super::ReviewError;
use crate::domain::{PhotoJpeg, Prompt, ReceiptNumber, Slip, SlipJob};
use base64::Engine as _;

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
            token: Some(crate::domain::ReceiptToken::new("0123456789abcdef0123456789abcdef").unwrap()),
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
}
