//! The proxy's own routes: forward-auth, userinfo, ping, ready and metrics.

use crate::common::*;

#[tokio::test]
async fn forward_auth_answers_202_with_identity_headers_401_and_403() {
    let s = Stack::start(Opts {
        server: "metrics_listen = \"127.0.0.1:0\"".into(),
        access: "[[access.rules]]\npath = \"^/admin/\"\nallowed_plans = [\"BUSINESS\"]".into(),
        ..Opts::default()
    })
    .await;
    let auth = |token: Option<&str>, uri: Option<(&str, &str)>| {
        let mut rb = s.client.get(s.url("/oauth2/auth"));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some((h, v)) = uri {
            rb = rb.header(h, v);
        }
        rb.send()
    };
    let r = auth(Some(ADA), Some(("x-forwarded-uri", "/app/page?x=1")))
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["x-auth-request-user"], "ada");
    assert_eq!(r.headers()["x-auth-request-email"], "ada@example.com");
    assert_eq!(r.headers()["x-bink-auth-method"], "bearer");
    assert_eq!(r.headers()["cache-control"], "no-store");

    assert_eq!(
        auth(Some(ADA), Some(("x-forwarded-uri", "/admin/x")))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        auth(Some(ADA), Some(("x-original-uri", "/admin/x")))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        auth(Some(CLEO), Some(("x-forwarded-uri", "/admin/x")))
            .await
            .unwrap()
            .status(),
        202
    );
    // Traversal in the original URI is resolved before the rule is matched.
    assert_eq!(
        auth(Some(ADA), Some(("x-forwarded-uri", "/app/../admin/x")))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        auth(Some(ADA), Some(("x-forwarded-uri", "/app/..%2fadmin/x")))
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        auth(None, Some(("x-forwarded-uri", "/app")))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        auth(Some("bink_pat_nope"), None).await.unwrap().status(),
        401
    );
}

#[tokio::test]
async fn forward_auth_never_turns_into_2xx_without_authentication() {
    let s = Stack::start(Opts {
        access: "skip_auth = [\"^/public/\"]".into(),
        ..Opts::default()
    })
    .await;
    let tricks: &[(&str, &str)] = &[
        ("x-forwarded-uri", "/public/x"),
        ("x-original-uri", "/public/x"),
        ("user-agent", "kube-probe/1.29"),
        ("x-auth-request-user", "admin"),
        ("x-bink-user-id", "usr_cleo"),
        ("authorization", "Basic YWRtaW46YWRtaW4="),
        ("x-forwarded-for", "127.0.0.1"),
    ];
    for (h, v) in tricks {
        let r = s
            .client
            .get(s.url("/oauth2/auth"))
            .header(*h, *v)
            .send()
            .await
            .unwrap();
        assert!(!r.status().is_success(), "{h}: {v} gave {}", r.status());
    }
    s.bink
        .set_fault(bink_proxy::sandbox::bink::Fault::Status(500));
    let r = s.get("/oauth2/auth", ADA).await;
    assert_eq!(r.status(), 503, "an outage is never a 2xx");
}

#[tokio::test]
async fn userinfo_returns_the_profile_or_401() {
    let s = Stack::default().await;
    let r = s.get("/oauth2/userinfo", ZOE).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["id"], "usr_zoe");
    assert_eq!(body["name"], "Zoë Ångström");
    assert_eq!(body["plan"], "BUSINESS");
    assert_eq!(body["verificationLevel"], 1);
    assert_eq!(body["auth"], "bearer");
    let r = s
        .client
        .get(s.url("/oauth2/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn ping_and_ready_need_no_auth() {
    let s = Stack::default().await;
    let r = s.client.get(s.url("/ping")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "OK");
    let r = s.client.get(s.url("/ready")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(s.bink.calls(), 0);
}

#[tokio::test]
async fn metrics_count_requests_cache_and_bink_calls() {
    let s = Stack::start(Opts {
        server: "metrics_listen = \"127.0.0.1:0\"".into(),
        ..Opts::default()
    })
    .await;
    for _ in 0..3 {
        s.get("/x", ADA).await;
    }
    s.get("/x", "bink_pat_nope").await;
    let metrics_addr = s.proxy.metrics_addr.expect("metrics listener");
    let text = s
        .client
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("bink_proxy_http_requests_total{status_class=\"2xx\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("bink_proxy_http_requests_total{status_class=\"4xx\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("bink_proxy_identity_cache_hits_total 2"),
        "{text}"
    );
    assert!(
        text.contains("bink_proxy_identity_cache_misses_total 2"),
        "{text}"
    );
    assert!(
        text.contains("bink_proxy_bink_calls_total{outcome=\"valid\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("bink_proxy_bink_calls_total{outcome=\"rejected\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("bink_proxy_bink_call_duration_seconds_count 2"),
        "{text}"
    );
    // The proxy's own listener does not serve /metrics to the world.
    let r = s.client.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}
