//! Client-header hygiene: which names count as identity headers, hop-by-hop and
//! forwarding-header removal.

use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST};

use super::*;
use crate::http::header_map as map;
use crate::http::names::*;
use crate::identity::fixtures::zoe as identity;
use crate::identity::wire::IdentityHeaders;
use crate::identity::{AuthMethod, Identity};

/// Adds the identity headers of §6, as the proxy path does for a cached identity.
fn inject_identity(headers: &mut HeaderMap, identity: &Identity, method: AuthMethod) {
    IdentityHeaders::of(identity).inject(headers, method);
}

fn names(h: &HeaderMap) -> Vec<&str> {
    let mut v: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
    v.sort_unstable();
    v
}

// ---- is_identity_header ---------------------------------------------------------------

#[test]
fn identity_header_matches_the_names_the_proxy_sets() {
    for name in [
        "x-auth-request-user",
        "x-auth-request-email",
        "x-auth-request-preferred-username",
        "x-bink-user-id",
        "x-bink-name",
        "x-bink-plan",
        "x-bink-verification-level",
        "x-bink-auth-method",
        "x-bink-assertion",
        "x-forwarded-access-token",
    ] {
        assert!(is_identity_header(name), "{name}");
    }
}

#[test]
fn identity_header_match_ignores_case() {
    for name in [
        "X-AUTH-REQUEST-USER",
        "X-Auth-Request-Email",
        "X-Bink-User-Id",
        "x-BINK-plan",
        "X-Forwarded-Access-Token",
        "X-FORWARDED-USER",
    ] {
        assert!(is_identity_header(name), "{name}");
    }
}

#[test]
fn identity_header_match_reads_underscore_as_dash() {
    for name in [
        "X_Auth_Request_User",
        "x_bink_anything",
        "X-Bink_User_Id",
        "x_forwarded_email",
        "X_FORWARDED_ACCESS_TOKEN",
    ] {
        assert!(is_identity_header(name), "{name}");
    }
}

#[test]
fn identity_header_match_covers_unknown_names_under_the_prefixes() {
    for name in [
        "X-Bink-Admin",
        "x-bink-",
        "x-auth-request-groups",
        "x-auth-request-",
    ] {
        assert!(is_identity_header(name), "{name}");
    }
}

#[test]
fn identity_header_match_covers_forwarded_user_email_and_token() {
    for name in [
        "x-forwarded-user",
        "x-forwarded-email",
        "x-forwarded-access-token",
    ] {
        assert!(is_identity_header(name), "{name}");
    }
}

#[test]
fn identity_header_match_covers_very_long_names_under_the_prefix() {
    // Past the 64-byte canonicalisation buffer: still starts with x-bink-, still ours.
    let long = format!("x-bink-{}", "a".repeat(93));
    assert_eq!(long.len(), 100);
    assert!(is_identity_header(&long));
    let long_underscored = format!("X_Auth_Request_{}", "B".repeat(85));
    assert!(is_identity_header(&long_underscored));
}

#[test]
fn identity_header_match_rejects_lookalikes_and_ordinary_headers() {
    for name in [
        "x-binky",
        "x-bink",
        "x-binkuser-id",
        "x-auth-request",
        "x-auth-requestor",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-users",
        "x-forwarded-user-agent",
        "x-forwarded-email2",
        "authorization",
        "cookie",
        "content-type",
        "",
    ] {
        assert!(!is_identity_header(name), "{name}");
    }
}

#[test]
fn identity_header_match_rejects_long_names_extending_exact_ones() {
    // The exact names must match exactly, even when the name overflows the 64-byte buffer.
    let long = format!("x-forwarded-user{}", "x".repeat(84));
    assert_eq!(long.len(), 100);
    assert!(!is_identity_header(&long));
    let prefix_64 = format!("{}{}", "y".repeat(48), "x-forwarded-user");
    assert!(!is_identity_header(&prefix_64));
}

// ---- strip_identity_headers -----------------------------------------------------------

#[test]
fn strip_removes_every_identity_header_and_keeps_the_rest() {
    let mut h = map(&[
        ("x-auth-request-user", "admin"),
        ("x_auth_request_email", "root@acme.com"),
        ("x-bink-admin", "true"),
        ("x-bink-user-id", "u-1"),
        ("x-bink-user-id", "u-2"),
        ("x-forwarded-user", "admin"),
        ("x-forwarded-email", "root@acme.com"),
        ("x-forwarded-access-token", "stolen"),
        ("x-forwarded-for", "1.2.3.4"),
        ("x-binky", "kept"),
        ("authorization", "Bearer t"),
        ("content-type", "text/plain"),
    ]);
    strip_identity_headers(&mut h);
    assert_eq!(
        names(&h),
        [
            "authorization",
            "content-type",
            "x-binky",
            "x-forwarded-for"
        ]
    );
}

#[test]
fn strip_on_a_map_without_identity_headers_changes_nothing() {
    let mut h = map(&[("accept", "*/*"), ("cookie", "a=b"), ("cookie", "c=d")]);
    let before = h.clone();
    strip_identity_headers(&mut h);
    assert_eq!(h, before);
}

// ---- remove_hop_by_hop ----------------------------------------------------------------

#[test]
fn remove_hop_by_hop_removes_the_fixed_list() {
    let mut h = map(&[
        ("connection", "keep-alive"),
        ("keep-alive", "timeout=5"),
        ("proxy-connection", "keep-alive"),
        ("proxy-authenticate", "Basic"),
        ("proxy-authorization", "Basic Zm9vOmJhcg=="),
        ("te", "trailers"),
        ("trailer", "x-checksum"),
        ("transfer-encoding", "chunked"),
        ("upgrade", "websocket"),
        ("content-type", "application/json"),
    ]);
    remove_hop_by_hop(&mut h);
    assert_eq!(names(&h), ["content-type"]);
}

#[test]
fn remove_connection_header_is_case_insensitive() {
    let mut h = map(&[
        ("connection", "X-Custom-Hop, KEEP-ALIVE"),
        ("connection", "x-OTHER-hop"),
        ("x-custom-hop", "1"),
        ("x-other-hop", "2"),
        ("keep-alive", "timeout=5"),
        ("x-end-to-end", "3"),
    ]);
    remove_hop_by_hop(&mut h);
    assert_eq!(names(&h), ["x-end-to-end"]);
}

#[test]
fn remove_hop_by_hop_keeps_end_to_end_headers() {
    let mut h = map(&[
        ("host", "app.example"),
        ("authorization", "Bearer t"),
        ("cookie", "a=b"),
        ("content-type", "text/html"),
        ("content-length", "10"),
        ("accept-encoding", "gzip"),
        ("x-request-id", "r-1"),
    ]);
    let before = h.clone();
    remove_hop_by_hop(&mut h);
    assert_eq!(h, before);
}

#[test]
fn connection_naming_an_identity_header_cannot_remove_the_injected_one() {
    // The order fixed by the module: hop-by-hop first, strip, then inject.
    let mut h = map(&[
        ("connection", "X-Auth-Request-User, x-bink-user-id"),
        ("x-auth-request-user", "forged"),
    ]);
    remove_hop_by_hop(&mut h);
    strip_identity_headers(&mut h);
    inject_identity(&mut h, &identity(), AuthMethod::Bearer);
    assert_eq!(h[&X_AUTH_REQUEST_USER], "zoe");
    assert_eq!(h[&X_BINK_USER_ID], "u-42");
}

#[test]
fn connection_with_junk_tokens_is_tolerated() {
    let mut h = map(&[
        ("connection", " , close,, bad token ,x-gone"),
        ("x-gone", "1"),
        ("x-kept", "2"),
    ]);
    remove_hop_by_hop(&mut h);
    assert_eq!(names(&h), ["x-kept"]);
}

#[test]
fn upgrade_request_needs_both_upgrade_and_connection_upgrade() {
    assert!(is_upgrade_request(&map(&[
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "websocket"),
    ])));
    assert!(!is_upgrade_request(&map(&[("upgrade", "websocket")])));
    assert!(!is_upgrade_request(&map(&[("connection", "upgrade")])));
}

#[test]
fn restore_upgrade_puts_back_connection_and_upgrade() {
    let mut h = map(&[("connection", "upgrade"), ("upgrade", "websocket")]);
    let upgrade = h[UPGRADE].clone();
    remove_hop_by_hop(&mut h);
    assert!(h.is_empty());
    restore_upgrade(&mut h, upgrade);
    assert!(is_upgrade_request(&h));
    assert_eq!(h[UPGRADE], "websocket");
}

#[test]
fn identity_headers_injected_are_all_identity_headers() {
    // Whatever the proxy adds, it would also strip from a client: no name escapes the rule.
    let mut h = HeaderMap::new();
    inject_identity(&mut h, &identity(), AuthMethod::Bearer);
    for name in h.keys() {
        assert!(is_identity_header(name.as_str()), "{name}");
    }
    assert!(is_identity_header(X_FORWARDED_ACCESS_TOKEN.as_str()));
    assert!(is_identity_header(X_BINK_ASSERTION.as_str()));
}

#[test]
fn unrelated_request_headers_survive_the_whole_hygiene_pass() {
    let mut h = map(&[
        ("host", "app.example"),
        ("authorization", "Bearer t"),
        ("cookie", "a=b"),
        ("content-type", "application/json"),
        ("x-bink-user-id", "forged"),
    ]);
    remove_hop_by_hop(&mut h);
    strip_identity_headers(&mut h);
    inject_identity(&mut h, &identity(), AuthMethod::Bearer);
    assert_eq!(h[HOST], "app.example");
    assert_eq!(h[AUTHORIZATION], "Bearer t");
    assert_eq!(h[COOKIE], "a=b");
    assert_eq!(h[CONTENT_TYPE], "application/json");
    assert_eq!(h[&X_BINK_USER_ID], "u-42");
}

// ---- per-connection and per-identity values ---------------------------------------------

#[test]
fn forgeable_forwarding_headers_are_removed_in_any_spelling() {
    let mut h = map(&[
        ("forwarded", "for=1.2.3.4;host=evil"),
        ("x-forwarded-port", "443"),
        ("x-forwarded-prefix", "/admin"),
        ("x-forwarded-server", "evil"),
        ("x-real-ip", "1.2.3.4"),
        ("X_Real_IP", "1.2.3.4"),
        ("x-original-url", "/admin"),
        ("x-rewrite-url", "/admin"),
        ("x-original-uri", "/admin"),
        ("x-forwarded-uri", "/admin"),
        ("x_forwarded_for", "1.2.3.4"),
        ("x-forwarded-fork", "kept"),
        ("accept", "*/*"),
    ]);
    strip_forwarding_headers(&mut h);
    assert_eq!(names(&h), ["accept", "x-forwarded-fork"]);
}

#[test]
fn h2c_is_recognised_in_an_upgrade_list() {
    for v in ["h2c", "H2C", "websocket, h2c", "h2c/1"] {
        assert!(names_h2c(&HeaderValue::from_static(v)), "{v}");
    }
    assert!(!names_h2c(&HeaderValue::from_static("websocket")));
}
