//! The demo upstream: shows the identity headers (and everything else) it received, so
//! `dev` users and tests can see exactly what an application behind the proxy sees.
//! It also offers a WebSocket echo, a byte-counting upload sink and a slow endpoint.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Json;
use axum::Router;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde::Deserialize;

use crate::error::html_escape;

mod gateway;

pub fn router() -> Router {
    router_with(None)
}

/// The demo upstream as `dev` runs it behind the proxy at `proxy`: its page also lists the
/// organization's employees, read through the proxy's unified-API gateway with the
/// signed-in user's token (`headers.pass_access_token`) — as an application would, holding
/// no vendor key and no credential.
///
/// It also receives the vendors' webhooks the proxy forwards (`/__demo/webhooks`), shows the
/// latest, and offers a button that has the sandbox vendor at `sandbox` send one.
pub fn router_for(proxy: &str, sandbox: &str) -> Router {
    let demo = gateway::Demo::new(proxy, sandbox);
    router_with(Some(demo.clone())).merge(gateway::routes(demo))
}

fn router_with(demo: Option<Arc<gateway::Demo>>) -> Router {
    Router::new()
        .route("/__demo/ws", get(websocket))
        .route("/__demo/upload", post(upload))
        .route("/__demo/slow", any(slow))
        .fallback(echo)
        .with_state(demo)
}

fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// JSON (or an HTML table for browsers) describing the request.
async fn echo(State(demo): State<Option<Arc<gateway::Demo>>>, request: Request) -> Response {
    let headers = header_list(request.headers());
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let method = request.method().to_string();
    let uri = request.uri().to_string();
    if wants_html {
        let rows: String = headers
            .iter()
            .map(|(k, v)| {
                let strong = k.starts_with("x-bink-") || k.starts_with("x-auth-request-");
                let (open, close) = if strong {
                    ("<strong>", "</strong>")
                } else {
                    ("", "")
                };
                format!(
                    "<tr><td>{open}{}{close}</td><td>{}</td></tr>",
                    html_escape(k),
                    html_escape(v)
                )
            })
            .collect();
        let user = request
            .headers()
            .get("x-auth-request-user")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_else(|| "nobody (no identity headers)".into());
        let token = request
            .headers()
            .get("x-forwarded-access-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let hr_data = match (&demo, token) {
            (Some(demo), Some(token)) => demo.section(&token).await,
            _ => String::new(),
        };
        return Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Demo upstream</title>\
             <style>body{{font-family:system-ui,sans-serif;margin:2rem}}td{{padding:.2rem .8rem;border-bottom:1px solid #ddd}}</style></head>\
             <body><h1>Hello, {}</h1>{hr_data}<p>This page is the demo application behind bink-proxy. \
             It received <code>{} {}</code> with these headers:</p><table>{rows}</table></body></html>",
            html_escape(&user),
            html_escape(&method),
            html_escape(&uri)
        ))
        .into_response();
    }
    Json(serde_json::json!({ "method": method, "uri": uri, "headers": headers })).into_response()
}

/// Reads the body chunk by chunk, never holding more than one chunk.
async fn upload(body: Body) -> Response {
    let mut stream = body.into_data_stream();
    let mut total: u64 = 0;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => total += bytes.len() as u64,
            Err(_) => return (axum::http::StatusCode::BAD_REQUEST, "body error").into_response(),
        }
    }
    Json(serde_json::json!({ "bytes": total })).into_response()
}

#[derive(Deserialize)]
struct SlowParams {
    ms: Option<u64>,
}

/// Answers after `?ms=` milliseconds (default 1000), then streams a second chunk later.
async fn slow(Query(params): Query<SlowParams>, body: Body) -> Response {
    let _ = body.collect().await;
    tokio::time::sleep(Duration::from_millis(params.ms.unwrap_or(1000))).await;
    "slow ok".into_response()
}

async fn websocket(upgrade: WebSocketUpgrade, headers: HeaderMap) -> Response {
    let user = headers
        .get("x-auth-request-user")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    upgrade.on_upgrade(move |socket| echo_socket(socket, user))
}

async fn echo_socket(mut socket: WebSocket, user: String) {
    if socket
        .send(Message::Text(format!("hello {user}").into()))
        .await
        .is_err()
    {
        return;
    }
    while let Some(Ok(message)) = socket.recv().await {
        let reply = match message {
            Message::Text(t) => Message::Text(t),
            Message::Binary(b) => Message::Binary(b),
            Message::Close(_) => break,
            _ => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}
