//! The data path: everything between an authorised request and the upstream's answer.

pub mod forward;
pub mod headers;
pub mod path;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING, UPGRADE};
use http::HeaderValue;

use crate::auth::{self, Authenticated};
use crate::error::ProxyError;
use crate::server::ConnectionInfo;
use crate::AppState;

pub use forward::Upstream;

/// Request hygiene before routing, in this order:
/// 1. framing a downstream server could read differently from us (request smuggling):
///    `Content-Length` together with `Transfer-Encoding` is refused (hyper already drops
///    `Content-Length` in that case for HTTP/1.1; this guards every other way in);
/// 2. client copies of identity headers are removed, on every route;
/// 3. the path is decided once (see `path`): the URI is rewritten to the canonical form
///    and the decoded path stored for policy, or an ambiguous encoding answered with 400.
///
/// One layer rather than three: each `from_fn` layer costs a boxed future per request.
pub async fn sanitize_request(mut request: Request, next: Next) -> Response {
    let h = request.headers();
    if h.contains_key(CONTENT_LENGTH) && h.contains_key(TRANSFER_ENCODING) {
        return ProxyError::BadRequest("both Content-Length and Transfer-Encoding").into_response();
    }
    headers::strip_identity_headers(request.headers_mut());
    let normalized = match path::normalize(request.uri().path()) {
        Ok(p) => p,
        Err(e) => return ProxyError::BadPath(e.reason()).into_response(),
    };
    if normalized.encoded != request.uri().path() {
        let mut pq = normalized.encoded;
        if let Some(q) = request.uri().query() {
            pq.push('?');
            pq.push_str(q);
        }
        let mut parts = request.uri().clone().into_parts();
        parts.path_and_query = match pq.parse() {
            Ok(pq) => Some(pq),
            Err(_) => return ProxyError::BadPath("unrepresentable path").into_response(),
        };
        *request.uri_mut() = match http::Uri::from_parts(parts) {
            Ok(uri) => uri,
            Err(_) => return ProxyError::BadPath("unrepresentable path").into_response(),
        };
    }
    request
        .extensions_mut()
        .insert(path::RequestPath(normalized.decoded));
    next.run(request).await
}

/// The fallback handler: forwards an authorised (or skip-auth) request upstream.
pub async fn forward(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller = parts.extensions.get::<Authenticated>().cloned();
    let conn = parts
        .extensions
        .get::<ConnectionInfo>()
        .copied()
        .unwrap_or_default();
    let h = &mut parts.headers;

    let upgrade = headers::is_upgrade_request(h)
        .then(|| h.get(UPGRADE).cloned())
        .flatten();
    let forwarded_for =
        headers::forwarded_for(h, state.config.server.trusted_proxy_hops, conn.peer.ip());
    let forwarded_host = h.get(HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    headers::remove_hop_by_hop(h);
    if let Some(upgrade) = upgrade {
        headers::restore_upgrade(h, upgrade);
    }
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
    if let Some(caller) = &caller {
        add_caller_headers(&state, h, caller);
    }

    match state
        .upstream
        .forward(http::Request::from_parts(parts, body))
        .await
    {
        Ok(response) => response,
        Err(e) => {
            state.metrics.upstream_error(match e {
                ProxyError::UpstreamTimeout => "timeout",
                _ => "unreachable",
            });
            e.into_response()
        }
    }
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
    headers::inject_identity(h, &caller.identity, caller.method);
    if let Some(signer) = &state.signer {
        if let Some(jwt) = signer
            .sign(&caller.identity)
            .and_then(|j| HeaderValue::from_str(&j).ok())
        {
            h.insert(headers::X_BINK_ASSERTION.clone(), jwt);
        }
    }
}
