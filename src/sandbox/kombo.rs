//! Sandbox Kombo: the Connect API (create-link, integration-by-token), the integration
//! lifecycle (relink, delete), a connect page speaking the exact `postMessage` protocol of
//! the npm package `@kombo-api/connect`, and a `sdk.js` mimicking that package's UMD build.
//! Meant to be nested by the caller (at `/kombo`); `public_base` is the absolute URL of
//! that mount point, and the API lives under its `/v1`.
//!
//! Like Kombo, and unlike what would be convenient for the proxy: integration ids have
//! Kombo's shape (`personio:8d1hpPsbjxUkoCoa1veLZGe5`, with a `:`), every completed
//! connection is a new integration (no deduplication; only relink keeps one), and
//! create-link refuses a null or empty `end_user_email`.
//!
//! Routes, relative to the mount point:
//! - `POST   /v1/connect/create-link` (API key) → `{"status":"success","data":{"link"}}`
//! - `GET    /v1/connect/integration-by-token/{token}` (API key, single use)
//! - `POST   /v1/integrations/{integration_id}/relink` (API key) → `{"status":"success","data":{"link"}}`
//! - `DELETE /v1/integrations/{integration_id}` (API key) → `{"status":"success","data":{}}`
//! - `GET    /v1/hris/employees`, `GET /v1/ats/jobs` (API key + `X-Integration-Id`) → the
//!   unified API over the integration's sample data (`unified/kombo/`)
//! - `GET    /connect?token=lk_...` → the connect page (HTML)
//! - `POST   /connect/complete` `{"token"}` → `{"activation_token"}` (browser side, no key)
//! - `GET    /sdk.js` → `window.KomboConnect = { showKomboConnect(link) }`

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::common::{
    is_slug, javascript, lock, mount_path, no_store, parse_json, random_token, required_str, Api,
    Fault, Links,
};
use super::connect_page::{connect_page_response, link_not_found, page_script, Brand};
use super::unified::{self, Knobs, RateLimit, Tenant};
use super::webhooks::{self, Signing};
use crate::error::html_escape;

/// The categories Kombo's create-link accepts.
pub const KOMBO_CATEGORIES: &[&str] = &["HRIS", "ATS", "ASSESSMENT", "LMS"];
/// The languages Kombo's connection flow is offered in.
pub const KOMBO_LANGUAGES: &[&str] = &["en", "de", "fr", "it", "es"];
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
    /// The integration a relink link reconnects.
    relinks: Option<String>,
}

/// An integration the sandbox Kombo holds.
#[derive(Clone, Debug)]
struct Integration {
    tool: String,
    category: String,
    origin_id: String,
    org_name: String,
    email: String,
    setup_status: String,
    created_at: String,
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
    /// integration id → integration. Kombo does not deduplicate: every completed link
    /// adds one, unless it was a relink link.
    integrations: Mutex<HashMap<String, Integration>>,
    origin_override: RwLock<Option<String>>,
    /// The `setup_status` the next exchanged integration reports (default `COMPLETED`).
    setup_status: RwLock<Option<String>>,
    create_link_calls: AtomicU64,
    connect_page_calls: AtomicU64,
    complete_calls: AtomicU64,
    integration_by_token_calls: AtomicU64,
    relink_calls: AtomicU64,
    delete_calls: AtomicU64,
}

/// A handle to a sandbox Kombo; clones share state.
#[derive(Clone)]
pub struct SandboxKombo {
    api: Arc<Api>,
    inner: Arc<Inner>,
    /// The unified API's rate limit, padding and call count.
    unified: Arc<Knobs>,
    webhooks: Arc<webhooks::Sender>,
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
            unified: Arc::default(),
            webhooks: Arc::default(),
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
            .route("/v1/integrations/{integration_id}/relink", post(relink))
            .route(
                "/v1/integrations/{integration_id}",
                delete(delete_integration),
            )
            .route("/connect", get(connect_page))
            .route("/connect/complete", post(complete))
            .route("/sdk.js", get(sdk))
            .route("/sandbox/webhooks", post(send_webhook))
            .with_state(ctx)
            .merge(unified::kombo_router(
                self.api.clone(),
                self.unified.clone(),
                {
                    let sandbox = self.clone();
                    move |id: &str| sandbox.unified_tenant(id)
                },
            ))
    }

    /// Makes the API endpoints (create-link, integration-by-token, relink, delete, and
    /// the unified API) misbehave.
    pub fn set_fault(&self, fault: Fault) {
        self.api.set_fault(fault);
    }

    /// Rate-limits the unified API (`/v1/hris/employees`, `/v1/ats/jobs`): its answers
    /// carry `X-RateLimit-Limit`, `-Remaining` and `-Reset` (Unix seconds), and calls over
    /// the limit get Kombo's 429 (`PLATFORM.RATE_LIMIT_EXCEEDED`) with `Retry-After`.
    /// `None` (the default) lifts the limit; `Some` starts a fresh window.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        self.unified.set_rate_limit(limit);
    }

    /// Makes every `GET /v1/hris/employees` answer `bytes` longer (a `sandbox_padding`
    /// string in the rows' `custom_fields`, streamed from a static buffer, so even a
    /// 256 MiB answer costs the sandbox little memory); 0, the default, for none.
    pub fn set_padding(&self, bytes: usize) {
        self.unified.set_padding(bytes);
    }

    /// Calls to the unified API so far, refused ones included.
    pub fn unified_calls(&self) -> u64 {
        self.unified.calls()
    }

    /// The sample organization behind an integration Kombo holds: the email the link was
    /// made with names its domain.
    fn unified_tenant(&self, integration_id: &str) -> Option<Tenant> {
        let integrations = lock(&self.inner.integrations);
        let i = integrations.get(integration_id)?;
        Some(Tenant::new(
            integration_id,
            &i.org_name,
            &i.tool,
            &i.category,
            Some(&i.email),
            &i.origin_id,
        ))
    }

    /// The `setup_status` the next exchanges report (`INCOMPLETE`, `FINAL_SYNC_PENDING`,
    /// `COMPLETED`); `None` for the default, `COMPLETED`.
    pub fn set_setup_status(&self, status: Option<&str>) {
        if let Ok(mut s) = self.inner.setup_status.write() {
            *s = status.map(str::to_string);
        }
    }

    /// Where webhooks go (the proxy's `/integrations/kombo/webhook`) and the secret they
    /// are signed with.
    pub fn set_webhook_target(&self, url: &str, secret: &str) {
        self.webhooks.set_target(url, secret);
    }

    /// Sends Kombo's `integration-state-changed` for an integration it holds, with `state`
    /// (`ACTIVE`, `INVALID`, `INACTIVE`); the target's status.
    pub async fn send_state_changed(
        &self,
        integration_id: &str,
        state: &str,
    ) -> Result<u16, String> {
        let event = {
            let integrations = lock(&self.inner.integrations);
            let i = integrations
                .get(integration_id)
                .ok_or("no such integration")?;
            json!({
                "id": random_token("evt_"),
                "type": "integration-state-changed",
                "data": {
                    "integration_tool": i.tool,
                    "integration_id": integration_id,
                    "integration_category": i.category,
                    "end_user": end_user_json(i),
                    "qa_status": "PASSED",
                    "setup_status": i.setup_status,
                    "state": state,
                    "updated_at": now_rfc3339(),
                }
            })
        };
        self.webhooks.send(Signing::Kombo, &event).await
    }

    /// Deletes an integration (as in Kombo's dashboard) and sends `integration-deleted`.
    pub async fn send_deleted(&self, integration_id: &str) -> Result<u16, String> {
        let i = lock(&self.inner.integrations)
            .remove(integration_id)
            .ok_or("no such integration")?;
        let event = json!({
            "id": random_token("evt_"),
            "type": "integration-deleted",
            "data": {
                "id": integration_id,
                "tool": i.tool,
                "category": i.category,
                "end_user": end_user_json(&i),
                "deleted_at": now_rfc3339(),
            }
        });
        self.webhooks.send(Signing::Kombo, &event).await
    }

    /// The ids of the integrations Kombo holds, sorted.
    pub fn integration_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = lock(&self.inner.integrations).keys().cloned().collect();
        ids.sort();
        ids
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

    pub fn relink_calls(&self) -> u64 {
        self.inner.relink_calls.load(Ordering::SeqCst)
    }

    pub fn delete_calls(&self) -> u64 {
        self.inner.delete_calls.load(Ordering::SeqCst)
    }

    /// Redeems an activation token once: a new integration (or, for a relink link, the
    /// one it reconnects), or 404.
    fn exchange(&self, token: &str) -> Response {
        let Some(link) = lock(&self.inner.activation).remove(token) else {
            return error(
                StatusCode::NOT_FOUND,
                "The activation token is unknown or expired.",
            );
        };
        let setup_status = self
            .inner
            .setup_status
            .read()
            .ok()
            .and_then(|s| s.clone())
            .unwrap_or_else(|| "COMPLETED".into());
        let mut integrations = lock(&self.inner.integrations);
        let id = match &link.relinks {
            Some(id) => match integrations.get_mut(id) {
                Some(existing) => {
                    existing.setup_status = setup_status;
                    id.clone()
                }
                None => return error(StatusCode::NOT_FOUND, "The integration was deleted."),
            },
            None => {
                let id = format!("{}:{}", link.tool(), &random_token("")[..24]);
                integrations.insert(
                    id.clone(),
                    Integration {
                        tool: link.tool().to_string(),
                        category: link.category.clone(),
                        origin_id: link.origin_id.clone(),
                        org_name: link.org_name.clone(),
                        email: link.email.clone(),
                        setup_status,
                        created_at: now_rfc3339(),
                    },
                );
                id
            }
        };
        let integration = integrations[&id].clone();
        drop(integrations);
        let origin_id = self
            .inner
            .origin_override
            .read()
            .ok()
            .and_then(|o| o.clone())
            .unwrap_or(integration.origin_id.clone());
        no_store(Json(json!({
            "status": "success",
            "data": integration_json(&id, &integration, &origin_id),
        })))
    }
}

/// An integration in the shape of Kombo's `GetConnectIntegrationByTokenPositiveResponse`.
fn integration_json(id: &str, i: &Integration, origin_id: &str) -> Value {
    json!({
        "id": id,
        "tool": i.tool,
        "category": i.category,
        "end_user_origin_id": origin_id,
        "end_user_organization_name": i.org_name,
        "end_user_email": i.email,
        "setup_status": i.setup_status,
        "created_at": i.created_at,
    })
}

/// The `end_user` object of Kombo's integration webhooks.
fn end_user_json(i: &Integration) -> Value {
    json!({
        "organization_name": i.org_name,
        "creator_email": i.email,
        "origin_id": i.origin_id,
    })
}

#[derive(Deserialize)]
struct SendWebhook {
    #[serde(rename = "type")]
    kind: String,
    integration_id: String,
    state: Option<String>,
}

/// `POST /sandbox/webhooks` `{type, integration_id, state?}` (API key): sends
/// `integration-state-changed` (with `state`, default `INVALID`) or `integration-deleted`
/// to the webhook target; `{"target_status"}`.
async fn send_webhook(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    let sandbox = &ctx.sandbox;
    if let Some(r) = sandbox.api.guard(&headers).await {
        return r;
    }
    let request: SendWebhook = match sandbox.api.body(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let sent = match request.kind.as_str() {
        "integration-state-changed" => {
            let state = request.state.as_deref().unwrap_or("INVALID");
            sandbox
                .send_state_changed(&request.integration_id, state)
                .await
        }
        "integration-deleted" => sandbox.send_deleted(&request.integration_id).await,
        _ => Err("type: integration-state-changed or integration-deleted".into()),
    };
    match sent {
        Ok(status) => Json(json!({ "target_status": status })).into_response(),
        Err(why) => error(StatusCode::BAD_REQUEST, &why),
    }
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(error_body(status, message))).into_response()
}

/// Kombo's error body (`KomboGeneralError`): every key present, as Kombo's SDKs require,
/// with the `PLATFORM.*` code the status stands for.
fn error_body(status: StatusCode, message: &str) -> Value {
    let (code, title) = match status.as_u16() {
        401 | 403 => ("PLATFORM.AUTHENTICATION_INVALID", "Authentication invalid"),
        404 => ("PLATFORM.INTEGRATION_NOT_FOUND", "Not found"),
        429 => ("PLATFORM.RATE_LIMIT_EXCEEDED", "Rate limit exceeded"),
        400..=499 => ("PLATFORM.INPUT_INVALID", "Input invalid"),
        _ => ("PLATFORM.UNKNOWN_ERROR", "Unknown error"),
    };
    json!({
        "status": "error",
        "error": { "code": code, "title": title, "message": message, "log_url": null }
    })
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
    // Kombo requires the email: a non-empty string (null and "" are refused).
    let email = required_str(body, "end_user_email")?;
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
    if language.is_some_and(|l| !KOMBO_LANGUAGES.contains(&l)) {
        return Err(format!(
            "language: must be one of {}",
            KOMBO_LANGUAGES.join(", ")
        ));
    }
    match body.get("link_type").and_then(Value::as_str) {
        Some("EMBEDDED") => {}
        Some(_) => return Err("link_type: the sandbox only creates EMBEDDED links".into()),
        None => return Err("link_type: required (EMBEDDED)".into()),
    }
    Ok(Link {
        email,
        org_name,
        origin_id,
        category: category.to_string(),
        tool: tool.map(str::to_string),
        language: language.map(str::to_string),
        relinks: None,
    })
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
    if let Some(r) = sandbox.api.guard(&headers).await {
        return r;
    }
    sandbox.exchange(&token)
}

/// `POST /v1/integrations/{integration_id}/relink` `{language?, link_type?}`: a link that
/// reconnects this integration (its exchange gives back the same id).
async fn relink(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let sandbox = &ctx.sandbox;
    sandbox.inner.relink_calls.fetch_add(1, Ordering::SeqCst);
    if let Some(r) = sandbox.api.guard(&headers).await {
        return r;
    }
    let body = if body.is_empty() {
        json!({})
    } else {
        match parse_json(&body) {
            Ok(v) => v,
            Err(why) => return error(StatusCode::BAD_REQUEST, &why),
        }
    };
    let language = match optional_str(&body, "language") {
        Ok(l) if l.is_none_or(|l| KOMBO_LANGUAGES.contains(&l)) => l.map(str::to_string),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "language: must be one of en, de, fr, it, es",
            )
        }
    };
    let Some(existing) = lock(&sandbox.inner.integrations).get(&id).cloned() else {
        return error(StatusCode::NOT_FOUND, "Integration not found.");
    };
    let link = Link {
        email: existing.email,
        org_name: existing.org_name,
        origin_id: existing.origin_id,
        category: existing.category,
        tool: Some(existing.tool),
        language,
        relinks: Some(id),
    };
    let token = sandbox.inner.links.insert("lk_", link);
    no_store(Json(json!({
        "status": "success",
        "data": { "link": format!("{}/connect?token={token}", ctx.public_base) }
    })))
}

/// `DELETE /v1/integrations/{integration_id}` `{}`: the integration is gone (404 after).
async fn delete_integration(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let sandbox = &ctx.sandbox;
    sandbox.inner.delete_calls.fetch_add(1, Ordering::SeqCst);
    if let Some(r) = sandbox.api.guard(&headers).await {
        return r;
    }
    match lock(&sandbox.inner.integrations).remove(&id) {
        Some(_) => no_store(Json(json!({ "status": "success", "data": {} }))),
        None => error(StatusCode::NOT_FOUND, "Integration not found."),
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
