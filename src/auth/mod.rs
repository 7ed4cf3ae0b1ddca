//! Authentication: who the caller is (bearer token now, session cookie later), and the
//! tower layer that lets a request reach the upstream only with an authorised identity.

pub mod assertion;
pub mod cache;
pub mod token;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{HeaderMap, ACCEPT};
use http::Method;

use crate::error::ProxyError;
use crate::identity::{AuthMethod, Identity};
use crate::proxy::path::NormalizedPath;
use crate::AppState;

use cache::LookupError;
use token::Credentials;

/// An identity the proxy has verified, placed in request extensions by the auth layer.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub identity: Arc<Identity>,
    pub method: AuthMethod,
}

/// Attached to responses so the access log can name the caller without re-parsing.
#[derive(Debug, Clone)]
pub struct CallerForLog(pub Authenticated);

/// Establishes who is calling. `Ok(None)`: no credentials at all.
pub async fn identify(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Authenticated>, ProxyError> {
    if !state.config.tokens.accept_bearer {
        // The Authorization header then belongs to the application, not to us.
        return Ok(None);
    }
    let token = match token::credentials(headers) {
        Credentials::None => return Ok(None),
        Credentials::Malformed => return Err(ProxyError::MalformedAuthorization),
        Credentials::Bearer(token) => token,
    };
    if !token::is_well_formed(token) {
        return Err(ProxyError::InvalidToken);
    }
    match state.identities.lookup(token).await {
        Ok(identity) => Ok(Some(Authenticated {
            identity,
            method: AuthMethod::Bearer,
        })),
        Err(LookupError::Invalid) => Err(ProxyError::InvalidToken),
        Err(LookupError::Unavailable(why)) => {
            tracing::warn!(reason = %why, token = %token::fingerprint(token), "identity provider unavailable");
            Err(ProxyError::IdentityProviderUnavailable)
        }
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

/// The error as JSON, or as an HTML page for a browser navigation.
pub fn error_response(error: ProxyError, method: &Method, headers: &HeaderMap) -> Response {
    if is_navigation(method, headers) {
        error.html_response()
    } else {
        error.json_response()
    }
}

/// The auth layer in front of the upstream: skip-auth routes pass with no identity; every
/// other request needs an identity that `[access]` admits for the normalised path.
pub async fn require_identity(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(path) = request
        .extensions()
        .get::<NormalizedPath>()
        .map(|p| p.decoded.clone())
    else {
        // The path layer always runs first; refuse rather than guess.
        return ProxyError::Internal.into_response();
    };
    if state.config.access.skips_auth(request.method(), &path) {
        return next.run(request).await;
    }
    let caller = match identify(&state, request.headers()).await {
        Ok(Some(caller)) => caller,
        Ok(None) => {
            return error_response(
                ProxyError::Unauthenticated,
                request.method(),
                request.headers(),
            )
        }
        Err(e) => return error_response(e, request.method(), request.headers()),
    };
    let mut response = if state.config.access.allows(&caller.identity, &path) {
        request.extensions_mut().insert(caller.clone());
        next.run(request).await
    } else {
        error_response(ProxyError::Forbidden, request.method(), request.headers())
    };
    response.extensions_mut().insert(CallerForLog(caller));
    response
}
