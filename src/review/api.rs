//! The JSON the review service and the kiosk exchange (see `docs/review-api.md`).
//! Both sides use these types, so a field renamed here is renamed everywhere.

use crate::config::{DocumentId, RegionCode};
use crate::domain::ReceiptToken;
use crate::domain::{ClaimCode, Prompt, ReceiptNumber};
use crate::session::Details;
use serde::{Deserialize, Serialize};

/// Header carrying the kiosk's idempotency key on `POST /v1/submissions`.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Longest accepted idempotency key.
pub const MAX_IDEMPOTENCY_KEY: usize = 64;

/// `POST /v1/submissions` body. Personal data: only ever kept encrypted on the kiosk.
#[derive(Debug, Serialize, Deserialize)]
pub struct SubmitRequest {
    pub kiosk_id: String,
    pub doc: DocumentId,
    pub region: RegionCode,
    pub details: Details,
    /// Printed on the claim slip when the decision is late; `GET /v1/claims/{code}`.
    pub claim_code: ClaimCode,
    /// The JPEG, standard base64.
    pub photo_jpeg_b64: String,
}

/// The answer to a submit: the id at once, the decision later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmitAccepted {
    pub id: String,
    #[serde(flatten)]
    pub status: Status,
}

/// Where a submission stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Status {
    /// Received; being checked or waiting for an operator.
    Pending,
    Approved {
        receipt_number: ReceiptNumber,
        valid_until: chrono::NaiveDate,
        /// The 128-bit token for the public receipt routes (the slip's QR carries it).
        token: ReceiptToken,
    },
    /// Reasons in Chinese and English.
    Rejected { reasons: Vec<Prompt> },
}

/// `GET /v1/submissions/{id}` and `GET /v1/claims/{code}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmissionView {
    pub id: String,
    pub doc: DocumentId,
    pub region: RegionCode,
    #[serde(flatten)]
    pub status: Status,
    /// Once approved: where the electronic receipt (PDF) is, relative to the service's
    /// root, token included (`/v1/receipts/{number}.pdf?token=…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_pdf: Option<String>,
}

/// `GET /review/{id}` (a logged-in operator): where a submission stands and who decided
/// it, when. No token and no personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorView {
    pub id: String,
    pub kiosk_id: String,
    pub doc: DocumentId,
    pub region: RegionCode,
    /// `received` (being checked), `pending` (waiting for an operator), `approved`, `rejected`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_number: Option<ReceiptNumber>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Prompt>,
    /// RFC 3339, China Standard Time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    /// `staff:NAME` (an operator), `machine` (the machine check), `auto`
    /// (`--auto-approve-after`); absent before the decision, or for decisions made before
    /// the audit trail existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}

/// Whether a receipt can still be used at the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Validity {
    Valid,
    Expired,
    Unknown,
}

/// `GET /v1/receipts/{number}/verify`: nothing but the validity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyView {
    pub status: Validity,
}

/// `GET /v1/receipts/{number}` (the issuing kiosk's key, or `?token=`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptView {
    pub receipt_number: ReceiptNumber,
    pub doc: DocumentId,
    pub region: RegionCode,
    /// e.g. 广州市居民身份证数字相片采集回执
    pub title: String,
    pub kiosk_id: String,
    /// RFC 3339, China Standard Time.
    pub issued_at: String,
    pub valid_until: chrono::NaiveDate,
    pub status: Validity,
    /// The approved photo, until the retention purge removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_jpeg_b64: Option<String>,
    /// The receipt token, only in the answer to the issuing kiosk's key (its operator
    /// reprint prints it in the QR again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<ReceiptToken>,
}

/// Every 4xx/5xx body: a stable code and a message in both languages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
    pub message_zh: String,
    pub message_en: String,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub pending: u64,
}
