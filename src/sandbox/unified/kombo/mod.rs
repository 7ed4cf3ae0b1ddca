//! Kombo's unified API in the sandbox: `GET /v1/hris/employees` and `GET /v1/ats/jobs`,
//! in the schemas of Kombo's official Python SDK (PyPI `kombo` 1.4.0,
//! `models/gethrisemployeespositiveresponse.py` and `models/getatsjobspositiveresponse.py`),
//! which validates every field: every required field is present, required-but-nullable
//! ones as `null` when the sample has no value. The integration is the one
//! `X-Integration-Id` names; `page_size` (default 100, at most 250) and `cursor` page
//! through the rows; other query parameters (`include_deleted`, `updated_after`, the
//! filters) are accepted and ignored: no sample row is deleted.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{json, Value};

mod employees;
mod jobs;

use super::body::json_page;
use super::data::{EMPLOYEES, JOBS, OFFICES};
use super::{Invalid, Knobs, Page, Paging, Params, Tenant, Unified};
use crate::sandbox::common::Api;

/// Kombo's page sizes (the SDK's `page_size` doc: "Maximum is 250", default 100).
/// Kombo's cursors are opaque; the sandbox's are URL-safe base64 of a row id.
const PAGING: Paging = Paging {
    default_size: 100,
    max_size: 250,
    cursor: &URL_SAFE_NO_PAD,
};

/// The routes, relative to Kombo's mount point (the API base is its `/v1`).
pub(in crate::sandbox) fn router(
    api: Arc<Api>,
    knobs: Arc<Knobs>,
    tenants: impl Fn(&str) -> Option<Tenant> + Send + Sync + 'static,
) -> Router {
    Router::new()
        .route("/v1/hris/employees", get(employees))
        .route("/v1/ats/jobs", get(jobs))
        .with_state(Unified::new(api, knobs, tenants))
}

/// `GET /v1/hris/employees` (padded by `set_padding`).
async fn employees(
    State(u): State<Unified>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    u.answer(&headers, || {
        let (tenant, page) = match request(&u, &headers, query.as_deref(), "employee", EMPLOYEES) {
            Ok(found) => found,
            Err(r) => return r,
        };
        let rows: Vec<Value> = page
            .rows
            .map(|i| employees::employee(&tenant, &tenant.person(i)))
            .collect();
        json_page(head(page.next), &rows, TAIL, u.knobs.padding())
    })
    .await
}

/// `GET /v1/ats/jobs`
async fn jobs(State(u): State<Unified>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    u.answer(&headers, || {
        let (tenant, page) = match request(&u, &headers, query.as_deref(), "job", JOBS) {
            Ok(found) => found,
            Err(r) => return r,
        };
        let rows: Vec<Value> = page
            .rows
            .map(|i| jobs::job(&tenant, &tenant.job(i)))
            .collect();
        json_page(head(page.next), &rows, TAIL, 0)
    })
    .await
}

/// The integration `X-Integration-Id` names and the page the query asks for, or
/// Kombo's error: 400 without the header or with a bad query, 404 for an integration
/// Kombo does not hold.
#[allow(clippy::result_large_err)]
fn request(
    u: &Unified,
    headers: &HeaderMap,
    query: Option<&str>,
    kind: &str,
    total: usize,
) -> Result<(Tenant, Page), Response> {
    let Some(id) = headers
        .get("x-integration-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
    else {
        return Err(u.api.invalid("The X-Integration-Id header is required."));
    };
    let Some(tenant) = u.tenant(id) else {
        return Err(u.api.error(
            StatusCode::NOT_FOUND,
            &format!("No integration with the ID \"{id}\" exists."),
        ));
    };
    let page = PAGING
        .page(&Params::parse(query), total, |i| tenant.token(kind, i))
        .map_err(|why| u.api.invalid(&message(&why)))?;
    Ok((tenant, page))
}

/// Kombo's wording of a bad query parameter.
fn message(why: &Invalid) -> String {
    match why {
        Invalid::NotInteger { field, .. } => {
            format!("Invalid query parameter \"{field}\": Expected number, received string")
        }
        Invalid::Below { field, min, .. } => format!(
            "Invalid query parameter \"{field}\": Number must be greater than or equal to {min}"
        ),
        Invalid::Above { field, max, .. } => format!(
            "Invalid query parameter \"{field}\": Number must be less than or equal to {max}"
        ),
        Invalid::NotBoolean { field, .. } => {
            format!("Invalid query parameter \"{field}\": Expected boolean")
        }
        Invalid::Cursor { .. } => "Invalid query parameter \"cursor\": invalid cursor".into(),
    }
}

/// The answer up to the first row: `{"status":"success","data":{"next":…,"results":[`.
fn head(next: Option<String>) -> String {
    format!(
        "{{\"status\":\"success\",\"data\":{{\"next\":{},\"results\":[",
        Value::from(next)
    )
}

const TAIL: &str = "]}}";

/// Adds `more`'s fields to `row` (`json!` has a recursion limit one big object hits).
fn merge(row: &mut Value, more: Value) {
    if let (Some(row), Value::Object(more)) = (row.as_object_mut(), more) {
        row.extend(more);
    }
}

/// Kombo's address object (the same fields everywhere).
fn address(office: usize) -> Value {
    let o = &OFFICES[office];
    json!({
        "city": o.city,
        "country": o.country,
        "raw": format!("{}, {} {}, {}", o.street, o.zip, o.city, o.country),
        "state": o.state,
        "street_1": o.street,
        "street_2": null,
        "zip_code": o.zip,
    })
}
