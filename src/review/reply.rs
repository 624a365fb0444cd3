//! What the kiosk makes of the review centre's replies: pure functions from an HTTP
//! status and a body to a typed result, kept apart from the transport so that any reply
//! (a proxy's error page, a truncated body, a hostile server) is a typed outcome and
//! never a panic — property-tested below.

use super::api::{ApiError, ReceiptView, Status, SubmissionView, SubmitAccepted};
use crate::domain::Prompt;

/// A reply the kiosk cannot act on now (each one is retried, none is final).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// 408, 429, 5xx, or an unexpected status where only one is valid.
    #[error("HTTP {status}")]
    Status { status: u16 },
    /// The body is not the JSON the API promises.
    #[error("HTTP {status} with an unreadable reply: {reason}")]
    Unreadable { status: u16, reason: String },
    /// A reply about another submission (a confused proxy or cache).
    #[error("the reply is about submission {got}, not this one")]
    OtherSubmission { got: String },
}

/// The outcome of `POST /v1/submissions`.
#[derive(Debug, Clone, PartialEq)]
pub enum SubmitReply {
    /// 2xx: the id, and the decision if it was immediate.
    Accepted(SubmitAccepted),
    /// Any other status (4xx; also an unexpected 1xx/3xx): final, the person is told why
    /// (the service's words, or ours).
    Refused { status: u16, prompt: Prompt },
}

/// 408, 429 and 5xx are worth retrying; any other 4xx is final.
pub fn retryable(status: u16) -> bool {
    status == 408 || status == 429 || status >= 500
}

/// `POST /v1/submissions` → accepted, refused, or a retry ([`ReplyError`]).
pub fn submit(status: u16, body: &[u8]) -> Result<SubmitReply, ReplyError> {
    if (200..300).contains(&status) {
        return serde_json::from_slice(body)
            .map(SubmitReply::Accepted)
            .map_err(|e| ReplyError::Unreadable {
                status,
                reason: e.to_string(),
            });
    }
    if retryable(status) {
        return Err(ReplyError::Status { status });
    }
    let prompt = match serde_json::from_slice::<ApiError>(body) {
        Ok(e) => Prompt::new(&e.error, &e.message_zh, &e.message_en),
        Err(_) => Prompt::new(
            "upload_refused",
            &format!("审核中心拒绝受理（HTTP {status}），请联系工作人员"),
            &format!("The review centre refused the upload (HTTP {status}); please ask staff"),
        ),
    };
    Ok(SubmitReply::Refused { status, prompt })
}

/// `GET /v1/submissions/{id}` → where submission `id` stands.
pub fn submission(status: u16, body: &[u8], id: &str) -> Result<Status, ReplyError> {
    if status != 200 {
        return Err(ReplyError::Status { status });
    }
    let v: SubmissionView = serde_json::from_slice(body).map_err(|e| ReplyError::Unreadable {
        status,
        reason: e.to_string(),
    })?;
    if v.id != id {
        return Err(ReplyError::OtherSubmission { got: v.id });
    }
    Ok(v.status)
}

/// A refusal's body (`ApiError`) as `(code, English message)`; a body that is no
/// `ApiError` (a proxy's page) gives `unreadable`.
pub fn api_error(status: u16, body: &[u8]) -> (String, String) {
    match serde_json::from_slice::<ApiError>(body) {
        Ok(e) => (e.error, e.message_en),
        Err(_) => ("unreadable".into(), format!("HTTP {status} with an unreadable body")),
    }
}

/// `GET /v1/receipts/{number}` → the receipt, or why not: `Err(Ok(..))` is the
/// service's refusal (code and message), `Err(Err(..))` a reply that cannot be read.
pub fn receipt(status: u16, body: &[u8]) -> Result<ReceiptView, Result<(u16, String, String), ReplyError>> {
    if status != 200 {
        let (code, message) = api_error(status, body);
        return Err(Ok((status, code, message)));
    }
    serde_json::from_slice(body).map_err(|e| {
        Err(ReplyError::Unreadable {
            status,
            reason: e.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_replies_map_to_their_outcomes() {
        let ok = br#"{"id":"s1","status":"pending"}"#;
        assert!(matches!(submit(202, ok), Ok(SubmitReply::Accepted(a)) if a.id == "s1"));
        assert_eq!(submit(503, b"<html>"), Err(ReplyError::Status { status: 503 }));
        assert!(matches!(
            submit(202, b"<html>"),
            Err(ReplyError::Unreadable { status: 202, .. })
        ));
        let refused = r#"{"error":"bad_doc","message_zh":"证件类型不支持","message_en":"unsupported document"}"#;
        assert!(
            matches!(submit(422, refused.as_bytes()), Ok(SubmitReply::Refused { status: 422, prompt }) if prompt.id == "bad_doc")
        );
        assert!(matches!(submit(400, b""), Ok(SubmitReply::Refused { prompt, .. }) if prompt.id == "upload_refused"));
        let view = br#"{"id":"s1","doc":"id-card","region":"440100","status":"pending"}"#;
        assert_eq!(submission(200, view, "s1"), Ok(Status::Pending));
        assert_eq!(
            submission(200, view, "s2"),
            Err(ReplyError::OtherSubmission { got: "s1".into() })
        );
        assert!(matches!(receipt(404, b"nope"), Err(Ok((404, code, _))) if code == "unreadable"));
    }

    /// JSON-ish bodies: real field names and values mixed with junk, so the typed paths
    /// past the first brace are exercised, not only "not JSON".
    fn body() -> impl Strategy<Value = Vec<u8>> {
        let field = prop::sample::select(vec![
            "id",
            "status",
            "doc",
            "region",
            "receipt_number",
            "valid_until",
            "token",
            "reasons",
            "error",
            "message_zh",
            "message_en",
            "title",
            "kiosk_id",
            "issued_at",
            "photo_jpeg_b64",
        ]);
        let value = prop::sample::select(vec![
            "\"pending\"",
            "\"approved\"",
            "\"rejected\"",
            "\"id-card\"",
            "\"440100\"",
            "\"44010026112600000173\"",
            "\"2027-05-25\"",
            "\"2027-02-30\"",
            "\"00112233445566778899aabbccddeeff\"",
            "[]",
            "[{\"id\":\"x\",\"zh\":\"a\",\"en\":\"b\"}]",
            "null",
            "1e999",
            "-1",
            "\"\\ud800\"",
            "{}",
        ]);
        let json = prop::collection::vec((field, value), 0..8).prop_map(|kv| {
            let inner: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            format!("{{{}}}", inner.join(",")).into_bytes()
        });
        prop_oneof![
            3 => json,
            1 => prop::collection::vec(any::<u8>(), 0..200),
        ]
    }

    proptest! {
        // Cases: PROPTEST_CASES (default 256).
        /// Any status and body: a typed outcome, never a panic; 2xx is never a refusal,
        /// a retryable status is never final.
        #[test]
        fn any_reply_is_a_typed_outcome(status in 100u16..600, body in body()) {
            match submit(status, &body) {
                Ok(SubmitReply::Accepted(_)) => prop_assert!((200..300).contains(&status)),
                Ok(SubmitReply::Refused { status: s, prompt }) => {
                    prop_assert_eq!(s, status);
                    prop_assert!(!(200..300).contains(&status) && !retryable(status));
                    prop_assert!(!prompt.id.is_empty());
                }
                Err(ReplyError::Status { status: s }) => prop_assert_eq!(s, status),
                Err(ReplyError::Unreadable { status: s, reason }) => {
                    prop_assert_eq!(s, status);
                    prop_assert!(!reason.is_empty());
                }
                Err(e @ ReplyError::OtherSubmission { .. }) => prop_assert!(false, "{e}"),
            }
            match submission(status, &body, "s1") {
                Ok(_) => prop_assert_eq!(status, 200),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            match receipt(status, &body) {
                Ok(_) => prop_assert_eq!(status, 200),
                Err(Ok((s, code, _))) => {
                    prop_assert_eq!(s, status);
                    prop_assert!(!code.is_empty());
                }
                Err(Err(e)) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}
