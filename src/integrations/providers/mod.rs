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
    /// 429: the vendor's `Retry-After`, when it sent a readable one, is passed on.
    #[error("provider rate limit reached")]
    RateLimited { retry_after: Option<String> },
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

    /// The vendor's API base URL (`integrations.<provider>.base_url`).
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The API key, for the gateway's requests (never logged).
    pub fn api_key(&self) -> &str {
        self.api_key.expose()
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

    /// `GET` with query parameters (encoded by `url`).
    pub async fn get_query(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Value, ProviderError> {
        let mut url = self.url(segments);
        url.query_pairs_mut().extend_pairs(query);
        self.send(self.http.get(url)).await
    }

    /// `DELETE`, with a JSON body when the vendor documents one. Any 2xx is success,
    /// whatever its body (Kombo answers JSON, Bindbee may answer 204).
    pub async fn delete(
        &self,
        segments: &[&str],
        body: Option<&Value>,
    ) -> Result<(), ProviderError> {
        let mut request = self.http.delete(self.url(segments));
        if let Some(body) = body {
            request = request
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        self.exchange(request).await.map(|_| ())
    }

    pub async fn post(&self, segments: &[&str], body: &Value) -> Result<Value, ProviderError> {
        let request = self
            .http
            .post(self.url(segments))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        self.send(request).await
    }

    /// A call whose 2xx answer must be the vendor's JSON.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let body = self.exchange(request).await?;
        serde_json::from_slice(&body).map_err(|_| ProviderError::Malformed)
    }

    /// Sends with the API key; a 2xx answer's body (at most [`MAX_BODY`]), or the error
    /// the status stands for.
    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<Vec<u8>, ProviderError> {
        let mut response = request
            .bearer_auth(self.api_key.expose())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(classify)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_retry_after(v))
            .map(str::to_string);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(ProviderError::Malformed);
            }
            body.extend_from_slice(&chunk);
        }
        match status {
            200..=299 => Ok(body),
            429 => Err(ProviderError::RateLimited { retry_after }),
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

/// A `Retry-After` worth passing on: delay-seconds or an HTTP-date (RFC 9110 §10.2.3),
/// nothing that could carry more than that.
fn is_retry_after(value: &str) -> bool {
    let seconds =
        !value.is_empty() && value.len() <= 10 && value.bytes().all(|b| b.is_ascii_digit());
    seconds || httpdate::parse_http_date(value).is_ok()
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
    fn only_a_well_formed_retry_after_is_passed_on() {
        assert!(is_retry_after("30"));
        assert!(is_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert!(!is_retry_after(""));
        assert!(!is_retry_after("30, 40"));
        assert!(!is_retry_after("soon"));
        assert!(!is_retry_after("12345678901"));
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
