//! `[access]` through the proxy: allow-lists, rules, and skip_auth that no encoding trick
//! can stretch to another path.

use bink_proxy::identity::{Identity, Plan};

use crate::common::*;

fn user(id: &str, email: Option<&str>) -> Identity {
    Identity {
        id: id.into(),
        name: None,
        email: email.map(Into::into),
        username: Some(id.into()),
        avatar: None,
        plan: Plan::Free,
        verification_level: 0,
    }
}

#[tokio::test]
async fn email_domain_allow_list_is_exact_and_case_insensitive() {
    let s = Stack::start(Opts {
        access: "allowed_email_domains = [\"acme.com\"]".into(),
        ..Opts::default()
    })
    .await;
    let cases = [
        ("x@acme.com", 200),
        ("X@ACME.COM", 200),
        ("x@evilacme.com", 403),
        ("x@acme.com.evil.io", 403),
        ("x@sub.acme.com", 403),
        ("acme.com@evil.io", 403),
    ];
    for (i, (email, want)) in cases.into_iter().enumerate() {
        let token = format!("bink_pat_policy_{i}");
        s.bink
            .add_token(&token, user(&format!("u{i}"), Some(email)));
        let r = s.get("/x", &token).await;
        assert_eq!(r.status(), want, "{email}");
        if want == 403 {
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["error"], "forbidden");
        }
    }
    assert_eq!(
        s.get("/x", GHOST).await.status(),
        403,
        "null email is never in a domain"
    );
    assert_eq!(s.get("/x", BEN).await.status(), 200);
}

#[tokio::test]
async fn plans_levels_and_rules_compose() {
    let s = Stack::start(Opts {
        access: "allowed_plans = [\"VERIFIED\", \"BUSINESS\"]\n\
                 [[access.rules]]\npath = \"^/admin/\"\nmin_verification_level = 2\nallowed_plans = [\"BUSINESS\"]\n\
                 [[access.rules]]\npath = \"^/admin/\"\nallowed_plans = [\"FREE\"]\n\
                 [[access.rules]]\npath = \"^/free/\"\nallowed_plans = []\n"
            .into(),
        ..Opts::default()
    })
    .await;
    let matrix = [
        (ADA, "/app", 403),
        (BEN, "/app", 200),
        (CLEO, "/app", 200),
        (BEN, "/admin/x", 403),
        (ZOE, "/admin/x", 403), // business but level 1
        (CLEO, "/admin/x", 200),
        (ADA, "/admin/x", 403), // the second /admin/ rule never applies: first match wins
        (ADA, "/free/x", 200),  // a rule clearing a key lifts that restriction
    ];
    for (token, path, want) in matrix {
        assert_eq!(s.get(path, token).await.status(), want, "{token} {path}");
    }
}

#[tokio::test]
async fn browser_navigation_gets_an_html_403_page() {
    let s = Stack::start(Opts {
        access: "allowed_usernames = [\"cleo\"]".into(),
        ..Opts::default()
    })
    .await;
    let r = s
        .client
        .get(s.url("/x"))
        .bearer_auth(ADA)
        .header("accept", "text/html,application/xhtml+xml")
        .header("sec-fetch-mode", "navigate")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(r.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn skip_auth_cannot_be_stretched_by_traversal_or_encoding() {
    let s = Stack::start(Opts {
        access: "skip_auth = [\"^/public/\", \"GET ^/healthz$\"]".into(),
        ..Opts::default()
    })
    .await;
    // Positive controls.
    let (status, echo) = s.upstream_view(s.client.get(s.url("/public/a"))).await;
    assert_eq!(status, 200);
    assert_eq!(echo["uri"], "/public/a");
    assert_eq!(
        s.client
            .get(s.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        s.client
            .post(s.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "method prefix"
    );

    // Traversal resolves to /admin, which needs auth: 401, never forwarded.
    for path in [
        "/public/../admin",
        "/public/%2e%2e/admin",
        "/public/%2E%2E/admin",
        "/public/./../admin",
    ] {
        let raw = raw_get(&s, path).await;
        assert!(raw.starts_with("HTTP/1.1 401"), "{path}: {raw}");
    }
    // Encodings servers disagree on: rejected outright.
    for path in [
        "/public/..%2Fadmin",
        "/public/..%2fadmin",
        "/public%2F..%2Fadmin",
        "/public/..%5Cadmin",
        "/public/..\\admin",
        "/public/..;/admin",
        "/public/%00/x",
    ] {
        let raw = raw_get(&s, path).await;
        assert!(raw.starts_with("HTTP/1.1 400"), "{path}: {raw}");
    }
    // The upstream sees exactly the path that was matched.
    let (status, echo) = s.upstream_view(s.client.get(s.url("/public//x/./y"))).await;
    assert_eq!(status, 200);
    assert_eq!(echo["uri"], "/public/x/y");
    // With a token the traversal lands on /admin, and that is what is forwarded.
    let (status, echo) = s
        .upstream_view(
            s.client
                .get(s.url("/public/%2e%2e/admin?q=1"))
                .bearer_auth(ADA),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(echo["uri"], "/admin?q=1");
}

/// reqwest would normalise some of these paths itself; send them verbatim.
async fn raw_get(s: &Stack, path: &str) -> String {
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    raw_exchange(
        s.proxy.addr,
        req.as_bytes(),
        std::time::Duration::from_secs(5),
    )
    .await
}
