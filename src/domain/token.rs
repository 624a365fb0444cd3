//! The receipt token: 128 random bits (32 lowercase hex digits) the review service issues
//! with an approval. Whoever holds it may read that one receipt on the public routes
//! (`?token=`), so it rides in the slip's and the screen's QR — and nowhere else: it is
//! not personal data, but it is a secret, so it never appears in logs or `Debug` output.

use serde::{Deserialize, Serialize};

/// Hex digits of a token (128 bits).
pub const TOKEN_HEX_LEN: usize = 32;

/// A well-formed receipt token. `Debug` is redacted so a logged `Decision` or job cannot
/// leak it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReceiptToken(String);

impl ReceiptToken {
    /// A fresh token from the OS random source (the service's side).
    pub fn random() -> ReceiptToken {
        ReceiptToken(hex::encode(rand::random::<[u8; TOKEN_HEX_LEN / 2]>()))
    }

    pub fn new(s: &str) -> Result<ReceiptToken, String> {
        if s.len() == TOKEN_HEX_LEN && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(ReceiptToken(s.to_string()))
        } else {
            Err(format!(
                "a receipt token is {TOKEN_HEX_LEN} lowercase hex digits (got {} characters)",
                s.len()
            ))
        }
    }

    /// The token for a URL query. Callers must not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a presented token (no timing oracle on the prefix).
    pub fn matches(&self, presented: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for ReceiptToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReceiptToken(<redacted>)")
    }
}

impl TryFrom<String> for ReceiptToken {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        ReceiptToken::new(&s)
    }
}

impl From<ReceiptToken> for String {
    fn from(t: ReceiptToken) -> String {
        t.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_128_bit_hex_and_never_debug_printed() {
        let t = ReceiptToken::random();
        assert_eq!(t.expose().len(), 32);
        assert_ne!(t, ReceiptToken::random());
        assert!(!format!("{t:?}").contains(t.expose()));
        assert!(t.matches(t.expose()));
        assert!(!t.matches(&"0".repeat(32)) || t.expose() == "0".repeat(32));
        assert!(!t.matches(&t.expose()[..31]));
        assert!(ReceiptToken::new("ABCDEF0123456789abcdef0123456789").is_err());
        assert!(ReceiptToken::new("abc").is_err());
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<ReceiptToken>(&json).unwrap(), t);
        assert!(serde_json::from_str::<ReceiptToken>("\"zz\"").is_err());
    }
}
