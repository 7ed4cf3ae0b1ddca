//! The routes the proxy answers itself (never forwarded): health, readiness, forward-auth,
//! userinfo and the identity-JWT key set.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::auth::{self, Authenticated, CallerForLog};
use crate::error::ProxyError;
use crate::proxy::{headers, path};
use crate::server::ConnectionInfo;
use crate::AppState;

const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// Whether `path` (canonical, as sanitised) can be one of the routes the proxy answers
/// itself; a superset test, since a path the router does not claim falls back to the proxy
/// path anyway. Everything else skips the router.
pub fn may_be_own(path: &str) -> bool {
    matches!(path, "/ping" | "/ready")
        || path.starts_with("/oauth2/")
        || path.starts_with("/.well-known/")
        || path.starts_with("/integrations")
}

/// True for `/integrations` and everything under it: the proxy's namespace when
/// integrations are enabled (SPEC §4).
pub fn is_integrations_namespace(path: &str) -> bool {
    path.strip_prefix("/integrations")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// axum answers a wrong method on a route with a bare 405 (an `Allow` header, no body):
/// the same answer as the proxy's other errors instead, JSON and `no-store`, `Allow` kept.
pub fn method_not_allowed_as_json(response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let allow = response.headers().get(http::header::ALLOW).cloned();
    let mut json = ProxyError::MethodNotAllowed.into_response();
    if let Some(allow) = allow {
        json.headers_mut().insert(http::header::ALLOW, allow);
    }
    json
}

/// `GET /ping`: liveness, no auth, no dependencies.
pub async fn ping() -> &'static str {
    "OK"
}

/// `GET /ready`: 200 when every configured dependency answers, else 503 naming it.
pub async fn ready(State(state): State<AppState>) -> Response {
    let mut checks = serde_json::Map::new();
    let mut down = Vec::new();
    if let Some(redis) = state.sign_in.as_ref().and_then(|s| s.sessions.redis()) {
        let up = redis.ping().await;
        checks.insert("redis".into(), if up { "up" } else { "down" }.into());
        if !up {
            down.push("redis");
        }
    }
    if let Some(integrations) = &state.integrations {
        let up = integrations.store.ping().await;
        checks.insert("database".into(), if up { "up" } else { "down" }.into());
        if !up {
            down.push("database");
        }
    }
    let (status, body) = if down.is_empty() {
        (
            StatusCode::OK,
            serde_json::json!({ "status": "ready", "checks": checks }),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({
                "status": "unavailable",
                "checks": checks,
                "error": "dependency_unavailable",
                "message": format!("not ready: {} unreachable", down.join(", ")),
            }),
        )
    };
    (status, [(CACHE_CONTROL, NO_STORE)], Json(body)).into_response()
}

/// `GET /.well-known/jwks.json`: the identity-JWT public key, when `identity_jwt` is on.
pub async fn jwks(State(state): State<AppState>) -> Response {
    match &state.signer {
        Some(signer) => (
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            signer.jwks().to_string(),
        )
            .into_response(),
        None => ProxyError::NotFound.into_response(),
    }
}

/// The address of the connection a request came on; the pipeline stores it for every own
/// route (`None` would be a wiring bug, refused rather than guessed as 0.0.0.0).
pub fn connection_peer(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectionInfo>()
        .map(|c| c.peer.ip())
}

/// `GET /oauth2/userinfo`: who the caller is, or 401.
pub async fn userinfo(State(state): State<AppState>, request: Request) -> Response {
    let Some(peer) = connection_peer(&request) else {
        return ProxyError::Internal.into_response();
    };
    let identification = match auth::identify(&state, request.headers(), peer).await {
        Ok(identification) => identification,
        Err(e) => return e.into_response(),
    };
    let Some(caller) = identification.caller.clone() else {
        let mut response = ProxyError::Unauthenticated.into_response();
        identification.finish(&state, &mut response);
        return response;
    };
    let mut response = if state
        .config
        .access
        .allows(&caller.identity, "/oauth2/userinfo")
    {
        let i = &caller.identity;
        let body = serde_json::json!({
            "id": i.id,
            "username": i.username,
            "email": i.email,
            "name": i.name,
            "plan": i.plan,
            "verificationLevel": i.verification_level,
            "auth": caller.method,
        });
        ([(CACHE_CONTROL, NO_STORE)], Json(body)).into_response()
    } else {
        ProxyError::Forbidden.into_response()
    };
    response.extensions_mut().insert(CallerForLog(caller));
    response
}

/// `GET /oauth2/auth`: forward-auth for nginx `auth_request`, Traefik `forwardAuth` and
/// Caddy `forward_auth`. 202 with identity headers on the response when allowed, 401
/// unauthenticated, 403 denied. `skip_auth` is deliberately not consulted: the answer is
/// 2xx only after authenticating and authorising (configure public paths in the front
/// proxy instead).
pub async fn forward_auth(State(state): State<AppState>, request: Request) -> Response {
    let Some(peer) = connection_peer(&request) else {
        return ProxyError::Internal.into_response();
    };
    let headers = request.headers();
    let original = match original_request(headers) {
        Ok(original) => original,
        // An original request we cannot read unambiguously is never allowed.
        Err(e) => return e.into_response(),
    };
    let identification = match auth::identify(&state, headers, peer).await {
        Ok(identification) => identification,
        Err(e) => return e.into_response(),
    };
    let Some(caller) = identification.caller.clone() else {
        let mut response = ProxyError::Unauthenticated.into_response();
        identification.finish(&state, &mut response);
        return response;
    };
    let mut response = if state.config.access.allows(&caller.identity, &original.path) {
        allowed_response(&state, &caller)
    } else {
        ProxyError::Forbidden.into_response()
    };
    response.extensions_mut().insert(CallerForLog(caller));
    response
}

fn allowed_response(state: &AppState, caller: &Authenticated) -> Response {
    let mut response = StatusCode::ACCEPTED.into_response();
    let h = response.headers_mut();
    h.insert(CACHE_CONTROL, NO_STORE);
    caller.identity.header_values().inject(h, caller.method);
    if let Some(jwt) = state
        .signer
        .as_ref()
        .and_then(|s| s.sign(&caller.identity))
        .and_then(|j| HeaderValue::from_str(&j).ok())
    {
        h.insert(headers::X_BINK_ASSERTION.clone(), jwt);
    }
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

    #[test]
    fn every_own_route_is_sent_to_the_router() {
        // The pipeline skips the router for anything `may_be_own` rejects, so each route
        // registered in `lib.rs` must pass it.
        for path in [
            "/ping",
            "/ready",
            "/oauth2/auth",
            "/oauth2/userinfo",
            "/oauth2/start",
            "/oauth2/callback",
            "/oauth2/sign_out",
            "/.well-known/jwks.json",
            "/integrations",
            "/integrations/ui",
            "/integrations/connect.js",
            "/integrations/bindbee/link-token",
            "/integrations/kombo/activate",
            "/integrations/42",
        ] {
            assert!(may_be_own(path), "{path}");
        }
        for path in ["/", "/app", "/pingx", "/oauth2", "/api/oauth2/start"] {
            assert!(!may_be_own(path), "{path}");
        }
    }

    #[test]
    fn the_integrations_namespace_is_the_prefix_and_what_is_under_it() {
        for p in [
            "/integrations",
            "/integrations/",
            "/integrations/ui/",
            "/integrations/x/y",
        ] {
            assert!(is_integrations_namespace(p), "{p}");
        }
        for p in ["/integrationsx", "/integration", "/app/integrations", "/"] {
            assert!(!is_integrations_namespace(p), "{p}");
        }
    }

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
