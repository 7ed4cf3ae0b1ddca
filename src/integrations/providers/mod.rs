//! Clients for the vendors' APIs: API key as bearer, no redirects, a timeout per call,
//! bodies capped at 1 MiB, every value put into a URL path percent-encoded (and tokens
//! checked to be plain tokens first, so `../x` can never reach another endpoint).

pub mod bindbee;
pub mod kombo;

use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::config::Secret;

const MAX_BODY: usize = 1024 * 1024;
/// Longest vendor message relayed to a client.
const MAX_MESSAGE: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("provider rejected the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("provider answered {status}")]
    Unavailable { status: u16 },
    #[error("provider timed out")]
    Timeout,
    #[error("provider unreachable")]
    Unreachable,
    #[error("provider answered with an unexpected body")]
    Malformed,
}

impl ProviderError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ProviderError::Rejected { status: 404, .. })
    }
}

/// True for a vendor token that can be put in a URL path: plain token characters only.
pub fn is_plain_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 2048
        && token != "."
        && token != ".."
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
    api_key: Secret,
}

impl ApiClient {
    pub fn new(
        base: &Url,
        api_key: Secret,
        timeout: Duration,
    ) -> Result<ApiClient, reqwest::Error> {
        let http = crate::outbound::client(timeout)?;
        Ok(ApiClient {
            http,
            base: base.clone(),
            api_key,
        })
    }

    /// `base` + each segment, percent-encoded (`/` and `%` included).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    pub async fn get(&self, segments: &[&str]) -> Result<Value, ProviderError> {
        let request = self.http.get(self.url(segments));
        self.send(request).await
    }

    pub async fn post(&self, segments: &[&str], body: &Value) -> Result<Value, ProviderError> {
        let request = self
            .http
            .post(self.url(segments))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let mut response = request
            .bearer_auth(self.api_key.expose())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(classify)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(ProviderError::Malformed);
            }
            body.extend_from_slice(&chunk);
        }
        match status {
            200..=299 => serde_json::from_slice(&body).map_err(|_| ProviderError::Malformed),
            400..=499 => Err(ProviderError::Rejected {
                status,
                message: vendor_message(&body),
            }),
            _ => Err(ProviderError::Unavailable { status }),
        }
    }
}

fn classify(e: reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        ProviderError::Timeout
    } else {
        ProviderError::Unreachable
    }
}

/// The human message in a vendor error body (Bindbee `detail`, Kombo `error.message`),
/// stripped of control characters and shortened.
fn vendor_message(body: &[u8]) -> String {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let message = match &value {
        Value::Object(o) => o
            .get("error")
            .and_then(|e| e.get("message"))
            .or_else(|| o.get("message"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| match o.get("detail") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Array(items)) => Some(
                    items
                        .iter()
                        .filter_map(|i| i.get("msg").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                _ => None,
            })
            .or_else(|| o.get("error").and_then(Value::as_str).map(str::to_string)),
        _ => None,
    };
    let message = message.unwrap_or_else(|| "no message".to_string());
    message
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_MESSAGE)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_values_are_encoded_and_dot_segments_refused() {
        let c = ApiClient::new(
            &Url::parse("https://api.example.com/v1").unwrap(),
            Secret::new("k"),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(
            c.url(&["connect", "integration-by-token", "a/b?c#d%e"])
                .as_str(),
            "https://api.example.com/v1/connect/integration-by-token/a%2Fb%3Fc%23d%25e"
        );
        assert!(!is_plain_token("../x"));
        assert!(!is_plain_token(".."));
        assert!(!is_plain_token(""));
        assert!(is_plain_token("tt_abc-DEF.123~"));
    }

    #[test]
    fn vendor_messages_are_extracted_and_sanitised() {
        assert_eq!(
            vendor_message(br#"{"detail":"bad category"}"#),
            "bad category"
        );
        assert_eq!(
            vendor_message(br#"{"detail":[{"msg":"a"},{"msg":"b"}]}"#),
            "a; b"
        );
        assert_eq!(
            vendor_message(br#"{"status":"error","error":{"message":"nope\n"}}"#),
            "nope"
        );
        assert_eq!(vendor_message(b"<html>"), "no message");
    }
}
