//! The unified-API gateway (SPEC §10): `ANY /integrations/kombo/api/{*path}` and
//! `ANY /integrations/bindbee/api/{*path}` go on to the vendor's unified API with the API
//! key and the named integration's credential added, so the application behind the proxy
//! reads its customers' HR data without ever holding either.
//!
//! One call, top to bottom: the provider is configured → the path is a unified-API path →
//! who is calling (a service key of the upstream's backend, else a person or script the
//! authenticator admits, for their own organization only) → the integration named by
//! `X-Integration-Id` → the vendor request (allow-listed headers, the body streamed under
//! `max_request_body`) → the vendor's answer streamed back (allow-listed headers).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use futures_util::TryStreamExt;
use http::header::{self, HeaderName};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method};
use percent_encoding::percent_decode_str;

use super::caller::check_csrf;
use super::store::Record;
use super::Integrations;
use crate::auth::context::Context;
use crate::auth::{Authenticator, Gate, Mode};
use crate::config::{GatewayConfig, Secret};
use crate::error::{ProxyError, SetupError};
use crate::telemetry::Metrics;

/// The vendors behind the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vendor {
    Kombo,
    Bindbee,
}

impl Vendor {
    fn name(self) -> &'static str {
        match self {
            Vendor::Kombo => "kombo",
            Vendor::Bindbee => "bindbee",
        }
    }

    /// Where the caller's path starts.
    fn prefix(self) -> &'static str {
        match self {
            Vendor::Kombo => "/integrations/kombo/api/",
            Vendor::Bindbee => "/integrations/bindbee/api/",
        }
    }

    /// Whether `segments` (of the path after the prefix) address the vendor's unified API
    /// — not its link, connector or integration management, which stays the proxy's.
    fn is_unified(self, segments: &[&str]) -> bool {
        match (self, segments) {
            (Vendor::Kombo, [category, _, ..]) => {
                ["hris", "ats", "assessment", "lms"].contains(category)
            }
            // `{category}/v1/connectors` is Bindbee's connector management, not data.
            (Vendor::Bindbee, [category, "v1", resource, ..]) => {
                ["hris", "ats", "lms"].contains(category) && *resource != "connectors"
            }
            _ => false,
        }
    }
}

/// The caller's request headers a vendor may see; everything else — `Authorization`,
/// `Cookie`, identity and forwarding headers, hop-by-hop headers — stays here.
const REQUEST_HEADERS: &[HeaderName] = &[
    header::ACCEPT,
    header::ACCEPT_LANGUAGE,
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::IF_MATCH,
    header::IF_NONE_MATCH,
    header::IF_MODIFIED_SINCE,
];

/// The vendor's response headers the caller gets: the body's type and length, caching
/// validators, pagination and rate limits (`Retry-After`, `X-RateLimit-*`, `RateLimit-*`).
/// Never `Set-Cookie`.
fn passes_back(name: &HeaderName) -> bool {
    const EXACT: &[HeaderName] = &[
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::ETAG,
        header::LAST_MODIFIED,
        header::LINK,
        header::RETRY_AFTER,
    ];
    EXACT.contains(name)
        || name.as_str().starts_with("x-ratelimit-")
        || name.as_str().starts_with("ratelimit")
}

/// Who is calling the gateway.
enum Caller {
    /// The upstream's own backend, with a service key: any organization's integration.
    Service,
    /// A person or script, for their own organization's integrations only.
    Member { id: String, organization: String },
}

impl Caller {
    fn organization(&self) -> Option<&str> {
        match self {
            Caller::Service => None,
            Caller::Member { organization, .. } => Some(organization),
        }
    }

    fn name(&self) -> &str {
        match self {
            Caller::Service => "service-key",
            Caller::Member { id, .. } => id,
        }
    }
}

/// What the gateway needs, built once at start-up.
pub struct Gateway {
    integrations: Arc<Integrations>,
    auth: Arc<Authenticator>,
    http: reqwest::Client,
    service_keys: Vec<Secret>,
    max_request_body: u64,
    timeout: Duration,
    metrics: Arc<Metrics>,
}

impl Gateway {
    pub fn new(
        config: &GatewayConfig,
        integrations: Arc<Integrations>,
        auth: Arc<Authenticator>,
        metrics: Arc<Metrics>,
    ) -> Result<Gateway, SetupError> {
        let http = crate::outbound::streaming_client(config.timeout, config.timeout)
            .map_err(|e| SetupError::new("integrations.gateway", e))?;
        Ok(Gateway {
            integrations,
            auth,
            http,
            service_keys: config.service_keys.clone(),
            max_request_body: config.max_request_body,
            timeout: config.timeout,
            metrics,
        })
    }
}

pub fn router() -> Router<Arc<Gateway>> {
    Router::new()
        .route("/integrations/kombo/api/{*path}", any(kombo))
        .route("/integrations/bindbee/api/{*path}", any(bindbee))
}

async fn kombo(State(g): State<Arc<Gateway>>, ctx: Context, request: Request) -> Response {
    g.call(Vendor::Kombo, &ctx, request).await
}

async fn bindbee(State(g): State<Arc<Gateway>>, ctx: Context, request: Request) -> Response {
    g.call(Vendor::Bindbee, &ctx, request).await
}

impl Gateway {
    /// One gateway call; every refusal is the proxy's JSON error.
    async fn call(&self, vendor: Vendor, ctx: &Context, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let provider = match vendor {
            Vendor::Kombo => self.integrations.kombo.as_ref().map(|k| k.api()),
            Vendor::Bindbee => self.integrations.bindbee.as_ref().map(|b| b.api()),
        };
        let Some(api) = provider else {
            return ProxyError::ProviderNotConfigured.into_response();
        };
        let Some(path) = unified_path(vendor, parts.uri.path()) else {
            return ProxyError::NotFound.into_response();
        };
        let caller = match self.caller(&parts, ctx).await {
            Ok(caller) => caller,
            Err(refusal) => return refusal,
        };
        let record = match self.integration(vendor, &parts.headers, &caller).await {
            Ok(record) => record,
            Err(e) => return e.into_response(),
        };
        let credential = match self.integrations.open_credential(&record) {
            Ok(credential) => credential,
            Err(e) => {
                tracing::error!(integration = %record.id, error = %e, "stored credential does not open");
                return ProxyError::Internal.into_response();
            }
        };
        let mut url = api.base_url().clone();
        let base_path = url.path().trim_end_matches('/').to_string();
        let vendor_path = match vendor {
            Vendor::Kombo => format!("{base_path}/{path}"),
            Vendor::Bindbee => format!("{base_path}/api/{path}"),
        };
        url.set_path(&vendor_path);
        url.set_query(parts.uri.query());

        let too_large = Arc::new(AtomicBool::new(false));
        if content_length(&parts.headers).is_some_and(|n| n > self.max_request_body) {
            return self.finish(
                vendor,
                &record,
                &caller,
                ProxyError::GatewayBodyTooLarge(self.max_request_body).into_response(),
            );
        }
        let mut outbound = self
            .http
            .request(parts.method.clone(), url)
            .bearer_auth(api.api_key());
        for name in REQUEST_HEADERS {
            for value in parts.headers.get_all(name) {
                outbound = outbound.header(name, value);
            }
        }
        outbound = match vendor {
            Vendor::Kombo => outbound.header("X-Integration-Id", credential),
            Vendor::Bindbee => outbound.header("X-Connector-Token", credential),
        };
        if content_length(&parts.headers).is_some_and(|n| n > 0) {
            // A declared length (checked above) streams through as it arrives.
            outbound = outbound.body(limited_body(body, self.max_request_body, too_large.clone()));
        } else if parts.headers.contains_key(header::TRANSFER_ENCODING) {
            // A body of unknown length is read first, up to the limit: cut off midway it
            // would reach the vendor half-sent, and a vendor that answered before reading
            // it all would have its answer passed back for a request that was refused.
            match axum::body::to_bytes(body, self.max_request_body as usize).await {
                Ok(bytes) => outbound = outbound.body(bytes),
                Err(_) => {
                    let refusal = ProxyError::GatewayBodyTooLarge(self.max_request_body);
                    return self.finish(vendor, &record, &caller, refusal.into_response());
                }
            }
        }
        let answer = tokio::time::timeout(self.timeout, outbound.send()).await;
        let response = match answer {
            Ok(Ok(answer)) => stream_back(answer),
            _ if too_large.load(Ordering::SeqCst) => {
                ProxyError::GatewayBodyTooLarge(self.max_request_body).into_response()
            }
            Ok(Err(e)) if e.is_timeout() => ProxyError::ProviderTimeout.into_response(),
            Ok(Err(_)) => ProxyError::ProviderUnreachable.into_response(),
            Err(_) => ProxyError::ProviderTimeout.into_response(),
        };
        self.finish(vendor, &record, &caller, response)
    }

    /// Counts and logs the call (never the credential), and keeps the answer from caches.
    fn finish(
        &self,
        vendor: Vendor,
        record: &Record,
        caller: &Caller,
        mut response: Response,
    ) -> Response {
        let status = response.status().as_u16();
        self.metrics.gateway_call(vendor.name(), status);
        tracing::info!(
            provider = vendor.name(),
            integration = %record.id,
            organization = %record.organization,
            caller = %caller.name(),
            status,
            "gateway call"
        );
        // Customers' HR data: never stored by a shared cache or the browser.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    /// A service key (compared in constant time with every configured key), else the
    /// authenticator's verdict on the person or script and their organization.
    async fn caller(&self, parts: &Parts, ctx: &Context) -> Result<Caller, Response> {
        if let Some(token) = bearer(&parts.headers) {
            // Every key is compared, so the time taken says nothing about which matched.
            let matched = self.service_keys.iter().fold(false, |found, key| {
                found | crate::config::constant_time_eq(token.as_bytes(), key.expose().as_bytes())
            });
            if matched {
                return Ok(Caller::Service);
            }
        }
        let caller = match self
            .auth
            .gate(parts, ctx, ctx.path.as_str(), Mode::Verdict)
            .await
        {
            Gate::Admitted(caller) => caller,
            Gate::Open => return Err(ProxyError::Unauthenticated.into_response()),
            Gate::Refused(refusal) => return Err(refusal),
        };
        let organization = self
            .integrations
            .organization_of(&caller.identity)
            .ok_or_else(|| ProxyError::NoOrganization.into_response())?;
        // A browser must not be made to write through the gateway from another site.
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            check_csrf(
                &self.integrations.public_origin,
                caller,
                &parts.headers,
                false,
            )
            .map_err(IntoResponse::into_response)?;
        }
        Ok(Caller::Member {
            id: caller.identity.id.clone(),
            organization,
        })
    }

    /// The integration `X-Integration-Id` names, of this vendor and (for a member) of the
    /// caller's organization; one 404 for absent, another organization's and the other
    /// vendor's.
    async fn integration(
        &self,
        vendor: Vendor,
        headers: &HeaderMap,
        caller: &Caller,
    ) -> Result<Record, ProxyError> {
        let mut values = headers.get_all("x-integration-id").iter();
        let key = match (values.next(), values.next()) {
            (Some(v), None) => v.to_str().map_err(|_| ProxyError::IntegrationNotFound)?,
            _ => return Err(ProxyError::IntegrationIdMissing),
        };
        self.integrations
            .store
            .find(vendor.name(), key.trim(), caller.organization())
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "integration database unavailable");
                ProxyError::DatabaseUnavailable
            })?
            .ok_or(ProxyError::IntegrationNotFound)
    }
}

/// The path after the vendor's prefix, when it is a unified-API path whose every segment
/// is plain: no empty, `.` or `..` segment, and none that decodes to one or to a `/` or
/// `\` (percent-encoding is kept as sent, so it must not smuggle a traversal).
fn unified_path(vendor: Vendor, path: &str) -> Option<&str> {
    let rest = path.strip_prefix(vendor.prefix())?;
    let segments: Vec<&str> = rest.split('/').collect();
    let plain = segments.iter().all(|segment| {
        let decoded = percent_decode_str(segment).decode_utf8_lossy();
        !decoded.is_empty() && decoded != "." && decoded != ".." && !decoded.contains(['/', '\\'])
    });
    (plain && vendor.is_unified(&segments)).then_some(rest)
}

/// The `Bearer` token of a single `Authorization` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().ok()?.strip_prefix("Bearer "),
        _ => None,
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The caller's body, streamed to the vendor, cut off (and `too_large` set) past `limit`
/// bytes — a client that sends more than its `Content-Length` said.
fn limited_body(body: Body, limit: u64, too_large: Arc<AtomicBool>) -> reqwest::Body {
    let mut sent = 0u64;
    let stream = body
        .into_data_stream()
        .map_err(std::io::Error::other)
        .and_then(move |chunk| {
            sent += chunk.len() as u64;
            let over = sent > limit;
            if over {
                too_large.store(true, Ordering::SeqCst);
            }
            std::future::ready(if over {
                Err(std::io::Error::other(
                    "request body over the gateway's limit",
                ))
            } else {
                Ok(chunk)
            })
        });
    reqwest::Body::wrap_stream(stream)
}

/// The vendor's answer as the caller gets it: status, allow-listed headers, the body
/// streamed as the caller reads it (so a large answer to a slow client holds only what is
/// in flight).
fn stream_back(answer: reqwest::Response) -> Response {
    let status = answer.status();
    let mut headers = HeaderMap::new();
    for (name, value) in answer.headers() {
        if passes_back(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let body = Body::from_stream(answer.bytes_stream());
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unified_api_paths_pass() {
        fn kombo(p: &str) -> Option<&str> {
            unified_path(Vendor::Kombo, p)
        }
        assert_eq!(
            kombo("/integrations/kombo/api/hris/employees"),
            Some("hris/employees")
        );
        assert_eq!(
            kombo("/integrations/kombo/api/ats/jobs/j%201"),
            Some("ats/jobs/j%201")
        );
        for refused in [
            "/integrations/kombo/api/connect/create-link",
            "/integrations/kombo/api/integrations/personio:x",
            "/integrations/kombo/api/hris",
            "/integrations/kombo/api/hris/",
            "/integrations/kombo/api/hris/../integrations/x",
            "/integrations/kombo/api/hris/%2e%2e/integrations/x",
            "/integrations/kombo/api/hris/a%2Fb",
            "/integrations/kombo/api/hris//employees",
            "/integrations/bindbee/api/hris/v1/employees",
        ] {
            assert_eq!(kombo(refused), None, "{refused}");
        }
        fn bindbee(p: &str) -> Option<&str> {
            unified_path(Vendor::Bindbee, p)
        }
        assert_eq!(
            bindbee("/integrations/bindbee/api/hris/v1/employees"),
            Some("hris/v1/employees")
        );
        for refused in [
            "/integrations/bindbee/api/embedded/v1/link/create-link-token",
            "/integrations/bindbee/api/hris/v1/connectors/x/delete",
            "/integrations/bindbee/api/hris/v2/employees",
            "/integrations/bindbee/api/hris/v1",
            "/integrations/bindbee/api/assessment/v1/x",
        ] {
            assert_eq!(bindbee(refused), None, "{refused}");
        }
    }

    #[test]
    fn only_safe_headers_pass_back() {
        for name in [
            "content-type",
            "retry-after",
            "x-ratelimit-remaining",
            "ratelimit-reset",
            "link",
            "etag",
        ] {
            assert!(passes_back(&HeaderName::from_static(name)), "{name}");
        }
        for name in [
            "set-cookie",
            "connection",
            "x-connector-token",
            "server",
            "www-authenticate",
        ] {
            assert!(!passes_back(&HeaderName::from_static(name)), "{name}");
        }
    }
}
