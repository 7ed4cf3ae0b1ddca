//! The Redis session store against the real Redis (`BINK_PROXY_TEST_REDIS`, default
//! redis://127.0.0.1:6379). These tests fail — never skip — when Redis is missing.

use reqwest::cookie::CookieStore;
use sha2::{Digest, Sha256};

use crate::common::*;
use crate::signin::{browser, location, login};

fn redis_url() -> String {
    std::env::var("BINK_PROXY_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn redis_opts() -> Opts {
    Opts {
        sign_in: true,
        session: format!("store = \"redis\"\nredis_url = \"{}\"", redis_url()),
        ..Opts::default()
    }
}

fn session_cookie(jar: &reqwest::cookie::Jar, s: &Stack) -> String {
    let header = jar.cookies(&s.url("/").parse().unwrap()).expect("cookies");
    header
        .to_str()
        .unwrap()
        .split("; ")
        .find_map(|c| c.strip_prefix("_bink_session="))
        .expect("session cookie")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_sessions_and_sign_out_ends_them_everywhere() {
    let sandboxes = bink_proxy::sandbox::Sandboxes::spawn(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let upstream = spawn_upstream().await;
    let a = Stack::start_with(redis_opts(), sandboxes.clone(), upstream).await;
    let b = Stack::start_with(redis_opts(), sandboxes.clone(), upstream).await;
    let ready: serde_json::Value = a
        .client
        .get(a.url("/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ready["checks"]["redis"], "up",
        "Redis must be running for this suite: {ready}"
    );

    let (browser_a, jar) = browser();
    assert_eq!(login(&a, &browser_a, "/", "cleo").await.status(), 302);
    let id = session_cookie(&jar, &a);
    assert_eq!(id.len(), 43, "the cookie carries only a random id");

    // What Redis holds: under a hash of the id, sealed, with a TTL.
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("bink-proxy:session:{:x}", Sha256::digest(id.as_bytes()));
    let stored: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    let stored = stored.expect("session stored in Redis");
    assert!(
        !stored.contains("usr_cleo") && !stored.contains("bink_oauth_"),
        "sealed, not clear text"
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 3600, "ttl {ttl}");

    // The other instance knows the session.
    let copied = format!("_bink_session={id}");
    let (_, echo) = b
        .upstream_view(b.client.get(b.url("/x")).header("cookie", &copied))
        .await;
    assert_eq!(header_values(&echo, "x-auth-request-user"), ["cleo"]);

    // Sign-out on A ends it on B too, even for a copied cookie.
    let r = browser_a
        .get(a.url("/oauth2/sign_out"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), a.url("/"));
    let stored: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(stored.is_none(), "server-side entry deleted");
    let r = b
        .client
        .get(b.url("/x"))
        .header("cookie", &copied)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = a
        .client
        .get(a.url("/x"))
        .header("cookie", &copied)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn redis_down_is_503_for_sessions_while_bearer_traffic_flows() {
    let closed = closed_port().await;
    let s = Stack::start(Opts {
        sign_in: true,
        session: format!("store = \"redis\"\nredis_url = \"redis://{closed}\""),
        ..Opts::default()
    })
    .await;
    let fake_id = "A".repeat(43);
    let r = s
        .client
        .get(s.url("/x"))
        .header("cookie", format!("_bink_session={fake_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "session_store_unavailable");
    assert_eq!(
        s.get("/x", ADA).await.status(),
        200,
        "bearer traffic is unaffected"
    );
    let r = s.client.get(s.url("/ready")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["checks"]["redis"], "down");
    assert!(body["message"].as_str().unwrap().contains("redis"));
    // A login cannot complete without the store: a 503 page, not a half session.
    let (b, _) = browser();
    let r = login(&s, &b, "/", "ada").await;
    assert_eq!(r.status(), 503);
}
