//! What the sandbox vendors share: the API key check and injectable faults every API
//! endpoint starts with, token minting, JSON field checks, and response helpers.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::Value;
use subtle::ConstantTimeEq;

/// How the sandbox misbehaves, for outage tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// Answer with this status (500, 502, 429, ...).
    Status(u16),
    /// Answer 200 with a body that is not the documented JSON.
    Garbage,
    /// Answer correctly after this delay.
    Delay(Duration),
    /// Answer with a redirect to another host (must not be followed).
    Redirect,
    /// Answer 429 with `Retry-After: <seconds>`, as the vendors' rate limits do.
    RateLimited(u32),
}

/// A vendor's API as every one of its endpoints sees it first: the API key it accepts,
/// the fault a test injected, and the vendor's own error shapes.
pub(super) struct Api {
    api_key: String,
    fault: RwLock<Fault>,
    /// The JSON body of a vendor error with this message.
    error_body: fn(StatusCode, &str) -> Value,
    /// The JSON body of an injected `Fault::Status` (vendors differ from their errors).
    fault_body: fn(StatusCode, &str) -> Value,
    /// The status of a request body that fails validation (Kombo 400, Bindbee's FastAPI
    /// 422), whose body is `error_body`'s.
    invalid_status: StatusCode,
}

impl Api {
    pub fn new(
        api_key: &str,
        error_body: fn(StatusCode, &str) -> Value,
        fault_body: fn(StatusCode, &str) -> Value,
    ) -> Api {
        Api {
            api_key: api_key.to_string(),
            fault: RwLock::default(),
            error_body,
            fault_body,
            invalid_status: StatusCode::BAD_REQUEST,
        }
    }

    /// Request bodies that fail validation are answered with `status`.
    pub fn invalid_with(mut self, status: StatusCode) -> Api {
        self.invalid_status = status;
        self
    }

    /// The vendor's answer to a request body that fails validation.
    pub fn invalid(&self, why: &str) -> Response {
        self.error(self.invalid_status, why)
    }

    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    pub fn set_fault(&self, fault: Fault) {
        if let Ok(mut f) = self.fault.write() {
            *f = fault;
        }
    }

    pub fn fault(&self) -> Fault {
        self.fault.read().map(|f| *f).unwrap_or_default()
    }

    /// The vendor's error response.
    pub fn error(&self, status: StatusCode, message: &str) -> Response {
        (status, Json((self.error_body)(status, message))).into_response()
    }

    /// Fault, then API key: `Some(response)` to answer with instead of going on.
    pub async fn guard(&self, headers: &HeaderMap) -> Option<Response> {
        if let Some(r) = apply_fault(self.fault(), self.fault_body).await {
            return Some(r);
        }
        if !authorized(headers, &self.api_key) {
            return Some(self.error(StatusCode::UNAUTHORIZED, "Invalid or missing API key"));
        }
        None
    }

    /// A browser-side body (the connect page's POST) read as `T`, or the vendor's 400.
    #[allow(clippy::result_large_err)]
    pub fn body<T: serde::de::DeserializeOwned>(&self, body: &[u8]) -> Result<T, Response> {
        serde_json::from_slice(body)
            .map_err(|e| self.error(StatusCode::BAD_REQUEST, &format!("invalid body: {e}")))
    }

    /// A request body as JSON, or the vendor's 400. (A large `Err`, and no matter: a
    /// sandbox endpoint, handed straight back as the answer.)
    #[allow(clippy::result_large_err)]
    pub fn json(&self, body: &[u8]) -> Result<Value, Response> {
        serde_json::from_slice::<Value>(body)
            .map_err(|e| self.invalid(&format!("invalid JSON body: {e}")))
    }
}

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

/// The links a vendor has issued, and the last create-link body it was sent.
pub(super) struct Links<L> {
    issued: Mutex<HashMap<String, L>>,
    last_request: Mutex<Option<Value>>,
}

impl<L> Default for Links<L> {
    fn default() -> Self {
        Links {
            issued: Mutex::default(),
            last_request: Mutex::default(),
        }
    }
}

impl<L: Clone> Links<L> {
    pub fn get(&self, token: &str) -> Option<L> {
        lock(&self.issued).get(token).cloned()
    }

    /// The last create-link body received with a valid API key, valid or not.
    pub fn last_request(&self) -> Option<Value> {
        lock(&self.last_request).clone()
    }

    /// What a create-link endpoint does: the API's guard, the body parsed and remembered,
    /// `validate`d (a vendor 400 with its reason if not), then stored under a new
    /// `prefix`ed token, which is returned.
    #[allow(clippy::result_large_err)]
    pub async fn create(
        &self,
        api: &Api,
        headers: &HeaderMap,
        body: &[u8],
        prefix: &str,
        validate: fn(&Value) -> Result<L, String>,
    ) -> Result<String, Response> {
        if let Some(r) = api.guard(headers).await {
            return Err(r);
        }
        let body = api.json(body)?;
        *lock(&self.last_request) = Some(body.clone());
        let link = validate(&body).map_err(|why| api.invalid(&why))?;
        Ok(self.insert(prefix, link))
    }

    /// Issues a link made some other way (a relink): its new `prefix`ed token.
    pub fn insert(&self, prefix: &str, link: L) -> String {
        let token = random_token(prefix);
        lock(&self.issued).insert(token.clone(), link);
        token
    }
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
fn authorized(headers: &HeaderMap, api_key: &str) -> bool {
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
async fn apply_fault(
    fault: Fault,
    error_body: impl Fn(StatusCode, &str) -> Value,
) -> Option<Response> {
    match fault {
        Fault::None => None,
        Fault::Delay(d) => {
            tokio::time::sleep(d).await;
            None
        }
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some((status, Json(error_body(status, "sandbox fault"))).into_response())
        }
        Fault::Garbage => Some(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<html>maintenance</html>",
            )
                .into_response(),
        ),
        Fault::RateLimited(seconds) => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, seconds.to_string())],
                Json(error_body(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate limit exceeded",
                )),
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

/// Serves `router(public_base)` nested at `mount` on a fresh loopback port; returns the
/// mount's absolute URL (what the vendor's links point at).
#[cfg(test)]
pub(super) async fn serve_nested(mount: &str, router: impl FnOnce(&str) -> axum::Router) -> String {
    let port = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}{mount}");
    let addr = super::spawn(
        axum::Router::new().nest(mount, router(&base)),
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
    )
    .await
    .unwrap();
    assert_eq!(addr.port(), port);
    base
}

/// What the connect page's button does: POSTs `body` to the mount's `/connect/complete`;
/// the status and the JSON answer (`Null` when it is not JSON).
#[cfg(test)]
pub(super) async fn complete(base: &str, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/connect/complete"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// `POST url` with `Authorization: Bearer key` and a JSON body, as a vendor's API client.
#[cfg(test)]
pub(super) async fn post_with_key(url: String, key: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
}
