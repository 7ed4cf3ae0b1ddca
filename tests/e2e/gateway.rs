//! The unified-API gateway (SPEC §10) end to end: who may call it, what reaches the vendor
//! and what comes back. The vendor here is the demo upstream, which echoes what it
//! received, so each test can see exactly which headers crossed; the records are sealed
//! and stored as the connect flows store them. On SQLite and PostgreSQL.

use bink_proxy::integrations::crypto::Binding;
use bink_proxy::integrations::store::Record;
use serde_json::Value;

use crate::common::*;
use crate::integrations::{fresh_database, Backend};

/// A service key of the upstream's own backend.
const SERVICE_KEY: &str = "svc-0123456789-0123456789-0123456789-abcdef";
/// The vendors' API keys in these stacks.
const KOMBO_KEY: &str = "kombo-key-for-the-gateway";
const BINDBEE_KEY: &str = "bindbee-key-for-the-gateway";

/// A proxy whose Kombo and Bindbee are the echoing demo upstream.
async fn echo_stack(backend: Backend, gateway: &str) -> Stack {
    let db = fresh_database(backend).await;
    let sandboxes = bink_proxy::sandbox::Sandboxes::spawn(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let upstream = spawn_upstream().await;
    Stack::start_with(
        Opts {
            integrations: Some(format!(
                "database_url = \"{db}\"\n\n\
                 [integrations.kombo]\napi_key = \"{KOMBO_KEY}\"\nbase_url = \"http://{upstream}/v1\"\n\n\
                 [integrations.bindbee]\napi_key = \"{BINDBEE_KEY}\"\nbase_url = \"http://{upstream}\"\n\n\
                 [integrations.gateway]\nservice_keys = [\"{SERVICE_KEY}\"]\n{gateway}\n"
            )),
            ..Opts::default()
        },
        sandboxes,
        upstream,
    )
    .await
}

/// Stores an integration as the connect flows do: the credential sealed under its binding.
async fn seed(
    s: &Stack,
    provider: &str,
    organization: &str,
    remote_id: &str,
    credential: &str,
) -> String {
    let i = s.proxy.state.integrations.as_ref().unwrap();
    let binding = Binding {
        organization,
        provider,
        remote_id,
    };
    let (sealed, key_id) = i.cipher.seal(&binding, credential);
    let record = Record {
        id: format!("int_{}", rand::random::<u32>()),
        organization: organization.into(),
        provider: provider.into(),
        remote_id: remote_id.into(),
        category: "HRIS".into(),
        tool: "personio".into(),
        status: "active".into(),
        credential: sealed,
        key_id,
        created_at: 0,
        updated_at: 0,
        created_by: organization.into(),
    };
    i.store.upsert(&record).await.unwrap().id
}

/// A gateway GET with `token` as bearer and these extra headers; status and JSON body.
async fn call(
    s: &Stack,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = s.client.get(s.url(path)).bearer_auth(token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

async fn credentials_are_injected_and_the_callers_stripped(backend: Backend) {
    let s = echo_stack(backend, "").await;
    seed(
        &s,
        "kombo",
        "usr_cleo",
        "personio:8d1hpPsbjxUkoCoa1veLZGe5",
        "personio:8d1hpPsbjxUkoCoa1veLZGe5",
    )
    .await;
    let bindbee = seed(
        &s,
        "bindbee",
        "usr_cleo",
        "3f0c7c3e-0000-4000-8000-000000000001",
        "ct_secret_connector_token",
    )
    .await;

    let (status, headers, echo) = call(
        &s,
        "/integrations/kombo/api/hris/employees?page_size=2&cursor=a%2Fb",
        CLEO,
        &[
            ("X-Integration-Id", "personio:8d1hpPsbjxUkoCoa1veLZGe5"),
            ("Cookie", "_bink_session=abc; other=1"),
            ("X-Bink-User", "forged"),
            ("X-Forwarded-For", "203.0.113.9"),
            ("Accept", "application/json"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{echo}");
    assert_eq!(
        echo["uri"], "/v1/hris/employees?page_size=2&cursor=a%2Fb",
        "path and query as sent"
    );
    assert_eq!(
        header_values(&echo, "authorization"),
        [format!("Bearer {KOMBO_KEY}")]
    );
    assert_eq!(
        header_values(&echo, "x-integration-id"),
        ["personio:8d1hpPsbjxUkoCoa1veLZGe5"]
    );
    assert_eq!(header_values(&echo, "accept"), ["application/json"]);
    for gone in [
        "cookie",
        "x-bink-user",
        "x-forwarded-for",
        "x-connector-token",
    ] {
        assert!(
            header_values(&echo, gone).is_empty(),
            "{gone} reached the vendor: {echo}"
        );
    }
    assert!(
        !echo.to_string().contains(CLEO),
        "the caller's token reached the vendor"
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers.get("set-cookie").is_none());

    // Bindbee: the connector token, named by the Integration's id.
    let (status, _, echo) = call(
        &s,
        "/integrations/bindbee/api/hris/v1/employees",
        CLEO,
        &[("X-Integration-Id", &bindbee)],
    )
    .await;
    assert_eq!(status, 200, "{echo}");
    assert_eq!(echo["uri"], "/api/hris/v1/employees");
    assert_eq!(
        header_values(&echo, "authorization"),
        [format!("Bearer {BINDBEE_KEY}")]
    );
    assert_eq!(
        header_values(&echo, "x-connector-token"),
        ["ct_secret_connector_token"]
    );
    assert!(header_values(&echo, "x-integration-id").is_empty());
}

async fn only_the_callers_organization_and_unified_paths(backend: Backend) {
    let s = echo_stack(backend, "").await;
    let kombo_id = "personio:cleoCleoCleoCleoCleoCleo";
    seed(&s, "kombo", "usr_cleo", kombo_id, kombo_id).await;
    let bindbee = seed(
        &s,
        "bindbee",
        "usr_cleo",
        "3f0c7c3e-0000-4000-8000-000000000002",
        "ct_x",
    )
    .await;
    let employees = "/integrations/kombo/api/hris/employees";

    // Ben's organization does not hold it: the same 404 as an unknown id or the other
    // provider's integration.
    for (token, id, path) in [
        (BEN, kombo_id, employees),
        (CLEO, "personio:unknown", employees),
        (CLEO, bindbee.as_str(), employees),
        (
            CLEO,
            kombo_id,
            "/integrations/bindbee/api/hris/v1/employees",
        ),
    ] {
        let (status, _, body) = call(&s, path, token, &[("X-Integration-Id", id)]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("integration_not_found")),
            "{id} {path}"
        );
    }
    let (status, _, body) = call(&s, employees, CLEO, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("integration_id_required"))
    );
    let (status, _, _) = call(
        &s,
        employees,
        CLEO,
        &[
            ("X-Integration-Id", kombo_id),
            ("X-Integration-Id", kombo_id),
        ],
    )
    .await;
    assert_eq!(status, 400, "a repeated X-Integration-Id is ambiguous");

    // Not a way to the vendors' management APIs.
    for path in [
        "/integrations/kombo/api/connect/create-link",
        "/integrations/kombo/api/integrations/personio:x/relink",
        "/integrations/kombo/api/hris/%2e%2e/integrations/x",
        "/integrations/bindbee/api/embedded/v1/link/create-link-token",
        "/integrations/bindbee/api/hris/v1/connectors",
    ] {
        let (status, _, _) = call(&s, path, CLEO, &[("X-Integration-Id", kombo_id)]).await;
        assert_eq!(status, 404, "{path}");
    }
    // No identity, no call.
    let r = s
        .client
        .get(s.url(employees))
        .header("X-Integration-Id", kombo_id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn a_service_key_reaches_any_organization(backend: Backend) {
    let s = echo_stack(backend, "").await;
    let ben_id = "personio:benBenBenBenBenBenBenBen";
    seed(&s, "kombo", "usr_ben", ben_id, ben_id).await;
    let (status, _, echo) = call(
        &s,
        "/integrations/kombo/api/ats/jobs",
        SERVICE_KEY,
        &[("X-Integration-Id", ben_id)],
    )
    .await;
    assert_eq!(status, 200, "{echo}");
    assert_eq!(
        header_values(&echo, "authorization"),
        [format!("Bearer {KOMBO_KEY}")]
    );
    assert!(
        !echo.to_string().contains(SERVICE_KEY),
        "the service key reached the vendor"
    );
    // A key that is not one of them is an unknown Bink token: 401, and no vendor call.
    let almost = format!("{}x", &SERVICE_KEY[..SERVICE_KEY.len() - 1]);
    let (status, _, _) = call(
        &s,
        "/integrations/kombo/api/ats/jobs",
        &almost,
        &[("X-Integration-Id", ben_id)],
    )
    .await;
    assert_eq!(status, 401);
    // The metrics count both vendor answers by provider and status class.
    let text = s.proxy.state.metrics.render();
    assert!(
        text.contains("bink_proxy_gateway_calls_total{provider=\"kombo\",status_class=\"2xx\"} 1"),
        "{text}"
    );
}

async fn bodies_over_the_limit_are_413(backend: Backend) {
    let s = echo_stack(backend, "max_request_body = \"1KiB\"").await;
    let id = "personio:bodyBodyBodyBodyBodyBody";
    seed(&s, "kombo", "usr_cleo", id, id).await;
    let url = s.url("/integrations/kombo/api/hris/employees");
    let small = s
        .client
        .post(&url)
        .bearer_auth(CLEO)
        .header("X-Integration-Id", id)
        .header("Content-Type", "application/json")
        .body(vec![b'x'; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 200);
    let echo: Value = small.json().await.unwrap();
    assert_eq!(header_values(&echo, "content-length"), ["1000"]);
    let big = s
        .client
        .post(&url)
        .bearer_auth(CLEO)
        .header("X-Integration-Id", id)
        .body(vec![b'x'; 1025])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    // Without a length, counted as it streams.
    // Without a length, read up to the limit first: over it, refused whole.
    let chunked = |chunks: usize| {
        let stream = futures_util::stream::iter(
            (0..chunks).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 400])),
        );
        s.client
            .post(&url)
            .bearer_auth(CLEO)
            .header("X-Integration-Id", id)
            .body(reqwest::Body::wrap_stream(stream))
            .send()
    };
    assert_eq!(chunked(4).await.unwrap().status(), 413);
    // Under the limit, it reaches the vendor whole.
    let small = chunked(2).await.unwrap();
    assert_eq!(small.status(), 200);
    let echo: Value = small.json().await.unwrap();
    assert_eq!(header_values(&echo, "content-length"), ["800"]);
}

async fn an_unreachable_vendor_is_504(backend: Backend) {
    let db = fresh_database(backend).await;
    let dead = closed_port().await;
    let s = Stack::start(Opts {
        integrations: Some(format!(
            "database_url = \"{db}\"\n\n[integrations.kombo]\napi_key = \"k\"\nbase_url = \"http://{dead}/v1\"\n\n\
             [integrations.gateway]\ntimeout = \"2s\"\n"
        )),
        ..Opts::default()
    })
    .await;
    let id = "personio:deadDeadDeadDeadDeadDead";
    seed(&s, "kombo", "usr_cleo", id, id).await;
    let (status, _, body) = call(
        &s,
        "/integrations/kombo/api/hris/employees",
        CLEO,
        &[("X-Integration-Id", id)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (504, Some("provider_unreachable"))
    );
}

crate::on_both_backends!(
    credentials_are_injected_and_the_callers_stripped,
    only_the_callers_organization_and_unified_paths,
    a_service_key_reaches_any_organization,
    bodies_over_the_limit_are_413,
    an_unreachable_vendor_is_504,
);

/// Kombo's official Python SDK, unmodified, reads a connected integration's employees
/// and jobs through the gateway: a Bink token as its API key, the proxy as its server.
async fn kombos_sdk_works_unmodified_through_the_gateway(backend: Backend) {
    let Some(python) = crate::vendor_sdks::python_with_kombo() else {
        return;
    };
    let db = fresh_database(backend).await;
    let s = Stack::start(Opts {
        integrations: Some(format!("database_url = \"{db}\"\n")),
        ..Opts::default()
    })
    .await;
    let (status, integration) = crate::integrations::connect_kombo(&s, CLEO).await;
    assert_eq!(status, 201, "{integration}");
    let remote = integration["remote_id"].as_str().unwrap().to_string();
    let base = s.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/sdk/kombo_gateway_check.py"
            ))
            .args([&base, CLEO, &remote])
            .output()
            .expect("run the Kombo SDK")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(seen["employees"].as_u64().unwrap() > 50, "{seen}");
    assert!(seen["pages"].as_u64().unwrap() > 1, "paginated: {seen}");
    assert!(seen["jobs"].as_u64().unwrap() > 0, "{seen}");
}

mod sdk {
    use super::*;
    crate::on_both_backends!(kombos_sdk_works_unmodified_through_the_gateway);
}

/// Against the sandbox vendors: Bindbee's employees with the stored connector token, the
/// vendors' rate-limit headers and 429s passed back, and a slow vendor cut off.
async fn the_sandbox_vendors_answer_through_the_gateway(backend: Backend) {
    use bink_proxy::sandbox::bink::Fault;
    use bink_proxy::sandbox::RateLimit;
    let db = fresh_database(backend).await;
    let s = Stack::start(Opts {
        integrations: Some(format!(
            "database_url = \"{db}\"\n\n[integrations.gateway]\ntimeout = \"1s\"\n"
        )),
        ..Opts::default()
    })
    .await;
    // Bindbee, as curl would: the Integration's id, the caller's Bink token.
    let b = crate::integrations::connect_bindbee(&s, CLEO).await;
    let id = b["id"].as_str().unwrap();
    let (status, _, page) = call(
        &s,
        "/integrations/bindbee/api/hris/v1/employees?page_size=50",
        CLEO,
        &[("X-Integration-Id", id)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    assert!(page["cursor"].is_string(), "more pages: {page}");

    // Kombo's rate limit: its headers on the answer, then its 429 with Retry-After.
    let (_, k) = crate::integrations::connect_kombo(&s, CLEO).await;
    let remote = k["remote_id"].as_str().unwrap();
    s.sandboxes.kombo.set_rate_limit(Some(RateLimit {
        per_window: 1,
        window: std::time::Duration::from_secs(60),
    }));
    let employees = "/integrations/kombo/api/hris/employees?page_size=1";
    let (status, headers, _) = call(&s, employees, CLEO, &[("X-Integration-Id", remote)]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-ratelimit-limit"], "1");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    let (status, headers, body) = call(&s, employees, CLEO, &[("X-Integration-Id", remote)]).await;
    assert_eq!(status, 429, "{body}");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(body["status"], "error", "Kombo's own error body: {body}");
    s.sandboxes.kombo.set_rate_limit(None);

    // A vendor slower than gateway.timeout.
    s.sandboxes
        .kombo
        .set_fault(Fault::Delay(std::time::Duration::from_secs(3)));
    let (status, _, body) = call(&s, employees, CLEO, &[("X-Integration-Id", remote)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (504, Some("provider_timeout"))
    );
}

mod vendors {
    use super::*;
    crate::on_both_backends!(the_sandbox_vendors_answer_through_the_gateway);
}
