//! The auth answers the proxy gives about a request rather than forwarding it:
//! `/oauth2/userinfo` (who is calling) and `/oauth2/auth` (forward-auth for nginx
//! `auth_request`, Traefik `forwardAuth` and Caddy `forward_auth`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::header::CACHE_CONTROL;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode};

use super::context::{Context, RequestContext};
use super::{Authenticator, Gate, Mode};
use crate::error::ProxyError;
use crate::http::path;
use crate::identity::assertion::AssertionSigner;
use crate::identity::{wire, Caller};

const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// What forward-auth answers with: the authenticator, and the signer for the assertion
/// header when `headers.identity_jwt` is on.
#[derive(Clone)]
pub struct ForwardAuth {
    pub auth: Arc<Authenticator>,
    pub signer: Option<Arc<AssertionSigner>>,
}

/// The caller `[access]` admits for `path`, or the refusal (401, 403, 503) to send.
async fn verdict<'c>(
    auth: &Authenticator,
    request: &Parts,
    ctx: &'c RequestContext,
    path: &str,
) -> Result<&'c Caller, Response> {
    match auth.gate(request, ctx, path, Mode::Verdict).await {
        Gate::Admitted(caller) => Ok(caller),
        Gate::Refused(response) => Err(response),
        // Verdict mode never consults `skip_auth`.
        Gate::Open => Err(ProxyError::Internal.into_response()),
    }
}

/// `GET /oauth2/userinfo`: who the caller is, or 401.
pub async fn userinfo(
    State(auth): State<Arc<Authenticator>>,
    ctx: Context,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let caller = match verdict(&auth, &parts, &ctx, "/oauth2/userinfo").await {
        Ok(caller) => caller,
        Err(refusal) => return refusal,
    };
    let i = &caller.identity;
    let body = serde_json::json!({
        "id": i.id,
        "username": i.username,
        "email": i.email,
        "name": i.name,
        "plan": i.plan,
        "verificationLevel": i.verification_level,
        "auth": caller.method(),
    });
    ([(CACHE_CONTROL, NO_STORE)], Json(body)).into_response()
}

/// `GET /oauth2/auth` (any method: Traefik's `preserveRequestMethod` sends the original
/// one): 202 with identity headers on the response when allowed, 401 unauthenticated, 403
/// denied. `skip_auth` is deliberately not consulted: the answer is 2xx only after
/// authenticating and authorising (configure public paths in the front proxy instead).
pub async fn forward_auth(
    State(state): State<ForwardAuth>,
    ctx: Context,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let original = match original_request(&parts.headers) {
        Ok(original) => original,
        // An original request we cannot read unambiguously is never allowed.
        Err(e) => return e.into_response(),
    };
    let caller = match verdict(&state.auth, &parts, &ctx, &original.path).await {
        Ok(caller) => caller,
        Err(refusal) => return refusal,
    };
    let mut response = StatusCode::ACCEPTED.into_response();
    let h = response.headers_mut();
    h.insert(CACHE_CONTROL, NO_STORE);
    wire::identity_headers(h, caller, state.signer.as_deref());
    response
}

/// The request the front proxy is asking about: the path from `X-Forwarded-Uri` (Traefik,
/// Caddy) or `X-Original-URI` (nginx), normalised like any proxied path (`/` when neither
/// is sent), and the method from `X-Forwarded-Method` when sent.
///
/// Front proxies copy the client's own headers into the auth subrequest (nginx copies them
/// all, Traefik too), so a client can add the header its front proxy does not set. The
/// two headers together, or either one twice, cannot be read unambiguously: refused, never
/// guessed at (bink-proxy ≤ 0.1 preferred `X-Forwarded-Uri` and could be steered past
/// `[[access.rules]]` behind nginx).
fn original_request(headers: &HeaderMap) -> Result<OriginalRequest, ProxyError> {
    const AMBIGUOUS: ProxyError = ProxyError::BadRequest(
        "ambiguous original request: send exactly one of X-Forwarded-Uri and X-Original-URI, once",
    );
    let forwarded = single(headers, "x-forwarded-uri").map_err(|()| AMBIGUOUS)?;
    let original = single(headers, "x-original-uri").map_err(|()| AMBIGUOUS)?;
    let raw = match (forwarded, original) {
        (Some(_), Some(_)) => return Err(AMBIGUOUS),
        (Some(v), None) | (None, Some(v)) => v,
        (None, None) => HeaderValue::from_static("/"),
    };
    const UNREADABLE: ProxyError = ProxyError::BadPath("original URI is not a readable path");
    let raw = raw.to_str().map_err(|_| UNREADABLE)?;
    let path_only = raw.split(['?', '#']).next().unwrap_or("/");
    let path = path::normalize(path_only).map_err(|e| ProxyError::BadPath(e.reason()))?;
    // `[[access.rules]]` are not method-scoped (only `skip_auth` entries are, and
    // forward-auth never consults `skip_auth`), so the method decides nothing today; it is
    // still read strictly, so a forged second copy cannot be mistaken for the real one.
    let method = match single(headers, "x-forwarded-method") {
        Err(()) => {
            return Err(ProxyError::BadRequest(
                "X-Forwarded-Method sent more than once",
            ))
        }
        Ok(None) => None,
        Ok(Some(v)) => Some(
            http::Method::from_bytes(v.as_bytes())
                .map_err(|_| ProxyError::BadRequest("X-Forwarded-Method is not a method"))?,
        ),
    };
    Ok(OriginalRequest {
        path: path.decoded,
        method,
    })
}

/// What `/oauth2/auth` is asked to decide about.
#[derive(Debug, PartialEq, Eq)]
struct OriginalRequest {
    path: String,
    /// `X-Forwarded-Method`, when the front proxy sent it (see `original_request`).
    #[allow(dead_code)]
    method: Option<http::Method>,
}

/// The one value of header `name`; `Err` when it appears more than once.
fn single(headers: &HeaderMap, name: &str) -> Result<Option<HeaderValue>, ()> {
    let mut values = headers.get_all(name).iter();
    let first = values.next().cloned();
    match values.next() {
        Some(_) => Err(()),
        None => Ok(first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &'static str, value: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(name, HeaderValue::from_str(value).unwrap());
        m
    }

    fn path_of(headers: &HeaderMap) -> Option<String> {
        original_request(headers).ok().map(|o| o.path)
    }

    #[test]
    fn original_path_is_read_from_either_header_and_normalised() {
        assert_eq!(
            path_of(&h("x-forwarded-uri", "/public/../admin?x=1")).as_deref(),
            Some("/admin")
        );
        assert_eq!(
            path_of(&h("x-original-uri", "/a//b")).as_deref(),
            Some("/a/b")
        );
        assert_eq!(path_of(&HeaderMap::new()).as_deref(), Some("/"));
        assert_eq!(path_of(&h("x-forwarded-uri", "/a%2fb")), None);
        assert_eq!(path_of(&h("x-forwarded-uri", "http://evil/")), None);
    }

    #[test]
    fn both_uri_headers_or_a_repeated_one_are_refused() {
        // nginx sets X-Original-URI and passes the client's X-Forwarded-Uri along with it.
        let mut both = h("x-original-uri", "/admin/panel");
        both.insert("x-forwarded-uri", HeaderValue::from_static("/home"));
        assert!(matches!(
            original_request(&both),
            Err(ProxyError::BadRequest(_))
        ));
        for name in ["x-forwarded-uri", "x-original-uri", "x-forwarded-method"] {
            let mut twice = HeaderMap::new();
            twice.append(name, HeaderValue::from_static("/home"));
            twice.append(name, HeaderValue::from_static("/admin"));
            assert!(original_request(&twice).is_err(), "{name}");
        }
    }

    #[test]
    fn forwarded_method_is_read_once() {
        let o = original_request(&h("x-forwarded-method", "DELETE")).unwrap();
        assert_eq!(o.method, Some(http::Method::DELETE));
        assert_eq!(original_request(&HeaderMap::new()).unwrap().method, None);
        assert!(original_request(&h("x-forwarded-method", "GE T")).is_err());
    }
}
