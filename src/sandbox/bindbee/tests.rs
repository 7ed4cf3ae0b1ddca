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

async fn connectors(base: &str, category: &str, query: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{base}/api/{category}/v1/connectors?{query}"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
}

async fn delete(base: &str, category: &str, id: &str) -> reqwest::Response {
    reqwest::Client::new()
        .delete(format!("{base}/api/{category}/v1/connectors/{id}/delete"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
}

/// The widget page for a link token, in the region `server_url` names.
async fn widget(base: &str, link_token: &str, server_url: &str) -> reqwest::Response {
    let mut url = url::Url::parse(&format!("{base}/embed")).unwrap();
    url.query_pairs_mut()
        .append_pair("link_token", link_token)
        .append_pair("server_url", server_url)
        .append_pair("instanceId", "inst-1");
    reqwest::get(url).await.unwrap()
}

fn origin(base: &str) -> String {
    url::Url::parse(base)
        .unwrap()
        .origin()
        .ascii_serialization()
}

/// Link, button, exchange: the connector_token answer.
async fn connect(b: &SandboxBindbee, base: &str, body: &Value) -> Value {
    let r = create(base, KEY, body).await;
    let link_token = r.json::<Value>().await.unwrap()["link_token"]
        .as_str()
        .unwrap()
        .to_string();
    let tt = b.complete_link(&link_token).unwrap();
    exchange(base, KEY, &tt).await.json().await.unwrap()
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
    let mut short_org = link_body();
    short_org["end_user_data"]["org_name"] = json!("A");
    let mut short_origin = link_body();
    short_origin["end_user_data"]["origin_id"] = json!("x");
    for body in [
        missing_origin,
        bad_category,
        no_integration,
        short_org,
        short_origin,
        json!([1]),
    ] {
        // FastAPI's validation error: 422 with a list of problems.
        let r = create(&base, KEY, &body).await;
        assert_eq!(r.status(), 422, "{body}");
        let v: Value = r.json().await.unwrap();
        assert!(v["detail"][0]["msg"].as_str().unwrap().len() > 3, "{v}");
    }
    let r = reqwest::Client::new()
        .post(format!("{base}/api/embedded/v1/link/create-link-token"))
        .bearer_auth(KEY)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
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

    // The widget shows the (escaped) org and integration and both buttons.
    let r = widget(&base, &link_token, &origin(&base)).await;
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
    // It posts JSON strings tagged with its instance, success then close.
    assert!(html.contains(
        "JSON.stringify({ type: 'SUCCESS', temporary_token: body.temporary_token, instanceId: \"inst-1\" })"
    ));
    assert!(html.contains("JSON.stringify({ type: 'CLOSE', instanceId: \"inst-1\" })"));

    // The browser side mints a temporary token without the API key.
    let (status, answer) = complete(&base, &json!({ "link_token": link_token })).await;
    assert_eq!(status, 200);
    let tt = answer["temporary_token"].as_str().unwrap().to_string();
    assert!(tt.starts_with("tt_"));

    let r = exchange(&base, KEY, &tt).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    // Exactly Bindbee's answer: no organization in it.
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["connector_id", "connector_token"]);
    let ct = v["connector_token"].as_str().unwrap();
    assert!(ct.starts_with("ct_"));
    let id = v["connector_id"].as_str().unwrap();
    assert_eq!((id.len(), &id[14..15]), (36, "4"), "a v4 uuid: {id}");
    assert_eq!(b.connector_tokens_issued(), vec![ct.to_string()]);

    // Single use; unknown tokens are 404 too.
    let r = exchange(&base, KEY, &tt).await;
    assert_eq!(r.status(), 404);
    assert!(r.json::<Value>().await.unwrap()["detail"].is_string());
    assert_eq!(exchange(&base, KEY, "tt_unknown").await.status(), 404);

    // Whose connector it is comes from the connectors endpoint.
    let r = connectors(&base, "hris", &format!("connector_token={ct}")).await;
    assert_eq!(r.status(), 200);
    let list: Value = r.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    // Bindbee's page: {cursor, page_size, items}, each item with every required field.
    assert_eq!(
        (&list["cursor"], &list["page_size"]),
        (&Value::Null, &json!(1))
    );
    let c = &list["items"][0];
    assert_eq!(c["id"], id);
    assert_eq!(c["origin_id"], "acme.com");
    assert_eq!(c["status"], "COMPLETE");
    assert_eq!(c["integration_slug"], "bamboohr");
    assert_eq!(c["connector_token"], ct);
    for field in [
        "is_active",
        "end_user",
        "sync_status",
        "last_sync_start_time",
        "next_sync_start_time",
        "category",
        "relink_needed_at",
        "is_test_connector",
        "completed_at",
        "created_at",
    ] {
        assert!(c.get(field).is_some(), "{field} missing: {c}");
    }
    let none: Value = connectors(&base, "ats", &format!("connector_token={ct}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        none["items"].as_array().unwrap().is_empty(),
        "another category"
    );

    // Every completion is a new connector.
    let tt2 = b.complete_link(&link_token).unwrap();
    let v2: Value = exchange(&base, KEY, &tt2).await.json().await.unwrap();
    assert_ne!(v2["connector_id"], v["connector_id"]);
    assert_eq!(b.connector_tokens_issued().len(), 2);
    assert_eq!(b.complete_calls(), 1);
}

#[tokio::test]
async fn the_widget_works_only_in_its_region() {
    let (b, base) = serve().await;
    let r = create(&base, KEY, &link_body()).await;
    let link_token = r.json::<Value>().await.unwrap()["link_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        widget(&base, &link_token, &origin(&base)).await.status(),
        200
    );
    for elsewhere in ["https://api-eu.bindbee.dev", "", "http://127.0.0.1:9"] {
        let r = widget(&base, &link_token, elsewhere).await;
        assert_eq!(r.status(), 404, "{elsewhere:?}");
    }
    assert_eq!(b.connect_page_calls(), 4);
}

#[tokio::test]
async fn connectors_filter_and_delete() {
    let (b, base) = serve().await;
    let first = connect(&b, &base, &link_body()).await;
    b.set_connector_status(Some("INCOMPLETE"));
    let mut other = link_body();
    other["end_user_data"]["origin_id"] = json!("globex.com");
    let second = connect(&b, &base, &other).await;
    let all: Value = connectors(&base, "hris", "").await.json().await.unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let acme: Value = connectors(&base, "hris", "origin_id=acme.com")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(acme["items"][0]["id"], first["connector_id"]);
    let active: Value = connectors(&base, "hris", "is_active=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(active["items"].as_array().unwrap().len(), 1);
    let second_token = second["connector_token"].as_str().unwrap();
    let globex: Value = connectors(&base, "hris", &format!("connector_token={second_token}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(globex["items"][0]["status"], "INCOMPLETE");

    b.set_origin_override(Some("evil.example".into()));
    let evil: Value = connectors(&base, "hris", "").await.json().await.unwrap();
    assert!(evil["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["origin_id"] == "evil.example"));
    b.set_origin_override(None);
    b.set_hide_connectors(true);
    let hidden: Value = connectors(&base, "hris", "").await.json().await.unwrap();
    assert!(hidden["items"].as_array().unwrap().is_empty());
    b.set_hide_connectors(false);

    let id = first["connector_id"].as_str().unwrap();
    assert_eq!(
        delete(&base, "ats", id).await.status(),
        404,
        "wrong category"
    );
    assert_eq!(delete(&base, "hris", id).await.status(), 200);
    assert_eq!(delete(&base, "hris", id).await.status(), 404);
    assert_eq!(b.connector_ids().len(), 1);
    assert_eq!(b.delete_calls(), 3);
    assert_eq!(connectors(&base, "payroll", "").await.status(), 404);
}

#[tokio::test]
async fn unknown_links_are_404() {
    let (b, base) = serve().await;
    assert!(b.complete_link("lt_nope").is_none());
    assert_eq!(
        complete(&base, &json!({ "link_token": "lt_nope" })).await.0,
        404
    );
    let r = widget(&base, "<script>", &origin(&base)).await;
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
    let r = reqwest::get(format!("{base}/initialize.min.js"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/javascript"));
    let js = r.text().await.unwrap();
    assert!(js.contains(
        "window.BindbeeEmbed = { initialize: initialize, open: open, destroy: destroy }"
    ));
    assert!(js.contains(&format!("\"{base}\"")));
    assert!(js.contains("event.origin !== origin"));
    assert!(js.contains("JSON.parse(event.data)"));
    let old_path = reqwest::get(format!("{base}/sdk.js")).await.unwrap();
    assert_eq!(old_path.text().await.unwrap(), js);
}

#[tokio::test]
async fn faults() {
    let (b, base) = serve().await;
    b.set_fault(Fault::Status(503));
    let r = create(&base, KEY, &link_body()).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.json::<Value>().await.unwrap()["message"], "sandbox fault");
    assert_eq!(exchange(&base, KEY, "tt_x").await.status(), 503);
    assert_eq!(connectors(&base, "hris", "").await.status(), 503);
    assert_eq!(delete(&base, "hris", "x").await.status(), 503);

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
