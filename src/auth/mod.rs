//! Authentication and authorisation: [`Authenticator`] is the single entry point every
//! route uses to learn who is calling (bearer token first, then the session cookie) and
//! whether `[access]` admits them — the proxy path, `/integrations`, `/oauth2/userinfo` and
//! forward-auth alike.

pub mod budget;
pub mod cache;
pub mod context;
pub mod routes;
pub mod session;
pub mod signin;
pub mod token;

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, SET_COOKIE};
use http::request::Parts;
use http::HeaderMap;

use crate::error::{error_response, is_navigation, ProxyError};
use crate::http::forwarded;
use crate::identity::{Caller, Credential};
use crate::policy::AccessPolicy;
use context::{Context, RequestContext};

use budget::ClientKey;
use cache::{IdentityCache, LookupError};
use session::store::StoreError;
use session::{now_secs, Loaded};
use signin::SignIn;
use token::Credentials;

/// Who may call: the identity cache in front of Bink, browser sign-in and its sessions,
/// and `[access]`.
pub struct Authenticator {
    pub identities: IdentityCache,
    /// Browser sign-in; `None` when `bink.client_id` is unset (bearer tokens only).
    pub sign_in: Option<SignIn>,
    pub access: AccessPolicy,
    /// `tokens.accept_bearer`.
    pub accept_bearer: bool,
    /// `server.trusted_proxy_hops`, to charge each Bink call to the right client.
    pub trusted_proxy_hops: usize,
}

/// How a refusal is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A request for a page or API behind the proxy (the proxy path, `/integrations`):
    /// `skip_auth` applies, and a browser navigation is sent to sign in.
    Route,
    /// A question about another request (forward-auth) or about the caller
    /// (`/oauth2/userinfo`): always authenticated, never redirected, refused in JSON.
    Verdict,
}

/// The auth decision for one request.
#[derive(Debug)]
pub enum Gate<'c> {
    /// A `skip_auth` route: passes with no identity.
    Open,
    /// The caller, as recorded in the request's context, admitted by `[access]`.
    Admitted(&'c Caller),
    /// The answer to send instead (401, 403, 503, a sign-in redirect). A caller identified
    /// but not admitted is still recorded in the context, for the access log.
    Refused(Response),
}

/// The outcome of looking at a request's credentials.
#[derive(Debug, Default)]
struct Outcome {
    caller: Option<Caller>,
    /// The request carried a dead session cookie; the response should delete it.
    clear_session: bool,
}

impl Outcome {
    fn caller(caller: Caller) -> Outcome {
        Outcome {
            caller: Some(caller),
            clear_session: false,
        }
    }

    fn ended_session() -> Outcome {
        Outcome {
            caller: None,
            clear_session: true,
        }
    }
}

impl Authenticator {
    /// Skip-auth routes (in [`Mode::Route`]) pass with no identity; every other request
    /// needs an identity that `[access]` admits for `path`, the normalised path. The caller,
    /// once identified, is recorded in `ctx` whatever the decision.
    pub async fn gate<'c>(
        &self,
        request: &Parts,
        ctx: &'c RequestContext,
        path: &str,
        mode: Mode,
    ) -> Gate<'c> {
        if mode == Mode::Route && self.access.skips_auth(&request.method, path) {
            return Gate::Open;
        }
        let refuse = |e: ProxyError| match mode {
            Mode::Route => error_response(e, &request.method, &request.headers),
            Mode::Verdict => e.into_response(),
        };
        let outcome = match self.identify(&request.headers, ctx.peer.addr.ip()).await {
            Ok(outcome) => outcome,
            Err(e) => return Gate::Refused(refuse(e)),
        };
        let Some(caller) = outcome.caller else {
            let mut response = match mode {
                Mode::Route => self.unauthenticated(request),
                Mode::Verdict => ProxyError::Unauthenticated.into_response(),
            };
            if outcome.clear_session {
                self.clear_session(&mut response);
            }
            return Gate::Refused(response);
        };
        let caller = ctx.identified(caller);
        if self.access.allows(&caller.identity, path) {
            Gate::Admitted(caller)
        } else {
            Gate::Refused(refuse(ProxyError::Forbidden))
        }
    }

    /// Who a Bink call made for this request is charged to: the client address the proxy
    /// believes (`trusted_proxy_hops` back in `X-Forwarded-For`, else the peer).
    pub fn client_key(&self, headers: &HeaderMap, peer: IpAddr) -> ClientKey {
        ClientKey::of(forwarded::client_ip(headers, self.trusted_proxy_hops, peer))
    }

    /// Establishes who is calling: a bearer token first, then the session cookie. `peer`
    /// is the connection's address (see [`client_key`](Self::client_key)).
    async fn identify(&self, headers: &HeaderMap, peer: IpAddr) -> Result<Outcome, ProxyError> {
        let client = self.client_key(headers, peer);
        if self.accept_bearer {
            match token::credentials(headers) {
                Credentials::None => {}
                Credentials::Malformed => return Err(ProxyError::MalformedAuthorization),
                Credentials::Bearer(token) => {
                    return self.identify_bearer(headers, token, client).await
                }
            }
        }
        match &self.sign_in {
            Some(sign_in) => self.identify_session(sign_in, headers, client).await,
            None => Ok(Outcome::default()),
        }
    }

    async fn identify_bearer(
        &self,
        headers: &HeaderMap,
        token: &str,
        client: ClientKey,
    ) -> Result<Outcome, ProxyError> {
        if !token::is_well_formed(token) {
            return Err(ProxyError::InvalidToken);
        }
        // `token` was read out of this very header, so this always finds it.
        let credential = headers
            .get(AUTHORIZATION)
            .and_then(|header| Credential::bearer(header, token))
            .ok_or(ProxyError::Internal)?;
        match self.identities.lookup(token, client).await {
            Ok(identity) => Ok(Outcome::caller(Caller {
                identity,
                credential,
            })),
            Err(LookupError::Invalid) => Err(ProxyError::InvalidToken),
            Err(LookupError::Unavailable(why)) => {
                // The failed Bink call itself is logged once (in the cache); waiters only
                // at debug.
                tracing::debug!(reason = %why, token = %token::fingerprint(token), "identity provider unavailable");
                Err(ProxyError::IdentityProviderUnavailable)
            }
        }
    }

    async fn identify_session(
        &self,
        sign_in: &SignIn,
        headers: &HeaderMap,
        client: ClientKey,
    ) -> Result<Outcome, ProxyError> {
        let session = match sign_in.sessions.load(headers).await {
            Ok(Loaded::None) => return Ok(Outcome::default()),
            Ok(Loaded::Stale) => return Ok(Outcome::ended_session()),
            Ok(Loaded::Found(session)) => session,
            Err(StoreError::Unavailable | StoreError::Encoding | StoreError::TooLarge) => {
                return Err(ProxyError::SessionStoreUnavailable)
            }
        };
        let revalidate = session.needs_revalidation(now_secs(), sign_in.sessions.revalidate_after);
        let identity = if revalidate {
            // Through the same cache as bearer tokens: one Bink call per token per cache_ttl.
            match self.identities.lookup(&session.token, client).await {
                Ok(fresh) => fresh,
                // Bink says the token is gone: the session ends, as if it never came.
                Err(LookupError::Invalid) => return Ok(Outcome::ended_session()),
                // Bink is down: an outage never logs anyone out.
                Err(LookupError::Unavailable(_)) => session.principal.clone(),
            }
        } else {
            session.principal.clone()
        };
        Ok(Outcome::caller(Caller {
            identity,
            credential: Credential::Session(session.token.clone()),
        }))
    }

    /// Nobody is signed in: browsers go to sign-in (when enabled), everyone else gets 401.
    fn unauthenticated(&self, request: &Parts) -> Response {
        match &self.sign_in {
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

    /// Appends the deletion of a dead session cookie.
    fn clear_session(&self, response: &mut Response) {
        if let Some(sign_in) = &self.sign_in {
            response
                .headers_mut()
                .append(SET_COOKIE, sign_in.sessions.clear_cookie());
        }
    }
}

/// [`Authenticator::gate`] as a route layer, for the `/integrations` routes: the handler
/// finds the admitted caller in the request's context.
pub async fn require_identity(
    State(auth): State<Arc<Authenticator>>,
    ctx: Context,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    match auth
        .gate(&parts, &ctx, ctx.path.as_str(), Mode::Route)
        .await
    {
        Gate::Open | Gate::Admitted(_) => next.run(Request::from_parts(parts, body)).await,
        Gate::Refused(response) => response,
    }
}
