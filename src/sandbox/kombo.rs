//! Sandbox Kombo: the Connect API (create-link, integration-by-token and the deprecated
//! activate-integration), a connect page speaking the exact `postMessage` protocol of the
//! npm package `@kombo-api/connect`, and a `sdk.js` mimicking that package's UMD build.
//! Meant to be nested by the caller (at `/kombo`); `public_base` is the absolute URL of
//! that mount point, and the API lives under its `/v1`.
//!
//! Routes, relative to the mount point:
//! - `POST /v1/connect/create-link` (API key) → `{"status":"success","data":{"link"}}`
//! - `GET  /v1/connect/integration-by-token/{token}` (API key, single use)
//! - `POST /v1/connect/activate-integration` `{"token"}` (API key, same single-use pool)
//! - `GET  /connect?token=lk_...` → the connect page (HTML)
//! - `POST /connect/complete` `{"token"}` → `{"activation_token"}` (browser side, no key)
//! - `GET  /sdk.js` → `window.KomboConnect = { showKomboConnect(link) }`

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::common::{
    is_slug, javascript, lock, mount_path, no_store, parse_json, random_token, required_str, Api,
    Fault, Links,
};
use super::connect_page::{connect_page_response, link_not_found, page_script, Brand};
use crate::error::html_escape;

/// The categories Kombo's create-link accepts.
pub const KOMBO_CATEGORIES: &[&str] = &["HRIS", "ATS", "ASSESSMENT", "LMS"];
/// The tool an integration reports when the link did not name one.
pub const KOMBO_DEFAULT_TOOL: &str = "personio";

/// What a link was created for.
#[derive(Clone, Debug)]
struct Link {
    email: String,
    org_name: String,
    origin_id: String,
    category: String,
    tool: Option<String>,
    language: Option<String>,
}

impl Link {
    fn tool(&self) -> &str {
        self.tool.as_deref().unwrap_or(KOMBO_DEFAULT_TOOL)
    }
}

#[derive(Default)]
struct Inner {
    links: Links<Link>,
    /// activation token → the link it was minted for (removed on first exchange).
    activation: Mutex<HashMap<String, Link>>,
    /// (origin id, tool) → integration id: reconnecting the same tool for the same
    /// organization yields the same integration.
    integrations: Mutex<HashMap<(String, String), String>>,
    exchange_by_token_missing: AtomicBool,
    origin_override: RwLock<Option<String>>,
    create_link_calls: AtomicU64,
    connect_page_calls: AtomicU64,
    complete_calls: AtomicU64,
    integration_by_token_calls: AtomicU64,
    activate_integration_calls: AtomicU64,
}

/// A handle to a sandbox Kombo; clones share state.
#[derive(Clone)]
pub struct SandboxKombo {
    api: Arc<Api>,
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Ctx {
    sandbox: SandboxKombo,
    public_base: Arc<str>,
}

const BRAND: Brand = Brand {
    prefix: "kombo",
    name: "Kombo Connect",
    vendor: "Kombo",
    accent: "#0f766e",
    focus: "#5eead4",
    dismiss_id: "close",
    dismiss_label: "Close",
};

impl SandboxKombo {
    /// A sandbox accepting `Authorization: Bearer <api_key>` on its API endpoints.
    pub fn new(api_key: &str) -> SandboxKombo {
        SandboxKombo {
            api: Arc::new(Api::new(api_key, error_body, error_body)),
            inner: Arc::default(),
        }
    }

    pub fn api_key(&self) -> &str {
        self.api.api_key()
    }

    /// The routes, to be nested by the caller; `public_base` is the absolute URL of the
    /// mount point (e.g. `http://127.0.0.1:P/kombo`; the API base URL is then
    /// `http://127.0.0.1:P/kombo/v1`).
    pub fn router(&self, public_base: &str) -> Router {
        let ctx = Ctx {
            sandbox: self.clone(),
            public_base: public_base.trim_end_matches('/').into(),
        };
        Router::new()
            .route("/v1/connect/create-link", post(create_link))
            .route(
                "/v1/connect/integration-by-token/{token}",
                get(integration_by_token),
            )
            .route(
                "/v1/connect/activate-integration",
                post(activate_integration),
            )
            .route("/connect", get(connect_page))
            .route("/connect/complete", post(complete))
            .route("/sdk.js", get(sdk))
            .with_state(ctx)
    }

    /// Makes the API endpoints (create-link, integration-by-token, activate-integration)
    /// misbehave.
    pub fn set_fault(&self, fault: Fault) {
        self.api.set_fault(fault);
    }

    /// When set, integration-by-token answers 404 for every token (without consuming it),
    /// as if the endpoint did not exist: callers must fall back to activate-integration.
    pub fn set_exchange_by_token_missing(&self, missing: bool) {
        self.inner
            .exchange_by_token_missing
            .store(missing, Ordering::SeqCst);
    }

    /// When set, the exchange endpoints report this `end_user_origin_id` instead of the
    /// link's.
    pub fn set_origin_override(&self, origin_id: Option<String>) {
        if let Ok(mut o) = self.inner.origin_override.write() {
            *o = origin_id;
        }
    }

    /// What the connect page's "Connect" button does: mints a single-use activation token
    /// for a known link, given as the whole link URL or as its `token` (`lk_...`).
    pub fn complete_link(&self, link_or_token: &str) -> Option<String> {
        let token = match url::Url::parse(link_or_token) {
            Ok(url) => url
                .query_pairs()
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())?,
            Err(_) => link_or_token.to_string(),
        };
        let link = self.inner.links.get(&token)?;
        let activation_token = random_token("at_");
        lock(&self.inner.activation).insert(activation_token.clone(), link);
        Some(activation_token)
    }

    /// The last create-link body received (with a valid API key), valid or not.
    pub fn last_request(&self) -> Option<Value> {
        self.inner.links.last_request()
    }

    pub fn create_link_calls(&self) -> u64 {
        self.inner.create_link_calls.load(Ordering::SeqCst)
    }

    pub fn connect_page_calls(&self) -> u64 {
        self.inner.connect_page_calls.load(Ordering::SeqCst)
    }

    pub fn complete_calls(&self) -> u64 {
        self.inner.complete_calls.load(Ordering::SeqCst)
    }

    pub fn integration_by_token_calls(&self) -> u64 {
        self.inner.integration_by_token_calls.load(Ordering::SeqCst)
    }

    pub fn activate_integration_calls(&self) -> u64 {
        self.inner.activate_integration_calls.load(Ordering::SeqCst)
    }

    /// Redeems an activation token once: the integration it stands for, or 404.
    fn exchange(&self, token: &str) -> Response {
        let Some(link) = lock(&self.inner.activation).remove(token) else {
            return error(StatusCode::NOT_FOUND, "not found");
        };
        let id = lock(&self.inner.integrations)
            .entry((link.origin_id.clone(), link.tool().to_string()))
            .or_insert_with(|| random_token("kmb_int_"))
            .clone();
        let origin_id = self
            .inner
            .origin_override
            .read()
            .ok()
            .and_then(|o| o.clone())
            .unwrap_or_else(|| link.origin_id.clone());
        no_store(Json(json!({
            "status": "success",
            "data": {
                "id": id,
                "tool": link.tool(),
                "category": link.category,
                "end_user_origin_id": origin_id,
                "end_user_organization_name": link.org_name,
                "end_user_email": link.email,
                "setup_status": "COMPLETED",
            }
        })))
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(error_body(message))).into_response()
}

fn error_body(message: &str) -> Value {
    json!({"status": "error", "error": {"message": message}})
}

/// `POST /v1/connect/create-link`
async fn create_link(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    let sandbox = &ctx.sandbox;
    sandbox
        .inner
        .create_link_calls
        .fetch_add(1, Ordering::SeqCst);
    let links = &sandbox.inner.links;
    let token = match links
        .create(&sandbox.api, &headers, &body, "lk_", validate_link_request)
        .await
    {
        Ok(token) => token,
        Err(r) => return r,
    };
    Json(json!({
        "status": "success",
        "data": { "link": format!("{}/connect?token={token}", ctx.public_base) }
    }))
    .into_response()
}

fn optional_str<'a>(body: &'a Value, field: &str) -> Result<Option<&'a str>, String> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{field}: must be a string")),
    }
}

fn validate_link_request(body: &Value) -> Result<Link, String> {
    // The email must be a string; the sandbox accepts an empty one.
    let email = body
        .get("end_user_email")
        .and_then(Value::as_str)
        .ok_or("end_user_email: required (a string)")?;
    let org_name = required_str(body, "end_user_organization_name")?;
    let origin_id = required_str(body, "end_user_origin_id")?;
    let category = body
        .get("integration_category")
        .and_then(Value::as_str)
        .ok_or("integration_category: required")?;
    if !KOMBO_CATEGORIES.contains(&category) {
        return Err(format!(
            "integration_category: must be one of {}",
            KOMBO_CATEGORIES.join(", ")
        ));
    }
    let tool = optional_str(body, "integration_tool")?;
    if tool.is_some_and(|t| !is_slug(t)) {
        return Err("integration_tool: must be a tool id such as personio".into());
    }
    let language = optional_str(body, "language")?;
    if language.is_some_and(|l| !is_language(l)) {
        return Err("language: must be a language code such as en or de".into());
    }
    match body.get("link_type").and_then(Value::as_str) {
        Some("EMBEDDED") => {}
        Some(_) => return Err("link_type: the sandbox only creates EMBEDDED links".into()),
        None => return Err("link_type: required (EMBEDDED)".into()),
    }
    Ok(Link {
        email: email.to_string(),
        org_name,
        origin_id,
        category: category.to_string(),
        tool: tool.map(str::to_string),
        language: language.map(str::to_string),
    })
}

fn is_language(s: &str) -> bool {
    (2..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
}

#[derive(Deserialize)]
struct ConnectQuery {
    token: Option<String>,
}

/// `GET /connect?token=lk_...` (the real package appends `sdkv=...`, which is ignored).
async fn connect_page(State(ctx): State<Ctx>, Query(q): Query<ConnectQuery>) -> Response {
    let sandbox = &ctx.sandbox;
    sandbox
        .inner
        .connect_page_calls
        .fetch_add(1, Ordering::SeqCst);
    let token = q.token.as_deref().unwrap_or_default();
    let link = sandbox.inner.links.get(token);
    let complete_url = format!("{}/connect/complete", mount_path(&ctx.public_base));
    let script = page_script(
        "kombo",
        "{ token: token }",
        "{ type: 'success', data: { activation_token: body.activation_token } }",
        "{ type: 'close' }",
    );
    match link {
        Some(link) => {
            let body = format!(
                "<h1 id=\"kombo-title\">Connect {tool}</h1>\
                 <p id=\"kombo-desc\" class=\"note\">{org} is connecting its {category} system \
                 through Kombo. This sandbox stands in for Kombo: no credentials are asked \
                 for.</p>\
                 <dl><dt>Organization</dt><dd>{org}</dd><dt>Tool</dt><dd>{tool}</dd>\
                 <dt>Category</dt><dd>{category}</dd><dt>Email</dt><dd>{email}</dd></dl>",
                tool = html_escape(link.tool()),
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
                &BRAND,
                &format!("Connect {} — Kombo", link.tool()),
                link.language.as_deref().unwrap_or("en"),
                token,
                &complete_url,
                &body,
                Some("Connect"),
                &script,
            )
        }
        None => link_not_found(&BRAND, &complete_url, &script),
    }
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

/// `POST /connect/complete` `{"token": "lk_..."}`: what the connect page's button calls.
async fn complete(State(ctx): State<Ctx>, body: Bytes) -> Response {
    let sandbox = &ctx.sandbox;
    sandbox.inner.complete_calls.fetch_add(1, Ordering::SeqCst);
    let body: TokenBody = match sandbox.api.body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if !body.token.starts_with("lk_") {
        return error(StatusCode::NOT_FOUND, "not found");
    }
    match sandbox.complete_link(&body.token) {
        Some(activation_token) => no_store(Json(json!({ "activation_token": activation_token }))),
        None => error(StatusCode::NOT_FOUND, "not found"),
    }
}

/// `GET /v1/connect/integration-by-token/{token}`: single use.
async fn integration_by_token(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let sandbox = &ctx.sandbox;
    sandbox
        .inner
        .integration_by_token_calls
        .fetch_add(1, Ordering::SeqCst);
    if sandbox
        .inner
        .exchange_by_token_missing
        .load(Ordering::SeqCst)
    {
        // As if the endpoint did not exist (older deployments).
        return error(StatusCode::NOT_FOUND, "not found");
    }
    if let Some(r) = sandbox.api.guard(&headers).await {
        return r;
    }
    sandbox.exchange(&token)
}

/// `POST /v1/connect/activate-integration` `{"token"}`: deprecated, same pool.
async fn activate_integration(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    let sandbox = &ctx.sandbox;
    sandbox
        .inner
        .activate_integration_calls
        .fetch_add(1, Ordering::SeqCst);
    if let Some(r) = sandbox.api.guard(&headers).await {
        return r;
    }
    let body = match parse_json(&body) {
        Ok(v) => v,
        Err(why) => return error(StatusCode::BAD_REQUEST, &why),
    };
    match required_str(&body, "token") {
        Ok(token) => sandbox.exchange(&token),
        Err(why) => error(StatusCode::BAD_REQUEST, &why),
    }
}

/// `GET /sdk.js`
async fn sdk() -> Response {
    javascript(SDK_JS.to_string())
}

/// Mirrors `@kombo-api/connect`'s UMD build (`dist/index.js`): same global, same errors,
/// same message handling (by `event.source`), same iframe.
const SDK_JS: &str = include_str!("assets/kombo-connect.js");

#[cfg(test)]
mod tests;
