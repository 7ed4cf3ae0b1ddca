//! Sandbox Bindbee: the embedded-link API (create-link-token, connector_token), a connect
//! page that stands in for Bindbee's hosted flow, and a small `sdk.js` that mimics
//! Bindbee's embed. Meant to be nested by the caller (at `/bindbee`); `public_base` is the
//! absolute URL of that mount point.
//!
//! Routes, relative to the mount point:
//! - `POST /api/embedded/v1/link/create-link-token` (API key) → `{"link_token"}`
//! - `GET  /api/embedded/v1/connectors/connector_token/{temporary_token}` (API key, single use)
//! - `GET  /connect?link_token=...` → the connect page (HTML)
//! - `POST /connect/complete` `{"link_token"}` → `{"temporary_token"}` (browser side, no key)
//! - `GET  /sdk.js` → `window.BindbeeEmbed = { open({ linkToken, onSuccess, onClose }) }`
//!
//! This module also holds the helpers the sandbox Kombo shares (pages, faults, tokens).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use super::bink::Fault;
use crate::error::html_escape;

/// The categories Bindbee's create-link-token accepts.
pub const BINDBEE_CATEGORIES: &[&str] = &["HRIS", "ATS", "LMS", "CUSTOM"];

/// What a link token was created for.
#[derive(Clone, Debug)]
struct Link {
    org_name: String,
    origin_id: String,
    email: String,
    category: String,
    integration: String,
}

#[derive(Default)]
struct Inner {
    api_key: String,
    /// link token → what it was created for.
    links: Mutex<HashMap<String, Link>>,
    /// temporary token → the link it was minted for (removed on first exchange).
    temporary: Mutex<HashMap<String, Link>>,
    /// (origin_id, integration) → connector id: reconnecting the same tool for the same
    /// organization yields the same connector id (and a fresh connector token).
    connectors: Mutex<HashMap<(String, String), String>>,
    connector_tokens: Mutex<Vec<String>>,
    last_request: Mutex<Option<Value>>,
    fault: RwLock<Fault>,
    create_link_token_calls: AtomicU64,
    connect_page_calls: AtomicU64,
    complete_calls: AtomicU64,
    connector_token_calls: AtomicU64,
}

/// A handle to a sandbox Bindbee; clones share state.
#[derive(Clone)]
pub struct SandboxBindbee {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Ctx {
    sandbox: SandboxBindbee,
    public_base: Arc<str>,
}

impl SandboxBindbee {
    /// A sandbox accepting `Authorization: Bearer <api_key>` on its API endpoints.
    pub fn new(api_key: &str) -> SandboxBindbee {
        SandboxBindbee {
            inner: Arc::new(Inner {
                api_key: api_key.to_string(),
                ..Inner::default()
            }),
        }
    }

    pub fn api_key(&self) -> &str {
        &self.inner.api_key
    }

    /// The routes, to be nested by the caller; `public_base` is the absolute URL of the
    /// mount point (e.g. `http://127.0.0.1:P/bindbee`).
    pub fn router(&self, public_base: &str) -> Router {
        let ctx = Ctx {
            sandbox: self.clone(),
            public_base: public_base.trim_end_matches('/').into(),
        };
        Router::new()
            .route(
                "/api/embedded/v1/link/create-link-token",
                post(create_link_token),
            )
            .route(
                "/api/embedded/v1/connectors/connector_token/{temporary_token}",
                get(connector_token),
            )
            .route("/connect", get(connect_page))
            .route("/connect/complete", post(complete))
            .route("/sdk.js", get(sdk))
            .with_state(ctx)
    }

    /// Makes the API endpoints (create-link-token, connector_token) misbehave.
    pub fn set_fault(&self, fault: Fault) {
        if let Ok(mut f) = self.inner.fault.write() {
            *f = fault;
        }
    }

    /// What the connect page's "Connect" button does: mints a single-use temporary token
    /// for a known link token.
    pub fn complete_link(&self, link_token: &str) -> Option<String> {
        let link = lock(&self.inner.links).get(link_token).cloned()?;
        let temporary_token = random_token("tt_");
        lock(&self.inner.temporary).insert(temporary_token.clone(), link);
        Some(temporary_token)
    }

    /// Every connector token handed out so far, oldest first.
    pub fn connector_tokens_issued(&self) -> Vec<String> {
        lock(&self.inner.connector_tokens).clone()
    }

    /// The last create-link-token body received (with a valid API key), valid or not.
    pub fn last_request(&self) -> Option<Value> {
        lock(&self.inner.last_request).clone()
    }

    pub fn create_link_token_calls(&self) -> u64 {
        self.inner.create_link_token_calls.load(Ordering::SeqCst)
    }

    pub fn connector_token_calls(&self) -> u64 {
        self.inner.connector_token_calls.load(Ordering::SeqCst)
    }

    pub fn connect_page_calls(&self) -> u64 {
        self.inner.connect_page_calls.load(Ordering::SeqCst)
    }

    pub fn complete_calls(&self) -> u64 {
        self.inner.complete_calls.load(Ordering::SeqCst)
    }

    fn fault(&self) -> Fault {
        self.inner.fault.read().map(|f| *f).unwrap_or_default()
    }
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "detail": message }))).into_response()
}

/// Fault, then API key: what every API endpoint does first.
async fn guard(sandbox: &SandboxBindbee, headers: &HeaderMap) -> Option<Response> {
    if let Some(r) = apply_fault(sandbox.fault(), |m| json!({"detail": m, "message": m})).await {
        return Some(r);
    }
    if !authorized(headers, &sandbox.inner.api_key) {
        return Some(detail(
            StatusCode::UNAUTHORIZED,
            "Invalid or missing API key",
        ));
    }
    None
}

/// `POST /api/embedded/v1/link/create-link-token`
async fn create_link_token(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    let sandbox = &ctx.sandbox;
    sandbox
        .inner
        .create_link_token_calls
        .fetch_add(1, Ordering::SeqCst);
    if let Some(r) = guard(sandbox, &headers).await {
        return r;
    }
    let body = match serde_json::from_slice::<Value>(&body) {
        Ok(v) => v,
        Err(e) => return detail(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {e}")),
    };
    *lock(&sandbox.inner.last_request) = Some(body.clone());
    let link = match validate_link_request(&body) {
        Ok(link) => link,
        Err(why) => return detail(StatusCode::BAD_REQUEST, &why),
    };
    let link_token = random_token("lt_");
    lock(&sandbox.inner.links).insert(link_token.clone(), link);
    Json(json!({ "link_token": link_token })).into_response()
}

fn validate_link_request(body: &Value) -> Result<Link, String> {
    let user = body
        .get("end_user_data")
        .filter(|v| v.is_object())
        .ok_or("end_user_data: field required (an object)")?;
    let org_name = required_str(user, "org_name").map_err(|e| format!("end_user_data.{e}"))?;
    let origin_id = required_str(user, "origin_id").map_err(|e| format!("end_user_data.{e}"))?;
    // The email must be a string; the sandbox accepts an empty one.
    let email = user
        .get("email")
        .and_then(Value::as_str)
        .ok_or("end_user_data.email: field required (a string)")?;
    let category = body
        .get("category")
        .and_then(Value::as_str)
        .ok_or("category: field required")?;
    if !BINDBEE_CATEGORIES.contains(&category) {
        return Err(format!(
            "category: must be one of {}",
            BINDBEE_CATEGORIES.join(", ")
        ));
    }
    let integration = required_str(body, "integration")?;
    if !is_slug(&integration) {
        return Err("integration: must be a slug such as bamboohr".into());
    }
    Ok(Link {
        org_name,
        origin_id,
        email: email.to_string(),
        category: category.to_string(),
        integration,
    })
}

#[derive(Deserialize)]
struct ConnectQuery {
    link_token: Option<String>,
}

/// `GET /connect?link_token=...`
async fn connect_page(State(ctx): State<Ctx>, Query(q): Query<ConnectQuery>) -> Response {
    let sandbox = &ctx.sandbox;
    sandbox
        .inner
        .connect_page_calls
        .fetch_add(1, Ordering::SeqCst);
    let link = q
        .link_token
        .as_deref()
        .and_then(|t| lock(&sandbox.inner.links).get(t).cloned());
    let complete_url = format!("{}/connect/complete", mount_path(&ctx.public_base));
    let brand = Brand {
        prefix: "bindbee",
        name: "Bindbee",
        accent: "#4338ca",
        focus: "#a5b4fc",
        dismiss_id: "cancel",
        dismiss_label: "Cancel",
    };
    let script = page_script(
        "bindbee",
        "{ link_token: token }",
        "{ type: 'bindbee:success', temporary_token: body.temporary_token }",
        "{ type: 'bindbee:close' }",
    );
    match link {
        Some(link) => {
            let body = format!(
                "<h1 id=\"bindbee-title\">Connect {integration}</h1>\
                 <p id=\"bindbee-desc\" class=\"note\">{org} is connecting its {category} system \
                 through Bindbee. This sandbox stands in for Bindbee: no credentials are asked \
                 for.</p>\
                 <dl><dt>Organization</dt><dd>{org}</dd><dt>Integration</dt><dd>{integration}</dd>\
                 <dt>Category</dt><dd>{category}</dd><dt>Email</dt><dd>{email}</dd></dl>",
                integration = html_escape(&link.integration),
                org = html_escape(&link.org_name),
                category = html_escape(&link.category),
                email = html_escape(if link.email.is_empty() {
                    "none"
                } else {
                    &link.email
                }),
            );
            connect_page_response(
                StatusCode::OK,
                &brand,
                &format!("Connect {} — Bindbee", link.integration),
                "en",
                q.link_token.as_deref().unwrap_or_default(),
                &complete_url,
                &body,
                Some("Connect"),
                &script,
            )
        }
        None => connect_page_response(
            StatusCode::NOT_FOUND,
            &brand,
            "Link not found — Bindbee",
            "en",
            "",
            &complete_url,
            "<h1 id=\"bindbee-title\">This link is invalid or has expired</h1>\
             <p id=\"bindbee-desc\" class=\"note\">Close this window and start the connection \
             again.</p>",
            None,
            &script,
        ),
    }
}

#[derive(Deserialize)]
struct CompleteBody {
    link_token: String,
}

/// `POST /connect/complete` `{"link_token"}`: what the connect page's button calls.
async fn complete(State(ctx): State<Ctx>, body: Bytes) -> Response {
    let sandbox = &ctx.sandbox;
    sandbox.inner.complete_calls.fetch_add(1, Ordering::SeqCst);
    let body: CompleteBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return detail(StatusCode::BAD_REQUEST, &format!("invalid body: {e}")),
    };
    match sandbox.complete_link(&body.link_token) {
        Some(temporary_token) => no_store(Json(json!({ "temporary_token": temporary_token }))),
        None => detail(StatusCode::NOT_FOUND, "not found"),
    }
}

/// `GET /api/embedded/v1/connectors/connector_token/{temporary_token}`: single use.
async fn connector_token(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Path(temporary_token): Path<String>,
) -> Response {
    let sandbox = &ctx.sandbox;
    sandbox
        .inner
        .connector_token_calls
        .fetch_add(1, Ordering::SeqCst);
    if let Some(r) = guard(sandbox, &headers).await {
        return r;
    }
    let Some(link) = lock(&sandbox.inner.temporary).remove(&temporary_token) else {
        return detail(StatusCode::NOT_FOUND, "not found");
    };
    let connector_id = lock(&sandbox.inner.connectors)
        .entry((link.origin_id.clone(), link.integration.clone()))
        .or_insert_with(|| random_token("conn_"))
        .clone();
    let connector_token = random_token("ct_");
    lock(&sandbox.inner.connector_tokens).push(connector_token.clone());
    no_store(Json(json!({
        "connector_token": connector_token,
        "connector_id": connector_id,
        "integration": link.integration,
        "category": link.category,
        "origin_id": link.origin_id,
        "status": "active",
    })))
}

/// `GET /sdk.js`
async fn sdk(State(ctx): State<Ctx>) -> Response {
    let script = SDK_JS.replace("__PUBLIC_BASE__", &js_string(&ctx.public_base));
    javascript(script)
}

const SDK_JS: &str = include_str!("assets/bindbee-initialize.js");

// ---------------------------------------------------------------------------------------
// Helpers shared with the sandbox Kombo.

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The path of the mount point `public_base` (`http://h:p/kombo` → `/kombo`; `` for a
/// root mount), for same-origin links that work whatever host name the browser used.
pub(super) fn mount_path(public_base: &str) -> String {
    url::Url::parse(public_base)
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default()
}

/// `prefix` followed by 32 random alphanumerics (safe in URLs, HTML and JS unescaped).
pub(super) fn random_token(prefix: &str) -> String {
    let rest: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    format!("{prefix}{rest}")
}

/// Whether `headers` carry `Authorization: Bearer <api_key>` (compared in constant time).
pub(super) fn authorized(headers: &HeaderMap, api_key: &str) -> bool {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token {
        Some(t) if !api_key.is_empty() => bool::from(t.as_bytes().ct_eq(api_key.as_bytes())),
        _ => false,
    }
}

/// Applies a fault: `Some(response)` to answer with instead, `None` to go on (after the
/// delay of a `Fault::Delay`). `error_body` builds the JSON body of a `Fault::Status`.
pub(super) async fn apply_fault(
    fault: Fault,
    error_body: impl Fn(&str) -> Value,
) -> Option<Response> {
    match fault {
        Fault::None => None,
        Fault::Delay(d) => {
            tokio::time::sleep(d).await;
            None
        }
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some((status, Json(error_body("sandbox fault"))).into_response())
        }
        Fault::Garbage => Some(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<html>maintenance</html>",
            )
                .into_response(),
        ),
        Fault::Redirect => Some(
            (
                StatusCode::FOUND,
                [(header::LOCATION, "http://127.0.0.1:9/steal")],
            )
                .into_response(),
        ),
    }
}

/// A JSON object body, or why not.
pub(super) fn parse_json(body: &[u8]) -> Result<Value, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        Ok(_) => Err("the body must be a JSON object".into()),
        Err(e) => Err(format!("invalid JSON body: {e}")),
    }
}

/// A non-empty string field of `obj`.
pub(super) fn required_str(obj: &Value, field: &str) -> Result<String, String> {
    match obj.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(format!("{field}: must not be empty")),
        Some(Value::Null) | None => Err(format!("{field}: field required")),
        Some(_) => Err(format!("{field}: must be a string")),
    }
}

/// A tool slug: `bamboohr`, `personio`, `sap_successfactors`, `google-workspace`.
pub(super) fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A JS string literal of `s`, safe inside a script.
pub(super) fn js_string(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_else(|_| "\"\"".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
}

pub(super) fn no_store(r: impl IntoResponse) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], r).into_response()
}

pub(super) fn javascript(body: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The look of a vendor's connect page.
pub(super) struct Brand {
    /// Prefix of element ids (`<prefix>-connect`, `<prefix>-dialog`, ...).
    pub prefix: &'static str,
    pub name: &'static str,
    pub accent: &'static str,
    pub focus: &'static str,
    /// Id suffix and label of the button that gives up (`cancel`/`Cancel`, `close`/`Close`).
    pub dismiss_id: &'static str,
    pub dismiss_label: &'static str,
}

/// The connect page's script: on "Connect", POSTs `body_js` (`token` in scope) to the
/// complete URL and posts `success_js` (`body` in scope: the answer) to the embedding
/// window; on the secondary button (or Escape) posts `close_js`.
pub(super) fn page_script(prefix: &str, body_js: &str, success_js: &str, close_js: &str) -> String {
    PAGE_JS
        .replace("__P__", prefix)
        .replace("__BODY__", body_js)
        .replace("__SUCCESS__", success_js)
        .replace("__CLOSE__", close_js)
}

const PAGE_JS: &str = include_str!("assets/bindbee-page.js");

/// A connect page: `body` (trusted markup, dynamic parts already escaped) in a dialog card,
/// then the buttons (the brand's dismiss button, and a Connect button labelled
/// `connect_label` unless `None`),
/// a live status line and `script`, all under a nonce-based CSP. `token` and
/// `complete_url` are handed to the script in (escaped) data attributes.
#[allow(clippy::too_many_arguments)]
pub(super) fn connect_page_response(
    status: StatusCode,
    brand: &Brand,
    title: &str,
    lang: &str,
    token: &str,
    complete_url: &str,
    body: &str,
    connect_label: Option<&str>,
    script: &str,
) -> Response {
    let nonce = random_token("");
    let p = brand.prefix;
    let dismiss_id = brand.dismiss_id;
    let connect = match connect_label {
        Some(label) => format!(
            "<button type=\"button\" class=\"primary\" id=\"{p}-connect\">{}</button>",
            html_escape(label)
        ),
        None => String::new(),
    };
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><link rel=\"icon\" href=\"data:,\">\
         <title>{title}</title><style nonce=\"{nonce}\">{css}</style></head><body>\
         <main><div class=\"card\" id=\"{p}-dialog\" role=\"dialog\" aria-modal=\"true\" \
         aria-labelledby=\"{p}-title\" aria-describedby=\"{p}-desc\" data-token=\"{token}\" \
         data-complete=\"{complete}\" data-dismiss=\"{dismiss_id}\">\
         <p class=\"brand\">{name} <span>Sandbox</span></p>{body}\
         <div class=\"actions\"><button type=\"button\" id=\"{p}-{dismiss_id}\">{dismiss_label}</button>{connect}</div>\
         <p class=\"status\" id=\"{p}-status\" role=\"status\" aria-live=\"polite\"></p>\
         </div></main><script nonce=\"{nonce}\">{script}</script></body></html>",
        lang = html_escape(lang),
        title = html_escape(title),
        css = PAGE_CSS
            .replace("__ACCENT__", brand.accent)
            .replace("__FOCUS__", brand.focus),
        token = html_escape(token),
        complete = html_escape(complete_url),
        name = html_escape(brand.name),
        dismiss_label = html_escape(brand.dismiss_label),
    );
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
         connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::REFERRER_POLICY, "no-referrer".to_string()),
            (header::CONTENT_SECURITY_POLICY, csp),
        ],
        html,
    )
        .into_response()
}

const PAGE_CSS: &str = include_str!("assets/bindbee-page.css");

#[cfg(test)]
mod tests;
