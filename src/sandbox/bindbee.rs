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

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::common::{
    is_slug, javascript, js_string, lock, mount_path, no_store, random_token, required_str, Api,
    Fault, Links,
};
use super::connect_page::{connect_page_response, link_not_found, page_script, Brand};
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
    links: Links<Link>,
    /// temporary token → the link it was minted for (removed on first exchange).
    temporary: Mutex<HashMap<String, Link>>,
    /// (origin_id, integration) → connector id: reconnecting the same tool for the same
    /// organization yields the same connector id (and a fresh connector token).
    connectors: Mutex<HashMap<(String, String), String>>,
    connector_tokens: Mutex<Vec<String>>,
    create_link_token_calls: AtomicU64,
    connect_page_calls: AtomicU64,
    complete_calls: AtomicU64,
    connector_token_calls: AtomicU64,
}

/// A handle to a sandbox Bindbee; clones share state.
#[derive(Clone)]
pub struct SandboxBindbee {
    api: Arc<Api>,
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
            api: Arc::new(Api::new(
                api_key,
                detail_body,
                |m| json!({"detail": m, "message": m}),
            )),
            inner: Arc::default(),
        }
    }

    pub fn api_key(&self) -> &str {
        self.api.api_key()
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
        self.api.set_fault(fault);
    }

    /// What the connect page's "Connect" button does: mints a single-use temporary token
    /// for a known link token.
    pub fn complete_link(&self, link_token: &str) -> Option<String> {
        let link = self.inner.links.get(link_token)?;
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
        self.inner.links.last_request()
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
}

/// Bindbee's error body (FastAPI's `detail`).
fn detail_body(message: &str) -> Value {
    json!({ "detail": message })
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, Json(detail_body(message))).into_response()
}

/// `POST /api/embedded/v1/link/create-link-token`
async fn create_link_token(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    let sandbox = &ctx.sandbox;
    sandbox
        .inner
        .create_link_token_calls
        .fetch_add(1, Ordering::SeqCst);
    let links = &sandbox.inner.links;
    let link_token = match links
        .create(&sandbox.api, &headers, &body, "lt_", validate_link_request)
        .await
    {
        Ok(token) => token,
        Err(r) => return r,
    };
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
        .and_then(|t| sandbox.inner.links.get(t));
    let complete_url = format!("{}/connect/complete", mount_path(&ctx.public_base));
    let brand = Brand {
        prefix: "bindbee",
        name: "Bindbee",
        vendor: "Bindbee",
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
        None => link_not_found(&brand, &complete_url, &script),
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
    let body: CompleteBody = match sandbox.api.body(&body) {
        Ok(b) => b,
        Err(r) => return r,
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
    if let Some(r) = sandbox.api.guard(&headers).await {
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

#[cfg(test)]
mod tests;
