//! The routes the proxy answers itself (never forwarded): health, readiness, forward-auth,
//! userinfo and the identity-JWT key set.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::auth::{self, Authenticated, CallerForLog};
use crate::error::ProxyError;
use crate::proxy::{headers, path};
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

/// `GET /oauth2/userinfo`: who the caller is, or 401.
pub async fn userinfo(State(state): State<AppState>, request: Request) -> Response {
    let identification = match auth::identify(&state, request.headers()).await {
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
    let headers = request.headers();
    let Some(checked_path) = original_path(headers) else {
        // An original URI we cannot read unambiguously is never allowed.
        return ProxyError::Forbidden.into_response();
    };
    let identification = match auth::identify(&state, headers).await {
        Ok(identification) => identification,
        Err(e) => return e.into_response(),
    };
    let Some(caller) = identification.caller.clone() else {
        let mut response = ProxyError::Unauthenticated.into_response();
        identification.finish(&state, &mut response);
        return response;
    };
    let mut response = if state.config.access.allows(&caller.identity, &checked_path) {
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

/// The path the front proxy is asking about: `X-Forwarded-Uri` (Traefik, Caddy) or
/// `X-Original-URI` (nginx), normalised like any proxied path; `/` when neither is sent.
/// `None` when the value is ambiguous (encoded separators, traversal tricks, junk).
fn original_path(headers: &HeaderMap) -> Option<String> {
    let raw = headers
        .get("x-forwarded-uri")
        .or_else(|| headers.get("x-original-uri"))
        .map(|v| v.to_str().ok())
        .unwrap_or(Some("/"))?;
    let path_only = raw.split(['?', '#']).next().unwrap_or("/");
    path::normalize(path_only).ok().map(|p| p.decoded)
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

    fn h(name: &'static str, value: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(name, HeaderValue::from_str(value).unwrap());
        m
    }

    #[test]
    fn original_path_prefers_x_forwarded_uri_and_normalises() {
        assert_eq!(
            original_path(&h("x-forwarded-uri", "/public/../admin?x=1")).as_deref(),
            Some("/admin")
        );
        assert_eq!(
            original_path(&h("x-original-uri", "/a//b")).as_deref(),
            Some("/a/b")
        );
        assert_eq!(original_path(&HeaderMap::new()).as_deref(), Some("/"));
        assert_eq!(original_path(&h("x-forwarded-uri", "/a%2fb")), None);
        assert_eq!(original_path(&h("x-forwarded-uri", "http://evil/")), None);
    }
}
