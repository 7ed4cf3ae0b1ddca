//! `/integrations` end to end against the sandbox vendors, the same suite on SQLite and on
//! the real PostgreSQL (`BINK_PROXY_TEST_POSTGRES`, default
//! postgres://postgres@127.0.0.1:5432/test; each test gets its own schema). The Postgres
//! half fails — never skips — when the database is missing.

use std::time::Duration;

use bink_proxy::integrations::store::{Record, Store};
use bink_proxy::sandbox::bink::Fault;
use serde_json::{json, Value};

use crate::common::*;

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn postgres_url() -> String {
    std::env::var("BINK_PROXY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database URL of its own for one test.
pub async fn fresh_database(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => temp_sqlite_url(),
        Backend::Postgres => {
            let schema = format!("bink_test_{}", rand::random::<u32>());
            let pool = sqlx::PgPool::connect(&postgres_url())
                .await
                .expect("PostgreSQL must be running for this suite (BINK_PROXY_TEST_POSTGRES)");
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&pool)
                .await
                .unwrap();
            let sep = if postgres_url().contains('?') {
                '&'
            } else {
                '?'
            };
            format!("{}{sep}options=-c%20search_path%3D{schema}", postgres_url())
        }
    }
}

pub async fn stack(backend: Backend, extra: &str) -> (Stack, String) {
    let db = fresh_database(backend).await;
    let s = Stack::start(Opts {
        integrations: Some(format!("database_url = \"{db}\"\n{extra}")),
        ..Opts::default()
    })
    .await;
    (s, db)
}

pub async fn post(s: &Stack, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = s
        .client
        .post(s.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn list(s: &Stack, token: &str) -> Vec<Value> {
    let r = s.get("/integrations", token).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["integrations"].as_array().unwrap().clone()
}

/// The whole Bindbee flow; returns the stored Integration.
pub async fn connect_bindbee(s: &Stack, token: &str) -> Value {
    let (status, body) = try_connect_bindbee(s, token).await;
    assert_eq!(status, 201, "{body}");
    body
}

/// Bindbee's flow up to `connect`, whatever that answers.
pub async fn try_connect_bindbee(s: &Stack, token: &str) -> (u16, Value) {
    let (status, body) = post(
        s,
        token,
        "/integrations/bindbee/link-token",
        json!({"category": "HRIS", "integration": "bamboohr"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let temporary = s
        .sandboxes
        .bindbee
        .complete_link(body["link_token"].as_str().unwrap())
        .expect("link token known to the sandbox");
    post(
        s,
        token,
        "/integrations/bindbee/connect",
        json!({"temporary_token": temporary}),
    )
    .await
}

pub async fn connect_kombo(s: &Stack, token: &str) -> (u16, Value) {
    let (status, body) = post(
        s,
        token,
        "/integrations/kombo/init",
        json!({"category": "ATS", "tool": "greenhouse"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let activation = s
        .sandboxes
        .kombo
        .complete_link(body["link"].as_str().unwrap())
        .unwrap();
    post(
        s,
        token,
        "/integrations/kombo/activate",
        json!({"token": activation}),
    )
    .await
}

/// Kombo's relink of one integration, completed in the sandbox and activated; the
/// Integration `activate` answers.
pub async fn relink_kombo(s: &Stack, token: &str, id: &str) -> Value {
    let (status, body) = post(s, token, &format!("/integrations/{id}/relink"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "kombo");
    let activation = s
        .sandboxes
        .kombo
        .complete_link(body["link"].as_str().unwrap())
        .unwrap();
    let (status, body) = post(
        s,
        token,
        "/integrations/kombo/activate",
        json!({"token": activation}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

pub async fn store_of(db: &str) -> Store {
    Store::connect(db).await.unwrap()
}

/// Everything stored, as text, to look for secrets in clear.
async fn raw_dump(db: &str) -> String {
    let store = store_of(db).await;
    let mut out = String::new();
    for org in ["usr_cleo", "usr_ben", "usr_ada", "acme.com"] {
        for r in store.list(org).await.unwrap() {
            out += &format!("{r:?}{}", String::from_utf8_lossy(&r.credential));
        }
    }
    if let Some(path) = db.strip_prefix("sqlite://") {
        for suffix in ["", "-wal"] {
            if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                out += &String::from_utf8_lossy(&bytes);
            }
        }
    }
    out
}

async fn bindbee_flow_end_to_end(backend: Backend) {
    let (s, db) = stack(backend, "").await;
    let integration = connect_bindbee(&s, CLEO).await;
    assert_eq!(integration["provider"], "bindbee");
    assert_eq!(integration["category"], "HRIS");
    assert_eq!(integration["tool"], "bamboohr");
    assert_eq!(integration["created_by"], "usr_cleo");
    // Bindbee's connector id (a uuid); the status from its connectors endpoint.
    assert_eq!(integration["remote_id"].as_str().unwrap().len(), 36);
    assert_eq!(integration["status"], "active");
    assert_eq!(s.sandboxes.bindbee.connectors_calls(), 1);
    assert!(integration["id"].as_str().unwrap().starts_with("int_"));
    // The vendor received the right end user.
    let sent = s.sandboxes.bindbee.last_request().unwrap();
    assert_eq!(sent["end_user_data"]["origin_id"], "usr_cleo");
    assert_eq!(sent["end_user_data"]["org_name"], "Cleo Park");
    assert_eq!(sent["end_user_data"]["email"], "cleo@acme.com");
    let listed = list(&s, CLEO).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], integration["id"]);
    // The connector token is nowhere a client or the database can read it.
    let connector_token = s.sandboxes.bindbee.connector_tokens_issued().pop().unwrap();
    assert!(!listed[0].to_string().contains(&connector_token));
    assert!(!integration.to_string().contains(&connector_token));
    assert!(
        !raw_dump(&db).await.contains(&connector_token),
        "connector token stored in clear"
    );
    // But it is there, sealed, for the unified-API calls.
    let record = store_of(&db)
        .await
        .list("usr_cleo")
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        s.proxy
            .state
            .integrations
            .as_ref()
            .unwrap()
            .open_credential(&record)
            .unwrap(),
        connector_token
    );
}

async fn kombo_flow_end_to_end(backend: Backend) {
    let (s, db) = stack(backend, "").await;
    let (status, integration) = connect_kombo(&s, BEN).await;
    assert_eq!(status, 201, "{integration}");
    assert_eq!(integration["provider"], "kombo");
    assert_eq!(
        integration["category"], "ATS",
        "category from the caller's latest init"
    );
    assert_eq!(integration["tool"], "greenhouse");
    assert_eq!(integration["status"], "active");
    // Kombo's id shape, `:` included, stored and shown as it is.
    let remote = integration["remote_id"].as_str().unwrap();
    assert!(remote.starts_with("greenhouse:"), "{remote}");
    let sent = s.sandboxes.kombo.last_request().unwrap();
    assert_eq!(sent["end_user_origin_id"], "usr_ben");
    assert_eq!(sent["end_user_organization_name"], "Ben Okafor");
    assert_eq!(sent["end_user_email"], "ben@acme.com");
    assert_eq!(sent["link_type"], "EMBEDDED");
    assert_eq!(sent["integration_category"], "ATS");
    assert_eq!(s.sandboxes.kombo.integration_by_token_calls(), 1);
    // Connecting again is a second integration at Kombo, which does not deduplicate (and
    // a second record here): reconnecting in place is what relink is for.
    let (status, second) = connect_kombo(&s, BEN).await;
    assert_eq!(status, 201, "{second}");
    assert_ne!(second["remote_id"], integration["remote_id"]);
    assert_eq!(list(&s, BEN).await.len(), 2);
    assert_eq!(s.sandboxes.kombo.integration_ids().len(), 2);
    assert!(!raw_dump(&db)
        .await
        .replace(&format!("remote_id: \"{remote}\""), "")
        .contains(&format!("credential{remote}")));
}

async fn organizations_are_isolated(backend: Backend) {
    let (s, _) = stack(backend, "").await;
    let cleo = connect_bindbee(&s, CLEO).await;
    assert!(list(&s, BEN).await.is_empty(), "ben sees nothing of cleo's");
    let id = cleo["id"].as_str().unwrap();
    let r = s
        .client
        .delete(s.url(&format!("/integrations/{id}")))
        .bearer_auth(BEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "another organization's integration does not exist for ben"
    );
    let r = s
        .client
        .delete(s.url("/integrations/int_does_not_exist"))
        .bearer_auth(CLEO)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(list(&s, CLEO).await.len(), 1);
    let r = s
        .client
        .delete(s.url(&format!("/integrations/{id}")))
        .bearer_auth(CLEO)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(list(&s, CLEO).await.is_empty());
}

async fn email_domain_organizations_are_shared(backend: Backend) {
    let (s, _) = stack(backend, "organization = \"email_domain\"").await;
    connect_bindbee(&s, CLEO).await;
    assert_eq!(
        s.sandboxes.bindbee.last_request().unwrap()["end_user_data"]["origin_id"],
        "acme.com"
    );
    assert_eq!(
        list(&s, BEN).await.len(),
        1,
        "ben@acme.com shares acme.com's integrations"
    );
    assert!(
        list(&s, ZOE).await.is_empty(),
        "example.org is another organization"
    );
    let r = s.get("/integrations", GHOST).await;
    assert_eq!(r.status(), 403, "no email, no organization");
}

async fn kombo_origin_mismatch_is_403_and_stores_nothing(backend: Backend) {
    let (s, _) = stack(backend, "").await;
    s.sandboxes
        .kombo
        .set_origin_override(Some("usr_someone_else".into()));
    let (status, body) = connect_kombo(&s, CLEO).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "organization_mismatch");
    assert!(list(&s, CLEO).await.is_empty());
}

async fn bad_input_gets_clear_errors(backend: Backend) {
    let (s, _) = stack(backend, "").await;
    let raw = |body: &'static str| {
        s.client
            .post(s.url("/integrations/bindbee/link-token"))
            .bearer_auth(CLEO)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = raw("{not json").await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    assert_eq!(
        raw(r#"{"category":"HRIS"}"#).await.unwrap().status(),
        400,
        "missing integration"
    );
    assert_eq!(
        raw(r#"{"category":"PAYROLL","integration":"x"}"#)
            .await
            .unwrap()
            .status(),
        400,
        "unknown category"
    );
    assert_eq!(
        raw(r#"{"category":"HRIS","integration":"../x"}"#)
            .await
            .unwrap()
            .status(),
        400
    );
    let big = format!(
        "{{\"category\":\"HRIS\",\"integration\":\"{}\"}}",
        "a".repeat(70 * 1024)
    );
    let r = s
        .client
        .post(s.url("/integrations/bindbee/link-token"))
        .bearer_auth(CLEO)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    for token in ["../kombo/v1/connect/create-link", "..", "a b", ""] {
        let (status, _) = post(
            &s,
            CLEO,
            "/integrations/bindbee/connect",
            json!({"temporary_token": token, "category": "HRIS", "integration": "x"}),
        )
        .await;
        assert_eq!(status, 400, "{token:?}");
        let (status, _) = post(
            &s,
            CLEO,
            "/integrations/kombo/activate",
            json!({"token": token, "category": "HRIS"}),
        )
        .await;
        assert_eq!(status, 400, "{token:?}");
    }
    let (status, body) = post(
        &s,
        CLEO,
        "/integrations/kombo/activate",
        json!({"token": "at_unknown"}),
    )
    .await;
    assert_eq!(status, 400, "no category and no earlier init: {body}");
    // A token the vendor does not know is the client's mistake, and one call: no
    // fallback to an endpoint that is gone.
    let calls = s.sandboxes.kombo.integration_by_token_calls();
    let (status, body) = post(
        &s,
        CLEO,
        "/integrations/kombo/activate",
        json!({"token": "at_unknown", "category": "HRIS"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_token")),
        "{body}"
    );
    assert_eq!(s.sandboxes.kombo.integration_by_token_calls(), calls + 1);
    let (status, body) = post(
        &s,
        CLEO,
        "/integrations/bindbee/connect",
        json!({"temporary_token": "tt_unknown", "category": "HRIS", "integration": "bamboohr"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_token")),
        "{body}"
    );
    let r = s.get("/integrations/unknown/path", CLEO).await;
    assert_eq!(r.status(), 404, "the proxy owns /integrations");
    assert!(list(&s, CLEO).await.is_empty(), "no failure left a record");
    let r = s.client.get(s.url("/integrations")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

async fn vendor_failures_map_to_502_and_504(backend: Backend) {
    let (s, _) = stack(backend, "provider_timeout = \"400ms\"").await;
    let link = json!({"category": "HRIS", "integration": "bamboohr"});
    s.sandboxes.bindbee.set_fault(Fault::Status(500));
    let (status, body) = post(&s, CLEO, "/integrations/bindbee/link-token", link.clone()).await;
    assert_eq!(status, 502, "{body}");
    s.sandboxes.bindbee.set_fault(Fault::Status(422));
    let (status, body) = post(&s, CLEO, "/integrations/bindbee/link-token", link.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("provider_rejected")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().len() > 30,
        "carries the vendor's message: {body}"
    );
    s.sandboxes
        .bindbee
        .set_fault(Fault::Delay(Duration::from_secs(2)));
    let (status, body) = post(&s, CLEO, "/integrations/bindbee/link-token", link.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (504, Some("provider_timeout")),
        "{body}"
    );
    s.sandboxes.bindbee.set_fault(Fault::None);
    assert_eq!(
        post(&s, CLEO, "/integrations/bindbee/link-token", link)
            .await
            .0,
        200
    );
    assert!(list(&s, CLEO).await.is_empty());
}

async fn wrong_api_key_is_provider_rejected(backend: Backend) {
    let db = fresh_database(backend).await;
    let sandboxes = bink_proxy::sandbox::Sandboxes::spawn(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let upstream = spawn_upstream().await;
    let s = Stack::start_with(
        Opts {
            integrations: Some(format!(
                "database_url = \"{db}\"\n\n[integrations.kombo]\napi_key = \"wrong\"\nbase_url = \"{}\"\nsdk_url = \"/x.js\"\n",
                sandboxes.kombo_url()
            )),
            ..Opts::default()
        },
        sandboxes,
        upstream,
    )
    .await;
    let (status, body) = post(
        &s,
        CLEO,
        "/integrations/kombo/init",
        json!({"category": "HRIS"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("provider_rejected")),
        "{body}"
    );
    let (status, body) = post(
        &s,
        CLEO,
        "/integrations/bindbee/link-token",
        json!({"category": "HRIS", "integration": "x"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("provider_not_configured")),
        "{body}"
    );
}

async fn restart_keeps_records_and_keys_rotate(backend: Backend) {
    let (s, db) = stack(backend, "").await;
    let (status, first) = connect_kombo(&s, CLEO).await;
    assert_eq!(status, 201, "{first}");
    let sandboxes = s.sandboxes.clone();
    let upstream = s.upstream_addr;
    s.proxy.shutdown().await;

    // Same key: the record is still there.
    let opts = |extra: String| Opts {
        integrations: Some(format!("database_url = \"{db}\"\n{extra}")),
        ..Opts::default()
    };
    let s = Stack::start_with(opts(String::new()), sandboxes.clone(), upstream).await;
    assert_eq!(list(&s, CLEO).await[0]["id"], first["id"]);
    s.proxy.shutdown().await;

    // A new key without the old one: refused at start-up, naming the key.
    const NEW_KEY: &str = "bmV3LWludGVncmF0aW9ucy1lbmNyeXB0aW9uLWtleSE=";
    let err = Stack::try_start_with(
        opts(format!("encryption_key = \"{NEW_KEY}\"")),
        sandboxes.clone(),
        upstream,
    )
    .await
    .err()
    .expect("start-up must fail without the old key");
    assert!(err.contains("integrations.encryption_key"), "{err}");

    // Rotation: new key, old one in previous_encryption_keys.
    let rotated = format!(
        "encryption_key = \"{NEW_KEY}\"\nprevious_encryption_keys = [\"{ENCRYPTION_KEY}\"]"
    );
    let s = Stack::start_with(opts(rotated.clone()), sandboxes.clone(), upstream).await;
    assert_eq!(list(&s, CLEO).await.len(), 1);
    let old_key_id = store_of(&db).await.list("usr_cleo").await.unwrap()[0]
        .key_id
        .clone();
    // A new write (the same remote integration again, reconnected in place by Kombo's
    // relink) re-encrypts under the new key.
    let integrations = s.proxy.state.integrations.as_ref().unwrap();
    assert_ne!(integrations.cipher.current_key_id(), old_key_id);
    let second = relink_kombo(&s, CLEO, first["id"].as_str().unwrap()).await;
    assert_eq!(
        second["id"], first["id"],
        "the same remote integration updates its one record"
    );
    let records = store_of(&db).await.list("usr_cleo").await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].key_id,
        integrations.cipher.current_key_id(),
        "re-encrypted on write"
    );
    assert_ne!(records[0].key_id, old_key_id);
    integrations.open_credential(&records[0]).unwrap();
}

async fn ciphertext_moved_to_another_row_fails_to_decrypt(backend: Backend) {
    let (s, db) = stack(backend, "").await;
    connect_bindbee(&s, CLEO).await;
    connect_bindbee(&s, BEN).await;
    let store = store_of(&db).await;
    let cleo = store.list("usr_cleo").await.unwrap().pop().unwrap();
    let ben = store.list("usr_ben").await.unwrap().pop().unwrap();
    let integrations = s.proxy.state.integrations.as_ref().unwrap();
    integrations.open_credential(&cleo).unwrap();
    let moved = Record {
        credential: cleo.credential.clone(),
        key_id: cleo.key_id.clone(),
        ..ben.clone()
    };
    assert!(
        integrations.open_credential(&moved).is_err(),
        "cleo's credential must not open as ben's"
    );
    let relabelled = Record {
        remote_id: ben.remote_id.clone(),
        ..cleo.clone()
    };
    assert!(
        integrations.open_credential(&relabelled).is_err(),
        "nor under another remote id"
    );
}

async fn concurrent_replays_give_one_row(backend: Backend) {
    let (s, db) = stack(backend, "").await;
    connect_bindbee(&s, CLEO).await;
    let store = std::sync::Arc::new(store_of(&db).await);
    let template = store.list("usr_cleo").await.unwrap().pop().unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (store, mut r) = (store.clone(), template.clone());
            r.id = format!("int_replay_{i}");
            r.status = format!("replay-{i}");
            tokio::spawn(async move { store.upsert(&r).await.map(|stored| stored.id) })
        })
        .collect();
    for t in tasks {
        assert_eq!(
            t.await.unwrap().unwrap(),
            template.id,
            "every replay lands on the one row"
        );
    }
    assert_eq!(store.list("usr_cleo").await.unwrap().len(), 1);
    // The same remote integration claimed by another organization is refused.
    let mut foreign = template.clone();
    foreign.organization = "usr_ben".into();
    foreign.id = "int_foreign".into();
    assert!(store.upsert(&foreign).await.is_err());
    assert_eq!(list(&s, BEN).await.len(), 0);
}

async fn ui_and_script_render_for_the_caller(backend: Backend) {
    let (s, _) = stack(backend, "").await;
    connect_bindbee(&s, CLEO).await;
    let r = s.get("/integrations/ui", CLEO).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    assert!(
        html.contains("bamboohr")
            && html.contains("Disconnect")
            && html.contains("Connect with Kombo")
    );
    let r = s.get("/integrations/connect.js", CLEO).await;
    let js = r.text().await.unwrap();
    assert!(
        js.contains("BinkIntegrations")
            && js.contains(&format!("http://{}/kombo/sdk.js", s.sandboxes.addr))
    );
}

/// Runs each named `async fn(Backend)` of the invoking module as two tests, one per
/// database (the module must have `Backend` in scope).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Postgres).await })*
        }
    };
}

on_both_backends!(
    bindbee_flow_end_to_end,
    kombo_flow_end_to_end,
    organizations_are_isolated,
    email_domain_organizations_are_shared,
    kombo_origin_mismatch_is_403_and_stores_nothing,
    bad_input_gets_clear_errors,
    vendor_failures_map_to_502_and_504,
    wrong_api_key_is_provider_rejected,
    restart_keeps_records_and_keys_rotate,
    ciphertext_moved_to_another_row_fails_to_decrypt,
    concurrent_replays_give_one_row,
    ui_and_script_render_for_the_caller,
);

#[tokio::test]
async fn cookie_authenticated_writes_must_be_same_origin_json() {
    use crate::signin::{browser, login};
    let db = temp_sqlite_url();
    let s = Stack::start(Opts {
        sign_in: true,
        integrations: Some(format!("database_url = \"{db}\"")),
        ..Opts::default()
    })
    .await;
    let (b, _) = browser();
    login(&s, &b, "/", "cleo").await;
    let body = json!({"category": "HRIS", "integration": "bamboohr"}).to_string();
    let send = |origin: Option<&str>, fetch_site: Option<&str>, content_type: &str| {
        let mut rb = b
            .post(s.url("/integrations/bindbee/link-token"))
            .header("content-type", content_type)
            .body(body.clone());
        if let Some(o) = origin {
            rb = rb.header("origin", o);
        }
        if let Some(f) = fetch_site {
            rb = rb.header("sec-fetch-site", f);
        }
        rb.send()
    };
    let own = s.url("");
    let cases = [
        (None, None, "application/json", 403),
        (Some("https://evil.example"), None, "application/json", 403),
        (Some("null"), None, "application/json", 403),
        (None, Some("cross-site"), "application/json", 403),
        (Some(own.as_str()), None, "text/plain", 403),
        (
            Some(own.as_str()),
            None,
            "application/x-www-form-urlencoded",
            403,
        ),
        (Some(own.as_str()), None, "application/json", 200),
        (
            None,
            Some("same-origin"),
            "application/json; charset=utf-8",
            200,
        ),
    ];
    for (origin, site, ct, want) in cases {
        let r = send(origin, site, ct).await.unwrap();
        assert_eq!(
            r.status(),
            want,
            "origin {origin:?} site {site:?} type {ct}"
        );
        if want == 403 {
            assert_eq!(
                r.json::<Value>().await.unwrap()["error"],
                "csrf_check_failed"
            );
        }
    }
    // A cross-site DELETE is refused too; reading is fine.
    let r = b
        .delete(s.url("/integrations/int_x"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        b.get(s.url("/integrations")).send().await.unwrap().status(),
        200
    );
    // Bearer callers are exempt: a browser never attaches one by itself.
    let r = s
        .client
        .post(s.url("/integrations/bindbee/link-token"))
        .bearer_auth(CLEO)
        .header("origin", "https://evil.example")
        .json(&json!({"category": "HRIS", "integration": "bamboohr"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// A TCP relay to PostgreSQL that the test can cut, to stage a database outage.
struct Relay {
    addr: std::net::SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
}

async fn relay_to(target: &str) -> Relay {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, watch) = tokio::sync::watch::channel(false);
    let target = target.to_string();
    tokio::spawn(async move {
        loop {
            let mut stopped = watch.clone();
            let (mut inbound, _) = tokio::select! {
                accepted = listener.accept() => match accepted { Ok(c) => c, Err(_) => return },
                _ = stopped.changed() => return,
            };
            let target = target.clone();
            let mut stopped = watch.clone();
            tokio::spawn(async move {
                let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {},
                    _ = stopped.changed() => {},
                }
            });
        }
    });
    Relay { addr, stop }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_is_503_and_ready_says_so() {
    let url = reqwest::Url::parse(&postgres_url()).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let relay = relay_to(&target).await;
    let mut relayed = url.clone();
    relayed.set_port(Some(relay.addr.port())).unwrap();
    relayed.set_host(Some("127.0.0.1")).unwrap();
    let schema_url = fresh_database(Backend::Postgres).await;
    let options = schema_url
        .split_once('?')
        .map(|(_, q)| q.to_string())
        .unwrap();
    let db = format!("{}?{options}", relayed.as_str().split('?').next().unwrap());
    let s = Stack::start(Opts {
        integrations: Some(format!("database_url = \"{db}\"")),
        ..Opts::default()
    })
    .await;
    connect_bindbee(&s, CLEO).await;
    let ready: Value = s
        .client
        .get(s.url("/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["database"], "up");

    relay.stop.send(true).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = s.get("/integrations", CLEO).await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "database_unavailable"
    );
    let r = s.client.get(s.url("/ready")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let ready: Value = r.json().await.unwrap();
    assert_eq!(ready["checks"]["database"], "down");
    // Proxied traffic does not depend on the database.
    assert_eq!(s.get("/app", CLEO).await.status(), 200);
}
