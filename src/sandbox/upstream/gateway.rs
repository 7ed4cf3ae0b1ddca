//! What the demo application does with a connected HRIS: it asks the proxy which
//! integrations the signed-in user's organization has, then reads the first HRIS's
//! employees through the proxy's unified-API gateway — with the user's own token, never a
//! vendor key or credential. It also receives the vendor webhooks the proxy forwards, and
//! can ask the sandbox vendor to send one.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::html_escape;

/// How many forwarded webhooks the page remembers.
const REMEMBERED: usize = 5;

/// The demo application's view of the proxy and the sandbox vendors.
pub struct Demo {
    proxy: String,
    sandbox: String,
    /// The latest webhooks the proxy forwarded: (provider, event, body), newest first.
    webhooks: Mutex<VecDeque<(String, String, String)>>,
}

impl Demo {
    pub fn new(proxy: &str, sandbox: &str) -> Arc<Demo> {
        Arc::new(Demo {
            proxy: proxy.trim_end_matches('/').to_string(),
            sandbox: sandbox.trim_end_matches('/').to_string(),
            webhooks: Mutex::default(),
        })
    }

    /// The page's HR section: employees, the simulate button, forwarded webhooks.
    pub async fn section(&self, token: &str) -> String {
        let mut html = employees_section(&self.proxy, token).await;
        let webhooks: String = self
            .webhooks
            .lock()
            .map(|w| {
                w.iter()
                    .map(|(provider, event, body)| {
                        format!(
                            "<li><strong>{}</strong> {}<br><code>{}</code></li>",
                            html_escape(provider),
                            html_escape(event),
                            html_escape(&body.chars().take(300).collect::<String>())
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !webhooks.is_empty() {
            html += &format!("<h3>Webhooks the proxy forwarded (verified)</h3><ul>{webhooks}</ul>");
        }
        html
    }
}

/// The demo's own routes: the webhook receiver and the simulate button's target.
pub fn routes(demo: Arc<Demo>) -> Router {
    Router::new()
        .route("/__demo/webhooks", post(receive))
        .route("/__demo/simulate-webhook", post(simulate))
        .with_state(demo)
}

/// `POST /__demo/webhooks`: what the proxy delivers from its outbox.
async fn receive(State(demo): State<Arc<Demo>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?")
            .to_string()
    };
    if let Ok(mut w) = demo.webhooks.lock() {
        w.push_front((
            header("x-bink-webhook-provider"),
            header("x-bink-webhook-event"),
            String::from_utf8_lossy(&body).into_owned(),
        ));
        w.truncate(REMEMBERED);
    }
    "ok".into_response()
}

#[derive(Deserialize)]
struct Simulate {
    provider: String,
    remote_id: String,
}

/// `POST /__demo/simulate-webhook` (the page's button): the sandbox vendor says the
/// connection needs the customer again; the proxy verifies, updates the status, and
/// forwards the event back here.
async fn simulate(State(demo): State<Arc<Demo>>, Form(form): Form<Simulate>) -> Response {
    let (url, key, body) = match form.provider.as_str() {
        "kombo" => (
            format!("{}/kombo/sandbox/webhooks", demo.sandbox),
            super::super::KOMBO_API_KEY,
            json!({"type": "integration-state-changed", "integration_id": form.remote_id, "state": "INVALID"}),
        ),
        _ => (
            format!("{}/bindbee/sandbox/webhooks", demo.sandbox),
            super::super::BINDBEE_API_KEY,
            json!({"event": "connector_sync_error", "connector_id": form.remote_id, "connector_status": "RELINK_NEEDED"}),
        ),
    };
    let _ = reqwest::Client::new()
        .post(url)
        .bearer_auth(key)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await;
    Redirect::to("/").into_response()
}

/// How many employees the demo page shows.
const SHOWN: usize = 10;

/// An HTML section: the organization's employees, or why there are none to show.
async fn employees_section(proxy: &str, token: &str) -> String {
    let body = match employees(proxy, token).await {
        Ok(Some(hris)) => format!(
            "<p>Read just now from <strong>{}</strong> ({}) through the proxy's gateway — \
             this application holds no vendor key and no credential:</p>\
             <table><thead><tr><th>Name</th><th>Job title</th><th>Work email</th></tr></thead>\
             <tbody>{}</tbody></table>\
             <form method=\"post\" action=\"/__demo/simulate-webhook\">\
             <input type=\"hidden\" name=\"provider\" value=\"{}\">\
             <input type=\"hidden\" name=\"remote_id\" value=\"{}\">\
             <button type=\"submit\">Simulate a webhook: {} says the connection needs the customer again</button></form>",
            html_escape(&hris.tool),
            html_escape(&hris.provider),
            hris.rows,
            html_escape(&hris.provider),
            html_escape(&hris.remote_id),
            html_escape(&hris.provider),
        ),
        Ok(None) => "<p>No HRIS is connected yet: connect one at \
                     <a href=\"/integrations/ui\">/integrations/ui</a>, then reload.</p>"
            .to_string(),
        Err(why) => format!("<p>The gateway did not answer: {}</p>", html_escape(&why)),
    };
    format!("<section aria-labelledby=\"hr\"><h2 id=\"hr\">Your organization's employees</h2>{body}</section>")
}

/// The first connected HRIS, and its employees as table rows.
struct Hris {
    provider: String,
    tool: String,
    remote_id: String,
    rows: String,
}

async fn employees(proxy: &str, token: &str) -> Result<Option<Hris>, String> {
    let client = reqwest::Client::new();
    let get = |url: String| client.get(url).bearer_auth(token);
    let listed = json(get(format!("{proxy}/integrations")).send().await).await?;
    let Some(hris) = listed["integrations"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["category"] == "HRIS")
    else {
        return Ok(None);
    };
    let provider = hris["provider"].as_str().unwrap_or_default().to_string();
    let (path, id) = match provider.as_str() {
        "kombo" => ("kombo/api/hris/employees", &hris["remote_id"]),
        _ => ("bindbee/api/hris/v1/employees", &hris["id"]),
    };
    let page = json(
        get(format!("{proxy}/integrations/{path}?page_size={SHOWN}"))
            .header("X-Integration-Id", id.as_str().unwrap_or_default())
            .send()
            .await,
    )
    .await?;
    // Kombo: {data: {results}}; Bindbee: {items}.
    let people = page["data"]["results"]
        .as_array()
        .or(page["items"].as_array())
        .cloned()
        .unwrap_or_default();
    let rows = people
        .iter()
        .take(SHOWN)
        .map(|p| {
            let text = |k: &str| p[k].as_str().unwrap_or("").to_string();
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                html_escape(&text("display_full_name")),
                html_escape(&if p["job_title"].is_string() {
                    text("job_title")
                } else {
                    text("designation")
                }),
                html_escape(&text("work_email")),
            )
        })
        .collect();
    let text = |k: &str| hris[k].as_str().unwrap_or_default().to_string();
    Ok(Some(Hris {
        provider,
        tool: text("tool"),
        remote_id: text("remote_id"),
        rows,
    }))
}

/// A 2xx answer's JSON, or why not.
async fn json(sent: reqwest::Result<reqwest::Response>) -> Result<Value, String> {
    let answer = sent.map_err(|e| e.to_string())?;
    if !answer.status().is_success() {
        return Err(format!("HTTP {}", answer.status().as_u16()));
    }
    let bytes = answer.bytes().await.map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}
