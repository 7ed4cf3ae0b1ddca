//! Vendor webhooks (SPEC §10) end to end: signatures verified over the raw body, state
//! changes and deletions applied, and verified events delivered to the upstream through
//! the outbox — surviving the upstream being down and the proxy restarting, delivered
//! once. On SQLite and PostgreSQL.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use bink_proxy::integrations::webhooks::{sign, Vendor};
use serde_json::{json, Value};

use crate::common::*;
use crate::integrations::{connect_bindbee, connect_kombo, fresh_database, list, Backend};

const KOMBO_SECRET: &str = "kombo-webhook-secret";
const BINDBEE_SECRET: &str = "bindbee-webhook-secret";

fn secrets(extra_kombo: &str) -> String {
    format!(
        "\n[integrations.kombo]\napi_key = \"{}\"\nwebhook_secret = \"{KOMBO_SECRET}\"\n{extra_kombo}\n\
         [integrations.bindbee]\napi_key = \"{}\"\nwebhook_secret = \"{BINDBEE_SECRET}\"\n",
        bink_proxy::sandbox::KOMBO_API_KEY,
        bink_proxy::sandbox::BINDBEE_API_KEY,
    )
}

/// The stack's `[integrations]` lines: its database, the sandboxes' URLs, and secrets.
fn integrations(db: &str, sandboxes: &bink_proxy::sandbox::Sandboxes, extra_kombo: &str) -> String {
    let with_urls = secrets(extra_kombo)
        .replace(
            "[integrations.kombo]\n",
            &format!(
                "[integrations.kombo]\nbase_url = \"{}\"\nsdk_url = \"/k.js\"\n",
                sandboxes.kombo_url()
            ),
        )
        .replace(
            "[integrations.bindbee]\n",
            &format!(
                "[integrations.bindbee]\nbase_url = \"{}\"\nsdk_url = \"/b.js\"\n",
                sandboxes.bindbee_url()
            ),
        );
    format!("database_url = \"{db}\"\n{with_urls}")
}

/// A proxy with both vendors' webhook secrets, on a database of its own.
async fn webhook_stack(backend: Backend) -> Stack {
    let db = fresh_database(backend).await;
    let sandboxes = bink_proxy::sandbox::Sandboxes::spawn(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let upstream = spawn_upstream().await;
    let opts = Opts {
        integrations: Some(integrations(&db, &sandboxes, "")),
        ..Opts::default()
    };
    Stack::start_with(opts, sandboxes, upstream).await
}

/// Events waiting in the proxy's outbox.
async fn undelivered(s: &Stack) -> i64 {
    let integrations = s.proxy.state.integrations.as_ref().unwrap();
    integrations.store.undelivered_webhooks().await.unwrap()
}

/// POSTs `body` to the vendor's webhook route with `signature` (if any).
async fn deliver(s: &Stack, vendor: Vendor, body: &str, signature: Option<String>) -> u16 {
    let header = match vendor {
        Vendor::Kombo => "X-Kombo-Signature",
        Vendor::Bindbee => "X-Bindbee-Webhook-Signature",
    };
    let mut request = s
        .client
        .post(s.url(&format!("/integrations/{}/webhook", vendor.name())))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(signature) = signature {
        request = request.header(header, signature);
    }
    request.send().await.unwrap().status().as_u16()
}

/// Signed as the vendor signs.
async fn signed(s: &Stack, vendor: Vendor, body: &Value) -> u16 {
    let text = body.to_string();
    let secret = match vendor {
        Vendor::Kombo => KOMBO_SECRET,
        Vendor::Bindbee => BINDBEE_SECRET,
    };
    let signature = sign(vendor, secret, text.as_bytes());
    deliver(s, vendor, &text, Some(signature)).await
}

fn kombo_state_changed(id: &str, state: &str, setup_status: &str) -> Value {
    json!({
        "id": format!("evt_{}", rand::random::<u32>()),
        "type": "integration-state-changed",
        "data": {
            "integration_tool": "greenhouse", "integration_id": id, "integration_category": "ATS",
            "end_user": {"organization_name": "Acme", "creator_email": null, "origin_id": "usr_cleo"},
            "qa_status": "PASSED", "setup_status": setup_status, "state": state,
            "updated_at": "2026-12-03T10:00:00.000Z"
        }
    })
}

async fn signed_events_keep_the_status_current(backend: Backend) {
    let s = webhook_stack(backend).await;
    let (_, kombo) = connect_kombo(&s, CLEO).await;
    let remote = kombo["remote_id"].as_str().unwrap();

    // A bad, missing or repeated signature changes nothing.
    let event = kombo_state_changed(remote, "INVALID", "COMPLETED");
    let text = event.to_string();
    let forged = sign(Vendor::Kombo, "not-the-secret", text.as_bytes());
    assert_eq!(deliver(&s, Vendor::Kombo, &text, Some(forged)).await, 401);
    assert_eq!(deliver(&s, Vendor::Kombo, &text, None).await, 401);
    let good = sign(Vendor::Kombo, KOMBO_SECRET, text.as_bytes());
    let tampered = text.replace("INVALID", "ACTIVE");
    assert_eq!(
        deliver(&s, Vendor::Kombo, &tampered, Some(good.clone())).await,
        401,
        "signed over the raw body"
    );
    assert_eq!(list(&s, CLEO).await[0]["status"], "active");

    // Kombo says the integration is invalid: the customer must reconnect.
    assert_eq!(deliver(&s, Vendor::Kombo, &text, Some(good)).await, 200);
    assert_eq!(list(&s, CLEO).await[0]["status"], "needs_relink");
    assert_eq!(
        signed(
            &s,
            Vendor::Kombo,
            &kombo_state_changed(remote, "ACTIVE", "COMPLETED")
        )
        .await,
        200
    );
    assert_eq!(list(&s, CLEO).await[0]["status"], "active");
    // Unknown events are accepted (and would be forwarded), acted on never.
    assert_eq!(
        signed(
            &s,
            Vendor::Kombo,
            &json!({"id": "e", "type": "sync-finished", "data": {}})
        )
        .await,
        200
    );

    // Bindbee: every event carries the connector and its status.
    let b = connect_bindbee(&s, CLEO).await;
    let event = json!({
        "webhook": {"webhook_id": "wh_1", "url": "https://app.example/hooks", "event": "connector_sync_error"},
        "connector": {"id": b["remote_id"], "display_name": "BambooHR", "integration_slug": "bamboohr",
            "categories": ["HRIS"], "org_name": "Acme", "origin_id": "usr_cleo",
            "connector_status": "RELINK_NEEDED", "end_user_name": "Cleo Park", "end_user_email": null},
        "data": {"id": "sync_1", "integration_name": "bamboohr", "category": "HRIS", "display_status": "Failed"},
        "error": {"failed_at": "2026-12-03T10:00:00Z", "message": "credentials expired", "detail": {}}
    });
    assert_eq!(signed(&s, Vendor::Bindbee, &event).await, 200);
    let statuses: Vec<Value> = list(&s, CLEO)
        .await
        .iter()
        .map(|i| i["status"].clone())
        .collect();
    assert!(statuses.contains(&json!("needs_relink")), "{statuses:?}");

    // Deleted in Kombo's dashboard: the record goes.
    let deleted = json!({
        "id": "evt_del", "type": "integration-deleted",
        "data": {"id": remote, "tool": "greenhouse", "category": "ATS",
            "end_user": {"organization_name": "Acme", "creator_email": null, "origin_id": "usr_cleo"},
            "deleted_at": "2026-12-03T10:00:00.000Z"}
    });
    assert_eq!(signed(&s, Vendor::Kombo, &deleted).await, 200);
    let left = list(&s, CLEO).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["provider"], "bindbee");
}

/// An upstream that records every webhook delivered to it, on `addr`.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

impl Receiver {
    async fn listen(&self, addr: SocketAddr) {
        let seen = self.0.clone();
        let router = axum::Router::new().route(
            "/hooks/kombo",
            post(move |headers: HeaderMap, body: Bytes| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push((headers, body));
                    "ok"
                }
            }),
        );
        bink_proxy::sandbox::spawn(router, addr).await.unwrap();
    }

    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

async fn events_survive_the_upstream_down_and_a_restart(backend: Backend) {
    let db = fresh_database(backend).await;
    let sandboxes = bink_proxy::sandbox::Sandboxes::spawn(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    // The application is down: nothing listens where it will be.
    let app = closed_port().await;
    let opts = Opts {
        upstream: Some(format!("http://{app}")),
        integrations: Some(integrations(
            &db,
            &sandboxes,
            "webhook_forward_path = \"/hooks/kombo\"\n",
        )),
        ..Opts::default()
    };
    let s = Stack::start_with(opts.clone(), sandboxes.clone(), app).await;
    let event =
        json!({"id": "evt_1", "type": "sync-finished", "data": {"integration_id": "personio:x"}});
    let text = event.to_string();
    let signature = sign(Vendor::Kombo, KOMBO_SECRET, text.as_bytes());
    // Stored before the 200; the vendor's retry of the same delivery is stored once.
    assert_eq!(
        deliver(&s, Vendor::Kombo, &text, Some(signature.clone())).await,
        200
    );
    assert_eq!(
        deliver(&s, Vendor::Kombo, &text, Some(signature.clone())).await,
        200
    );
    assert_eq!(undelivered(&s).await, 1);
    tokio::time::sleep(Duration::from_millis(1500)).await; // a failed attempt or two
    s.proxy.shutdown().await;

    // The proxy restarts; the application comes back.
    let receiver = Receiver::default();
    receiver.listen(app).await;
    let s = Stack::start_with(opts, sandboxes, app).await;
    let started = Instant::now();
    while receiver.count() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the event never arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.count(), 1, "delivered once");
    let (headers, body) = receiver.0.lock().unwrap()[0].clone();
    assert_eq!(body, text.as_bytes(), "the raw body");
    assert_eq!(headers["x-bink-webhook-provider"], "kombo");
    assert_eq!(headers["x-bink-webhook-verified"], "true");
    assert_eq!(headers["x-bink-webhook-event"], "sync-finished");
    assert!(
        headers.get("x-kombo-signature").is_none(),
        "the signature stays with the proxy"
    );
    assert_eq!(undelivered(&s).await, 0);
}

/// The sandbox vendors sign and send their own webhooks (their signing is written from
/// the vendors' documents, independently of the proxy's verifier).
async fn the_sandbox_vendors_send_webhooks_the_proxy_accepts(backend: Backend) {
    let s = webhook_stack(backend).await;
    let sandboxes = s.sandboxes.clone();
    sandboxes
        .kombo
        .set_webhook_target(&s.url("/integrations/kombo/webhook"), KOMBO_SECRET);
    sandboxes
        .bindbee
        .set_webhook_target(&s.url("/integrations/bindbee/webhook"), BINDBEE_SECRET);
    let (_, k) = connect_kombo(&s, CLEO).await;
    let remote = k["remote_id"].as_str().unwrap();
    assert_eq!(
        sandboxes.kombo.send_state_changed(remote, "INVALID").await,
        Ok(200)
    );
    assert_eq!(list(&s, CLEO).await[0]["status"], "needs_relink");
    // Through the sandbox's own endpoint, as a test or the dev page would.
    let r = s
        .client
        .post(format!("http://{}/kombo/sandbox/webhooks", sandboxes.addr))
        .bearer_auth(bink_proxy::sandbox::KOMBO_API_KEY)
        .json(&json!({"type": "integration-state-changed", "integration_id": remote, "state": "ACTIVE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["target_status"], 200);
    assert_eq!(list(&s, CLEO).await[0]["status"], "active");

    let b = connect_bindbee(&s, CLEO).await;
    let connector = b["remote_id"].as_str().unwrap();
    let sent = sandboxes
        .bindbee
        .send_connector_event(connector, "connector_sync_error", Some("RELINK_NEEDED"))
        .await;
    assert_eq!(sent, Ok(200));
    let bindbee = list(&s, CLEO)
        .await
        .into_iter()
        .find(|i| i["provider"] == "bindbee")
        .unwrap();
    assert_eq!(bindbee["status"], "needs_relink");

    assert_eq!(sandboxes.kombo.send_deleted(remote).await, Ok(200));
    let left = list(&s, CLEO).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(sandboxes.kombo.integration_ids().is_empty());
}

crate::on_both_backends!(
    signed_events_keep_the_status_current,
    events_survive_the_upstream_down_and_a_restart,
    the_sandbox_vendors_send_webhooks_the_proxy_accepts,
);

#[tokio::test]
async fn without_a_secret_the_webhook_route_does_not_exist() {
    let s = Stack::start(Opts {
        integrations: Some(String::new()),
        ..Opts::default()
    })
    .await;
    let body = "{}";
    let signature = sign(Vendor::Kombo, "", body.as_bytes());
    assert_eq!(deliver(&s, Vendor::Kombo, body, Some(signature)).await, 404);
}
