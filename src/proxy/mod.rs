//! The data path: everything between an authorised request and the upstream's answer.

pub mod body;
pub mod forward;
pub mod headers;
pub mod path;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING, UPGRADE};
use http::HeaderValue;

use crate::auth::{self, Authenticated, Gate};
use crate::error::ProxyError;
use crate::server::ConnectionInfo;
use crate::AppState;

pub use forward::Upstream;

/// The path `skip_auth` and `[[access.rules]]` match: the URI's own path when it was
/// already canonical (almost always, and then nothing is copied), else its decoded form.
#[derive(Debug, Default)]
pub struct PolicyPath(Option<String>);

impl PolicyPath {
    /// An already decoded path (from request extensions).
    pub fn decoded(path: String) -> PolicyPath {
        PolicyPath(Some(path))
    }

    pub fn resolve<'a>(&'a self, uri: &'a http::Uri) -> &'a str {
        self.0.as_deref().unwrap_or_else(|| uri.path())
    }
}

/// Request hygiene before anything else looks at the request, in this order:
/// 1. framing a downstream server could read differently from us (request smuggling):
///    `Content-Length` together with `Transfer-Encoding` is refused (hyper already drops
///    `Content-Length` in that case for HTTP/1.1; this guards every other way in);
/// 2. client copies of identity headers are removed, on every route;
/// 3. the path is decided once (see `path`): the URI is rewritten to the canonical form
///    and the decoded path kept for policy, or an ambiguous encoding answered with 400.
///
/// On refusal, the error to answer with instead.
pub fn sanitize(request: &mut Request) -> Result<PolicyPath, ProxyError> {
    let h = request.headers();
    if h.contains_key(CONTENT_LENGTH) && h.contains_key(TRANSFER_ENCODING) {
        return Err(ProxyError::BadRequest(
            "both Content-Length and Transfer-Encoding",
        ));
    }
    // RFC 9112 §3.2: a second Host, or none on HTTP/1.1, is a 400. Servers behind us could
    // pick a different one of two; `X-Forwarded-Host` is built from it.
    let mut hosts = h.get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (_, Some(_)) => return Err(ProxyError::BadRequest("more than one Host header")),
        (None, None) if request.version() == http::Version::HTTP_11 => {
            return Err(ProxyError::BadRequest("HTTP/1.1 request without Host"))
        }
        _ => {}
    }
    headers::strip_identity_headers(request.headers_mut());
    if path::is_canonical(request.uri().path()) {
        return Ok(PolicyPath(None));
    }
    let normalized = match path::normalize(request.uri().path()) {
        Ok(p) => p,
        Err(e) => return Err(ProxyError::BadPath(e.reason())),
    };
    const UNREPRESENTABLE: ProxyError = ProxyError::BadPath("unrepresentable path");
    let mut pq = normalized.encoded;
    if let Some(q) = request.uri().query() {
        pq.push('?');
        pq.push_str(q);
    }
    let mut parts = request.uri().clone().into_parts();
    parts.path_and_query = Some(pq.parse().map_err(|_| UNREPRESENTABLE)?);
    *request.uri_mut() = http::Uri::from_parts(parts).map_err(|_| UNREPRESENTABLE)?;
    let decoded = (normalized.decoded != request.uri().path()).then_some(normalized.decoded);
    Ok(PolicyPath(decoded))
}

/// Everything that is not one of the proxy's own routes: the auth decision, then the
/// upstream. Returns the caller too, for the access log.
pub async fn authorize_and_forward(
    state: &AppState,
    conn: ConnectionInfo,
    request: Request,
    path: &PolicyPath,
) -> (Response, Option<Authenticated>) {
    let (parts, body) = request.into_parts();
    let gate = auth::gate(state, &parts, path.resolve(&parts.uri), conn.peer.ip()).await;
    match gate {
        Gate::Open => (forward(state, conn, parts, body, None).await, None),
        Gate::Admitted(caller) => {
            let response = forward(state, conn, parts, body, Some(&caller)).await;
            (response, Some(caller))
        }
        Gate::Refused(response, caller) => (response, caller),
    }
}

/// Forwards an authorised (or skip-auth) request upstream, with the headers the upstream
/// may trust in place of the ones it must not.
pub async fn forward(
    state: &AppState,
    conn: ConnectionInfo,
    mut parts: http::request::Parts,
    body: Body,
    caller: Option<&Authenticated>,
) -> Response {
    let h = &mut parts.headers;
    // One growth for the headers added below instead of several.
    h.reserve(12);
    let forwarded_for = match state.config.server.trusted_proxy_hops {
        0 => conn.peer_value.clone(),
        hops => headers::forwarded_for(h, hops, conn.peer.ip()),
    };
    let forwarded_host = h.get(HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    scrub_client_headers(h, caller.is_none(), state.config.headers.pass_authorization);
    h.insert(headers::X_FORWARDED_FOR.clone(), forwarded_for);
    h.insert(
        headers::X_FORWARDED_PROTO.clone(),
        HeaderValue::from_static(if conn.tls { "https" } else { "http" }),
    );
    match forwarded_host {
        Some(host) => h.insert(headers::X_FORWARDED_HOST.clone(), host),
        None => h.remove(&headers::X_FORWARDED_HOST),
    };
    if let Some(sign_in) = &state.sign_in {
        // The session and CSRF cookies are the proxy's business, not the upstream's.
        sign_in.sessions.jar.strip_from(h);
    }
    if let Some(caller) = caller {
        add_caller_headers(state, h, caller);
    }

    // A body the client may still be sending is watched, so a client that breaks its own
    // framing is told so (400) instead of being reported as an upstream failure.
    let (body, client_body) = body::watch(body);
    match state
        .upstream
        .forward(http::Request::from_parts(parts, body), &conn.upstream)
        .await
    {
        Ok(response) => response,
        Err(_) if client_body.failed() => {
            state.metrics.client_body_error();
            ProxyError::BrokenClientBody.into_response()
        }
        Err(e) => {
            state.metrics.upstream_error(match e {
                ProxyError::UpstreamTimeout => "timeout",
                _ => "unreachable",
            });
            e.into_response()
        }
    }
}

/// Removes from a client's headers everything the upstream must only ever get from the
/// proxy (client identity headers were already removed by [`sanitize`]): hop-by-hop
/// headers and those named in `Connection` (an upgrade other than `h2c` is kept), every
/// forgeable forwarding header, and on a skip-auth route an unvalidated Bink token.
pub fn scrub_client_headers(h: &mut http::HeaderMap, skip_auth: bool, pass_authorization: bool) {
    // `Upgrade: h2c` is never passed on: RFC 9113 retired it, and an upstream that accepts
    // it would open a raw HTTP/2 tunnel past every check made here.
    let upgrade = headers::is_upgrade_request(h)
        .then(|| h.get(UPGRADE).cloned())
        .flatten()
        .filter(|u| !headers::names_h2c(u));
    headers::remove_hop_by_hop(h);
    // Forwarding headers a client could forge (`Forwarded`, `X-Real-IP`, …); the proxy's
    // own are set after this, so no client copy survives next to them.
    headers::strip_forwarding_headers(h);
    if skip_auth && !pass_authorization {
        // A skip-auth route: a Bink token here was never validated, and the upstream must
        // not see a Bink credential it did not need.
        // Every value is looked at: a second Authorization line must not shelter one.
        if h.get_all(AUTHORIZATION).iter().any(carries_bink_token) {
            h.remove(AUTHORIZATION);
        }
    }
    if let Some(upgrade) = upgrade {
        headers::restore_upgrade(h, upgrade);
    }
}

/// `Bearer bink_…`, scheme in any case: a Bink credential.
fn carries_bink_token(value: &HeaderValue) -> bool {
    let v = value.as_bytes();
    v.len() > 7
        && v[..7].eq_ignore_ascii_case(b"bearer ")
        && v[7..].trim_ascii_start().starts_with(b"bink_")
}

/// Identity headers, the optional token copy and the optional signed assertion.
fn add_caller_headers(state: &AppState, h: &mut http::HeaderMap, caller: &Authenticated) {
    let headers_config = &state.config.headers;
    if headers_config.pass_access_token {
        let token = match (&caller.session_token, auth::token::credentials(h)) {
            (Some(token), _) => HeaderValue::from_str(token).ok(),
            (None, auth::token::Credentials::Bearer(token)) => HeaderValue::from_str(token).ok(),
            _ => None,
        };
        if let Some(mut v) = token {
            v.set_sensitive(true);
            h.insert(headers::X_FORWARDED_ACCESS_TOKEN.clone(), v);
        }
    }
    if caller.method == crate::identity::AuthMethod::Bearer && !headers_config.pass_authorization {
        h.remove(AUTHORIZATION);
    }
    caller.identity.header_values().inject(h, caller.method);
    if let Some(signer) = &state.signer {
        if let Some(jwt) = signer
            .sign(&caller.identity)
            .and_then(|j| HeaderValue::from_str(&j).ok())
        {
            h.insert(headers::X_BINK_ASSERTION.clone(), jwt);
        }
    }
}
