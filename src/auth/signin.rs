//! "Sign in with Bink": `/oauth2/start`, `/oauth2/callback` and `/oauth2/sign_out`.
//!
//! Authorization code + PKCE (S256) with the `oauth2` crate. Each pending login has its
//! own sealed CSRF cookie (state, PKCE verifier, `rd`), so sign-ins started in several
//! tabs all complete. The callback checks `state` against that cookie — in constant time
//! and exactly once — *before* the code is redeemed; a bad state never reaches Bink.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, LOCATION, REFERRER_POLICY, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::cache::LookupError;
use super::context::Context;
use super::session::cookies::{request_cookies, MAX_PENDING_LOGINS};
use super::session::seal::Purpose;
use super::session::store::StoreError;
use super::session::{now_secs, Session, Sessions};
use super::Authenticator;
use crate::config::{constant_time_eq, Config};
use crate::error::{ProxyError, SetupError};
use crate::http::redirect::redirect_target;

type OAuthClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// What a CSRF cookie holds for one pending login.
#[derive(Serialize, Deserialize)]
struct PendingLogin {
    state: String,
    verifier: String,
    rd: String,
    created: u64,
}

/// The sign-in flow's configuration and state.
pub struct SignIn {
    oauth: OAuthClient,
    http: crate::outbound::TokenEndpointClient,
    pub sessions: Sessions,
    /// States already redeemed (by hash): a replayed callback never reaches Bink.
    used_states: moka::future::Cache<[u8; 32], ()>,
    /// `scheme://host[:port]` of `server.public_url`: every absolute URL starts here.
    origin: String,
    /// `server.public_url`, which `rd` targets are resolved against.
    pub public_url: url::Url,
}

impl SignIn {
    pub fn new(config: &Config, sessions: Sessions) -> Result<Option<SignIn>, SetupError> {
        let (Some(client_id), Some(secret)) = (&config.bink.client_id, &config.bink.client_secret)
        else {
            return Ok(None);
        };
        let base = &config.bink.base_url;
        let auth = AuthUrl::from_url(crate::bink::join(base, "api/oauth/authorize"));
        let token = TokenUrl::from_url(crate::bink::join(base, "api/oauth/token"));
        let redirect = RedirectUrl::from_url(
            config
                .server
                .public_url
                .join("/oauth2/callback")
                .map_err(|e| SetupError::new("server.public_url", e))?,
        );
        let oauth = BasicClient::new(ClientId::new(client_id.clone()))
            .set_client_secret(ClientSecret::new(secret.expose().to_string()))
            .set_auth_uri(auth)
            .set_token_uri(token)
            .set_redirect_uri(redirect)
            // Bink documents client_id/client_secret as form fields of the token request.
            .set_auth_type(AuthType::RequestBody);
        // Bounded, timed and never redirected, like every outbound call.
        let http = crate::outbound::TokenEndpointClient(
            crate::outbound::client(config.bink.timeout)
                .map_err(|e| SetupError::new("bink.base_url", e))?,
        );
        Ok(Some(SignIn {
            oauth,
            http,
            sessions,
            used_states: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(super::session::cookies::CSRF_TTL)
                .build(),
            origin: config.server.public_url.origin().ascii_serialization(),
            public_url: config.server.public_url.clone(),
        }))
    }

    /// An absolute URL on the proxy's public origin for a local path.
    pub fn absolute(&self, local_path: &str) -> String {
        format!("{}{local_path}", self.origin)
    }

    /// Where to send the browser afterwards: the request's `rd`, when it is a safe target
    /// on the public origin, else `/`.
    fn rd(&self, uri: &http::Uri) -> String {
        redirect_target(query_param(uri.query(), "rd").as_deref(), &self.public_url)
    }

    /// `/oauth2/start?rd=<path>` on the public origin, for redirecting a navigation.
    pub fn start_url(&self, rd: &str) -> String {
        let rd: String = url::form_urlencoded::byte_serialize(rd.as_bytes()).collect();
        self.absolute(&format!("/oauth2/start?rd={rd}"))
    }
}

/// Identifies a pending login in its cookie name without revealing the state.
fn login_id(state: &str) -> String {
    let digest = Sha256::digest(state.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn state_hash(state: &str) -> [u8; 32] {
    Sha256::digest(state.as_bytes()).into()
}

/// The first value of `name` in a query string.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// A 302 to `location`; never a 302 without one (a location that is no header value is
/// a proxy bug, answered 500).
fn redirect(location: &str) -> Response {
    let Ok(location) = HeaderValue::from_str(location) else {
        return ProxyError::Internal.into_response();
    };
    let mut response = (StatusCode::FOUND, [(LOCATION, location)]).into_response();
    no_store(&mut response);
    response
}

/// `GET /oauth2/start?rd=PATH`: 302 to Bink's authorize page with a fresh state and PKCE
/// challenge, remembered in a sealed CSRF cookie for this login alone.
pub async fn start(State(auth): State<Arc<Authenticator>>, request: Request) -> Response {
    let Some(sign_in) = &auth.sign_in else {
        return ProxyError::NotFound.into_response();
    };
    let rd = sign_in.rd(request.uri());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, csrf) = sign_in
        .oauth
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let login_state = csrf.secret().to_string();
    let pending = PendingLogin {
        state: login_state.clone(),
        verifier: verifier.secret().to_string(),
        rd,
        created: now_secs(),
    };
    let jar = &sign_in.sessions.jar;
    let name = jar.csrf_name(&login_id(&login_state));
    let Ok(json) = serde_json::to_vec(&pending) else {
        return ProxyError::Internal.into_response();
    };
    let sealed = sign_in.sessions.sealer().seal(Purpose::Csrf, &name, &json);

    let mut response = redirect(authorize_url.as_str());
    let headers = response.headers_mut();
    for stale in logins_to_evict(sign_in, request.headers()) {
        headers.append(SET_COOKIE, jar.clear(&stale));
    }
    headers.append(SET_COOKIE, jar.csrf_cookie(name, sealed));
    response
}

/// CSRF cookies to delete so that, with the new one, at most `MAX_PENDING_LOGINS`
/// remain: unreadable or expired ones first, then the oldest.
fn logins_to_evict(sign_in: &SignIn, headers: &HeaderMap) -> Vec<String> {
    let jar = &sign_in.sessions.jar;
    let now = now_secs();
    let mut pending: Vec<(u64, String)> = request_cookies(headers)
        .filter(|(name, _)| name.starts_with(&jar.csrf_prefix))
        .map(|(name, value)| {
            let created = sign_in
                .sessions
                .sealer()
                .open(Purpose::Csrf, &name, &value)
                .and_then(|p| serde_json::from_slice::<PendingLogin>(&p).ok())
                .map(|p| p.created)
                .filter(|&c| now.saturating_sub(c) < super::session::cookies::CSRF_TTL.as_secs())
                .unwrap_or(0);
            (created, name)
        })
        .collect();
    pending.sort();
    let excess = (pending.len() + 1).saturating_sub(MAX_PENDING_LOGINS);
    pending
        .into_iter()
        .enumerate()
        .filter(|(i, (created, _))| *i < excess || *created == 0)
        .map(|(_, (_, name))| name)
        .collect()
}

/// The callback's parameters; a duplicated `code`, `state` or `error` is refused.
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn callback_params(query: Option<&str>) -> Result<CallbackParams, ProxyError> {
    let mut p = CallbackParams {
        code: None,
        state: None,
        error: None,
    };
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let slot = match k.as_ref() {
            "code" => &mut p.code,
            "state" => &mut p.state,
            "error" => &mut p.error,
            _ => continue,
        };
        if slot.replace(v.into_owned()).is_some() {
            return Err(ProxyError::BadRequest("duplicated callback parameter"));
        }
    }
    Ok(p)
}

/// `GET /oauth2/callback?code&state`: state first, then the code exchange, the user
/// lookup, `[access]`, and finally the session cookie and a 302 to `rd`.
pub async fn callback(
    State(auth): State<Arc<Authenticator>>,
    ctx: Context,
    request: Request,
) -> Response {
    let Some(sign_in) = &auth.sign_in else {
        return ProxyError::NotFound.into_response();
    };
    let mut clear_csrf = None;
    let mut response = match finish_sign_in(
        &auth,
        sign_in,
        request.uri().query(),
        request.headers(),
        ctx.peer.addr.ip(),
        &mut clear_csrf,
    )
    .await
    {
        Ok(response) => response,
        Err(e) => e.html_response(),
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if let Some(name) = clear_csrf {
        headers.append(SET_COOKIE, sign_in.sessions.jar.clear(&name));
    }
    response
}

async fn finish_sign_in(
    auth: &Authenticator,
    sign_in: &SignIn,
    query: Option<&str>,
    headers: &HeaderMap,
    peer: std::net::IpAddr,
    clear_csrf: &mut Option<String>,
) -> Result<Response, ProxyError> {
    let params = callback_params(query)?;
    let returned_state = params
        .state
        .ok_or(ProxyError::BadRequest("missing state"))?;
    let name = sign_in.sessions.jar.csrf_name(&login_id(&returned_state));
    let sealed = request_cookies(headers)
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .ok_or(ProxyError::BadRequest(
            "no sign-in in progress for this state",
        ))?;
    *clear_csrf = Some(name.clone());
    let pending: PendingLogin = sign_in
        .sessions
        .sealer()
        .open(Purpose::Csrf, &name, &sealed)
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or(ProxyError::BadRequest("sign-in cookie is not valid"))?;
    if !constant_time_eq(pending.state.as_bytes(), returned_state.as_bytes()) {
        return Err(ProxyError::BadRequest("state does not match"));
    }
    if now_secs().saturating_sub(pending.created) >= super::session::cookies::CSRF_TTL.as_secs() {
        return Err(ProxyError::BadRequest("sign-in took too long; start again"));
    }
    // Single use: the first callback with this state wins, replays stop here.
    let fresh = sign_in
        .used_states
        .entry(state_hash(&returned_state))
        .or_insert(())
        .await
        .is_fresh();
    if !fresh {
        return Err(ProxyError::BadRequest("this sign-in was already completed"));
    }
    if params.error.is_some() {
        return Err(ProxyError::SignInDenied);
    }
    let code = params.code.ok_or(ProxyError::BadRequest("missing code"))?;

    let token = sign_in
        .oauth
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
        .request_async(&sign_in.http)
        .await
        .map_err(|e| {
            // Bink's error text, escaped and quoted (`?`): no log-line injection.
            tracing::warn!(error = ?oauth_error_summary(&e), "token endpoint failed");
            ProxyError::SignInFailed
        })?;
    let access_token = token.access_token().secret().to_string();
    let client = auth.client_key(headers, peer);
    let identity = match auth.identities.lookup(&access_token, client).await {
        Ok(identity) => identity,
        Err(LookupError::Invalid) | Err(LookupError::Unavailable(_)) => {
            return Err(ProxyError::SignInFailed)
        }
    };
    let rd_path = pending.rd.split(['?', '#']).next().unwrap_or("/");
    let checked = crate::http::path::normalize(rd_path)
        .map(|p| p.decoded)
        .unwrap_or_else(|_| "/".into());
    if !auth.access.allows(&identity, &checked) {
        return Err(ProxyError::Forbidden);
    }
    let now = now_secs();
    let lifetime = match token.expires_in() {
        Some(expires_in) => sign_in.sessions.lifetime.min(expires_in),
        None => sign_in.sessions.lifetime,
    };
    let session = Session {
        identity: identity.identity().clone(),
        token: access_token,
        issued_at: now,
        expires_at: now + lifetime.max(Duration::from_secs(1)).as_secs(),
    };
    let cookie = sign_in
        .sessions
        .create(&session)
        .await
        .map_err(|e| match e {
            StoreError::Unavailable => ProxyError::SessionStoreUnavailable,
            StoreError::Encoding => ProxyError::Internal,
            StoreError::TooLarge => ProxyError::SessionTooLarge,
        })?;
    let mut response = redirect(&sign_in.absolute(&pending.rd));
    response.headers_mut().append(SET_COOKIE, cookie);
    Ok(response)
}

/// A log-safe description of a token-endpoint failure (never the body or a secret).
fn oauth_error_summary<E: std::error::Error>(e: &E) -> String {
    let s = e.to_string();
    s.chars().take(120).collect()
}

/// `GET` or `POST /oauth2/sign_out?rd=PATH`: ends the session everywhere (the Redis
/// entry too), forgets its token in the cache, clears the cookie, 302 to `rd` or `/`.
pub async fn sign_out(State(auth): State<Arc<Authenticator>>, request: Request) -> Response {
    let Some(sign_in) = &auth.sign_in else {
        return ProxyError::NotFound.into_response();
    };
    let rd = sign_in.rd(request.uri());
    let mut response = match sign_in.sessions.destroy(request.headers()).await {
        Ok(session) => {
            if let Some(session) = session {
                auth.identities.evict(&session.token).await;
            }
            redirect(&sign_in.absolute(&rd))
        }
        Err(_) => ProxyError::SessionStoreUnavailable.html_response(),
    };
    response
        .headers_mut()
        .append(SET_COOKIE, sign_in.sessions.clear_cookie());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicated_callback_parameters_are_refused() {
        assert!(callback_params(Some("code=a&state=b")).is_ok());
        assert!(callback_params(Some("code=a&code=b&state=c")).is_err());
        assert!(callback_params(Some("code=a&state=b&state=b")).is_err());
        assert!(callback_params(Some("error=x&error=y")).is_err());
        let p = callback_params(Some("state=s%20x&other=1&other=2")).unwrap();
        assert_eq!(p.state.as_deref(), Some("s x"));
    }

    #[test]
    fn login_ids_are_short_stable_and_distinct() {
        assert_eq!(login_id("abc"), login_id("abc"));
        assert_ne!(login_id("abc"), login_id("abd"));
        assert_eq!(login_id("abc").len(), 16);
    }
}
