//! What the upstream receives: forged identity headers stripped everywhere, trusted ones
//! injected, encoded safely, and the signed assertion verifiable with the JWKS.

use bink_proxy::identity::{Identity, Plan};

use crate::common::*;

const FORGED: &[(&str, &str)] = &[
    ("X-Auth-Request-User", "admin"),
    ("x-auth-request-email", "admin@acme.com"),
    ("X-AUTH-REQUEST-PREFERRED-USERNAME", "admin"),
    ("X_Auth_Request_User", "admin"),
    ("x_bink_user_id", "usr_admin"),
    ("X-Bink-Plan", "BUSINESS"),
    ("X-Bink-Verification-Level", "2"),
    ("X-Bink-Admin", "true"),
    ("X-Bink-Assertion", "forged.jwt.value"),
    ("X-Auth-Request-Groups", "admins"),
    ("X-Forwarded-User", "admin"),
    ("X-Forwarded-Email", "admin@acme.com"),
    ("X-Forwarded-Access-Token", "stolen"),
];

fn with_forged(mut rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    for (k, v) in FORGED {
        rb = rb.header(*k, *v);
    }
    rb
}

fn assert_no_forgery(echo: &serde_json::Value) {
    let text = echo["headers"].to_string();
    for bad in ["admin", "usr_admin", "forged.jwt.value", "stolen", "admins"] {
        assert!(
            !text.contains(bad),
            "forged value {bad} reached the upstream: {text}"
        );
    }
    let names = header_names(echo);
    for n in &names {
        assert!(
            !n.contains('_'),
            "underscore variant {n} reached the upstream"
        );
    }
    assert!(!names.iter().any(|n| n == "x-bink-admin"));
}

#[tokio::test]
async fn forged_identity_headers_never_reach_the_upstream() {
    let s = Stack::default().await;
    let (status, echo) = s
        .upstream_view(with_forged(s.client.get(s.url("/x")).bearer_auth(ADA)))
        .await;
    assert_eq!(status, 200);
    assert_no_forgery(&echo);
    // Ours are present exactly once.
    assert_eq!(header_values(&echo, "x-auth-request-user"), ["ada"]);
    assert_eq!(header_values(&echo, "x-bink-plan"), ["FREE"]);
    assert_eq!(header_values(&echo, "x-bink-verification-level"), ["0"]);
    assert_eq!(header_values(&echo, "x-bink-user-id"), ["usr_ada"]);
}

#[tokio::test]
async fn forged_headers_are_stripped_on_skip_auth_routes_too() {
    let s = Stack::start(Opts {
        access: "skip_auth = [\"^/public/\"]".into(),
        ..Opts::default()
    })
    .await;
    let (status, echo) = s
        .upstream_view(with_forged(s.client.get(s.url("/public/page"))))
        .await;
    assert_eq!(status, 200);
    assert_no_forgery(&echo);
    assert!(
        header_values(&echo, "x-auth-request-user").is_empty(),
        "skip-auth carries no identity"
    );
    assert_eq!(s.bink.calls(), 0);
}

#[tokio::test]
async fn connection_header_cannot_remove_injected_identity_headers() {
    let s = Stack::default().await;
    let rb = s
        .client
        .get(s.url("/x"))
        .bearer_auth(ADA)
        .header(
            "connection",
            "X-Auth-Request-User, X-Bink-User-Id, x-custom",
        )
        .header("x-custom", "hop");
    let (status, echo) = s.upstream_view(rb).await;
    assert_eq!(status, 200);
    assert_eq!(header_values(&echo, "x-auth-request-user"), ["ada"]);
    assert_eq!(header_values(&echo, "x-bink-user-id"), ["usr_ada"]);
    assert!(
        header_values(&echo, "x-custom").is_empty(),
        "headers named in Connection are hop-by-hop"
    );
}

#[tokio::test]
async fn non_ascii_is_percent_encoded_and_null_fields_are_omitted() {
    let s = Stack::default().await;
    let (_, echo) = s
        .upstream_view(s.client.get(s.url("/x")).bearer_auth(ZOE))
        .await;
    assert_eq!(
        header_values(&echo, "x-bink-name"),
        ["Zo%C3%AB %C3%85ngstr%C3%B6m"]
    );
    let (_, echo) = s
        .upstream_view(s.client.get(s.url("/x")).bearer_auth(GHOST))
        .await;
    assert_eq!(
        header_values(&echo, "x-auth-request-user"),
        ["usr_ghost"],
        "id when username is null"
    );
    assert!(header_values(&echo, "x-auth-request-email").is_empty());
    assert!(header_values(&echo, "x-auth-request-preferred-username").is_empty());
    assert!(header_values(&echo, "x-bink-name").is_empty());
}

#[tokio::test]
async fn cr_lf_in_profile_fields_cannot_inject_headers() {
    let s = Stack::default().await;
    s.bink.add_token(
        "bink_pat_eve",
        Identity {
            id: "usr_eve\r\nX-Bink-Admin: 1".into(),
            name: Some("Eve\r\nX-Auth-Request-User: admin\0".into()),
            email: Some("eve@example.com\nX-Evil: 1".into()),
            username: Some("eve\rX".into()),
            avatar: None,
            plan: Plan::Free,
            verification_level: 0,
        },
    );
    let (status, echo) = s
        .upstream_view(s.client.get(s.url("/x")).bearer_auth("bink_pat_eve"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        header_values(&echo, "x-bink-name"),
        ["Eve%0D%0AX-Auth-Request-User: admin%00"]
    );
    assert_eq!(header_values(&echo, "x-auth-request-user"), ["eve%0DX"]);
    let names = header_names(&echo);
    assert!(!names.contains(&"x-bink-admin".to_string()));
    assert!(!names.contains(&"x-evil".to_string()));
}

#[tokio::test]
async fn authorization_is_removed_unless_pass_authorization() {
    let s = Stack::default().await;
    let (_, echo) = s
        .upstream_view(s.client.get(s.url("/x")).bearer_auth(ADA))
        .await;
    assert!(header_values(&echo, "authorization").is_empty());
    assert!(header_values(&echo, "x-forwarded-access-token").is_empty());

    let s = Stack::start(Opts {
        headers: "pass_authorization = true\npass_access_token = true".into(),
        ..Opts::default()
    })
    .await;
    let (_, echo) = s
        .upstream_view(s.client.get(s.url("/x")).bearer_auth(ADA))
        .await;
    assert_eq!(
        header_values(&echo, "authorization"),
        [format!("Bearer {ADA}")]
    );
    assert_eq!(header_values(&echo, "x-forwarded-access-token"), [ADA]);
}

#[tokio::test]
async fn x_forwarded_headers_come_from_the_connection_not_the_client() {
    let s = Stack::default().await;
    let rb = s
        .client
        .get(s.url("/x"))
        .bearer_auth(ADA)
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "evil.example");
    let (_, echo) = s.upstream_view(rb).await;
    assert_eq!(header_values(&echo, "x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(header_values(&echo, "x-forwarded-proto"), ["http"]);
    assert_eq!(
        header_values(&echo, "x-forwarded-host"),
        [s.proxy.addr.to_string()]
    );

    let s = Stack::start(Opts {
        server: "trusted_proxy_hops = 1".into(),
        ..Opts::default()
    })
    .await;
    let rb = s
        .client
        .get(s.url("/x"))
        .bearer_auth(ADA)
        .header("x-forwarded-for", "6.6.6.6, 10.0.0.7");
    let (_, echo) = s.upstream_view(rb).await;
    assert_eq!(
        header_values(&echo, "x-forwarded-for"),
        ["10.0.0.7, 127.0.0.1"]
    );
}

#[tokio::test]
async fn identity_assertion_verifies_against_the_published_jwks() {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let s = Stack::start(Opts {
        headers: "identity_jwt = true".into(),
        ..Opts::default()
    })
    .await;
    let (_, echo) = s
        .upstream_view(s.client.get(s.url("/x")).bearer_auth(CLEO))
        .await;
    let jwt = header_values(&echo, "x-bink-assertion")
        .pop()
        .expect("assertion header");
    let jwks: serde_json::Value = s
        .client
        .get(s.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = &jwks["keys"][0];
    let key =
        DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
            .unwrap();
    let mut v = Validation::new(Algorithm::ES256);
    v.set_audience(&[format!("http://{}", s.upstream_addr)]);
    v.set_issuer(&["http://localhost:4180"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(&jwt, &key, &v)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], "usr_cleo");
    assert_eq!(claims["plan"], "BUSINESS");
    assert_eq!(claims["verification_level"], 2);
    assert_eq!(claims["email"], "cleo@acme.com");

    // A forged assertion from the client is replaced, not passed along.
    let rb = s
        .client
        .get(s.url("/x"))
        .bearer_auth(CLEO)
        .header("x-bink-assertion", "eyJforged");
    let (_, echo) = s.upstream_view(rb).await;
    let values = header_values(&echo, "x-bink-assertion");
    assert_eq!(values.len(), 1);
    assert!(!values[0].starts_with("eyJforged"));
}

#[tokio::test]
async fn jwks_is_404_when_identity_jwt_is_off() {
    let s = Stack::default().await;
    let r = s
        .client
        .get(s.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
