//! Sandbox Bindbee: the embedded-link API (create-link-token, connector_token), the
//! connectors API (list, delete), the widget page that stands in for Bindbee's hosted
//! flow, and a script with the API of Bindbee's `initialize.min.js`. Meant to be nested by
//! the caller (at `/bindbee`); `public_base` is the absolute URL of that mount point.
//!
//! Like Bindbee, and unlike what would be convenient for the proxy: the connector_token
//! answer is exactly `{connector_token, connector_id}` (whose connector it is comes only
//! from the connectors endpoint), `org_name` and `origin_id` shorter than 2 characters are
//! refused, and the widget only works for the region (`server_url`) its link was made in.
//!
//! Routes, relative to the mount point:
//! - `POST   /api/embedded/v1/link/create-link-token` (API key) → `{"link_token"}`
//! - `GET    /api/embedded/v1/connectors/connector_token/{temporary_token}` (API key, single use)
//! - `GET    /api/{category}/v1/connectors?connector_token&origin_id&is_active` (API key)
//! - `DELETE /api/{category}/v1/connectors/{connector_id}/delete` (API key)
//! - `GET    /api/hris/v1/employees` (API key + `X-Connector-Token`) → the unified API
//!   over the connector's sample data (`unified/bindbee.rs`)
//! - `GET    /embed?link_token&server_url&instanceId` → the widget page (HTML)
//! - `POST   /connect/complete` `{"link_token"}` → `{"temporary_token"}` (browser side, no key)
//! - `GET    /initialize.min.js` (also `/sdk.js`) → `window.BindbeeEmbed = {initialize, open, destroy}`

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    is_slug, javascript, js_string, lock, mount_path, no_store, random_token, required_str, Api,
    Fault, Links,
};
use super::connect_page::{connect_page_response, link_not_found, page_script, Brand};
use super::unified::{self, Knobs, RateLimit, Tenant};
use super::webhooks::{self, Signing};
use crate::error::html_escape;

/// The categories Bindbee's create-link-token accepts.
pub const BINDBEE_CATEGORIES: &[&str] = &["HRIS", "ATS", "LMS", "CUSTOM"];

/// What a link token was created for.
#[derive(Clone, Debug)]
struct Link {
    org_name: String,
    origin_id: String,
    email: Option<String>,
    category: String,
    integration: String,
}

/// A connector the sandbox Bindbee holds.
#[derive(Clone, Debug)]
struct Connector {
    connector_token: String,
    origin_id: String,
    org_name: String,
    category: String,
    integration: String,
    status: String,
    created_at: String,
}

#[derive(Default)]
struct Inner {
    links: Links<Link>,
    /// temporary token → the link it was minted for (removed on first exchange).
    temporary: Mutex<HashMap<String, Link>>,
    /// connector id → connector: every completed link is a new connector.
    connectors: Mutex<HashMap<String, Connector>>,
    connector_tokens: Mutex<Vec<String>>,
    /// The `origin_id` the connectors endpoint reports instead of the real one.
    origin_override: RwLock<Option<String>>,
    /// The status new connectors get (default `COMPLETE`).
    connector_status: RwLock<Option<String>>,
    /// The connectors endpoint lists nothing (as if the connector were unknown to it).
    hide_connectors: AtomicBool,
    create_link_token_calls: AtomicU64,
    connect_page_calls: AtomicU64,
    complete_calls: AtomicU64,
    connector_token_calls: AtomicU64,
    connectors_calls: AtomicU64,
    delete_calls: AtomicU64,
}

/// A handle to a sandbox Bindbee; clones share state.
#[derive(Clone)]
pub struct SandboxBindbee {
    api: Arc<Api>,
    inner: Arc<Inner>,
    /// The unified API's rate limit, padding and call count.
    unified: Arc<Knobs>,
    webhooks: Arc<webhooks::Sender>,
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
            api: Arc::new(
                Api::new(
                    api_key,
                    |status, m| match status {
                        // FastAPI's validation error: a list of problems.
                        StatusCode::UNPROCESSABLE_ENTITY => json!({
                            "detail": [{ "loc": ["body"], "msg": m, "type": "value_error" }]
                        }),
                        _ => detail_body(m),
                    },
                    |_, m| json!({"detail": m, "message": m}),
                )
                .invalid_with(StatusCode::UNPROCESSABLE_ENTITY),
            ),
            inner: Arc::default(),
            unified: Arc::default(),
            webhooks: Arc::default(),
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
            .route("/api/{category}/v1/connectors", get(list_connectors))
            .route(
                "/api/{category}/v1/connectors/{connector_id}/delete",
                delete(delete_connector),
            )
            .route("/embed", get(widget_page))
            .route("/connect/complete", post(complete))
            .route("/initialize.min.js", get(sdk))
            .route("/sdk.js", get(sdk))
            .route("/sandbox/webhooks", post(send_webhook))
            .with_state(ctx)
            .merge(unified::bindbee_router(
                self.api.clone(),
                self.unified.clone(),
                {
                    let sandbox = self.clone();
                    move |token: &str| sandbox.unified_tenant(token)
                },
            ))
    }

    /// Makes the API endpoints (create-link-token, connector_token, connectors, delete,
    /// and the unified API) misbehave.
    pub fn set_fault(&self, fault: Fault) {
        self.api.set_fault(fault);
    }

    /// Rate-limits the unified API (`/api/hris/v1/employees`): its answers carry
    /// `X-RateLimit-Limit`, `-Remaining` and `-Reset` (Unix seconds, as Bindbee documents
    /// them), and calls over the limit get 429 `{"detail"}` with `Retry-After`. `None`
    /// (the default) lifts the limit; `Some` starts a fresh window.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        self.unified.set_rate_limit(limit);
    }

    /// Makes every `GET /api/hris/v1/employees` answer `bytes` longer (a
    /// `sandbox_padding` string in the items' `custom_fields`, streamed from a static
    /// buffer, so even a 256 MiB answer costs the sandbox little memory); 0, the
    /// default, for none.
    pub fn set_padding(&self, bytes: usize) {
        self.unified.set_padding(bytes);
    }

    /// Calls to the unified API so far, refused ones included.
    pub fn unified_calls(&self) -> u64 {
        self.unified.calls()
    }

    /// The sample organization behind the connector a connector token names: its
    /// `origin_id` names the domain when it is one.
    fn unified_tenant(&self, connector_token: &str) -> Option<Tenant> {
        let connectors = lock(&self.inner.connectors);
        let (id, c) = connectors
            .iter()
            .find(|(_, c)| c.connector_token == connector_token)?;
        Some(Tenant::new(
            id,
            &c.org_name,
            &c.integration,
            &c.category,
            None,
            &c.origin_id,
        ))
    }

    /// When set, the connectors endpoint reports this `origin_id` for every connector.
    pub fn set_origin_override(&self, origin_id: Option<String>) {
        if let Ok(mut o) = self.inner.origin_override.write() {
            *o = origin_id;
        }
    }

    /// The status new connectors get (`COMPLETE`, `INCOMPLETE`, `RELINK_NEEDED`); `None`
    /// for the default, `COMPLETE`.
    pub fn set_connector_status(&self, status: Option<&str>) {
        if let Ok(mut s) = self.inner.connector_status.write() {
            *s = status.map(str::to_string);
        }
    }

    /// When set, the connectors endpoint lists no connector at all.
    pub fn set_hide_connectors(&self, hide: bool) {
        self.inner.hide_connectors.store(hide, Ordering::SeqCst);
    }

    /// Where webhooks go (the proxy's `/integrations/bindbee/webhook`) and the key they
    /// are signed with.
    pub fn set_webhook_target(&self, url: &str, secret: &str) {
        self.webhooks.set_target(url, secret);
    }

    /// Sets a connector's status (when given) and sends `event` (`connector_synced`,
    /// `connector_sync_error`, …) about it in Bindbee's payload shape; the target's status.
    pub async fn send_connector_event(
        &self,
        connector_id: &str,
        event: &str,
        status: Option<&str>,
    ) -> Result<u16, String> {
        let payload = {
            let mut connectors = lock(&self.inner.connectors);
            let c = connectors
                .get_mut(connector_id)
                .ok_or("no such connector")?;
            if let Some(status) = status {
                c.status = status.to_string();
            }
            json!({
                "webhook": { "webhook_id": random_token("wh_"), "url": "", "event": event },
                "connector": {
                    "id": connector_id,
                    "display_name": c.integration,
                    "integration_slug": c.integration,
                    "categories": [c.category],
                    "org_name": c.org_name,
                    "origin_id": c.origin_id,
                    "connector_status": c.status,
                    "end_user_name": c.org_name,
                    "end_user_email": null,
                },
                "data": {
                    "id": random_token("sync_"),
                    "integration_name": c.integration,
                    "category": c.category,
                    "display_status": if event == "connector_sync_error" { "Failed" } else { "Done" },
                },
                "sync": { "sync_id": random_token("sync_"), "sync_type": "AUTOMATED", "sync_name": "#1" },
            })
        };
        self.webhooks.send(Signing::Bindbee, &payload).await
    }

    /// The ids of the connectors Bindbee holds, sorted.
    pub fn connector_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = lock(&self.inner.connectors).keys().cloned().collect();
        ids.sort();
        ids
    }

    /// The origin the widget's `server_url` must name: the API's region.
    fn server_origin(public_base: &str) -> String {
        url::Url::parse(public_base)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
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

    pub fn connectors_calls(&self) -> u64 {
        self.inner.connectors_calls.load(Ordering::SeqCst)
    }

    pub fn delete_calls(&self) -> u64 {
        self.inner.delete_calls.load(Ordering::SeqCst)
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
    let org_name = at_least_2(user, "org_name")?;
    let origin_id = at_least_2(user, "origin_id")?;
    // The email may be null (Bindbee documents it as optional), else a string.
    let email = match user.get("email") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("end_user_data.email: must be a string or null".into()),
    };
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
        email,
        category: category.to_string(),
        integration,
    })
}

/// `end_user_data.<field>`: a string of at least 2 characters, as Bindbee requires.
fn at_least_2(user: &Value, field: &str) -> Result<String, String> {
    let value = required_str(user, field).map_err(|e| format!("end_user_data.{e}"))?;
    if value.chars().count() < 2 {
        return Err(format!(
            "end_user_data.{field}: ensure this value has at least 2 characters"
        ));
    }
    Ok(value)
}

#[derive(Deserialize)]
struct WidgetQuery {
    link_token: Option<String>,
    server_url: Option<String>,
    #[serde(rename = "instanceId")]
    instance_id: Option<String>,
}

/// `GET /embed?link_token&server_url&instanceId`: the widget. A link token is only known
/// to the region it was created in, so a `server_url` other than this API's origin finds
/// no link (as an EU link token in the US widget would).
async fn widget_page(State(ctx): State<Ctx>, Query(q): Query<WidgetQuery>) -> Response {
    let sandbox = &ctx.sandbox;
    sandbox
        .inner
        .connect_page_calls
        .fetch_add(1, Ordering::SeqCst);
    let same_region = q.server_url.as_deref().map(|u| u.trim_end_matches('/'))
        == Some(SandboxBindbee::server_origin(&ctx.public_base).as_str());
    let link = q
        .link_token
        .as_deref()
        .filter(|_| same_region)
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
    // Bindbee's widget posts JSON strings, tagged with the instance that opened it.
    let instance = js_string(q.instance_id.as_deref().unwrap_or_default());
    let script = page_script(
        "bindbee",
        "{ link_token: token }",
        &format!(
            "JSON.stringify({{ type: 'SUCCESS', temporary_token: body.temporary_token, instanceId: {instance} }}), \
             JSON.stringify({{ type: 'CLOSE', instanceId: {instance} }})"
        ),
        &format!("JSON.stringify({{ type: 'CLOSE', instanceId: {instance} }})"),
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
                email = html_escape(
                    link.email
                        .as_deref()
                        .filter(|e| !e.is_empty())
                        .unwrap_or("none")
                ),
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

/// `GET /api/embedded/v1/connectors/connector_token/{temporary_token}`: single use. The
/// answer is exactly what Bindbee answers: the token and the connector's id, no more.
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
        return detail(
            StatusCode::NOT_FOUND,
            "Temporary token not found or expired",
        );
    };
    let connector_id = uuid_v4();
    let connector_token = random_token("ct_");
    let status = sandbox
        .inner
        .connector_status
        .read()
        .ok()
        .and_then(|s| s.clone())
        .unwrap_or_else(|| "COMPLETE".into());
    lock(&sandbox.inner.connectors).insert(
        connector_id.clone(),
        Connector {
            connector_token: connector_token.clone(),
            origin_id: link.origin_id,
            org_name: link.org_name,
            category: link.category,
            integration: link.integration,
            status,
            created_at: humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string(),
        },
    );
    lock(&sandbox.inner.connector_tokens).push(connector_token.clone());
    no_store(Json(json!({
        "connector_token": connector_token,
        "connector_id": connector_id,
    })))
}

#[derive(Deserialize)]
struct ConnectorsQuery {
    connector_token: Option<String>,
    origin_id: Option<String>,
    is_active: Option<bool>,
}

/// `GET /api/{category}/v1/connectors?connector_token&origin_id&is_active`: the
/// category's connectors that match every filter given.
async fn list_connectors(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Path(category): Path<String>,
    Query(q): Query<ConnectorsQuery>,
) -> Response {
    let sandbox = &ctx.sandbox;
    sandbox
        .inner
        .connectors_calls
        .fetch_add(1, Ordering::SeqCst);
    if let Some(r) = sandbox.api.guard(&headers).await {
        return r;
    }
    let Some(category) = api_category(&category) else {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    };
    let origin_override = sandbox
        .inner
        .origin_override
        .read()
        .ok()
        .and_then(|o| o.clone());
    let hidden = sandbox.inner.hide_connectors.load(Ordering::SeqCst);
    let connectors = lock(&sandbox.inner.connectors);
    let mut items: Vec<Value> = connectors
        .iter()
        .filter(|_| !hidden)
        .filter(|(_, c)| c.category == category)
        .filter(|(_, c)| {
            q.connector_token
                .as_ref()
                .is_none_or(|t| *t == c.connector_token)
        })
        .filter(|(_, c)| q.origin_id.as_ref().is_none_or(|o| *o == c.origin_id))
        .filter(|(_, c)| q.is_active.is_none_or(|a| a == (c.status == "COMPLETE")))
        .map(|(id, c)| connector_json(id, c, origin_override.as_deref()))
        .collect();
    items.sort_by(|a, b| a["created_at"].as_str().cmp(&b["created_at"].as_str()));
    // One page holds them all here: the cursor to the next page is null.
    no_store(Json(
        json!({ "cursor": null, "page_size": items.len(), "items": items }),
    ))
}

/// `DELETE /api/{category}/v1/connectors/{connector_id}/delete`.
async fn delete_connector(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Path((category, connector_id)): Path<(String, String)>,
) -> Response {
    let sandbox = &ctx.sandbox;
    sandbox.inner.delete_calls.fetch_add(1, Ordering::SeqCst);
    if let Some(r) = sandbox.api.guard(&headers).await {
        return r;
    }
    let mut connectors = lock(&sandbox.inner.connectors);
    let known = api_category(&category).is_some_and(|c| {
        connectors
            .get(&connector_id)
            .is_some_and(|k| k.category == c)
    });
    if !known {
        return detail(StatusCode::NOT_FOUND, "Connector not found");
    }
    connectors.remove(&connector_id);
    no_store(Json(json!({ "message": "Connector deleted successfully" })))
}

/// The category a lower-case path segment names (`hris` → `HRIS`); Bindbee's connectors
/// API exists for HRIS, ATS and LMS only.
fn api_category(segment: &str) -> Option<&'static str> {
    ["HRIS", "ATS", "LMS"]
        .into_iter()
        .find(|c| c.to_ascii_lowercase() == segment)
}

/// A connector as Bindbee's connectors endpoint shows it (`HrisConnectorResponse` /
/// `ConnectorResponse` of Bindbee's OpenAPI document: every required field).
fn connector_json(id: &str, c: &Connector, origin_override: Option<&str>) -> Value {
    let complete = c.status == "COMPLETE";
    let mut connector = json!({
        "id": id,
        "is_active": complete,
        "status": c.status,
        "integration_slug": c.integration,
        "end_user": c.org_name,
        "origin_id": origin_override.unwrap_or(&c.origin_id),
        "sync_status": if complete { "Done" } else { "Syncing" },
        "last_sync_start_time": complete.then_some(&c.created_at),
        "next_sync_start_time": null,
        "connector_token": c.connector_token,
        "category": c.category,
        "relink_needed_at": (c.status == "RELINK_NEEDED").then_some(&c.created_at),
        "is_test_connector": true,
        "completed_at": complete.then_some(&c.created_at),
        "created_at": c.created_at,
    });
    if c.category == "HRIS" {
        connector["sync_progress"] = json!(if complete { 100 } else { 0 });
        connector["total_employees"] = Value::Null;
        connector["active_employees"] = Value::Null;
        connector["avg_sync_duration"] = Value::Null;
    }
    connector
}

/// A random (version 4) UUID, as Bindbee's connector ids are.
fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[derive(Deserialize)]
struct SendWebhook {
    event: String,
    connector_id: String,
    connector_status: Option<String>,
}

/// `POST /sandbox/webhooks` `{event, connector_id, connector_status?}` (API key): sends the
/// event to the webhook target; `{"target_status"}`.
async fn send_webhook(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    let sandbox = &ctx.sandbox;
    if let Some(r) = sandbox.api.guard(&headers).await {
        return r;
    }
    let request: SendWebhook = match sandbox.api.body(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let sent = sandbox
        .send_connector_event(
            &request.connector_id,
            &request.event,
            request.connector_status.as_deref(),
        )
        .await;
    match sent {
        Ok(status) => no_store(Json(json!({ "target_status": status }))),
        Err(why) => detail(StatusCode::BAD_REQUEST, &why),
    }
}

/// `GET /initialize.min.js` (and `/sdk.js`)
async fn sdk(State(ctx): State<Ctx>) -> Response {
    let script = SDK_JS.replace("__PUBLIC_BASE__", &js_string(&ctx.public_base));
    javascript(script)
}

const SDK_JS: &str = include_str!("assets/bindbee-initialize.js");

#[cfg(test)]
mod tests;
