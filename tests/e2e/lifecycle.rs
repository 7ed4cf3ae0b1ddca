//! The whole life of a connection against sandbox vendors that behave like the real ones
//! (SPEC §7, §8 v2): Bindbee's organization learned from its connectors endpoint, Kombo's
//! required email, disconnect at the vendor first, relink instead of a duplicate, one
//! status vocabulary, vendor rate limits passed on — on SQLite and on PostgreSQL.

use std::time::Duration;

use bink_proxy::integrations::status::Status;
use bink_proxy::integrations::store::Store;
use bink_proxy::sandbox::bink::Fault;
use bink_proxy::sandbox::KOMBO_API_KEY;
use serde_json::{json, Value};

use crate::common::*;
use crate::integrations::{
    connect_bindbee, connect_kombo, fresh_database, list, post, relink_kombo, stack, store_of,
    try_connect_bindbee, Backend,
};

/// `DELETE /integrations/{id}`: the status, the `Retry-After` header and the JSON body
/// (`Null` for a 204).
async fn disconnect(s: &Stack, token: &str, id: &str) -> (u16, Option<String>, Value) {
    let r = s
        .client
        .delete(s.url(&format!("/integrations/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry_after, r.json().await.unwrap_or(Value::Null))
}

async fn bindbee_learns_the_organization_from_its_connectors_endpoint(backend: Backend) {
    let (s, _) = stack(backend, "").await;
    let bindbee = &s.sandboxes.bindbee;
    // Another organization's connector (Bindbee's connectors endpoint says so): 403.
    bindbee.set_origin_override(Some("usr_someone_else".into()));
    let (status, body) = try_connect_bindbee(&s, CLEO).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("organization_mismatch")),
        "{body}"
    );
    assert_eq!(bindbee.connectors_calls(), 1, "asked Bindbee whose it is");
    assert!(list(&s, CLEO).await.is_empty(), "nothing stored");
    // Bindbee lists no such connector: no answer, no record.
    bindbee.set_origin_override(None);
    bindbee.set_hide_connectors(true);
    let (status, body) = try_connect_bindbee(&s, CLEO).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("provider_error")),
        "{body}"
    );
    assert!(list(&s, CLEO).await.is_empty(), "nothing stored");
    bindbee.set_hide_connectors(false);
    // Its own connector, with the status the connectors endpoint reports.
    bindbee.set_connector_status(Some("RELINK_NEEDED"));
    let (status, body) = try_connect_bindbee(&s, CLEO).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "needs_relink");
    bindbee.set_connector_status(Some("INCOMPLETE"));
    assert_eq!(connect_bindbee(&s, CLEO).await["status"], "connecting");
    bindbee.set_connector_status(None);
    assert_eq!(connect_bindbee(&s, CLEO).await["status"], "active");
}

async fn kombo_needs_an_email_and_a_known_language(backend: Backend) {
    let (s, _) = stack(backend, "").await;
    let kombo = &s.sandboxes.kombo;
    // Ghost has no email: Kombo would refuse the link, so Kombo is not called.
    let (status, body) = post(
        &s,
        GHOST,
        "/integrations/kombo/init",
        json!({"category": "HRIS"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("email_required")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("email"));
    assert_eq!(kombo.create_link_calls(), 0);
    // Languages are Kombo's five.
    for language in ["nl", "EN", "en-US", ""] {
        let (status, body) = post(
            &s,
            CLEO,
            "/integrations/kombo/init",
            json!({"category": "HRIS", "language": language}),
        )
        .await;
        assert_eq!(status, 400, "{language:?}: {body}");
    }
    assert_eq!(kombo.create_link_calls(), 0);
    let (status, body) = post(
        &s,
        CLEO,
        "/integrations/kombo/init",
        json!({"category": "HRIS", "language": "de"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(kombo.last_request().unwrap()["language"], "de");
    assert_eq!(
        kombo.last_request().unwrap()["end_user_email"],
        "cleo@acme.com"
    );
}

async fn disconnect_deletes_at_the_vendor_first(backend: Backend) {
    let (s, _) = stack(backend, "provider_timeout = \"400ms\"").await;
    let (kombo, bindbee) = (&s.sandboxes.kombo, &s.sandboxes.bindbee);

    // Both vendors let go of the connection, then the record goes.
    let (_, k) = connect_kombo(&s, CLEO).await;
    let b = connect_bindbee(&s, CLEO).await;
    assert_eq!(kombo.integration_ids().len(), 1);
    assert_eq!(bindbee.connector_ids().len(), 1);
    for (record, gone) in [(&k, kombo.integration_ids()), (&b, bindbee.connector_ids())] {
        assert_eq!(gone, [record["remote_id"].as_str().unwrap()]);
        let (status, _, body) = disconnect(&s, CLEO, record["id"].as_str().unwrap()).await;
        assert_eq!(status, 204, "{body}");
    }
    assert!(kombo.integration_ids().is_empty(), "deleted at Kombo");
    assert!(bindbee.connector_ids().is_empty(), "deleted at Bindbee");
    assert!(list(&s, CLEO).await.is_empty());

    // The vendor failing keeps the record exactly as it was.
    let (_, k) = connect_kombo(&s, CLEO).await;
    let id = k["id"].as_str().unwrap();
    let before = list(&s, CLEO).await;
    kombo.set_fault(Fault::Status(500));
    let (status, _, body) = disconnect(&s, CLEO, id).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("provider_error"))
    );
    kombo.set_fault(Fault::RateLimited(7));
    let (status, retry_after, body) = disconnect(&s, CLEO, id).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("provider_rate_limited"))
    );
    assert_eq!(retry_after.as_deref(), Some("7"), "Kombo's Retry-After");
    kombo.set_fault(Fault::Delay(Duration::from_secs(2)));
    let (status, _, body) = disconnect(&s, CLEO, id).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (504, Some("provider_timeout"))
    );
    kombo.set_fault(Fault::None);
    assert_eq!(list(&s, CLEO).await, before, "the record is untouched");
    assert_eq!(kombo.integration_ids(), [k["remote_id"].as_str().unwrap()]);

    // Another organization's integration does not exist for Ben: Kombo is not called.
    let calls = kombo.delete_calls();
    assert_eq!(disconnect(&s, BEN, id).await.0, 404);
    assert_eq!(kombo.delete_calls(), calls);

    // Already deleted at Kombo (in its dashboard, say): Kombo's 404 counts as gone.
    let r = s
        .client
        .delete(format!(
            "{}/integrations/{}",
            s.sandboxes.kombo_url(),
            k["remote_id"].as_str().unwrap()
        ))
        .bearer_auth(KOMBO_API_KEY)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(disconnect(&s, CLEO, id).await.0, 204);
    assert!(list(&s, CLEO).await.is_empty());
}

async fn relink_reconnects_the_same_integration(backend: Backend) {
    let (s, _) = stack(backend, "").await;
    let kombo = &s.sandboxes.kombo;
    kombo.set_setup_status(Some("FINAL_SYNC_PENDING"));
    let (status, first) = connect_kombo(&s, CLEO).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["status"], "connecting");
    kombo.set_setup_status(None);
    let id = first["id"].as_str().unwrap();

    let again = relink_kombo(&s, CLEO, id).await;
    assert_eq!(again["id"], first["id"], "the same record");
    assert_eq!(again["remote_id"], first["remote_id"]);
    assert_eq!(again["category"], first["category"]);
    assert_eq!(again["status"], "active", "kept current by the exchange");
    assert_eq!(list(&s, CLEO).await.len(), 1);
    assert_eq!(kombo.integration_ids().len(), 1, "no duplicate at Kombo");
    assert_eq!(kombo.relink_calls(), 1);

    // A language outside Kombo's, another organization's integration, an unknown one.
    let path = format!("/integrations/{id}/relink");
    let (status, _) = post(&s, CLEO, &path, json!({"language": "nl"})).await;
    assert_eq!(status, 400);
    let (status, body) = post(&s, BEN, &path, json!({})).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (status, _) = post(&s, CLEO, "/integrations/int_nope/relink", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(kombo.relink_calls(), 1);
    // An empty body is fine (no language).
    let r = s
        .client
        .post(s.url(&path))
        .bearer_auth(CLEO)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Bindbee has no relink: say so rather than create a second connector.
    let b = connect_bindbee(&s, CLEO).await;
    let (status, body) = post(
        &s,
        CLEO,
        &format!("/integrations/{}/relink", b["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("relink_not_supported")),
        "{body}"
    );
}

async fn status_is_kept_current_by_remote_id(backend: Backend) {
    let (s, db) = stack(backend, "").await;
    let (_, k) = connect_kombo(&s, CLEO).await;
    assert_eq!(k["status"], "active");
    // What a vendor's webhook will do: find the record by provider and remote id.
    let store = store_of(&db).await;
    let remote = k["remote_id"].as_str().unwrap();
    assert!(store
        .set_status("kombo", remote, Status::NeedsRelink, 1)
        .await
        .unwrap());
    assert_eq!(list(&s, CLEO).await[0]["status"], "needs_relink");
    assert!(!store
        .set_status("bindbee", remote, Status::Active, 1)
        .await
        .unwrap());
}

async fn version_1_statuses_are_migrated(backend: Backend) {
    let db = fresh_database(backend).await;
    // The database as version 1 left it: only the first migration, vendor words stored.
    let dir = std::env::temp_dir().join(format!("bink-v1-migrations-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let kind = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    std::fs::copy(
        format!("migrations/{kind}/0001_integrations.sql"),
        dir.join("0001_integrations.sql"),
    )
    .unwrap();
    let v1 = sqlx::migrate::Migrator::new(dir.as_path()).await.unwrap();
    let insert = "INSERT INTO integrations (id, organization, provider, remote_id, category, tool, \
                  status, credential, key_id, created_at, updated_at, created_by) \
                  VALUES ($1, 'usr_cleo', 'kombo', $1, 'HRIS', 'personio', $2, $3, 'k', $4, 0, 'usr_cleo')";
    let rows = [
        ("int_a", "completed"),
        ("int_b", "active"),
        ("int_c", "incomplete"),
        ("int_d", "final_sync_pending"),
    ];
    // The same statements on either pool.
    macro_rules! as_version_1 {
        ($pool:expr) => {{
            let pool = $pool;
            v1.run(&pool).await.unwrap();
            for (n, (id, status)) in rows.iter().enumerate() {
                sqlx::query(insert)
                    .bind(id)
                    .bind(status)
                    .bind(vec![0u8; 8])
                    .bind(n as i64)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            pool.close().await;
        }};
    }
    match backend {
        Backend::Sqlite => {
            let options = db
                .parse::<sqlx::sqlite::SqliteConnectOptions>()
                .unwrap()
                .create_if_missing(true);
            as_version_1!(sqlx::SqlitePool::connect_with(options).await.unwrap())
        }
        Backend::Postgres => as_version_1!(sqlx::PgPool::connect(&db).await.unwrap()),
    }
    let store = Store::connect(&db).await.unwrap();
    let mut got: Vec<(String, String)> = store
        .list("usr_cleo")
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.status))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("int_a".to_string(), "active".to_string()),
            ("int_b".into(), "active".into()),
            ("int_c".into(), "connecting".into()),
            ("int_d".into(), "connecting".into()),
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

async fn vendor_rate_limits_pass_their_retry_after(backend: Backend) {
    let (s, _) = stack(backend, "").await;
    s.sandboxes.kombo.set_fault(Fault::RateLimited(30));
    s.sandboxes.bindbee.set_fault(Fault::RateLimited(12));
    for (path, body, wait) in [
        (
            "/integrations/kombo/init",
            json!({"category": "HRIS"}),
            "30",
        ),
        (
            "/integrations/bindbee/link-token",
            json!({"category": "HRIS", "integration": "bamboohr"}),
            "12",
        ),
    ] {
        let r = s
            .client
            .post(s.url(path))
            .bearer_auth(CLEO)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429, "{path}");
        assert_eq!(r.headers()["retry-after"], wait, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "provider_rate_limited");
    }
}

crate::on_both_backends!(
    bindbee_learns_the_organization_from_its_connectors_endpoint,
    kombo_needs_an_email_and_a_known_language,
    disconnect_deletes_at_the_vendor_first,
    relink_reconnects_the_same_integration,
    status_is_kept_current_by_remote_id,
    version_1_statuses_are_migrated,
    vendor_rate_limits_pass_their_retry_after,
);

/// `connect.js` as the browser gets it from a proxy with these `[integrations]` lines.
async fn connect_js(extra: &str) -> String {
    let s = Stack::start(Opts {
        integrations: Some(extra.to_string()),
        ..Opts::default()
    })
    .await;
    let r = s.get("/integrations/connect.js", CLEO).await;
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test]
async fn bindbee_needs_only_its_key_and_its_widget_gets_the_region() {
    // An API key alone: Bindbee's published script, and the region of base_url.
    let js = connect_js(
        "\n[integrations.bindbee]\napi_key = \"bb\"\nbase_url = \"https://api-eu.bindbee.dev\"\n",
    )
    .await;
    assert!(
        js.contains(r#""bindbee":{"integrity":null,"script":"https://cdn.bindbee.dev/initialize.min.js","server_url":"https://api-eu.bindbee.dev"}"#),
        "{js}"
    );
    assert!(js.contains(r#""kombo":null"#), "Kombo is not configured");
    assert!(js.contains("embed.initialize({"));
    assert!(js.contains("serverUrl: FRONT_ENDS.bindbee.server_url"));
    assert!(
        !js.contains("BindbeeEmbed.open({"),
        "open() takes no arguments"
    );
    // A pinned script carries its integrity into the script element.
    let sri = format!("sha384-{}", "A".repeat(64));
    let js = connect_js(&format!(
        "\n[integrations.kombo]\napi_key = \"k\"\nsdk_integrity = \"{sri}\"\n"
    ))
    .await;
    assert!(js.contains(&format!(r#""integrity":"{sri}""#)), "{js}");
    assert!(js.contains("s.integrity = front.integrity"));
}
