//! The unified APIs over real sockets: Kombo's endpoints, the rate limit and padding
//! knobs, the sample data (Bindbee's endpoint in `bindbee.rs`).

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use serde_json::{json, Value};

use super::data::Tenant;
use super::{RateLimit, EMPLOYEES, JOBS};
use crate::sandbox::common::{post_with_key, serve_nested, Fault};
use crate::sandbox::SandboxKombo;

const KEY: &str = "unified_test_key";

mod bindbee;

async fn kombo() -> (SandboxKombo, String) {
    let k = SandboxKombo::new(KEY);
    let base = serve_nested("/kombo", |base| k.router(base)).await;
    (k, base)
}

/// A Kombo integration connected the whole way (link, button, exchange): its id.
async fn kombo_integration(k: &SandboxKombo, base: &str, email: &str, category: &str) -> String {
    let body = json!({
        "end_user_email": email,
        "end_user_organization_name": "Acme",
        "end_user_origin_id": "acme-1",
        "integration_category": category,
        "integration_tool": "personio",
        "link_type": "EMBEDDED",
    });
    let r = post_with_key(format!("{base}/v1/connect/create-link"), KEY, &body).await;
    let link = r.json::<Value>().await.unwrap()["data"]["link"]
        .as_str()
        .unwrap()
        .to_string();
    let token = k.complete_link(&link).unwrap();
    let r = reqwest::Client::new()
        .get(format!("{base}/v1/connect/integration-by-token/{token}"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `GET {base}/v1/{path}` as Kombo's SDK sends it (key, integration, its fixed params).
async fn kombo_get(base: &str, path: &str, integration: Option<&str>) -> reqwest::Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut request = reqwest::Client::new()
        .get(format!(
            "{base}/v1/{path}{sep}include_deleted=false&ignore_unsupported_filters=false"
        ))
        .bearer_auth(KEY);
    if let Some(id) = integration {
        request = request.header("X-Integration-Id", id);
    }
    request.send().await.unwrap()
}

/// Every row of a Kombo collection, following `next`; and how many pages it took.
async fn kombo_all(base: &str, path: &str, id: &str) -> (Vec<Value>, usize) {
    let (mut rows, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_string(),
        };
        let r = kombo_get(base, &url, Some(id)).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["status"], "success");
        rows.extend(v["data"]["results"].as_array().unwrap().iter().cloned());
        pages += 1;
        match v["data"]["next"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return (rows, pages),
        }
    }
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// The body's length, read as a stream (never held whole).
async fn streamed_len(r: reqwest::Response) -> usize {
    let mut len = 0;
    let mut body = r.bytes_stream();
    while let Some(chunk) = body.next().await {
        len += chunk.unwrap().len();
    }
    len
}

#[tokio::test]
async fn kombo_employees_page_through_every_employee_once() {
    let (k, base) = kombo().await;
    let id = kombo_integration(&k, &base, "ben@acme.com", "HRIS").await;
    let (rows, pages) = kombo_all(&base, "hris/employees?page_size=50", &id).await;
    assert_eq!((rows.len(), pages), (EMPLOYEES, 3));
    let unique: HashSet<String> = ids(&rows).into_iter().collect();
    assert_eq!(unique.len(), EMPLOYEES);
    let emails: HashSet<&str> = rows
        .iter()
        .map(|r| r["work_email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), EMPLOYEES, "work emails are unique");
    assert!(emails
        .iter()
        .all(|e| e.ends_with("@acme.com") && e.is_ascii()));
    assert!(rows
        .iter()
        .any(|r| !r["display_full_name"].as_str().unwrap().is_ascii()));
    // The hierarchy holds together: every manager is one of the employees.
    for r in &rows {
        if let Some(m) = r["manager_id"].as_str() {
            assert!(unique.contains(m));
            assert_eq!(r["manager"]["id"], m);
        }
    }
    assert_eq!(k.unified_calls(), 3);
}

#[tokio::test]
async fn kombo_employee_rows_carry_every_required_field() {
    let (k, base) = kombo().await;
    let id = kombo_integration(&k, &base, "ben@acme.com", "HRIS").await;
    let v: Value = kombo_get(&base, "hris/employees?page_size=1", Some(&id))
        .await
        .json()
        .await
        .unwrap();
    let row = &v["data"]["results"][0];
    // Required by the SDK's model, nullable or not: present as keys.
    for field in [
        "id",
        "remote_id",
        "employee_number",
        "first_name",
        "last_name",
        "nationality",
        "display_full_name",
        "job_title",
        "mobile_phone_number",
        "ssn",
        "tax_id",
        "weekly_hours",
        "avatar",
        "work_location_id",
        "legal_entity_id",
        "manager_id",
        "date_of_birth",
        "start_date",
        "termination_date",
        "remote_created_at",
        "changed_at",
        "remote_deleted_at",
        "custom_fields",
        "employments",
        "time_off_balances",
        "manager",
        "groups",
        "legal_entity",
        "work_location",
    ] {
        assert!(row.get(field).is_some(), "{field} missing: {row}");
    }
    for list in ["employments", "time_off_balances", "groups"] {
        assert!(!row[list].as_array().unwrap().is_empty(), "{list}");
    }
    assert!(row["changed_at"].as_str().unwrap().ends_with(".000Z"));
}

#[tokio::test]
async fn kombo_page_size_defaults_to_100_and_stops_at_250() {
    let (k, base) = kombo().await;
    let id = kombo_integration(&k, &base, "ben@acme.com", "HRIS").await;
    let v: Value = kombo_get(&base, "hris/employees", Some(&id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"]["results"].as_array().unwrap().len(), 100);
    assert!(v["data"]["next"].is_string());
    let v: Value = kombo_get(&base, "hris/employees?page_size=250", Some(&id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"]["results"].as_array().unwrap().len(), EMPLOYEES);
    assert!(v["data"]["next"].is_null());
    for bad in [
        "page_size=251",
        "page_size=0",
        "page_size=ten",
        "cursor=bm90LWFuLWlk",
    ] {
        let r = kombo_get(&base, &format!("hris/employees?{bad}"), Some(&id)).await;
        assert_eq!(r.status(), 400, "{bad}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "PLATFORM.INPUT_INVALID", "{bad}");
    }
}

#[tokio::test]
async fn kombo_sample_data_is_the_same_every_time_and_differs_per_integration() {
    let (k, base) = kombo().await;
    let first = kombo_integration(&k, &base, "ben@acme.com", "HRIS").await;
    let second = kombo_integration(&k, &base, "ben@acme.com", "HRIS").await;
    let (a, _) = kombo_all(&base, "hris/employees?page_size=250", &first).await;
    let (again, _) = kombo_all(&base, "hris/employees?page_size=7", &first).await;
    let (b, _) = kombo_all(&base, "hris/employees?page_size=250", &second).await;
    assert_eq!(a, again);
    assert!(ids(&a).iter().all(|id| !ids(&b).contains(id)));
}

#[tokio::test]
async fn kombo_jobs_are_listed_with_their_nested_lists() {
    let (k, base) = kombo().await;
    let id = kombo_integration(&k, &base, "ben@acme.com", "ATS").await;
    let (rows, pages) = kombo_all(&base, "ats/jobs?page_size=20", &id).await;
    assert_eq!((rows.len(), pages), (JOBS, 2));
    for job in &rows {
        assert_eq!(job["stages"].as_array().unwrap().len(), 5);
        assert_eq!(job["hiring_team"][0]["job_roles"][0]["scope"], "JOB");
        assert!(job["screening_questions"][2]["format"]["options"].is_array());
        assert!(job["hiring_team"][1]["email"]
            .as_str()
            .unwrap()
            .ends_with("@acme.com"));
    }
}

#[tokio::test]
async fn kombo_integration_must_be_named_and_known() {
    let (k, base) = kombo().await;
    let r = kombo_get(&base, "hris/employees", Some("personio:unknown")).await;
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "PLATFORM.INTEGRATION_NOT_FOUND");
    let r = kombo_get(&base, "ats/jobs", None).await;
    assert_eq!(r.status(), 400);
    let r = reqwest::Client::new()
        .get(format!("{base}/v1/hris/employees"))
        .bearer_auth("wrong")
        .header("X-Integration-Id", "personio:unknown")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A deleted integration is gone from the unified API too.
    let id = kombo_integration(&k, &base, "ben@acme.com", "HRIS").await;
    assert_eq!(
        kombo_get(&base, "hris/employees", Some(&id)).await.status(),
        200
    );
    reqwest::Client::new()
        .delete(format!("{base}/v1/integrations/{id}"))
        .bearer_auth(KEY)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        kombo_get(&base, "hris/employees", Some(&id)).await.status(),
        404
    );
}

#[tokio::test]
async fn kombo_faults_reach_the_unified_api() {
    let (k, base) = kombo().await;
    let id = kombo_integration(&k, &base, "ben@acme.com", "HRIS").await;
    k.set_fault(Fault::Status(502));
    assert_eq!(
        kombo_get(&base, "hris/employees", Some(&id)).await.status(),
        502
    );
}

#[tokio::test]
async fn rate_limit_reports_the_quota_then_refuses_with_retry_after() {
    let (k, base) = kombo().await;
    let id = kombo_integration(&k, &base, "ben@acme.com", "HRIS").await;
    k.set_rate_limit(Some(RateLimit {
        per_window: 2,
        window: Duration::from_secs(60),
    }));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for remaining in ["1", "0"] {
        let r = kombo_get(&base, "hris/employees?page_size=1", Some(&id)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-ratelimit-limit").as_deref(), Some("2"));
        assert_eq!(
            header(&r, "x-ratelimit-remaining").as_deref(),
            Some(remaining)
        );
        let reset: u64 = header(&r, "x-ratelimit-reset").unwrap().parse().unwrap();
        assert!((now..=now + 61).contains(&reset), "{reset}");
    }
    let r = kombo_get(&base, "ats/jobs", Some(&id)).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(header(&r, "x-ratelimit-remaining").as_deref(), Some("0"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "PLATFORM.RATE_LIMIT_EXCEEDED");

    k.set_rate_limit(None);
    let r = kombo_get(&base, "ats/jobs", Some(&id)).await;
    assert_eq!(r.status(), 200);
    assert!(header(&r, "x-ratelimit-limit").is_none());
}

#[tokio::test]
async fn rate_limit_window_resets() {
    let (k, base) = kombo().await;
    let id = kombo_integration(&k, &base, "ben@acme.com", "HRIS").await;
    k.set_rate_limit(Some(RateLimit {
        per_window: 1,
        window: Duration::from_millis(400),
    }));
    assert_eq!(kombo_get(&base, "ats/jobs", Some(&id)).await.status(), 200);
    assert_eq!(kombo_get(&base, "ats/jobs", Some(&id)).await.status(), 429);
    // A time window: only waiting it out shows the reset.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(kombo_get(&base, "ats/jobs", Some(&id)).await.status(), 200);
}

#[tokio::test]
async fn padding_makes_the_employees_answer_exactly_that_much_larger() {
    let (k, base) = kombo().await;
    let id = kombo_integration(&k, &base, "ben@acme.com", "HRIS").await;
    let plain = kombo_get(&base, "hris/employees?page_size=20", Some(&id))
        .await
        .bytes()
        .await
        .unwrap();
    k.set_padding(100_000);
    let padded = kombo_get(&base, "hris/employees?page_size=20", Some(&id))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(padded.len(), plain.len() + 100_000);
    let v: Value = serde_json::from_slice(&padded).unwrap();
    let rows = v["data"]["results"].as_array().unwrap();
    assert!(rows
        .iter()
        .all(|r| r["custom_fields"]["sandbox_padding"].is_string()));
    // Jobs are never padded.
    let jobs = kombo_get(&base, "ats/jobs", Some(&id))
        .await
        .bytes()
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&jobs).contains("sandbox_padding"));
}

#[tokio::test]
async fn a_large_padded_answer_is_streamed() {
    let (k, base) = kombo().await;
    let id = kombo_integration(&k, &base, "ben@acme.com", "HRIS").await;
    let plain = streamed_len(kombo_get(&base, "hris/employees?page_size=1", Some(&id)).await).await;
    let size = 48 << 20;
    k.set_padding(size);
    let r = kombo_get(&base, "hris/employees?page_size=1", Some(&id)).await;
    assert!(r.content_length().is_none(), "chunked, not built whole");
    assert_eq!(streamed_len(r).await, plain + size);
}

#[tokio::test]
async fn padding_too_small_for_one_entry_is_ignored() {
    let (k, base) = kombo().await;
    let id = kombo_integration(&k, &base, "ben@acme.com", "HRIS").await;
    let plain = streamed_len(kombo_get(&base, "hris/employees", Some(&id)).await).await;
    k.set_padding(5);
    assert_eq!(
        streamed_len(kombo_get(&base, "hris/employees", Some(&id)).await).await,
        plain
    );
}

#[test]
fn the_domain_comes_from_the_email_then_the_origin_then_the_name() {
    let t = |email, origin, org| Tenant::new("x:1", org, "personio", "HRIS", email, origin).domain;
    assert_eq!(t(Some("Ben@Acme.COM"), "whatever", "Acme"), "acme.com");
    assert_eq!(t(None, "acme.co.uk", "Acme"), "acme.co.uk");
    assert_eq!(
        t(Some("not-an-email"), "org_42", "Zoë & Søn A/S"),
        "zoe-son-a-s.example"
    );
}

#[test]
fn sample_people_have_distinct_ascii_emails_and_some_non_ascii_names() {
    for id in [
        "personio:abc",
        "bamboohr:xyz",
        "0190571d-5652-7f9e-9b95-5c5e18406c62",
    ] {
        let t = Tenant::new(id, "Acme", "personio", "HRIS", Some("a@acme.com"), "acme");
        let people: Vec<_> = (0..EMPLOYEES).map(|i| t.person(i)).collect();
        let emails: HashSet<String> = people.iter().map(|p| p.work_email(&t)).collect();
        assert_eq!(emails.len(), EMPLOYEES);
        assert!(emails.iter().all(|e| e.is_ascii() && !e.contains('\'')));
        assert!(people.iter().any(|p| !p.display_name().is_ascii()));
        assert!(people
            .iter()
            .all(|p| p.date_of_birth + 18 * 365 * 86_400 < p.start_date));
        let tokens: HashSet<String> = (0..EMPLOYEES).map(|i| t.token("employee", i)).collect();
        assert_eq!(tokens.len(), EMPLOYEES);
        assert!(t.uuid("employee", 0).chars().nth(14) == Some('7'));
    }
}
