use super::*;
use crate::sandbox::common::{complete, post_with_key, serve_nested};
use std::time::{Duration, Instant};

const KEY: &str = "kombo_test_key";

/// Serves a sandbox nested at `/kombo`; returns it and the mount's URL.
async fn serve() -> (SandboxKombo, String) {
    let k = SandboxKombo::new(KEY);
    let base = serve_nested("/kombo", |base| k.router(base)).await;
    (k, base)
}

fn link_body() -> Value {
    json!({
        "end_user_email": "ben@acme.com",
        "end_user_organization_name": "Acme \"<b>\" & Co",
        "end_user_origin_id": "acme.com",
        "integration_category": "HRIS",
        "integration_tool": "bamboohr",
        "language": "de",
        "link_type": "EMBEDDED",
    })
}

async fn create(base: &str, key: &str, body: &Value) -> reqwest::Response {
    post_with_key(format!("{base}/v1/connect/create-link"), key, body).await
}

async fn link(base: &str, body: &Value) -> String {
    let r = create(base, KEY, body).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "success");
    v["data"]["link"].as_str().unwrap().to_string()
}

async fn by_token(base: &str, key: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{base}/v1/connect/integration-by-token/{token}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

async fn relink(base: &str, key: &str, id: &str, body: &Value) -> reqwest::Response {
    post_with_key(format!("{base}/v1/integrations/{id}/relink"), key, body).await
}

async fn delete(base: &str, key: &str, id: &str) -> reqwest::Response {
    reqwest::Client::new()
        .delete(format!("{base}/v1/integrations/{id}"))
        .bearer_auth(key)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
}

/// A whole connection: link, the page's button, the exchange; the integration's data.
async fn connect(k: &SandboxKombo, base: &str, body: &Value) -> Value {
    let link = link(base, body).await;
    let at = k.complete_link(&link).unwrap();
    let r = by_token(base, KEY, &at).await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["data"].clone()
}

#[tokio::test]
async fn api_key_is_checked() {
    let (k, base) = serve().await;
    let r = create(&base, "wrong", &link_body()).await;
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "error");
    assert!(v["error"]["message"].is_string());
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/connect/create-link"))
        .json(&link_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(by_token(&base, "wrong", "at_x").await.status(), 401);
    assert_eq!(
        relink(&base, "", "personio:x", &json!({})).await.status(),
        401
    );
    assert_eq!(delete(&base, "wrong", "personio:x").await.status(), 401);
    assert!(k.last_request().is_none());
    assert_eq!(k.create_link_calls(), 2);
    assert_eq!(k.integration_by_token_calls(), 1);
    assert_eq!((k.relink_calls(), k.delete_calls()), (1, 1));
}

#[tokio::test]
async fn bad_bodies_are_400() {
    let (k, base) = serve().await;
    let without = |field: &str| {
        let mut b = link_body();
        b.as_object_mut().unwrap().remove(field);
        b
    };
    let with = |field: &str, value: Value| {
        let mut b = link_body();
        b[field] = value;
        b
    };
    for body in [
        without("end_user_email"),
        with("end_user_email", Value::Null),
        with("end_user_email", json!("")),
        with("language", json!("nl")),
        with("language", json!("en-US")),
        without("end_user_origin_id"),
        without("integration_category"),
        without("link_type"),
        with("integration_category", json!("PAYROLL")),
        with("link_type", json!("MAGIC_LINK")),
        with("end_user_organization_name", json!("")),
        with("integration_tool", json!(42)),
    ] {
        let r = create(&base, KEY, &body).await;
        assert_eq!(r.status(), 400, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["status"], "error");
        assert!(v["error"]["message"].as_str().unwrap().len() > 3);
    }
    assert_eq!(k.last_request().unwrap()["integration_tool"], 42);
    // activate-integration is gone from Kombo's API.
    let r = post_with_key(
        format!("{base}/v1/connect/activate-integration"),
        KEY,
        &json!({"token": "at_x"}),
    )
    .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn full_flow_is_single_use() {
    let (k, base) = serve().await;
    let link = link(&base, &link_body()).await;
    assert!(
        link.starts_with(&format!("{base}/connect?token=lk_")),
        "{link}"
    );
    assert_eq!(k.last_request().unwrap(), link_body());

    // The page the real package opens (it appends sdkv=...).
    let r = reqwest::get(format!("{link}&sdkv=1.3.0")).await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("<html lang=\"de\">"));
    assert!(
        html.contains("Acme &quot;&lt;b&gt;&quot; &amp; Co"),
        "{html}"
    );
    assert!(!html.contains("<b>"));
    assert!(html.contains("id=\"kombo-connect\""));
    assert!(html.contains("id=\"kombo-close\""));
    assert!(html.contains(&format!(
        "data-complete=\"{}\"",
        html_escape("/kombo/connect/complete")
    )));
    assert!(html.contains("{ type: 'success', data: { activation_token: body.activation_token } }"));
    assert!(html.contains("{ type: 'close' }"));
    assert!(html.contains("window.parent"));

    let token = link.split("token=").nth(1).unwrap();
    let (status, answer) = complete(&base, &json!({ "token": token })).await;
    assert_eq!(status, 200);
    let at = answer["activation_token"].as_str().unwrap().to_string();
    assert!(at.starts_with("at_"));

    let r = by_token(&base, KEY, &at).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "success");
    let data = &v["data"];
    // Kombo's id shape: `<tool>:<24 characters>`.
    let id = data["id"].as_str().unwrap();
    let (tool, rest) = id.split_once(':').unwrap();
    assert_eq!((tool, rest.len()), ("bamboohr", 24), "{id}");
    assert_eq!(data["tool"], "bamboohr");
    assert_eq!(data["end_user_origin_id"], "acme.com");
    assert_eq!(data["end_user_organization_name"], "Acme \"<b>\" & Co");
    assert_eq!(data["end_user_email"], "ben@acme.com");
    assert_eq!(data["setup_status"], "COMPLETED");

    // Single use.
    let r = by_token(&base, KEY, &at).await;
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "error");
    assert!(v["error"]["message"].is_string());

    // Kombo does not deduplicate: the same link completed again is a second integration.
    let at2 = k.complete_link(&link).unwrap();
    let v2: Value = by_token(&base, KEY, &at2).await.json().await.unwrap();
    assert_ne!(v2["data"]["id"], data["id"]);
    assert_eq!(k.integration_ids().len(), 2);
    assert_eq!(k.complete_calls(), 1);
    assert_eq!(k.connect_page_calls(), 1);
}

#[tokio::test]
async fn default_tool_and_unknown_links() {
    let (k, base) = serve().await;
    let mut body = link_body();
    body.as_object_mut().unwrap().remove("integration_tool");
    body["language"] = Value::Null;
    let link = link(&base, &body).await;
    let at = k.complete_link(&link).unwrap();
    let v: Value = by_token(&base, KEY, &at).await.json().await.unwrap();
    assert_eq!(v["data"]["tool"], KOMBO_DEFAULT_TOOL);

    assert!(k.complete_link("lk_nope").is_none());
    assert!(k
        .complete_link(&format!("{base}/connect?token=lk_nope"))
        .is_none());
    assert_eq!(complete(&base, &json!({ "token": "lk_nope" })).await.0, 404);
    let r = reqwest::get(format!("{base}/connect?token=%22%3E%3Cscript%3E"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"kombo-close\""));
    assert!(!html.contains("id=\"kombo-connect\""));
    assert!(!html.contains("\"><script>"));
}

#[tokio::test]
async fn relink_keeps_one_integration_and_delete_removes_it() {
    let (k, base) = serve().await;
    let first = connect(&k, &base, &link_body()).await;
    let id = first["id"].as_str().unwrap();
    k.set_setup_status(Some("INCOMPLETE"));
    let r = relink(&base, KEY, id, &json!({"language": "fr"})).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "success");
    let link = v["data"]["link"].as_str().unwrap().to_string();
    let html = reqwest::get(&link).await.unwrap().text().await.unwrap();
    assert!(html.contains("<html lang=\"fr\">"));
    let at = k.complete_link(&link).unwrap();
    let again: Value = by_token(&base, KEY, &at).await.json().await.unwrap();
    assert_eq!(
        again["data"]["id"], first["id"],
        "relink keeps the integration"
    );
    assert_eq!(again["data"]["setup_status"], "INCOMPLETE");
    assert_eq!(k.integration_ids(), [id]);

    let r = relink(&base, KEY, id, &json!({"language": "nl"})).await;
    assert_eq!(r.status(), 400);
    let r = delete(&base, KEY, id).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"status": "success", "data": {}})
    );
    assert!(k.integration_ids().is_empty());
    assert_eq!(delete(&base, KEY, id).await.status(), 404);
    assert_eq!(relink(&base, KEY, id, &json!({})).await.status(), 404);
    // A relink link whose integration was deleted meanwhile no longer exchanges.
    let at = k.complete_link(&link).unwrap();
    assert_eq!(by_token(&base, KEY, &at).await.status(), 404);
}

#[tokio::test]
async fn origin_override() {
    let (k, base) = serve().await;
    let link = link(&base, &link_body()).await;
    k.set_origin_override(Some("evil.example".into()));
    let at = k.complete_link(&link).unwrap();
    let v: Value = by_token(&base, KEY, &at).await.json().await.unwrap();
    assert_eq!(v["data"]["end_user_origin_id"], "evil.example");
    k.set_origin_override(None);
    let at = k.complete_link(&link).unwrap();
    let v: Value = by_token(&base, KEY, &at).await.json().await.unwrap();
    assert_eq!(v["data"]["end_user_origin_id"], "acme.com");
}

#[tokio::test]
async fn faults() {
    let (k, base) = serve().await;
    k.set_fault(Fault::Status(500));
    let r = create(&base, KEY, &link_body()).await;
    assert_eq!(r.status(), 500);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["message"], "sandbox fault");
    assert_eq!(by_token(&base, KEY, "at_x").await.status(), 500);
    assert_eq!(delete(&base, KEY, "personio:x").await.status(), 500);

    k.set_fault(Fault::Status(429));
    assert_eq!(create(&base, KEY, &link_body()).await.status(), 429);

    k.set_fault(Fault::Garbage);
    let r = create(&base, KEY, &link_body()).await;
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.is_err());

    k.set_fault(Fault::Delay(Duration::from_millis(200)));
    let started = Instant::now();
    assert_eq!(create(&base, KEY, &link_body()).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));

    // Faults are for the API: the browser side keeps working.
    k.set_fault(Fault::Status(503));
    let link_url = {
        k.set_fault(Fault::None);
        let l = link(&base, &link_body()).await;
        k.set_fault(Fault::Status(503));
        l
    };
    assert_eq!(reqwest::get(&link_url).await.unwrap().status(), 200);
    k.set_fault(Fault::None);
}

#[tokio::test]
async fn sdk_mimics_the_umd_build() {
    let (_k, base) = serve().await;
    let r = reqwest::get(format!("{base}/sdk.js")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/javascript"));
    let js = r.text().await.unwrap();
    assert!(js.contains("global.KomboConnect"));
    assert!(js.contains("showKomboConnect"));
    assert!(js.contains("this.name = 'KomboConnectCancelledError'"));
    assert!(js.contains("event.source !== frame.contentWindow"));
}
