//! Sandbox Bink: `GET /api/oauth/user` answering for fixed personal access tokens, with a
//! call counter and switchable faults so tests can stage every kind of outage.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::html_escape;
use crate::identity::Identity;

pub use super::common::Fault;
pub use super::users::{SampleUser, SAMPLE_USERS};

/// The OAuth client every sandbox knows (any loopback redirect URI is accepted for it).
pub const SANDBOX_CLIENT_ID: &str = "bink-proxy-sandbox";
pub const SANDBOX_CLIENT_SECRET: &str = "sandbox-client-secret";
/// How long an authorization code stays redeemable.
const CODE_TTL: Duration = Duration::from_secs(60);

/// An authorization code and everything it is bound to.
struct Grant {
    client_id: String,
    redirect_uri: String,
    code_challenge: Option<String>,
    identity: Identity,
    issued: Instant,
}

#[derive(Default)]
struct Inner {
    tokens: RwLock<HashMap<String, Identity>>,
    codes: Mutex<HashMap<String, Grant>>,
    token_calls: AtomicU64,
    token_fault: RwLock<Option<u16>>,
    token_lifetime_secs: AtomicU64,
    calls: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    fault: RwLock<Fault>,
}

/// Decrements the in-flight count when a call ends, however it ends.
struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A handle to a sandbox Bink; clones share state.
#[derive(Clone)]
pub struct SandboxBink {
    inner: Arc<Inner>,
}

impl Default for SandboxBink {
    fn default() -> Self {
        Self::new()
    }
}

impl SandboxBink {
    /// A sandbox knowing the [`SAMPLE_USERS`].
    pub fn new() -> SandboxBink {
        let sandbox = SandboxBink {
            inner: Arc::new(Inner::default()),
        };
        for user in SAMPLE_USERS {
            sandbox.add_token(user.pat, user.identity());
        }
        sandbox
            .inner
            .token_lifetime_secs
            .store(3600, Ordering::SeqCst);
        sandbox
    }

    pub fn add_token(&self, token: &str, identity: Identity) {
        if let Ok(mut tokens) = self.inner.tokens.write() {
            tokens.insert(token.to_string(), identity);
        }
    }

    /// Makes every token of user `id` (PATs and issued access tokens) answer 401.
    pub fn revoke_user(&self, id: &str) {
        if let Ok(mut tokens) = self.inner.tokens.write() {
            tokens.retain(|_, identity| identity.id != id);
        }
    }

    /// Makes `token` answer 401 from now on.
    pub fn revoke(&self, token: &str) {
        if let Ok(mut tokens) = self.inner.tokens.write() {
            tokens.remove(token);
        }
    }

    pub fn set_fault(&self, fault: Fault) {
        if let Ok(mut f) = self.inner.fault.write() {
            *f = fault;
        }
    }

    /// Makes the token endpoint answer with this status (None: behave).
    pub fn set_token_fault(&self, status: Option<u16>) {
        if let Ok(mut f) = self.inner.token_fault.write() {
            *f = status;
        }
    }

    /// `expires_in` of the access tokens the token endpoint issues (default 3600 s).
    pub fn set_token_lifetime(&self, secs: u64) {
        self.inner.token_lifetime_secs.store(secs, Ordering::SeqCst);
    }

    /// Calls made to the token endpoint so far.
    pub fn token_calls(&self) -> u64 {
        self.inner.token_calls.load(Ordering::SeqCst)
    }

    /// Calls made to the user endpoint so far.
    pub fn calls(&self) -> u64 {
        self.inner.calls.load(Ordering::SeqCst)
    }

    /// The most user-endpoint calls that were ever in progress at once.
    pub fn max_in_flight(&self) -> u64 {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/oauth/user", get(user))
            .route(
                "/api/oauth/authorize",
                get(authorize_page).post(authorize_decision),
            )
            .route("/api/oauth/token", post(token))
            .with_state(self.clone())
    }

    fn fault(&self) -> Fault {
        self.inner.fault.read().map(|f| *f).unwrap_or_default()
    }

    fn lookup(&self, token: &str) -> Option<Identity> {
        self.inner.tokens.read().ok()?.get(token).cloned()
    }
}

async fn user(State(sandbox): State<SandboxBink>, headers: HeaderMap) -> Response {
    sandbox.inner.calls.fetch_add(1, Ordering::SeqCst);
    let now = sandbox.inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    sandbox.inner.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _in_flight = InFlight(&sandbox.inner.in_flight);
    match sandbox.fault() {
        Fault::None => {}
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, "sandbox fault").into_response();
        }
        Fault::Garbage => return (StatusCode::OK, "<html>maintenance</html>").into_response(),
        Fault::RateLimited(seconds) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, seconds.to_string())],
                "rate limited",
            )
                .into_response();
        }
        Fault::Delay(d) => tokio::time::sleep(d).await,
        Fault::Redirect => {
            return (
                StatusCode::FOUND,
                [(header::LOCATION, "http://127.0.0.1:9/steal")],
            )
                .into_response();
        }
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token.and_then(|t| sandbox.lookup(t)) {
        Some(identity) => axum::Json(identity).into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#)],
            axum::Json(serde_json::json!({"error": "invalid_token"})),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct AuthorizeParams {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    login_hint: Option<String>,
}

/// The sandbox only knows its own client, and only sends codes back to loopback.
fn check_authorize(p: &AuthorizeParams) -> Result<url::Url, &'static str> {
    if p.client_id.as_deref() != Some(SANDBOX_CLIENT_ID) {
        return Err("unknown client_id");
    }
    if p.response_type.as_deref() != Some("code") {
        return Err("response_type must be code");
    }
    if p.code_challenge.is_some() && p.code_challenge_method.as_deref() != Some("S256") {
        return Err("only S256 code challenges are supported");
    }
    let uri = url::Url::parse(p.redirect_uri.as_deref().unwrap_or(""))
        .map_err(|_| "invalid redirect_uri")?;
    let loopback = matches!(uri.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if !loopback || uri.scheme() != "http" && uri.scheme() != "https" || uri.fragment().is_some() {
        return Err("redirect_uri must be a loopback URL for the sandbox client");
    }
    Ok(uri)
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}}\
         form{{display:inline}}button{{margin:.25rem 0;padding:.5rem 1rem;font-size:1rem;cursor:pointer}}\
         li{{list-style:none;margin:.5rem 0}}</style></head><body><main>{body}</main></body></html>",
        t = html_escape(title)
    ))
}

fn hidden(name: &str, value: Option<&str>) -> String {
    value.map_or(String::new(), |v| {
        format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            html_escape(name),
            html_escape(v)
        )
    })
}

/// `GET /api/oauth/authorize`: "Sign in with Bink (sandbox)": approve as a sample user,
/// or deny.
async fn authorize_page(Query(p): Query<AuthorizeParams>) -> Response {
    if let Err(why) = check_authorize(&p) {
        return (
            StatusCode::BAD_REQUEST,
            page(
                "Bink sandbox",
                &format!("<h1>Bad request</h1><p>{}</p>", html_escape(why)),
            ),
        )
            .into_response();
    }
    let fields = [
        hidden("response_type", p.response_type.as_deref()),
        hidden("client_id", p.client_id.as_deref()),
        hidden("redirect_uri", p.redirect_uri.as_deref()),
        hidden("state", p.state.as_deref()),
        hidden("code_challenge", p.code_challenge.as_deref()),
        hidden("code_challenge_method", p.code_challenge_method.as_deref()),
    ]
    .concat();
    let users: String = SAMPLE_USERS
        .iter()
        .map(|u| {
            let hint = u.username.unwrap_or(u.id);
            let label = format!(
                "Approve as {} ({}, {} level {})",
                u.name.unwrap_or(hint),
                u.email.unwrap_or("no email"),
                u.plan.as_str(),
                u.verification_level
            );
            format!(
                "<li><form method=\"post\">{fields}{}<button type=\"submit\" name=\"decision\" value=\"approve\" data-user=\"{}\">{}</button></form></li>",
                hidden("login_hint", Some(hint)),
                html_escape(hint),
                html_escape(&label)
            )
        })
        .collect();
    let body = format!(
        "<h1>Sign in with Bink</h1><p>The sandbox stands in for Bink. Choose who to sign in as:</p><ul>{users}</ul>\
         <form method=\"post\">{fields}<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>"
    );
    (
        [(header::CACHE_CONTROL, "no-store")],
        page("Sign in with Bink (sandbox)", &body),
    )
        .into_response()
}

#[derive(Deserialize)]
struct Decision {
    #[serde(flatten)]
    params: AuthorizeParams,
    decision: Option<String>,
}

/// `POST /api/oauth/authorize`: approve (as `login_hint`: username, id or email) or deny,
/// then back to the client's redirect URI with a single-use code or `error=access_denied`.
async fn authorize_decision(
    State(sandbox): State<SandboxBink>,
    Form(d): Form<Decision>,
) -> Response {
    let p = d.params;
    let mut uri = match check_authorize(&p) {
        Ok(uri) => uri,
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    let approve = d.decision.as_deref() != Some("deny");
    let user = p.login_hint.as_deref().and_then(|hint| {
        SAMPLE_USERS
            .iter()
            .find(|u| u.username == Some(hint) || u.id == hint || u.email == Some(hint))
    });
    {
        let mut q = uri.query_pairs_mut();
        match (approve, user) {
            (true, Some(user)) => {
                let code = random_token("code_");
                if let Ok(mut codes) = sandbox.inner.codes.lock() {
                    codes.insert(
                        code.clone(),
                        Grant {
                            client_id: SANDBOX_CLIENT_ID.into(),
                            redirect_uri: p.redirect_uri.clone().unwrap_or_default(),
                            code_challenge: p.code_challenge.clone(),
                            identity: user.identity(),
                            issued: Instant::now(),
                        },
                    );
                }
                q.append_pair("code", &code);
            }
            (true, None) => {
                drop(q);
                return (StatusCode::BAD_REQUEST, "unknown login_hint").into_response();
            }
            (false, _) => {
                q.append_pair("error", "access_denied");
            }
        }
        if let Some(state) = &p.state {
            q.append_pair("state", state);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, uri.to_string())]).into_response()
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    code: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": error }))).into_response()
}

/// `POST /api/oauth/token`: redeems a code once, for the client, redirect URI and PKCE
/// verifier it was issued to.
async fn token(State(sandbox): State<SandboxBink>, Form(t): Form<TokenRequest>) -> Response {
    sandbox.inner.token_calls.fetch_add(1, Ordering::SeqCst);
    if let Some(code) = sandbox.inner.token_fault.read().ok().and_then(|f| *f) {
        return (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "sandbox fault",
        )
            .into_response();
    }
    if t.client_id.as_deref() != Some(SANDBOX_CLIENT_ID)
        || t.client_secret.as_deref() != Some(SANDBOX_CLIENT_SECRET)
    {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if t.grant_type.as_deref() != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    // Removed on first use, valid or not: a code never works twice.
    let grant = t
        .code
        .as_deref()
        .and_then(|c| sandbox.inner.codes.lock().ok()?.remove(c));
    let Some(grant) = grant else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let verifier_ok = match (&grant.code_challenge, &t.code_verifier) {
        (None, _) => true,
        (Some(challenge), Some(verifier)) => {
            let digest = Sha256::digest(verifier.as_bytes());
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest) == *challenge
        }
        (Some(_), None) => false,
    };
    if grant.client_id != SANDBOX_CLIENT_ID
        || t.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str())
        || !verifier_ok
        || grant.issued.elapsed() > CODE_TTL
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let access_token = random_token("bink_oauth_");
    sandbox.add_token(&access_token, grant.identity);
    axum::Json(serde_json::json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": sandbox.inner.token_lifetime_secs.load(Ordering::SeqCst),
    }))
    .into_response()
}

fn random_token(prefix: &str) -> String {
    let bytes: [u8; 24] = rand::random();
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}
