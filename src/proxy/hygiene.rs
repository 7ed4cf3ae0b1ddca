//! Request hygiene, the first step of every request on every route: framing a server
//! behind us could read differently refused, client copies of identity headers removed, and
//! the path decided once.

use axum::extract::Request;
use http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};

use super::headers;
use crate::error::ProxyError;
use crate::http::path::{self, RequestPath};

/// Request hygiene before anything else looks at the request, in this order:
/// 1. framing a downstream server could read differently from us (request smuggling):
///    `Content-Length` together with `Transfer-Encoding` is refused (hyper already drops
///    `Content-Length` in that case for HTTP/1.1; this guards every other way in);
/// 2. client copies of identity headers are removed, on every route;
/// 3. the path is decided once (see `path`): the URI is rewritten to the canonical form
///    and the decoded path kept for policy, or an ambiguous encoding answered with 400.
///
/// On refusal, the error to answer with instead.
pub fn sanitize(request: &mut Request) -> Result<RequestPath, ProxyError> {
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
        return Ok(RequestPath::new(request.uri().clone(), None));
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
    Ok(RequestPath::new(request.uri().clone(), decoded))
}
