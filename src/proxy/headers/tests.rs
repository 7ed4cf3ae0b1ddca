//! Header hygiene: which names count as identity headers, hop-by-hop removal, value
//! encoding, identity injection and `X-Forwarded-For`.

use std::net::{IpAddr, Ipv4Addr};

use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST};

use super::*;
use crate::identity::Plan;

fn map(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    h
}

/// Adds the identity headers of §6, as the proxy path does for a cached identity.
fn inject_identity(headers: &mut HeaderMap, identity: &Identity, method: AuthMethod) {
    IdentityHeaders::of(identity).inject(headers, method);
}

fn names(h: &HeaderMap) -> Vec<&str> {
    let mut v: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
    v.sort_unstable();
    v
}

fn identity() -> Identity {
    Identity {
        id: "u-42".into(),
        name: Some("Zoë Example".into()),
        email: Some("zoe@acme.com".into()),
        username: Some("zoe".into()),
        avatar: None,
        plan: Plan::Business,
        verification_level: 2,
    }
}

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));

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

// ---- encode_value ---------------------------------------------------------------------

#[test]
fn encode_value_percent_encodes_non_ascii_as_utf8() {
    assert_eq!(encode_value("Zoë"), "Zo%C3%AB");
    assert_eq!(encode_value("日本"), "%E6%97%A5%E6%9C%AC");
}

#[test]
fn encode_value_encodes_cr_lf_nul_and_other_controls() {
    assert_eq!(
        encode_value("a\r\nX-Bink-User-Id: root"),
        "a%0D%0AX-Bink-User-Id: root"
    );
    assert_eq!(encode_value("a\0b"), "a%00b");
    assert_eq!(encode_value("tab\there"), "tab%09here");
    assert_eq!(encode_value("del\x7f"), "del%7F");
}

#[test]
fn encode_value_encodes_percent_so_decoding_is_unambiguous() {
    assert_eq!(encode_value("100%"), "100%25");
    assert_eq!(encode_value("%C3%AB"), "%25C3%25AB");
}

#[test]
fn encode_value_keeps_printable_ascii() {
    let printable: String = (0x20u8..0x7f)
        .map(char::from)
        .filter(|&c| c != '%')
        .collect();
    assert_eq!(encode_value(&printable), printable.as_str());
    assert_eq!(encode_value(""), "");
}

#[test]
fn encode_value_never_fails_and_never_emits_unsafe_bytes() {
    let nasty = [
        "\u{0}\u{1}\u{1f}\u{7f}\u{80}\u{ff}",
        "\r\n\r\n",
        "\u{feff}\u{202e}\u{fffd}😀",
        "\n",
        " leading and trailing ",
    ];
    for text in nasty {
        let v = encode_value(text);
        assert!(
            v.as_bytes().iter().all(|&b| (0x20..0x7f).contains(&b)),
            "{text:?} -> {v:?}"
        );
        assert!(v.to_str().is_ok());
    }
}

// ---- inject_identity ------------------------------------------------------------------

#[test]
fn inject_identity_sets_every_header_of_a_full_profile() {
    let mut h = HeaderMap::new();
    inject_identity(&mut h, &identity(), AuthMethod::Session);
    assert_eq!(h[&X_AUTH_REQUEST_USER], "zoe");
    assert_eq!(h[&X_AUTH_REQUEST_EMAIL], "zoe@acme.com");
    assert_eq!(h[&X_AUTH_REQUEST_PREFERRED_USERNAME], "zoe");
    assert_eq!(h[&X_BINK_USER_ID], "u-42");
    assert_eq!(h[&X_BINK_NAME], "Zo%C3%AB Example");
    assert_eq!(h[&X_BINK_PLAN], "BUSINESS");
    assert_eq!(h[&X_BINK_VERIFICATION_LEVEL], "2");
    assert_eq!(h[&X_BINK_AUTH_METHOD], "session");
    assert!(!h.contains_key(&X_FORWARDED_ACCESS_TOKEN));
    assert!(!h.contains_key(&X_BINK_ASSERTION));
    assert_eq!(h.len(), 8);
}

#[test]
fn inject_identity_omits_null_fields_and_uses_id_when_username_is_null() {
    let sparse = Identity {
        id: "u-7".into(),
        name: None,
        email: None,
        username: None,
        avatar: None,
        plan: Plan::Free,
        verification_level: 0,
    };
    let mut h = HeaderMap::new();
    inject_identity(&mut h, &sparse, AuthMethod::Bearer);
    assert_eq!(h[&X_AUTH_REQUEST_USER], "u-7");
    assert_eq!(h[&X_BINK_USER_ID], "u-7");
    assert!(!h.contains_key(&X_AUTH_REQUEST_EMAIL));
    assert!(!h.contains_key(&X_AUTH_REQUEST_PREFERRED_USERNAME));
    assert!(!h.contains_key(&X_BINK_NAME));
    assert_eq!(h[&X_BINK_PLAN], "FREE");
    assert_eq!(h[&X_BINK_VERIFICATION_LEVEL], "0");
    assert_eq!(h[&X_BINK_AUTH_METHOD], "bearer");
}

#[test]
fn inject_identity_keeps_empty_fields_as_empty_values_and_each_value_in_its_place() {
    // The values share one buffer: an empty one must neither vanish nor shift the next.
    let odd = Identity {
        id: "%".into(),
        name: Some(String::new()),
        email: Some(String::new()),
        username: Some("a%b".into()),
        avatar: None,
        plan: Plan::Verified,
        verification_level: 1,
    };
    let mut h = HeaderMap::new();
    inject_identity(&mut h, &odd, AuthMethod::Bearer);
    assert_eq!(h[&X_AUTH_REQUEST_USER], "a%25b");
    assert_eq!(h[&X_AUTH_REQUEST_EMAIL], "");
    assert_eq!(h[&X_AUTH_REQUEST_PREFERRED_USERNAME], "a%25b");
    assert_eq!(h[&X_BINK_USER_ID], "%25");
    assert_eq!(h[&X_BINK_NAME], "");
    assert_eq!(h[&X_BINK_PLAN], "VERIFIED");
    assert_eq!(h[&X_BINK_VERIFICATION_LEVEL], "1");
    assert_eq!(h.len(), 8);
}

#[test]
fn inject_identity_replaces_rather_than_duplicates() {
    let mut h = map(&[
        ("x-bink-user-id", "forged"),
        ("x-auth-request-user", "forged"),
    ]);
    inject_identity(&mut h, &identity(), AuthMethod::Bearer);
    assert_eq!(h.get_all(&X_BINK_USER_ID).iter().count(), 1);
    assert_eq!(h.get_all(&X_AUTH_REQUEST_USER).iter().count(), 1);
    assert_eq!(h[&X_BINK_USER_ID], "u-42");
}

#[test]
fn inject_identity_encodes_hostile_profile_values() {
    let hostile = Identity {
        id: "u\r\nX-Evil: 1".into(),
        name: Some("N\0ame".into()),
        email: Some("a@b.c\nX-Bink-Plan: BUSINESS".into()),
        username: Some("Zoë".into()),
        avatar: None,
        plan: Plan::Free,
        verification_level: 0,
    };
    let mut h = HeaderMap::new();
    inject_identity(&mut h, &hostile, AuthMethod::Bearer);
    assert_eq!(h[&X_BINK_USER_ID], "u%0D%0AX-Evil: 1");
    assert_eq!(h[&X_BINK_NAME], "N%00ame");
    assert_eq!(h[&X_AUTH_REQUEST_EMAIL], "a@b.c%0AX-Bink-Plan: BUSINESS");
    assert_eq!(h[&X_AUTH_REQUEST_USER], "Zo%C3%AB");
    assert_eq!(h[&X_BINK_PLAN], "FREE");
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

// ---- X-Forwarded-For and client IP ----------------------------------------------------

#[test]
fn forwarded_for_with_no_trusted_hops_ignores_client_xff() {
    let h = map(&[("x-forwarded-for", "6.6.6.6, 7.7.7.7")]);
    assert_eq!(forwarded_for(&h, 0, PEER), "10.0.0.9");
    assert_eq!(forwarded_for(&HeaderMap::new(), 0, PEER), "10.0.0.9");
}

#[test]
fn forwarded_for_with_one_trusted_hop_keeps_the_last_entry() {
    let h = map(&[("x-forwarded-for", "6.6.6.6, 203.0.113.5")]);
    assert_eq!(forwarded_for(&h, 1, PEER), "203.0.113.5, 10.0.0.9");
}

#[test]
fn forwarded_for_reads_entries_across_repeated_headers() {
    let h = map(&[
        ("x-forwarded-for", "6.6.6.6"),
        ("x-forwarded-for", "198.51.100.1, 203.0.113.5"),
    ]);
    assert_eq!(
        forwarded_for(&h, 2, PEER),
        "198.51.100.1, 203.0.113.5, 10.0.0.9"
    );
}

#[test]
fn forwarded_for_with_more_trusted_hops_than_entries_keeps_them_all() {
    let h = map(&[("x-forwarded-for", "203.0.113.5")]);
    assert_eq!(forwarded_for(&h, 3, PEER), "203.0.113.5, 10.0.0.9");
    assert_eq!(forwarded_for(&HeaderMap::new(), 3, PEER), "10.0.0.9");
}

#[test]
fn forwarded_for_appends_an_ipv6_peer() {
    let peer: IpAddr = "2001:db8::1".parse().unwrap();
    let h = map(&[("x-forwarded-for", "203.0.113.5")]);
    assert_eq!(forwarded_for(&h, 1, peer), "203.0.113.5, 2001:db8::1");
}

#[test]
fn client_ip_with_no_trusted_hops_is_the_peer() {
    let h = map(&[("x-forwarded-for", "6.6.6.6")]);
    assert_eq!(client_ip(&h, 0, PEER), PEER);
}

#[test]
fn client_ip_counts_trusted_hops_from_the_right() {
    let h = map(&[("x-forwarded-for", "6.6.6.6, 198.51.100.1, 203.0.113.5")]);
    assert_eq!(
        client_ip(&h, 1, PEER),
        "203.0.113.5".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        client_ip(&h, 2, PEER),
        "198.51.100.1".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn client_ip_falls_back_to_the_peer_when_xff_is_short_missing_or_garbage() {
    let short = map(&[("x-forwarded-for", "203.0.113.5")]);
    assert_eq!(client_ip(&short, 2, PEER), PEER);
    assert_eq!(client_ip(&HeaderMap::new(), 1, PEER), PEER);
    let garbage = map(&[("x-forwarded-for", "6.6.6.6, not-an-ip")]);
    assert_eq!(client_ip(&garbage, 1, PEER), PEER);
}

#[test]
fn client_ip_agrees_with_forwarded_for_on_the_trusted_entry() {
    // forwarded_for skips empty entries; client_ip must pick the same address from them.
    let h = map(&[("x-forwarded-for", "6.6.6.6, 203.0.113.5,")]);
    assert_eq!(forwarded_for(&h, 1, PEER), "203.0.113.5, 10.0.0.9");
    assert_eq!(
        client_ip(&h, 1, PEER),
        "203.0.113.5".parse::<IpAddr>().unwrap()
    );
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
fn ip_value_formats_v4_v6_and_the_longest_v6_form() {
    for ip in [
        "127.0.0.1",
        "::1",
        "2001:db8::1",
        "::ffff:255.255.255.255",
        "1234:5678:9abc:def0:1234:5678:9abc:def0",
    ] {
        let parsed: IpAddr = ip.parse().unwrap();
        assert_eq!(ip_value(parsed), parsed.to_string().as_str(), "{ip}");
    }
}

#[test]
fn shared_identity_headers_injected_twice_replace_rather_than_duplicate() {
    let mut fresh = HeaderMap::new();
    inject_identity(&mut fresh, &identity(), AuthMethod::Session);
    let shared = IdentityHeaders::of(&identity());
    let mut reused = HeaderMap::new();
    shared.inject(&mut reused, AuthMethod::Session);
    shared.inject(&mut reused, AuthMethod::Session);
    assert_eq!(fresh, reused, "injecting twice replaces, never duplicates");
}

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

#[test]
fn client_ip_counts_across_several_forwarded_for_lines() {
    let mut h = HeaderMap::new();
    h.append(
        "x-forwarded-for",
        HeaderValue::from_static("6.6.6.6, 198.51.100.1"),
    );
    h.append("x-forwarded-for", HeaderValue::from_static("203.0.113.5"));
    let at = |hops| client_ip(&h, hops, PEER);
    assert_eq!(at(1), "203.0.113.5".parse::<IpAddr>().unwrap());
    assert_eq!(at(2), "198.51.100.1".parse::<IpAddr>().unwrap());
    assert_eq!(at(3), "6.6.6.6".parse::<IpAddr>().unwrap());
    assert_eq!(at(4), PEER);
}
