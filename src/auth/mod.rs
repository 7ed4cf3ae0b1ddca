//! Authentication: who the caller is (bearer token, else session cookie, see [`identify`]),
//! and [`gate`], the auth decision for a request bound for the upstream or an
//! `/integrations` route (the latter through the [`require_identity`] route layer).

pub mod assertion;
pub mod budget;
pub mod cache;
pub mod redirect;
pub mod session;
pub mod signin;
pub mod token;

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::SET_COOKIE;
use http::request::Parts;
use http::HeaderMap;

use crate::error::{error_response, is_navigation, ProxyError};
use crate::identity::{AuthMethod, Principal};
use crate::proxy::path::RequestPath;
use crate::server::ConnectionInfo;
use crate::AppState;

use budget::ClientKey;
use cache::LookupError;
use session::store::StoreError;
use session::{now_secs, Loaded};
use token::Credentials;

/// An identity the proxy has verified, placed in request extensions by the auth layer.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub identity: Arc<Principal>,
    pub method: AuthMethod,
    /// The session's Bink token, for `pass_access_token` (bearer requests carry their own).
    pub session_token: Option<Arc<str>>,
}

/// Attached to responses so the access log can name the caller without re-parsing.
#[derive(Debug, Clone)]
pub struct CallerForLog(pub Authenticated);

/// The outcome of looking at a request's credentials.
#[derive(Debug, Default)]
pub struct Identification {
    pub caller: Option<Authenticated>,
    /// The request carried a dead session cookie; the response should delete it.
    pub clear_session: bool,
}

impl Identification {
    fn caller(caller: Authenticated) -> Self {
        Identification {
            caller: Some(caller),
            clear_session: false,
        }
    }

    /// Appends the cookie deletion when needed.
    pub fn finish(&self, state: &AppState, response: &mut Response) {
        if self.clear_session {
            if let Some(sign_in) = &state.sign_in {
                response
                    .headers_mut()
                    .append(SET_COOKIE, sign_in.sessions.clear_cookie());
            }
        }
    }
}

/// Who a Bink call made for this request is charged to: the client address the proxy
/// believes (`trusted_proxy_hops` back in `X-Forwarded-For`, else the peer).
pub fn client_key(state: &AppState, headers: &HeaderMap, peer: IpAddr) -> ClientKey {
    let hops = state.config.server.trusted_proxy_hops;
    ClientKey::of(crate::proxy::headers::client_ip(headers, hops, peer))
}

/// Establishes who is calling: a bearer token first, then the session cookie. `peer` is the
/// connection's address (see [`client_key`]).
pub async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    peer: IpAddr,
) -> Result<Identification, ProxyError> {
    let client = client_key(state, headers, peer);
    if state.config.tokens.accept_bearer {
        match token::credentials(headers) {
            Credentials::None => {}
            Credentials::Malformed => return Err(ProxyError::MalformedAuthorization),
            Credentials::Bearer(token) => return identify_bearer(state, token, client).await,
        }
    }
    match &state.sign_in {
        Some(sign_in) => identify_session(state, sign_in, headers, client).await,
        None => Ok(Identification::default()),
    }
}

async fn identify_bearer(
    state: &AppState,
    token: &str,
    client: ClientKey,
) -> Result<Identification, ProxyError> {
    if !token::is_well_formed(token) {
        return Err(ProxyError::InvalidToken);
    }
    match state.identities.lookup(token, client).await {
        Ok(identity) => Ok(Identification::caller(Authenticated {
            identity,
            method: AuthMethod::Bearer,
            session_token: None,
        })),
        Err(LookupError::Invalid) => Err(ProxyError::InvalidToken),
        Err(LookupError::Unavailable(why)) => {
            // The failed Bink call itself is logged once (in the cache); waiters only at debug.
            tracing::debug!(reason = %why, token = %token::fingerprint(token), "identity provider unavailable");
            Err(ProxyError::IdentityProviderUnavailable)
        }
    }
}

async fn identify_session(
    state: &AppState,
    sign_in: &signin::SignIn,
    headers: &HeaderMap,
    client: ClientKey,
) -> Result<Identification, ProxyError> {
    let session = match sign_in.sessions.load(headers).await {
        Ok(Loaded::None) => return Ok(Identification::default()),
        Ok(Loaded::Stale) => {
            return Ok(Identification {
                caller: None,
                clear_session: true,
            })
        }
        Ok(Loaded::Found(session)) => session,
        Err(StoreError::Unavailable | StoreError::Encoding | StoreError::TooLarge) => {
            return Err(ProxyError::SessionStoreUnavailable)
        }
    };
    let identity = if session.needs_revalidation(now_secs(), sign_in.sessions.revalidate_after) {
        // Through the same cache as bearer tokens: one Bink call per token per cache_ttl.
        match state.identities.lookup(&session.token, client).await {
            Ok(fresh) => fresh,
            // Bink says the token is gone: the session ends, as if it never came.
            Err(LookupError::Invalid) => {
                return Ok(Identification {
                    caller: None,
                    clear_session: true,
                })
            }
            // Bink is down: an outage never logs anyone out.
            Err(LookupError::Unavailable(_)) => session.principal.clone(),
        }
    } else {
        session.principal.clone()
    };
    Ok(Identification::caller(Authenticated {
        identity,
        method: AuthMethod::Session,
        session_token: Some(session.token.clone()),
    }))
}

/// Nobody is signed in: browsers go to sign-in (when enabled), everyone else gets 401.
fn unauthenticated(state: &AppState, request: &Parts) -> Response {
    match &state.sign_in {
        Some(sign_in) if is_navigation(&request.method, &request.headers) => {
            let rd = request.uri.path_and_query().map_or("/", |pq| pq.as_str());
            match http::HeaderValue::from_str(&sign_in.start_url(rd)) {
                Ok(location) => (
                    http::StatusCode::FOUND,
                    [
                        (http::header::LOCATION, location),
                        (
                            http::header::CACHE_CONTROL,
                            http::HeaderValue::from_static("no-store"),
                        ),
                    ],
                )
                    .into_response(),
                // Never a 302 without Location: the plain 401 page instead.
                Err(_) => ProxyError::Unauthenticated.html_response(),
            }
        }
        _ => error_response(
            ProxyError::Unauthenticated,
            &request.method,
            &request.headers,
        ),
    }
}

/// The auth decision for a request bound for the upstream (or an `/integrations` route).
#[derive(Debug)]
pub enum Gate {
    /// A `skip_auth` route: passes with no identity.
    Open,
    /// An identity that `[access]` admits for this path.
    Admitted(Authenticated),
    /// The answer to send instead (401, 403, 503, a sign-in redirect), with the caller
    /// when one was identified but not admitted.
    Refused(Response, Option<Authenticated>),
}

/// Skip-auth routes pass with no identity; every other request needs an identity that
/// `[access]` admits for `path`, the normalised path.
pub async fn gate(state: &AppState, request: &Parts, path: &str, peer: IpAddr) -> Gate {
    if state.config.access.skips_auth(&request.method, path) {
        return Gate::Open;
    }
    let identification = match identify(state, &request.headers, peer).await {
        Ok(identification) => identification,
        Err(e) => return Gate::Refused(error_response(e, &request.method, &request.headers), None),
    };
    match identification.caller {
        Some(caller) if state.config.access.allows(&caller.identity, path) => {
            Gate::Admitted(caller)
        }
        Some(caller) => {
            let response = error_response(ProxyError::Forbidden, &request.method, &request.headers);
            Gate::Refused(response, Some(caller))
        }
        None => {
            let mut response = unauthenticated(state, request);
            identification.finish(state, &mut response);
            Gate::Refused(response, None)
        }
    }
}

/// [`gate`] as a route layer, for the `/integrations` routes: the admitted caller goes into
/// request extensions for the handler, and into the response's for the access log.
pub async fn require_identity(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // The pipeline always stores the path and the connection first; without them, refuse
    // rather than guess.
    let extensions = request.extensions();
    let (Some(RequestPath(path)), Some(peer)) = (
        extensions.get::<RequestPath>().cloned(),
        extensions.get::<ConnectionInfo>().map(|c| c.peer.ip()),
    ) else {
        return ProxyError::Internal.into_response();
    };
    let (mut parts, body) = request.into_parts();
    let (mut response, caller) = match gate(&state, &parts, &path, peer).await {
        Gate::Open => (next.run(Request::from_parts(parts, body)).await, None),
        Gate::Admitted(caller) => {
            parts.extensions.insert(caller.clone());
            (
                next.run(Request::from_parts(parts, body)).await,
                Some(caller),
            )
        }
        Gate::Refused(response, caller) => (response, caller),
    };
    if let Some(caller) = caller {
        response.extensions_mut().insert(CallerForLog(caller));
    }
    response
}
