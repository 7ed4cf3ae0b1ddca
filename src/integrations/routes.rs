//! The `/integrations` routes: thin HTTP adapters over [`flows`](super::flows). Every
//! route runs behind the auth layer (session or bearer, then `[access]`); writes
//! authenticated by cookie must come from the proxy's own origin as JSON, and bodies are
//! capped at 64 KiB.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use http::header::CACHE_CONTROL;
use http::{HeaderValue, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::caller::{check_csrf, Member};
use super::{flows, Integrations};
use crate::error::ProxyError;

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

pub fn router() -> Router<Arc<Integrations>> {
    Router::new()
        .route("/integrations", get(list))
        .route("/integrations/bindbee/link-token", post(bindbee_link_token))
        .route("/integrations/bindbee/connect", post(bindbee_connect))
        .route("/integrations/kombo/init", post(kombo_init))
        .route("/integrations/kombo/activate", post(kombo_activate))
        .route("/integrations/ui", get(super::ui::page))
        .route("/integrations/connect.js", get(super::ui::script))
        .route("/integrations/{id}", delete(remove))
        .route("/integrations/{id}/relink", post(relink))
        // The proxy owns everything under /integrations: unknown paths are 404 here, never
        // forwarded to the upstream.
        .route("/integrations/{id}/{*rest}", axum::routing::any(not_found))
}

async fn not_found() -> ProxyError {
    ProxyError::NotFound
}

/// A write: the member, the CSRF rule, then a JSON body of at most [`MAX_BODY`] bytes, in
/// that order (who you are is decided before what you sent is read).
struct Write<T>(Member, T);

impl<T: DeserializeOwned> FromRequest<Arc<Integrations>> for Write<T> {
    type Rejection = ProxyError;

    async fn from_request(
        request: Request,
        integrations: &Arc<Integrations>,
    ) -> Result<Write<T>, ProxyError> {
        let (mut parts, body) = request.into_parts();
        let member = Member::from_request_parts(&mut parts, integrations).await?;
        check_csrf(
            &integrations.public_origin,
            &member.caller,
            &parts.headers,
            true,
        )?;
        let bytes = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|_| ProxyError::PayloadTooLarge)?;
        // An empty body reads as `null`: optional for an `Option<T>`, a 400 for the rest.
        let bytes: &[u8] = if bytes.trim_ascii().is_empty() {
            b"null"
        } else {
            &bytes
        };
        let body =
            serde_json::from_slice(bytes).map_err(|e| ProxyError::InvalidBody(json_error(&e)))?;
        Ok(Write(member, body))
    }
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

/// JSON with `Cache-Control: no-store`.
fn respond(status: StatusCode, body: impl Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /integrations`: the caller's organization's integrations, newest first.
async fn list(State(i): State<Arc<Integrations>>, m: Member) -> Result<Response, ProxyError> {
    let views = flows::list(&i, &m).await?;
    Ok(respond(
        StatusCode::OK,
        serde_json::json!({ "integrations": views }),
    ))
}

/// `POST /integrations/bindbee/link-token` `{category, integration}` → `{link_token}`.
async fn bindbee_link_token(
    State(i): State<Arc<Integrations>>,
    Write(m, body): Write<flows::LinkTokenBody>,
) -> Result<Response, ProxyError> {
    let link_token = flows::bindbee_link_token(&i, &m, body).await?;
    Ok(respond(
        StatusCode::OK,
        serde_json::json!({ "link_token": link_token }),
    ))
}

/// `POST /integrations/bindbee/connect` `{temporary_token, category?, integration?}`.
async fn bindbee_connect(
    State(i): State<Arc<Integrations>>,
    Write(m, body): Write<flows::BindbeeConnectBody>,
) -> Result<Response, ProxyError> {
    let view = flows::bindbee_connect(&i, &m, body).await?;
    Ok(respond(StatusCode::CREATED, view))
}

/// `POST /integrations/kombo/init` `{category, tool?, language?}` → `{link}`.
async fn kombo_init(
    State(i): State<Arc<Integrations>>,
    Write(m, body): Write<flows::KomboInitBody>,
) -> Result<Response, ProxyError> {
    let link = flows::kombo_init(&i, &m, body).await?;
    Ok(respond(StatusCode::OK, serde_json::json!({ "link": link })))
}

/// `POST /integrations/kombo/activate` `{token, category?}`.
async fn kombo_activate(
    State(i): State<Arc<Integrations>>,
    Write(m, body): Write<flows::KomboActivateBody>,
) -> Result<Response, ProxyError> {
    let view = flows::kombo_activate(&i, &m, body).await?;
    Ok(respond(StatusCode::CREATED, view))
}

/// `POST /integrations/{id}/relink` `{language?}` → `{provider, link}`: reconnect in place.
/// The body may be empty (no language).
async fn relink(
    State(i): State<Arc<Integrations>>,
    Path(id): Path<String>,
    Write(m, body): Write<Option<flows::RelinkBody>>,
) -> Result<Response, ProxyError> {
    let relink = flows::relink(&i, &m, &id, body.unwrap_or_default()).await?;
    Ok(respond(
        StatusCode::OK,
        serde_json::json!({ "provider": relink.provider, "link": relink.link }),
    ))
}

/// `DELETE /integrations/{id}`: 204 once the vendor has let go of it too; 404 when absent
/// *or* another organization's; 502/504 (the record kept) when the vendor fails.
async fn remove(
    State(i): State<Arc<Integrations>>,
    m: Member,
    Path(id): Path<String>,
    headers: http::HeaderMap,
) -> Result<Response, ProxyError> {
    check_csrf(&i.public_origin, &m.caller, &headers, false)?;
    flows::remove(&i, &m, &id).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
