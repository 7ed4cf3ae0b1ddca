//! Bindbee's unified API: pages, FastAPI-shaped errors, the connector token, the knobs.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Value};

use super::{header, ids, streamed_len, KEY};
use crate::sandbox::common::{post_with_key, serve_nested};
use crate::sandbox::unified::{RateLimit, EMPLOYEES};
use crate::sandbox::SandboxBindbee;

async fn bindbee() -> (SandboxBindbee, String) {
    let b = SandboxBindbee::new(KEY);
    let base = serve_nested("/bindbee", |base| b.router(base)).await;
    (b, base)
}

/// A Bindbee connector connected the whole way: its connector token.
async fn bindbee_connector(b: &SandboxBindbee, base: &str, category: &str) -> String {
    let body = json!({
        "end_user_data": { "org_name": "Zürich Bank AG", "origin_id": "zuerich-bank.ch", "email": null },
        "category": category,
        "integration": "bamboohr",
    });
    let url = format!("{base}/api/embedded/v1/link/create-link-token");
    let r = post_with_key(url, KEY, &body).await;
    let link_token = r.json::<Value>().await.unwrap()["link_token"]
        .as_str()
        .unwrap()
        .to_string();
    let temporary = b.complete_link(&link_token).unwrap();
    let r = reqwest::Client::new()
        .get(format!(
            "{base}/api/embedded/v1/connectors/connector_token/{temporary}"
        ))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["connector_token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn bindbee_get(base: &str, query: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .get(format!("{base}/api/hris/v1/employees{query}"))
        .bearer_auth(KEY);
    if let Some(token) = token {
        request = request.header("X-Connector-Token", token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn bindbee_employees_page_by_cursor() {
    let (b, base) = bindbee().await;
    let token = bindbee_connector(&b, &base, "HRIS").await;
    let (mut rows, mut pages, mut query) = (Vec::new(), 0, String::new());
    loop {
        let r = bindbee_get(&base, &query, Some(&token)).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        let items = v["items"].as_array().unwrap();
        assert_eq!(v["page_size"], items.len());
        rows.extend(items.iter().cloned());
        pages += 1;
        match v["cursor"].as_str() {
            // Bindbee's cursors are base64 of a row id; '+' and '/' need encoding.
            Some(c) => query = format!("?cursor={}", urlencode(c)),
            None => break,
        }
    }
    // Default page size 50.
    assert_eq!((rows.len(), pages), (EMPLOYEES, 3));
    assert_eq!(
        ids(&rows).into_iter().collect::<HashSet<_>>().len(),
        EMPLOYEES
    );
    for r in &rows {
        for field in ["id", "remote_id", "modified_at", "custom_fields"] {
            assert!(r.get(field).is_some(), "{field}");
        }
        assert!(r["work_email"]
            .as_str()
            .unwrap()
            .ends_with("@zuerich-bank.ch"));
        assert!(r["custom_fields"].is_null() && r["raw_data"].is_null());
        assert_eq!(r["id"].as_str().unwrap().len(), 36);
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn bindbee_honours_includes_and_refuses_bad_queries_like_fastapi() {
    let (b, base) = bindbee().await;
    let token = bindbee_connector(&b, &base, "HRIS").await;
    let r = bindbee_get(
        &base,
        "?page_size=200&include_custom_fields=true&include_raw_data=true&expand=manager",
        Some(&token),
    )
    .await;
    let v: Value = r.json().await.unwrap();
    assert!(v["cursor"].is_null());
    let first = &v["items"][0];
    assert!(first["custom_fields"]["cost_center"].is_string());
    assert_eq!(first["raw_data"]["source"], "bamboohr");
    for (query, kind) in [
        ("?page_size=201", "less_than_equal"),
        ("?page_size=0", "greater_than_equal"),
        ("?page_size=x", "int_parsing"),
        ("?include_raw_data=maybe", "bool_parsing"),
        ("?cursor=nope", "value_error"),
    ] {
        let r = bindbee_get(&base, query, Some(&token)).await;
        assert_eq!(r.status(), 422, "{query}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["detail"][0]["type"], kind, "{query}");
        assert_eq!(v["detail"][0]["loc"][0], "query");
    }
}

#[tokio::test]
async fn bindbee_connector_token_is_required_known_and_hris() {
    let (b, base) = bindbee().await;
    let r = bindbee_get(&base, "", None).await;
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["detail"][0]["loc"],
        json!(["header", "x-connector-token"])
    );
    let r = bindbee_get(&base, "", Some("ct_unknown")).await;
    assert_eq!(r.status(), 401);
    assert_eq!(header(&r, "www-authenticate").as_deref(), Some("Bearer"));
    assert!(r.json::<Value>().await.unwrap()["detail"].is_string());
    let ats = bindbee_connector(&b, &base, "ATS").await;
    let r = bindbee_get(&base, "", Some(&ats)).await;
    assert_eq!(r.status(), 403);
    assert!(r.json::<Value>().await.unwrap()["detail"].is_string());
}

#[tokio::test]
async fn bindbee_rate_limit_and_padding() {
    let (b, base) = bindbee().await;
    let token = bindbee_connector(&b, &base, "HRIS").await;
    let plain = streamed_len(bindbee_get(&base, "", Some(&token)).await).await;
    b.set_padding(12_345);
    b.set_rate_limit(Some(RateLimit {
        per_window: 1,
        window: Duration::from_secs(30),
    }));
    let r = bindbee_get(&base, "", Some(&token)).await;
    assert_eq!(header(&r, "x-ratelimit-remaining").as_deref(), Some("0"));
    assert_eq!(streamed_len(r).await, plain + 12_345);
    let r = bindbee_get(&base, "", Some(&token)).await;
    assert_eq!(r.status(), 429);
    assert!(header(&r, "retry-after").is_some());
    assert!(r.json::<Value>().await.unwrap()["detail"].is_string());
    assert_eq!(b.unified_calls(), 3);
}
