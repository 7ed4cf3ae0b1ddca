//! The routes that belong to the application as a whole: liveness, readiness of every
//! configured dependency, and the identity-JWT key set.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};

use super::state::AppState;
use crate::error::ProxyError;

const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// `GET /ping`: liveness, no auth, no dependencies.
pub async fn ping() -> &'static str {
    "OK"
}

/// `GET /ready`: 200 when every configured dependency answers, else 503 naming it.
pub async fn ready(State(state): State<AppState>) -> Response {
    let mut checks = serde_json::Map::new();
    let mut down = Vec::new();
    if let Some(redis) = state.auth.sign_in.as_ref().and_then(|s| s.sessions.redis()) {
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
