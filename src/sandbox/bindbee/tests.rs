use super::*;
use crate::sandbox::common::{complete, post_with_key, serve_nested};
use std::time::{Duration, Instant};

const KEY: &str = "bindbee_test_key";

/// Serves a sandbox nested at `/bindbee`; returns it and the mount's URL.
async fn serve() -> (SandboxBindbee, String) {
    let b = SandboxBindbee::new(KEY);
    let base = serve_nested("/bindbee", |base| b.router(base)).await;
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
    post_with_key(
        format!("{base}/api/embedded/v1/link/create-link-token"),
        key,
        body,
    )
    .await
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
    let (status, answer) = complete(&base, &json!({ "link_token": link_token })).await;
    assert_eq!(status, 200);
    let tt = answer["temporary_token"].as_str().unwrap().to_string();
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
    assert_eq!(
        complete(&base, &json!({ "link_token": "lt_nope" })).await.0,
        404
    );
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
