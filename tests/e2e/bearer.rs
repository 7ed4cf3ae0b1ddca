//! Bearer tokens against sandbox Bink: verdicts, caching, coalescing and every outage.

use std::sync::Arc;
use std::time::Duration;

use bink_proxy::sandbox::bink::Fault;

use crate::common::*;

#[tokio::test]
async fn valid_token_reaches_the_upstream_as_its_user() {
    let s = Stack::default().await;
    let (status, echo) = s
        .upstream_view(s.client.get(s.url("/hello")).bearer_auth(ADA))
        .await;
    assert_eq!(status, 200);
    assert_eq!(header_values(&echo, "x-auth-request-user"), ["ada"]);
    assert_eq!(header_values(&echo, "x-bink-auth-method"), ["bearer"]);
    assert_eq!(s.bink.calls(), 1);
}

#[tokio::test]
async fn unknown_token_is_401_invalid_token_with_a_challenge() {
    let s = Stack::default().await;
    let r = s.get("/hello", "bink_pat_not_a_real_one").await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
}

#[tokio::test]
async fn malformed_authorization_is_401_and_never_reaches_bink() {
    let s = Stack::default().await;
    let long = "a".repeat(4097);
    let cases = [
        "Basic YWRhOnNlY3JldA==".to_string(),
        "Bearer".to_string(),
        "Bearer ".to_string(),
        "Bearer abc def".to_string(),
        "Bearer tok\"en".to_string(),
        "Bearer ===".to_string(),
        format!("Bearer {long}"),
    ];
    for value in &cases {
        let r = s
            .client
            .get(s.url("/hello"))
            .header("authorization", value)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{value:.40}");
    }
    assert_eq!(
        s.bink.calls(),
        0,
        "syntax-invalid tokens must never reach Bink"
    );
}

#[tokio::test]
async fn no_credentials_is_401_unauthenticated() {
    let s = Stack::default().await;
    let r = s.client.get(s.url("/hello")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "unauthenticated");
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let s = Stack::default().await;
    let r = s
        .client
        .get(s.url("/x"))
        .header("authorization", format!("bEaReR {ADA}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_requests_with_a_new_token_make_one_bink_call() {
    let s = Arc::new(Stack::default().await);
    s.bink.set_fault(Fault::Delay(Duration::from_millis(300)));
    let barrier = Arc::new(tokio::sync::Barrier::new(200));
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (s, barrier) = (s.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                s.get("/burst", BEN).await.status().as_u16()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(s.bink.calls(), 1);
}

#[tokio::test]
async fn warm_cache_makes_no_further_bink_calls() {
    let s = Stack::default().await;
    for _ in 0..20 {
        assert_eq!(s.get("/x", CLEO).await.status(), 200);
    }
    assert_eq!(s.bink.calls(), 1);
}

#[tokio::test]
async fn invalid_tokens_are_cached_negatively_for_their_ttl() {
    let s = Stack::start(Opts {
        tokens: "negative_cache_ttl = \"400ms\"".into(),
        ..Opts::default()
    })
    .await;
    for _ in 0..10 {
        assert_eq!(s.get("/x", "bink_pat_bogus").await.status(), 401);
    }
    assert_eq!(s.bink.calls(), 1);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(s.get("/x", "bink_pat_bogus").await.status(), 401);
    assert_eq!(
        s.bink.calls(),
        2,
        "negative entry expires after negative_cache_ttl"
    );
}

#[tokio::test]
async fn revocation_is_visible_after_cache_ttl() {
    let s = Stack::start(Opts {
        tokens: "cache_ttl = \"500ms\"".into(),
        ..Opts::default()
    })
    .await;
    assert_eq!(s.get("/x", ADA).await.status(), 200);
    s.bink.revoke(ADA);
    assert_eq!(s.get("/x", ADA).await.status(), 200, "still cached");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(s.get("/x", ADA).await.status(), 401);
}

async fn assert_outage(s: &Stack, token: &str) {
    let r = s.get("/x", token).await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "identity_provider_unavailable");
}

#[tokio::test]
async fn each_outage_kind_is_503_never_cached_and_recovers_at_once() {
    let s = Stack::start(Opts {
        bink: "timeout = \"300ms\"".into(),
        ..Opts::default()
    })
    .await;
    let faults = [
        Fault::Status(500),
        Fault::Status(502),
        Fault::Status(429),
        Fault::Garbage,
        Fault::Redirect,
        Fault::Delay(Duration::from_millis(800)),
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        let token = bink_proxy::sandbox::SAMPLE_USERS[i % 5].pat;
        s.bink.set_fault(fault);
        assert_outage(&s, token).await;
        assert_outage(&s, token).await;
        s.bink.set_fault(Fault::None);
        assert_eq!(
            s.get("/x", token).await.status(),
            200,
            "{fault:?}: recovery must be immediate"
        );
        // Make the next fault meet a fresh token.
        s.proxy.state.auth.identities.evict(token).await;
    }
}

#[tokio::test]
async fn unreachable_bink_is_503() {
    let closed = closed_port().await;
    let upstream = spawn_upstream().await;
    let toml = config_toml(&Opts::default(), closed, &format!("http://{upstream}"));
    let config = bink_proxy::config::Config::from_toml(&toml, &bink_proxy::config::NoEnv).unwrap();
    let proxy = bink_proxy::start(config, false).await.unwrap();
    let r = client()
        .get(format!("http://{}/x", proxy.addr))
        .bearer_auth(ADA)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    proxy.shutdown().await;
}

#[tokio::test]
async fn stale_if_error_serves_a_known_identity_through_an_outage_only() {
    let s = Stack::start(Opts {
        tokens: "cache_ttl = \"300ms\"\nstale_if_error = \"5s\"\nnegative_cache_ttl = \"100ms\""
            .into(),
        ..Opts::default()
    })
    .await;
    assert_eq!(s.get("/x", ADA).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.bink.set_fault(Fault::Status(503));
    let (status, echo) = s
        .upstream_view(s.client.get(s.url("/x")).bearer_auth(ADA))
        .await;
    assert_eq!(status, 200, "stale identity served while Bink is down");
    assert_eq!(header_values(&echo, "x-auth-request-user"), ["ada"]);
    assert_eq!(
        s.get("/x", BEN).await.status(),
        503,
        "never-seen token gets no access"
    );
    // A revoked token is not resurrected by a later outage.
    s.bink.set_fault(Fault::None);
    s.bink.revoke(ADA);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(s.get("/x", ADA).await.status(), 401);
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.bink.set_fault(Fault::Status(500));
    assert_eq!(
        s.get("/x", ADA).await.status(),
        503,
        "revoked, then an outage: no stale access"
    );
}

#[tokio::test]
async fn without_stale_if_error_an_expired_identity_is_not_used_in_an_outage() {
    let s = Stack::start(Opts {
        tokens: "cache_ttl = \"200ms\"".into(),
        ..Opts::default()
    })
    .await;
    assert_eq!(s.get("/x", ADA).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.bink.set_fault(Fault::Status(500));
    assert_outage(&s, ADA).await;
}

#[tokio::test]
async fn accept_bearer_false_leaves_authorization_to_the_application() {
    let s = Stack::start(Opts {
        tokens: "accept_bearer = false".into(),
        ..Opts::default()
    })
    .await;
    assert_eq!(s.get("/x", ADA).await.status(), 401);
    assert_eq!(s.bink.calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_bink_calls_are_capped_and_waiting_past_the_timeout_is_503() {
    let s = Arc::new(
        Stack::start(Opts {
            bink: "max_concurrent_calls = 2\ntimeout = \"1s\"".into(),
            ..Opts::default()
        })
        .await,
    );
    s.bink.set_fault(Fault::Delay(Duration::from_millis(400)));
    // Eight distinct unknown tokens at once: at most two calls run together; the rest
    // queue, and those that cannot get a slot within the Bink timeout get a 503.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.get("/x", &format!("bink_pat_flood_{i}"))
                    .await
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(
        s.bink.max_in_flight() <= 2,
        "max in flight {}",
        s.bink.max_in_flight()
    );
    assert!(
        statuses.iter().all(|&c| c == 401 || c == 503),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&401) && statuses.contains(&503),
        "{statuses:?}"
    );
    assert!(s.bink.calls() < 8);
}
