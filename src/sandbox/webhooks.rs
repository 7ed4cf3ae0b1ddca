//! The sandbox vendors' webhooks: events in each vendor's documented shape, signed the way
//! each vendor documents, POSTed to the target that `dev` or a test sets. The signing is
//! written here from the vendors' documents, not borrowed from the proxy's verifier, so
//! the two check each other.
//!
//! - Kombo: `X-Kombo-Signature` = base64url without padding of HMAC-SHA256(secret, body)
//!   (docs.kombo.dev/webhooks).
//! - Bindbee: `X-Bindbee-Webhook-Signature` = `base64.urlsafe_b64encode(hmac_digest)`
//!   (padded) of HMAC-SHA256(signature key, body) (Bindbee docs, webhooks/overview).

use std::sync::RwLock;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Where a sandbox vendor sends its webhooks, and the secret it signs them with.
#[derive(Debug, Clone)]
struct Target {
    url: String,
    secret: String,
}

/// One vendor's webhook sender; without a target, nothing is sent.
#[derive(Default)]
pub(super) struct Sender {
    target: RwLock<Option<Target>>,
}

/// How a vendor signs.
#[derive(Debug, Clone, Copy)]
pub(super) enum Signing {
    /// Kombo: base64url, no padding.
    Kombo,
    /// Bindbee: URL-safe base64, padded.
    Bindbee,
}

impl Signing {
    fn header(self) -> &'static str {
        match self {
            Signing::Kombo => "X-Kombo-Signature",
            Signing::Bindbee => "X-Bindbee-Webhook-Signature",
        }
    }

    fn sign(self, secret: &str, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
            .expect("HMAC-SHA256 takes a key of any length");
        mac.update(body);
        let tag = mac.finalize().into_bytes();
        match self {
            Signing::Kombo => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag),
            Signing::Bindbee => base64::engine::general_purpose::URL_SAFE.encode(tag),
        }
    }
}

impl Sender {
    pub fn set_target(&self, url: &str, secret: &str) {
        if let Ok(mut t) = self.target.write() {
            *t = Some(Target {
                url: url.to_string(),
                secret: secret.to_string(),
            });
        }
    }

    /// Signs and POSTs `event`; the status the target answered.
    pub async fn send(&self, signing: Signing, event: &Value) -> Result<u16, String> {
        let target = self
            .target
            .read()
            .ok()
            .and_then(|t| t.clone())
            .ok_or("no webhook target is set")?;
        let body = event.to_string();
        let signature = signing.sign(&target.secret, body.as_bytes());
        let answer = reqwest::Client::new()
            .post(&target.url)
            .header("Content-Type", "application/json")
            .header(signing.header(), signature)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("the target did not answer: {e}"))?;
        Ok(answer.status().as_u16())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_each_vendors_encoding_of_the_mac() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog") =
        // f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8 (RFC 4231 style
        // reference value, widely published).
        let body = b"The quick brown fox jumps over the lazy dog";
        assert_eq!(
            Signing::Kombo.sign("key", body),
            "97yD9DBThCSxMpjmqm-xQ-9NWaFJRhdZl0edvC0aPNg"
        );
        assert_eq!(
            Signing::Bindbee.sign("key", body),
            "97yD9DBThCSxMpjmqm-xQ-9NWaFJRhdZl0edvC0aPNg="
        );
    }
}
