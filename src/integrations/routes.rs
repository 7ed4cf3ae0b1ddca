//! The `/integrations` routes. Every route runs behind the auth layer (session or bearer,
//! then `[access]`); writes authenticated by cookie must come from the proxy's own origin
//! as JSON, bodies are capped at 64 KiB, and the vendor call happens before the single
//! database statement that stores its result.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::Engine;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::providers::{self, bindbee, kombo, ProviderError};
use super::store::{LinkRequest, Record, StoreError};
use super::{IntegrationView, Integrations};
use crate::auth::{Authenticated, CallerForLog};
use crate::error::ProxyError;
use crate::identity::AuthMethod;
use crate::AppState;

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/integrations", get(list))
        .route("/integrations/bindbee/link-token", post(bindbee_link_token))
        .route("/integrations/bindbee/connect", post(bindbee_connect))
        .route("/integrations/kombo/init", post(kombo_init))
        .route("/integrations/kombo/activate", post(kombo_activate))
        .route("/integrations/ui", get(super::ui::page))
        .route("/integrations/connect.js", get(super::ui::script))
        .route("/integrations/{id}", delete(remove))
        // The proxy owns everything under /integrations: unknown paths are 404 here, never
        // forwarded to the upstream.
        .route("/integrations/{id}/{*rest}", axum::routing::any(not_found))
}

async fn not_found() -> ProxyError {
    ProxyError::NotFound
}

/// The caller (set by the auth layer) and the integrations state, or the error to send.
pub(super) struct Caller<'a> {
    pub auth: Authenticated,
    pub organization: String,
    pub integrations: &'a Integrations,
}

pub(super) fn caller<'a>(state: &'a AppState, request: &Request) -> Result<Caller<'a>, ProxyError> {
    let integrations = state.integrations.as_ref().ok_or(ProxyError::NotFound)?;
    // A skip_auth rule covering /integrations passes requests without identity: refuse.
    let auth = request
        .extensions()
        .get::<Authenticated>()
        .cloned()
        .ok_or(ProxyError::Unauthenticated)?;
    let organization = integrations
        .organization_of(&auth.identity)
        .ok_or(ProxyError::NoOrganization)?;
    Ok(Caller {
        auth,
        organization,
        integrations,
    })
}

/// Cookie-authenticated writes must come from our origin (`Origin`, else
/// `Sec-Fetch-Site: same-origin`) and, with a body, be JSON. Bearer callers are exempt:
/// a browser never attaches a bearer token on its own.
fn check_csrf(
    state: &AppState,
    auth: &Authenticated,
    headers: &HeaderMap,
    with_body: bool,
) -> Result<(), ProxyError> {
    if auth.method != AuthMethod::Session {
        return Ok(());
    }
    let origin = state
        .config
        .server
        .public_url
        .origin()
        .ascii_serialization();
    let same_origin = match headers.get(http::header::ORIGIN) {
        Some(sent) => sent.as_bytes() == origin.as_bytes(),
        None => headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"same-origin"),
    };
    let json = !with_body
        || headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
    if same_origin && json {
        Ok(())
    } else {
        Err(ProxyError::CsrfRejected)
    }
}

/// Reads at most `MAX_BODY` bytes and parses them as `T`.
async fn json_body<T: DeserializeOwned>(body: Body) -> Result<T, ProxyError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ProxyError::PayloadTooLarge)?;
    serde_json::from_slice(&bytes).map_err(|e| ProxyError::InvalidBody(json_error(&e)))
}

fn json_error(e: &serde_json::Error) -> String {
    match e.classify() {
        serde_json::error::Category::Data => format!("{e}"),
        _ => "body is not valid JSON".to_string(),
    }
    .chars()
    .take(200)
    .collect()
}

fn provider_error(provider: &str, e: ProviderError) -> ProxyError {
    // The vendor's message is the vendor's text: logged as an escaped, quoted value (`?`),
    // so a newline in it cannot forge a log line (SPEC §9).
    tracing::warn!(provider, error = ?e.to_string(), "provider call failed");
    match e {
        ProviderError::Rejected { message, .. } => ProxyError::ProviderRejected(message),
        ProviderError::Timeout => ProxyError::ProviderTimeout,
        ProviderError::Unreachable => ProxyError::ProviderUnreachable,
        ProviderError::Unavailable { .. } | ProviderError::Malformed => ProxyError::ProviderFailed,
    }
}

fn store_error(e: StoreError) -> ProxyError {
    match e {
        StoreError::OtherOrganization => ProxyError::OrganizationMismatch,
        StoreError::Unavailable(e) => {
            tracing::error!(error = %e, "integration database unavailable");
            ProxyError::DatabaseUnavailable
        }
    }
}

fn require_category(category: Option<&str>, allowed: &[&str]) -> Result<String, ProxyError> {
    match category {
        Some(c) if allowed.contains(&c) => Ok(c.to_string()),
        Some(c) => Err(ProxyError::InvalidBody(format!(
            "unknown category {:?}; expected one of {}",
            c.chars().take(40).collect::<String>(),
            allowed.join(", ")
        ))),
        None => Err(ProxyError::InvalidBody("missing field `category`".into())),
    }
}

/// A vendor slug such as `bamboohr` or `personio`.
fn require_slug(value: Option<&str>, field: &str) -> Result<String, ProxyError> {
    match value {
        Some(v)
            if !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(v.to_string())
        }
        Some(_) => Err(ProxyError::InvalidBody(format!(
            "`{field}` must be a slug like \"bamboohr\""
        ))),
        None => Err(ProxyError::InvalidBody(format!("missing field `{field}`"))),
    }
}

fn require_token(value: Option<&str>, field: &str) -> Result<String, ProxyError> {
    match value {
        Some(v) if providers::is_plain_token(v) => Ok(v.to_string()),
        Some(_) => Err(ProxyError::InvalidBody(format!(
            "`{field}` is not a valid token"
        ))),
        None => Err(ProxyError::InvalidBody(format!("missing field `{field}`"))),
    }
}

fn now() -> i64 {
    crate::auth::session::now_secs() as i64
}

fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    format!(
        "int_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// JSON with `Cache-Control: no-store`, logged as the caller.
fn respond(status: StatusCode, body: serde_json::Value, auth: &Authenticated) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.extensions_mut().insert(CallerForLog(auth.clone()));
    response
}

fn fail(e: ProxyError) -> Response {
    e.into_response()
}

/// `GET /integrations`: the caller's organization's integrations, newest first.
async fn list(State(state): State<AppState>, request: Request) -> Response {
    let c = match caller(&state, &request) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    match c.integrations.store.list(&c.organization).await {
        Ok(records) => {
            let views: Vec<IntegrationView> = records.iter().map(IntegrationView::from).collect();
            respond(
                StatusCode::OK,
                serde_json::json!({ "integrations": views }),
                &c.auth,
            )
        }
        Err(e) => fail(store_error(e)),
    }
}

#[derive(Deserialize)]
struct LinkTokenBody {
    category: Option<String>,
    integration: Option<String>,
}

/// `POST /integrations/bindbee/link-token` `{category, integration}` → `{link_token}`.
async fn bindbee_link_token(State(state): State<AppState>, request: Request) -> Response {
    run(&state, request, |c, body| async move {
        let bindbee = c
            .integrations
            .bindbee
            .as_ref()
            .ok_or(ProxyError::ProviderNotConfigured)?;
        let b: LinkTokenBody = json_body(body).await?;
        let category = require_category(b.category.as_deref(), bindbee::CATEGORIES)?;
        let integration = require_slug(b.integration.as_deref(), "integration")?;
        let user = c.integrations.end_user(&c.auth.identity, &c.organization);
        let link_token = bindbee
            .create_link_token(&user, &category, &integration)
            .await
            .map_err(|e| provider_error("bindbee", e))?;
        remember(&c, "bindbee", category, integration).await?;
        Ok(respond(
            StatusCode::OK,
            serde_json::json!({ "link_token": link_token }),
            &c.auth,
        ))
    })
    .await
}

#[derive(Deserialize)]
struct BindbeeConnectBody {
    temporary_token: Option<String>,
    category: Option<String>,
    integration: Option<String>,
}

/// `POST /integrations/bindbee/connect` `{temporary_token, category?, integration?}`.
async fn bindbee_connect(State(state): State<AppState>, request: Request) -> Response {
    run(&state, request, |c, body| async move {
        let bindbee = c
            .integrations
            .bindbee
            .as_ref()
            .ok_or(ProxyError::ProviderNotConfigured)?;
        let b: BindbeeConnectBody = json_body(body).await?;
        let temporary_token = require_token(b.temporary_token.as_deref(), "temporary_token")?;
        let latest = latest_link(&c, "bindbee").await?;
        let category =
            category_or_latest(b.category.as_deref(), latest.as_ref(), bindbee::CATEGORIES)?;
        let tool = match b
            .integration
            .as_deref()
            .or(latest.as_ref().map(|l| l.tool.as_str()))
        {
            Some(t) => require_slug(Some(t), "integration")?,
            None => {
                return Err(ProxyError::InvalidBody(
                    "missing field `integration` (and no earlier link-token request)".into(),
                ))
            }
        };
        let connector = bindbee
            .connector_token(&temporary_token)
            .await
            .map_err(|e| provider_error("bindbee", e))?;
        if connector
            .origin_id
            .as_deref()
            .is_some_and(|o| o != c.organization)
        {
            return Err(ProxyError::OrganizationMismatch);
        }
        let remote_id = connector.connector_id.clone().unwrap_or_else(|| {
            let digest = Sha256::digest(connector.connector_token.as_bytes());
            let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
        });
        let status = connector.status.clone().unwrap_or_else(|| "active".into());
        store_credential(
            &c,
            "bindbee",
            category,
            tool,
            remote_id,
            status,
            &connector.connector_token,
        )
        .await
    })
    .await
}

#[derive(Deserialize)]
struct KomboInitBody {
    category: Option<String>,
    tool: Option<String>,
    language: Option<String>,
}

/// `POST /integrations/kombo/init` `{category, tool?, language?}` → `{link}`.
async fn kombo_init(State(state): State<AppState>, request: Request) -> Response {
    run(&state, request, |c, body| async move {
        let kombo = c
            .integrations
            .kombo
            .as_ref()
            .ok_or(ProxyError::ProviderNotConfigured)?;
        let b: KomboInitBody = json_body(body).await?;
        let category = require_category(b.category.as_deref(), kombo::CATEGORIES)?;
        let tool = b
            .tool
            .as_deref()
            .map(|t| require_slug(Some(t), "tool"))
            .transpose()?;
        let language = match b.language.as_deref() {
            Some(l) if l.len() == 2 && l.bytes().all(|b| b.is_ascii_lowercase()) => Some(l),
            Some(_) => {
                return Err(ProxyError::InvalidBody(
                    "`language` must be a two-letter code like \"en\"".into(),
                ))
            }
            None => None,
        };
        let user = c.integrations.end_user(&c.auth.identity, &c.organization);
        let link = kombo
            .create_link(&user, &category, tool.as_deref(), language)
            .await
            .map_err(|e| provider_error("kombo", e))?;
        remember(&c, "kombo", category, tool.unwrap_or_default()).await?;
        Ok(respond(
            StatusCode::OK,
            serde_json::json!({ "link": link }),
            &c.auth,
        ))
    })
    .await
}

#[derive(Deserialize)]
struct KomboActivateBody {
    token: Option<String>,
    category: Option<String>,
}

/// `POST /integrations/kombo/activate` `{token, category?}`.
async fn kombo_activate(State(state): State<AppState>, request: Request) -> Response {
    run(&state, request, |c, body| async move {
        let kombo = c.integrations.kombo.as_ref().ok_or(ProxyError::ProviderNotConfigured)?;
        let b: KomboActivateBody = json_body(body).await?;
        let token = require_token(b.token.as_deref(), "token")?;
        let latest = latest_link(&c, "kombo").await?;
        let category = category_or_latest(b.category.as_deref(), latest.as_ref(), kombo::CATEGORIES)?;
        let integration = kombo.exchange(&token).await.map_err(|e| provider_error("kombo", e))?;
        // Integration ids never come from the browser: only from Kombo, for this organization.
        if integration.end_user_origin_id != c.organization {
            tracing::warn!(user = ?c.auth.identity.id, "kombo integration belongs to another organization");
            return Err(ProxyError::OrganizationMismatch);
        }
        let status = integration
            .setup_status
            .clone()
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_else(|| "active".into());
        store_credential(&c, "kombo", category, integration.tool.clone(), integration.id.clone(), status, &integration.id).await
    })
    .await
}

/// `DELETE /integrations/{id}`: 204, or 404 when absent *or* another organization's.
async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let c = match caller(&state, &request) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if let Err(e) = check_csrf(&state, &c.auth, request.headers(), false) {
        return fail(e);
    }
    match c.integrations.store.delete(&c.organization, &id).await {
        Ok(true) => {
            let mut r = respond(StatusCode::NO_CONTENT, serde_json::Value::Null, &c.auth);
            *r.body_mut() = Body::empty();
            r.headers_mut().remove(CONTENT_TYPE);
            r
        }
        Ok(false) => fail(ProxyError::NotFound),
        Err(e) => fail(store_error(e)),
    }
}

/// The shared shape of a write: caller, CSRF rule, then the handler's work.
async fn run<'s, F, Fut>(state: &'s AppState, request: Request, work: F) -> Response
where
    F: FnOnce(Caller<'s>, Body) -> Fut,
    Fut: std::future::Future<Output = Result<Response, ProxyError>>,
{
    let c = match caller(state, &request) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if let Err(e) = check_csrf(state, &c.auth, request.headers(), true) {
        return fail(e);
    }
    let auth = c.auth.clone();
    match work(c, request.into_body()).await {
        Ok(response) => response,
        Err(e) => {
            let mut r = fail(e);
            r.extensions_mut().insert(CallerForLog(auth));
            r
        }
    }
}

async fn remember(
    c: &Caller<'_>,
    provider: &str,
    category: String,
    tool: String,
) -> Result<(), ProxyError> {
    c.integrations
        .store
        .remember_link_request(
            &c.auth.identity.id,
            provider,
            &c.organization,
            &LinkRequest { category, tool },
            now(),
        )
        .await
        .map_err(store_error)
}

/// The body's category, else the one the caller's latest vendor flow was started with.
fn category_or_latest(
    from_body: Option<&str>,
    latest: Option<&LinkRequest>,
    allowed: &[&str],
) -> Result<String, ProxyError> {
    match from_body.or(latest.map(|l| l.category.as_str())) {
        Some(category) => require_category(Some(category), allowed),
        None => Err(ProxyError::InvalidBody(
            "missing field `category` (and no earlier link-token or init request)".into(),
        )),
    }
}

async fn latest_link(c: &Caller<'_>, provider: &str) -> Result<Option<LinkRequest>, ProxyError> {
    c.integrations
        .store
        .latest_link_request(&c.auth.identity.id, provider)
        .await
        .map_err(store_error)
}

/// Seals the credential under this record's binding and stores it in one statement.
async fn store_credential(
    c: &Caller<'_>,
    provider: &str,
    category: String,
    tool: String,
    remote_id: String,
    status: String,
    credential: &str,
) -> Result<Response, ProxyError> {
    let now = now();
    let binding = super::crypto::Binding {
        organization: &c.organization,
        provider,
        remote_id: &remote_id,
    };
    let (sealed, key_id) = c.integrations.cipher.seal(&binding, credential);
    let record = Record {
        id: new_id(),
        organization: c.organization.clone(),
        provider: provider.to_string(),
        remote_id: remote_id.clone(),
        category,
        tool,
        status,
        credential: sealed,
        key_id,
        created_at: now,
        updated_at: now,
        created_by: c.auth.identity.id.clone(),
    };
    let stored = c
        .integrations
        .store
        .upsert(&record)
        .await
        .map_err(store_error)?;
    let view = IntegrationView::from(&stored);
    // A view that does not serialise is a proxy bug: a 500, never a 201 with `null`.
    let body = serde_json::to_value(view).map_err(|_| ProxyError::Internal)?;
    Ok(respond(StatusCode::CREATED, body, &c.auth))
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_vendor_message_cannot_forge_a_log_line() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let e = ProviderError::Rejected {
                status: 400,
                message: "bad\nWARN admin signed in \"ok\"".into(),
            };
            let _ = provider_error("kombo", e);
        });
        let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains(r#"bad\nWARN admin signed in \"ok\""#), "{out}");
    }
}
