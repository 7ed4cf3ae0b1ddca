//! The one place errors become HTTP responses. Each variant's status, code, challenge and
//! retry advice sit in one table ([`ProxyError::meta`]), grouped by who caused the
//! failure: the client (4xx), the identity provider or a vendor (502/503/504), the
//! upstream (502/504), or the proxy and its stores (500/503).

use axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

/// Every failure the proxy reports to a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error("the request path is not acceptable: {0}")]
    BadPath(&'static str),
    #[error("the request is malformed: {0}")]
    BadRequest(&'static str),
    #[error("the Authorization header is not \"Bearer <token>\"")]
    MalformedAuthorization,
    #[error("the bearer token is not valid")]
    InvalidToken,
    #[error("authentication required")]
    Unauthenticated,
    #[error("access denied by policy")]
    Forbidden,
    #[error("the identity provider is unavailable; try again shortly")]
    IdentityProviderUnavailable,
    #[error("the session store is unavailable; try again shortly")]
    SessionStoreUnavailable,
    #[error("sign-in was cancelled or refused at Bink")]
    SignInDenied,
    #[error("sign-in failed: Bink did not complete the login; try again")]
    SignInFailed,
    #[error("the upstream could not be reached")]
    UpstreamUnavailable,
    #[error("the upstream did not answer in time")]
    UpstreamTimeout,
    #[error("not found")]
    NotFound,
    #[error("your Bink profile is too large for a session cookie; ask the operator to use the Redis session store (session.store = \"redis\")")]
    SessionTooLarge,
    #[error("this route does not answer that method")]
    MethodNotAllowed,
    #[error("the client's request body framing is broken")]
    BrokenClientBody,
    #[error("invalid request: {0}")]
    InvalidBody(String),
    #[error("request body larger than 64 KiB")]
    PayloadTooLarge,
    #[error("request body larger than integrations.gateway.max_request_body ({0} bytes)")]
    GatewayBodyTooLarge(u64),
    #[error("name the integration with the X-Integration-Id header (once)")]
    IntegrationIdMissing,
    #[error("no such integration")]
    IntegrationNotFound,
    #[error("the webhook signature is missing or does not match")]
    WebhookSignatureInvalid,
    #[error("state-changing requests with a session cookie must come from this origin as JSON")]
    CsrfRejected,
    #[error("this provider is not configured")]
    ProviderNotConfigured,
    #[error("the provider rejected the request: {0}")]
    ProviderRejected(String),
    /// The vendor's rate limit; carries the vendor's `Retry-After` value when it sent one.
    #[error("the provider's rate limit was reached; try again later")]
    ProviderRateLimited(Option<String>),
    #[error("the token from the vendor's connection flow is unknown or expired; start the connection again")]
    VendorTokenInvalid,
    #[error(
        "this provider needs an email address for the person connecting, and your account has none"
    )]
    EmailRequired,
    #[error("reconnecting is not available for this provider: disconnect and connect again")]
    RelinkNotSupported,
    #[error("the provider failed to answer properly")]
    ProviderFailed,
    #[error("the provider did not answer in time")]
    ProviderTimeout,
    #[error("the provider could not be reached")]
    ProviderUnreachable,
    #[error("the integration does not belong to your organization")]
    OrganizationMismatch,
    #[error("integrations need an organization: your account has no email address")]
    NoOrganization,
    #[error("the integration database is unavailable; try again shortly")]
    DatabaseUnavailable,
    #[error("internal error")]
    Internal,
}

/// Seconds a client should wait before retrying after an outage of something the proxy
/// depends on (identity provider, session store, integrations database).
const RETRY_AFTER_SECS: &str = "5";

/// Everything the response for one variant needs, written in one place: adding a variant
/// is one arm of [`ProxyError::meta`].
struct Meta {
    status: StatusCode,
    /// The machine-readable `error` code of the JSON body.
    code: &'static str,
    /// The `WWW-Authenticate` challenge, for the 401s.
    challenge: Option<&'static str>,
    /// Whether the client should retry after [`RETRY_AFTER_SECS`] (an outage, not a refusal).
    retry: bool,
}

const fn meta(status: StatusCode, code: &'static str) -> Meta {
    Meta {
        status,
        code,
        challenge: None,
        retry: false,
    }
}

const fn challenge(code: &'static str, challenge: &'static str) -> Meta {
    Meta {
        challenge: Some(challenge),
        ..meta(StatusCode::UNAUTHORIZED, code)
    }
}

const fn outage(code: &'static str) -> Meta {
    Meta {
        retry: true,
        ..meta(StatusCode::SERVICE_UNAVAILABLE, code)
    }
}

impl ProxyError {
    /// Grouped by who caused the failure: the client, the identity provider, a vendor, the
    /// upstream, the proxy's own stores, the proxy itself.
    fn meta(&self) -> Meta {
        use ProxyError::*;
        use StatusCode as S;
        match self {
            // The client.
            BadPath(_) | BadRequest(_) | BrokenClientBody => meta(S::BAD_REQUEST, "bad_request"),
            InvalidBody(_) => meta(S::BAD_REQUEST, "invalid_request"),
            MalformedAuthorization => {
                challenge("invalid_request", r#"Bearer error="invalid_request""#)
            }
            InvalidToken => challenge("invalid_token", r#"Bearer error="invalid_token""#),
            Unauthenticated => challenge("unauthenticated", "Bearer"),
            Forbidden => meta(S::FORBIDDEN, "forbidden"),
            SignInDenied => meta(S::FORBIDDEN, "access_denied"),
            CsrfRejected => meta(S::FORBIDDEN, "csrf_check_failed"),
            OrganizationMismatch => meta(S::FORBIDDEN, "organization_mismatch"),
            VendorTokenInvalid => meta(S::BAD_REQUEST, "invalid_token"),
            EmailRequired => meta(S::UNPROCESSABLE_ENTITY, "email_required"),
            RelinkNotSupported => meta(S::CONFLICT, "relink_not_supported"),
            NoOrganization => meta(S::FORBIDDEN, "organization_unavailable"),
            NotFound => meta(S::NOT_FOUND, "not_found"),
            ProviderNotConfigured => meta(S::NOT_FOUND, "provider_not_configured"),
            MethodNotAllowed => meta(S::METHOD_NOT_ALLOWED, "method_not_allowed"),
            PayloadTooLarge | GatewayBodyTooLarge(_) => {
                meta(S::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            IntegrationIdMissing => meta(S::BAD_REQUEST, "integration_id_required"),
            WebhookSignatureInvalid => meta(S::UNAUTHORIZED, "invalid_signature"),
            // One answer for absent, another organization's and the other provider's.
            IntegrationNotFound => meta(S::NOT_FOUND, "integration_not_found"),
            // The identity provider.
            SignInFailed => meta(S::BAD_GATEWAY, "sign_in_failed"),
            SessionTooLarge => meta(S::BAD_GATEWAY, "session_too_large"),
            IdentityProviderUnavailable => outage("identity_provider_unavailable"),
            // A vendor.
            ProviderRejected(_) => meta(S::BAD_GATEWAY, "provider_rejected"),
            // 429 rather than 502: with the vendor's `Retry-After` a client can wait and
            // retry, which RFC 9110 gives no meaning on a 502.
            ProviderRateLimited(_) => meta(S::TOO_MANY_REQUESTS, "provider_rate_limited"),
            ProviderFailed => meta(S::BAD_GATEWAY, "provider_error"),
            ProviderTimeout => meta(S::GATEWAY_TIMEOUT, "provider_timeout"),
            ProviderUnreachable => meta(S::GATEWAY_TIMEOUT, "provider_unreachable"),
            // The upstream.
            UpstreamUnavailable => meta(S::BAD_GATEWAY, "bad_gateway"),
            UpstreamTimeout => meta(S::GATEWAY_TIMEOUT, "gateway_timeout"),
            // The proxy's stores, and the proxy itself.
            SessionStoreUnavailable => outage("session_store_unavailable"),
            DatabaseUnavailable => outage("database_unavailable"),
            Internal => meta(S::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.meta().status
    }

    /// The machine-readable `error` code of the JSON body.
    pub fn code(&self) -> &'static str {
        self.meta().code
    }

    /// JSON for API clients.
    pub fn json_response(&self) -> Response {
        let body =
            serde_json::json!({ "error": self.code(), "message": self.to_string() }).to_string();
        self.respond("application/json", body)
    }

    /// A small HTML page for browser navigations; every dynamic part is escaped.
    pub fn html_response(&self) -> Response {
        let status = self.status();
        let title = html_escape(status.canonical_reason().unwrap_or("Error"));
        let text = self.to_string();
        let message = html_escape(&text);
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{code} {title}</title></head>\
             <body><main><h1>{code} {title}</h1><p>{message}</p></main></body></html>",
            code = status.as_u16()
        );
        self.respond("text/html; charset=utf-8", body)
    }

    fn respond(&self, content_type: &'static str, body: String) -> Response {
        let meta = self.meta();
        let mut response = (meta.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(v) = meta.challenge {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(v));
        }
        if meta.retry {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
        }
        if let ProxyError::ProviderRateLimited(Some(after)) = self {
            if let Ok(v) = HeaderValue::from_str(after) {
                headers.insert(RETRY_AFTER, v);
            }
        }
        response
    }
}

/// The error as JSON, or as an HTML page for a browser navigation.
pub fn error_response(error: ProxyError, method: &Method, headers: &HeaderMap) -> Response {
    if is_navigation(method, headers) {
        error.html_response()
    } else {
        error.json_response()
    }
}

/// A top-level browser navigation gets HTML pages (and, with sign-in, a redirect).
pub fn is_navigation(method: &Method, headers: &HeaderMap) -> bool {
    if method != Method::GET && method != Method::HEAD {
        return false;
    }
    let navigate = headers
        .get("sec-fetch-mode")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"navigate"));
    navigate
        || headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("text/html"))
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        self.json_response()
    }
}

/// Escapes text for an HTML element body or a quoted attribute.
pub fn html_escape(s: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_safe(s)
}

/// A part of the proxy that could not be set up at start-up, named by the config key it
/// comes from (exit code 1; config syntax problems are `config::ConfigError`).
#[derive(Debug, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct SetupError {
    pub key: &'static str,
    pub reason: String,
}

impl SetupError {
    pub fn new(key: &'static str, reason: impl std::fmt::Display) -> SetupError {
        SetupError {
            key,
            reason: reason.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(r: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn each_error_maps_to_its_status_and_code() {
        let cases = [
            (ProxyError::BadPath("x"), 400, "bad_request"),
            (ProxyError::MethodNotAllowed, 405, "method_not_allowed"),
            (ProxyError::BrokenClientBody, 400, "bad_request"),
            (ProxyError::MalformedAuthorization, 401, "invalid_request"),
            (ProxyError::InvalidToken, 401, "invalid_token"),
            (ProxyError::Unauthenticated, 401, "unauthenticated"),
            (ProxyError::Forbidden, 403, "forbidden"),
            (
                ProxyError::IdentityProviderUnavailable,
                503,
                "identity_provider_unavailable",
            ),
            (ProxyError::UpstreamUnavailable, 502, "bad_gateway"),
            (ProxyError::UpstreamTimeout, 504, "gateway_timeout"),
            (ProxyError::Internal, 500, "internal_error"),
            (
                ProxyError::SessionStoreUnavailable,
                503,
                "session_store_unavailable",
            ),
            (ProxyError::SignInDenied, 403, "access_denied"),
            (ProxyError::SignInFailed, 502, "sign_in_failed"),
        ];
        for (err, status, code) in cases {
            let r = err.clone().into_response();
            assert_eq!(r.status().as_u16(), status, "{err:?}");
            assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
            assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
            let body = body_of(r).await;
            assert_eq!(body["error"], code);
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }

    #[test]
    fn outage_carries_retry_after_and_invalid_token_a_challenge() {
        let r = ProxyError::IdentityProviderUnavailable.into_response();
        assert_eq!(r.headers()[RETRY_AFTER], RETRY_AFTER_SECS);
        let r = ProxyError::InvalidToken.into_response();
        assert_eq!(
            r.headers()[WWW_AUTHENTICATE],
            r#"Bearer error="invalid_token""#
        );
    }

    #[test]
    fn html_escape_covers_markup_and_quotes() {
        let escaped = html_escape(r#"<a href="x">'&'</a>"#);
        for raw in ['<', '>', '"', '\''] {
            assert!(!escaped.contains(raw), "{escaped}");
        }
        assert!(escaped.contains("&amp;"));
    }
}
