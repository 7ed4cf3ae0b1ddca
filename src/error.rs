//! The one place errors become HTTP responses. The status says who caused the failure:
//! the client (400/401/403/431), the upstream (502/504), the identity provider (503), or
//! the proxy itself (500) — the shape of pingora's `fail_to_proxy`.

use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

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
    #[error("state-changing requests with a session cookie must come from this origin as JSON")]
    CsrfRejected,
    #[error("this provider is not configured")]
    ProviderNotConfigured,
    #[error("the provider rejected the request: {0}")]
    ProviderRejected(String),
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

/// Seconds a client should wait before retrying after an identity-provider outage.
const RETRY_AFTER_SECS: &str = "5";

impl ProxyError {
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::BadPath(_) | ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::MalformedAuthorization
            | ProxyError::InvalidToken
            | ProxyError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ProxyError::Forbidden | ProxyError::SignInDenied => StatusCode::FORBIDDEN,
            ProxyError::SignInFailed => StatusCode::BAD_GATEWAY,
            ProxyError::SessionStoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::NotFound | ProxyError::ProviderNotConfigured => StatusCode::NOT_FOUND,
            ProxyError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProxyError::SessionTooLarge => StatusCode::BAD_GATEWAY,
            ProxyError::BrokenClientBody => StatusCode::BAD_REQUEST,
            ProxyError::InvalidBody(_) => StatusCode::BAD_REQUEST,
            ProxyError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::CsrfRejected
            | ProxyError::OrganizationMismatch
            | ProxyError::NoOrganization => StatusCode::FORBIDDEN,
            ProxyError::ProviderRejected(_) | ProxyError::ProviderFailed => StatusCode::BAD_GATEWAY,
            ProxyError::ProviderTimeout | ProxyError::ProviderUnreachable => {
                StatusCode::GATEWAY_TIMEOUT
            }
            ProxyError::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::IdentityProviderUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::UpstreamUnavailable => StatusCode::BAD_GATEWAY,
            ProxyError::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable `error` code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            ProxyError::BadPath(_) | ProxyError::BadRequest(_) => "bad_request",
            ProxyError::MalformedAuthorization => "invalid_request",
            ProxyError::InvalidToken => "invalid_token",
            ProxyError::Unauthenticated => "unauthenticated",
            ProxyError::Forbidden => "forbidden",
            ProxyError::SignInDenied => "access_denied",
            ProxyError::SignInFailed => "sign_in_failed",
            ProxyError::SessionStoreUnavailable => "session_store_unavailable",
            ProxyError::NotFound => "not_found",
            ProxyError::MethodNotAllowed => "method_not_allowed",
            ProxyError::SessionTooLarge => "session_too_large",
            ProxyError::BrokenClientBody => "bad_request",
            ProxyError::InvalidBody(_) => "invalid_request",
            ProxyError::PayloadTooLarge => "payload_too_large",
            ProxyError::CsrfRejected => "csrf_check_failed",
            ProxyError::ProviderNotConfigured => "provider_not_configured",
            ProxyError::ProviderRejected(_) => "provider_rejected",
            ProxyError::ProviderFailed => "provider_error",
            ProxyError::ProviderTimeout => "provider_timeout",
            ProxyError::ProviderUnreachable => "provider_unreachable",
            ProxyError::OrganizationMismatch => "organization_mismatch",
            ProxyError::NoOrganization => "organization_unavailable",
            ProxyError::DatabaseUnavailable => "database_unavailable",
            ProxyError::IdentityProviderUnavailable => "identity_provider_unavailable",
            ProxyError::UpstreamUnavailable => "bad_gateway",
            ProxyError::UpstreamTimeout => "gateway_timeout",
            ProxyError::Internal => "internal_error",
        }
    }

    fn www_authenticate(&self) -> Option<&'static str> {
        match self {
            ProxyError::InvalidToken => Some(r#"Bearer error="invalid_token""#),
            ProxyError::MalformedAuthorization => Some(r#"Bearer error="invalid_request""#),
            ProxyError::Unauthenticated => Some("Bearer"),
            _ => None,
        }
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
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(v) = self.www_authenticate() {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(v));
        }
        if matches!(
            self,
            ProxyError::IdentityProviderUnavailable
                | ProxyError::SessionStoreUnavailable
                | ProxyError::DatabaseUnavailable
        ) {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
        }
        response
    }
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
