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

const SDK_JS: &str = r#"/* Bindbee Embed (bink-proxy sandbox mimic) */
(function () {
  'use strict';
  var script = document.currentScript;
  var base = script && script.src ? new URL('.', script.src).href : __PUBLIC_BASE__ + '/';
  var origin = new URL(base).origin;
  var current = null;

  function open(options) {
    options = options || {};
    if (!options.linkToken) throw new Error('BindbeeEmbed.open: linkToken is required');
    if (current) current.close();
    var overlay = document.createElement('div');
    overlay.setAttribute('data-bindbee-embed', '');
    Object.assign(overlay.style, {
      position: 'fixed', top: '0', right: '0', bottom: '0', left: '0',
      zIndex: '2147483647', background: 'transparent'
    });
    var frame = document.createElement('iframe');
    frame.title = 'Connect with Bindbee';
    frame.src = base + 'connect?link_token=' + encodeURIComponent(options.linkToken);
    frame.setAttribute('allowtransparency', 'true');
    Object.assign(frame.style, {
      position: 'absolute', top: '0', left: '0', width: '100%', height: '100%',
      border: '0', background: 'transparent'
    });
    overlay.appendChild(frame);
    document.body.appendChild(overlay);
    frame.addEventListener('load', function () { frame.focus(); });

    function teardown() {
      window.removeEventListener('message', onMessage);
      overlay.remove();
      if (current === handle) current = null;
    }
    function onMessage(event) {
      if (event.origin !== origin || event.source !== frame.contentWindow) return;
      var data = event.data || {};
      if (data.type === 'bindbee:success' && typeof data.temporary_token === 'string') {
        teardown();
        if (typeof options.onSuccess === 'function') options.onSuccess(data.temporary_token);
      } else if (data.type === 'bindbee:close') {
        teardown();
        if (typeof options.onClose === 'function') options.onClose();
      }
    }
    var handle = { close: teardown };
    current = handle;
    window.addEventListener('message', onMessage);
    return handle;
  }

  window.BindbeeEmbed = { open: open };
})();
"#;

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

const PAGE_JS: &str = r#"(function () {
  'use strict';
  var root = document.getElementById('__P__-dialog');
  var connect = document.getElementById('__P__-connect');
  var dismiss = document.getElementById('__P__-' + root.dataset.dismiss);
  var status = document.getElementById('__P__-status');
  var embedded = window.parent !== window;
  if (embedded) document.documentElement.classList.add('embedded');
  function post(message) {
    [embedded ? window.parent : null, window.opener].forEach(function (target) {
      if (target) { try { target.postMessage(message, '*'); } catch (e) { /* gone */ } }
    });
  }
  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle('error', !!isError);
  }
  function busy(on) {
    if (connect) connect.disabled = on;
    dismiss.disabled = on;
  }
  if (connect) connect.addEventListener('click', function () {
    var token = root.dataset.token;
    busy(true);
    say('Connecting\u2026');
    fetch(root.dataset.complete, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(__BODY__),
      credentials: 'omit'
    }).then(function (response) {
      if (!response.ok) throw new Error('the sandbox answered ' + response.status);
      return response.json();
    }).then(function (body) {
      say('Connected. You can close this window.');
      post(__SUCCESS__);
    }).catch(function (error) {
      say('Could not connect: ' + error.message + '. Please try again.', true);
      busy(false);
    });
  });
  dismiss.addEventListener('click', function () {
    say('Closed. You can close this window.');
    post(__CLOSE__);
  });
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && !dismiss.disabled) dismiss.click();
  });
  if (connect) connect.focus(); else dismiss.focus();
})();
"#;

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

const PAGE_CSS: &str = "*{box-sizing:border-box}html,body{margin:0;min-height:100%}\
body{font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#0f172a;\
background:#f1f5f9;display:flex;align-items:center;justify-content:center;min-height:100vh;padding:1rem}\
html.embedded{background:transparent}html.embedded body{background:rgba(15,23,42,.55)}\
main{width:100%;max-width:27rem}\
.card{background:#fff;border-radius:14px;box-shadow:0 24px 48px rgba(15,23,42,.28);padding:1.75rem}\
.brand{margin:0 0 .6rem;font-size:.8rem;font-weight:700;letter-spacing:.06em;text-transform:uppercase;color:__ACCENT__}\
.brand span{font-weight:500;color:#475569;margin-left:.35rem}\
h1{font-size:1.35rem;line-height:1.3;margin:0 0 .6rem;overflow-wrap:anywhere}\
.note{margin:0 0 1.1rem;color:#334155;font-size:.95rem}\
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem;margin:0 0 1.4rem;font-size:.95rem}\
dt{color:#475569}dd{margin:0;font-weight:600;overflow-wrap:anywhere}\
.actions{display:flex;gap:.75rem;justify-content:flex-end;flex-wrap:wrap}\
button{font:inherit;font-weight:600;border-radius:8px;padding:.6rem 1.25rem;cursor:pointer;\
border:1px solid #cbd5e1;background:#fff;color:#0f172a}\
button:hover{background:#f8fafc}\
button.primary{background:__ACCENT__;border-color:__ACCENT__;color:#fff}\
button.primary:hover{filter:brightness(1.1)}\
button:focus-visible{outline:3px solid __FOCUS__;outline-offset:2px}\
button:disabled{opacity:.6;cursor:progress}\
.status{min-height:1.5em;margin:1rem 0 0;font-size:.9rem;color:#334155}\
.status.error{color:#b91c1c}\
@media (prefers-reduced-motion:no-preference){.card{animation:pop .18s ease-out}}\
@keyframes pop{from{transform:translateY(8px);opacity:0}to{transform:none;opacity:1}}";

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    const KEY: &str = "bindbee_test_key";

    /// Serves a sandbox nested at `/bindbee`; returns it and the mount's URL.
    async fn serve() -> (SandboxBindbee, String) {
        let port = {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap().port()
        };
        let base = format!("http://127.0.0.1:{port}/bindbee");
        let b = SandboxBindbee::new(KEY);
        let addr = crate::sandbox::spawn(
            Router::new().nest("/bindbee", b.router(&base)),
            SocketAddr::from(([127, 0, 0, 1], port)),
        )
        .await
        .unwrap();
        assert_eq!(addr.port(), port);
        (b, base)
    }

    fn link_body() -> Value {
        json!({
            "end_user_data": {"org_name": "Acme <Corp>", "origin_id": "acme.com", "email": "ben@acme.com"},
            "category": "HRIS",
            "integration": "bamboohr",
        })
    }

    async fn create(base: &str, key: &str, body: &Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{base}/api/embedded/v1/link/create-link-token"))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn exchange(base: &str, key: &str, tt: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!(
                "{base}/api/embedded/v1/connectors/connector_token/{tt}"
            ))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn api_key_is_checked() {
        let (b, base) = serve().await;
        let r = create(&base, "wrong", &link_body()).await;
        assert_eq!(r.status(), 401);
        assert!(r.json::<Value>().await.unwrap()["detail"].is_string());
        let r = reqwest::Client::new()
            .post(format!("{base}/api/embedded/v1/link/create-link-token"))
            .json(&link_body())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(exchange(&base, "wrong", "tt_x").await.status(), 401);
        assert_eq!(b.create_link_token_calls(), 2);
        assert_eq!(b.connector_token_calls(), 1);
        assert!(b.last_request().is_none());
    }

    #[tokio::test]
    async fn bad_bodies_are_400() {
        let (b, base) = serve().await;
        let mut missing_origin = link_body();
        missing_origin["end_user_data"]
            .as_object_mut()
            .unwrap()
            .remove("origin_id");
        let mut bad_category = link_body();
        bad_category["category"] = json!("PAYROLL");
        let mut no_integration = link_body();
        no_integration
            .as_object_mut()
            .unwrap()
            .remove("integration");
        for body in [missing_origin, bad_category, no_integration, json!([1])] {
            let r = create(&base, KEY, &body).await;
            assert_eq!(r.status(), 400, "{body}");
            let v: Value = r.json().await.unwrap();
            assert!(v["detail"].as_str().unwrap().len() > 3, "{v}");
        }
        let r = reqwest::Client::new()
            .post(format!("{base}/api/embedded/v1/link/create-link-token"))
            .bearer_auth(KEY)
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(b.last_request().unwrap(), json!([1]));
    }

    #[tokio::test]
    async fn full_flow_is_single_use() {
        let (b, base) = serve().await;
        let r = create(&base, KEY, &link_body()).await;
        assert_eq!(r.status(), 200);
        let link_token = r.json::<Value>().await.unwrap()["link_token"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(link_token.starts_with("lt_"));
        assert_eq!(b.last_request().unwrap(), link_body());

        // The connect page shows the (escaped) org and integration and both buttons.
        let r = reqwest::get(format!("{base}/connect?link_token={link_token}"))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("script-src 'nonce-"), "{csp}");
        let html = r.text().await.unwrap();
        assert!(html.contains("Acme &lt;Corp&gt;"), "{html}");
        assert!(!html.contains("Acme <Corp>"));
        assert!(html.contains("bamboohr"));
        assert!(html.contains("id=\"bindbee-connect\""));
        assert!(html.contains("id=\"bindbee-cancel\""));
        assert!(html.contains(&format!(
            "data-complete=\"{}\"",
            html_escape("/bindbee/connect/complete")
        )));
        assert!(html.contains("bindbee:success"));

        // The browser side mints a temporary token without the API key.
        let r = reqwest::Client::new()
            .post(format!("{base}/connect/complete"))
            .json(&json!({ "link_token": link_token }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let tt = r.json::<Value>().await.unwrap()["temporary_token"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(tt.starts_with("tt_"));

        let r = exchange(&base, KEY, &tt).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        let ct = v["connector_token"].as_str().unwrap();
        assert!(ct.starts_with("ct_"));
        assert!(v["connector_id"].as_str().unwrap().starts_with("conn_"));
        assert_eq!(v["integration"], "bamboohr");
        assert_eq!(v["category"], "HRIS");
        assert_eq!(v["origin_id"], "acme.com");
        assert_eq!(v["status"], "active");
        assert_eq!(b.connector_tokens_issued(), vec![ct.to_string()]);

        // Single use; unknown tokens are 404 too.
        let r = exchange(&base, KEY, &tt).await;
        assert_eq!(r.status(), 404);
        assert_eq!(r.json::<Value>().await.unwrap()["detail"], "not found");
        assert_eq!(exchange(&base, KEY, "tt_unknown").await.status(), 404);

        // Reconnecting the same tool keeps the connector id, with a fresh connector token.
        let tt2 = b.complete_link(&link_token).unwrap();
        let v2: Value = exchange(&base, KEY, &tt2).await.json().await.unwrap();
        assert_eq!(v2["connector_id"], v["connector_id"]);
        assert_ne!(v2["connector_token"], v["connector_token"]);
        assert_eq!(b.connector_tokens_issued().len(), 2);
        assert_eq!(b.complete_calls(), 1);
    }

    #[tokio::test]
    async fn unknown_links_are_404() {
        let (b, base) = serve().await;
        assert!(b.complete_link("lt_nope").is_none());
        let r = reqwest::Client::new()
            .post(format!("{base}/connect/complete"))
            .json(&json!({ "link_token": "lt_nope" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = reqwest::get(format!("{base}/connect?link_token=%3Cscript%3E"))
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let html = r.text().await.unwrap();
        assert!(html.contains("id=\"bindbee-cancel\""));
        assert!(!html.contains("<script>"));
        let r = reqwest::Client::new()
            .post(format!("{base}/connect/complete"))
            .body("nope")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }

    #[tokio::test]
    async fn sdk_is_javascript() {
        let (_b, base) = serve().await;
        let r = reqwest::get(format!("{base}/sdk.js")).await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/javascript"));
        let js = r.text().await.unwrap();
        assert!(js.contains("window.BindbeeEmbed"));
        assert!(js.contains(&format!("\"{base}\"")));
        assert!(js.contains("event.origin !== origin"));
    }

    #[tokio::test]
    async fn faults() {
        let (b, base) = serve().await;
        b.set_fault(Fault::Status(503));
        let r = create(&base, KEY, &link_body()).await;
        assert_eq!(r.status(), 503);
        assert_eq!(r.json::<Value>().await.unwrap()["message"], "sandbox fault");
        assert_eq!(exchange(&base, KEY, "tt_x").await.status(), 503);

        b.set_fault(Fault::Garbage);
        let r = create(&base, KEY, &link_body()).await;
        assert_eq!(r.status(), 200);
        assert!(r.json::<Value>().await.is_err());

        b.set_fault(Fault::Delay(Duration::from_millis(200)));
        let started = Instant::now();
        let r = create(&base, KEY, &link_body()).await;
        assert_eq!(r.status(), 200);
        assert!(started.elapsed() >= Duration::from_millis(200));

        b.set_fault(Fault::None);
        assert_eq!(create(&base, KEY, &link_body()).await.status(), 200);
        assert_eq!(b.create_link_token_calls(), 4);
    }

    #[test]
    fn helpers() {
        assert!(is_slug("bamboohr") && is_slug("sap_successfactors"));
        assert!(!is_slug("Bamboo HR") && !is_slug("") && !is_slug("<x>"));
        assert_eq!(js_string("</script>"), "\"\\u003c/script\\u003e\"");
        let t = random_token("lt_");
        assert_eq!(t.len(), 35);
        assert_ne!(t, random_token("lt_"));
    }
}
