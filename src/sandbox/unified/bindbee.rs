//! Bindbee's unified API in the sandbox: `GET /api/hris/v1/employees`, in the schema of
//! Bindbee's published OpenAPI document (api-evangelist/bindbee,
//! `openapi/bindbee-employee-api-openapi.yml`: the 200 answer is
//! `PaginatedResponse_HrisEmployeeResponse_` = `{cursor, page_size, items}` with
//! `HrisEmployeeResponse` items, whose required fields are `id`, `remote_id`,
//! `modified_at` and `custom_fields`; errors are `ErrorResponse` = `{"detail": str}`, or
//! FastAPI's `HTTPValidationError` (422) for a bad query or a missing header). Every
//! documented field is present, `null` when the sample has no value.
//!
//! The connector is the one `X-Connector-Token` names: unknown → 401, a connector of
//! another category → 403 (the document's wording: "a connector token used on a
//! different API category"). `page_size` is 1–200 (default 50), `cursor` is the
//! document's shape (base64 of the next row's id); `include_custom_fields` and
//! `include_raw_data` are honoured; the filters are accepted and ignored.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use serde_json::{json, Value};

use super::body::json_page;
use super::data::{timestamp_seconds, Gender, Person, Status, DEPARTMENTS, EMPLOYEES, OFFICES};
use super::{boolean, Invalid, Knobs, Page, Paging, Params, Tenant, Unified};
use crate::sandbox::common::Api;

/// `page_size`: "Maximum size is 200", default 50, minimum 1.
const PAGING: Paging = Paging {
    default_size: 50,
    max_size: 200,
    cursor: &STANDARD,
};

/// The routes, relative to Bindbee's mount point.
pub(in crate::sandbox) fn router(
    api: Arc<Api>,
    knobs: Arc<Knobs>,
    tenants: impl Fn(&str) -> Option<Tenant> + Send + Sync + 'static,
) -> Router {
    Router::new()
        .route("/api/hris/v1/employees", get(employees))
        .with_state(Unified::new(api, knobs, tenants))
}

/// What the query asks for besides the page.
struct Include {
    custom_fields: bool,
    raw_data: bool,
}

/// `GET /api/hris/v1/employees` (padded by `set_padding`).
async fn employees(
    State(u): State<Unified>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    u.answer(&headers, || {
        let (tenant, page, include) = match request(&u, &headers, query.as_deref()) {
            Ok(found) => found,
            Err(r) => return r,
        };
        let rows: Vec<Value> = page
            .rows
            .clone()
            .map(|i| employee(&tenant, &tenant.person(i), &include))
            .collect();
        let head = format!(
            "{{\"cursor\":{},\"page_size\":{},\"items\":[",
            Value::from(page.next),
            rows.len()
        );
        json_page(head, &rows, "]}", u.knobs.padding())
    })
    .await
}

/// The connector, the page and the includes, or Bindbee's error.
#[allow(clippy::result_large_err)]
fn request(
    u: &Unified,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(Tenant, Page, Include), Response> {
    let Some(token) = headers
        .get("x-connector-token")
        .and_then(|v| v.to_str().ok())
    else {
        return Err(validation_error(json!({
            "type": "missing",
            "loc": ["header", "x-connector-token"],
            "msg": "Field required",
            "input": null,
        })));
    };
    let Some(tenant) = u.tenant(token) else {
        return Err((
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(json!({ "detail": "Invalid connector token" })),
        )
            .into_response());
    };
    if tenant.category != "HRIS" {
        return Err(u.api.error(
            StatusCode::FORBIDDEN,
            &format!(
                "This connector token belongs to the {} API, not HRIS",
                tenant.category
            ),
        ));
    }
    let params = Params::parse(query);
    let checked = PAGING
        .page(&params, EMPLOYEES, |i| tenant.uuid("employee", i))
        .and_then(|page| {
            let include = Include {
                custom_fields: boolean(&params, "include_custom_fields")?,
                raw_data: boolean(&params, "include_raw_data")?,
            };
            Ok((page, include))
        });
    match checked {
        Ok((page, include)) => Ok((tenant, page, include)),
        Err(why) => Err(validation_error(problem(&why))),
    }
}

/// FastAPI's 422 with one problem.
fn validation_error(problem: Value) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "detail": [problem] })),
    )
        .into_response()
}

/// A bad query parameter as pydantic (v2, under FastAPI) reports it.
fn problem(why: &Invalid) -> Value {
    let (kind, field, msg, input, ctx) = match why {
        Invalid::NotInteger { field, input } => (
            "int_parsing",
            *field,
            "Input should be a valid integer, unable to parse string as an integer".to_string(),
            input,
            None,
        ),
        Invalid::Below { field, input, min } => (
            "greater_than_equal",
            *field,
            format!("Input should be greater than or equal to {min}"),
            input,
            Some(json!({ "ge": min })),
        ),
        Invalid::Above { field, input, max } => (
            "less_than_equal",
            *field,
            format!("Input should be less than or equal to {max}"),
            input,
            Some(json!({ "le": max })),
        ),
        Invalid::NotBoolean { field, input } => (
            "bool_parsing",
            *field,
            "Input should be a valid boolean, unable to interpret input".to_string(),
            input,
            None,
        ),
        Invalid::Cursor { input } => (
            "value_error",
            "cursor",
            "Value error, invalid cursor".to_string(),
            input,
            None,
        ),
    };
    let mut problem = json!({ "type": kind, "loc": ["query", field], "msg": msg, "input": input });
    if let Some(ctx) = ctx {
        problem["ctx"] = ctx;
    }
    problem
}

/// An employee as `HrisEmployeeResponse`.
fn employee(t: &Tenant, p: &Person, include: &Include) -> Value {
    let office = &OFFICES[p.office];
    let mut row = json!({
        "id": t.uuid("employee", p.index),
        "remote_id": p.remote_id(t),
        "modified_at": timestamp_seconds(p.changed_at),
        "raw_data": include.raw_data.then(|| raw_data(t, p)),
        "custom_fields": include.custom_fields.then(|| json!({ "cost_center": p.cost_center })),
        "employee_number": p.employee_number(),
        "company": t.uuid("company", 0),
        "first_name": p.first_name,
        "middle_name": null,
        "last_name": p.last_name,
        "preferred_name": null,
        "display_full_name": p.display_name(),
        "username": p.email_local,
        "designation": p.job_title,
        "groups": [t.uuid("group", p.department)],
        "department": DEPARTMENTS[p.department].name,
        "division": null,
        "work_email": p.work_email(t),
        "personal_email": null,
        "mobile_phone_number": p.mobile(),
    });
    let rest = json!({
        "home_phone_number": null,
        "country_code": office.dial,
        "home_location": null,
        "work_location": {
            "name": office.name,
            "location": office.name,
            "street_1": office.street,
            "street_2": null,
            "city": office.city,
            "state": office.state,
            "postal_code": office.zip,
            "country": office.country,
        },
        "work_locations": [t.uuid("work_location", p.office)],
        "manager": p.manager.map(|m| t.uuid("employee", m)),
        "pay_group": null,
        "ssn": null,
        "gender": match p.gender {
            Gender::Female => "FEMALE",
            Gender::Male => "MALE",
            Gender::NonBinary => "NON-BINARY",
        },
        "ethnicity": null,
        "marital_status": null,
        "tobacco_use": null,
        "date_of_birth": timestamp_seconds(p.date_of_birth),
        "start_date": timestamp_seconds(p.start_date),
        "remote_created_at": timestamp_seconds(p.created_at),
        "employment_status": match p.status {
            Status::Active => "ACTIVE",
            Status::Pending => "PENDING",
            Status::Leave => "LEAVE",
            Status::Inactive => "INACTIVE",
        },
        "termination_date": p.termination_date.map(timestamp_seconds),
        "termination_reason": p.termination_date.map(|_| "Resignation"),
        "avatar": null,
        "payroll_run_calendar": null,
    });
    if let (Some(row), Value::Object(rest)) = (row.as_object_mut(), rest) {
        row.extend(rest);
    }
    row
}

/// What the connected tool itself said about the person (`include_raw_data=true`).
fn raw_data(t: &Tenant, p: &Person) -> Value {
    json!({
        "id": p.remote_id(t),
        "firstName": p.first_name,
        "lastName": p.last_name,
        "workEmail": p.work_email(t),
        "jobTitle": p.job_title,
        "department": DEPARTMENTS[p.department].name,
        "source": t.tool,
    })
}
