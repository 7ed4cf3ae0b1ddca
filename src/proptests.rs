//! Property tests for the functions that stand between arbitrary input and a security
//! decision: `rd` validation, path normalisation, header-name matching and cookie
//! opening. Arbitrary input must never panic, never yield an off-site redirect, never
//! make policy and upstream see different paths, and never open a forged cookie.

use proptest::prelude::*;
use url::Url;

use crate::auth::session::cookies::split_cookie_pairs;
use crate::auth::session::seal::{Purpose, Sealer};
use crate::http::path::normalize;
use crate::http::redirect::safe_redirect;
use crate::proxy::headers::{is_forwarding_header, is_identity_header, strip_identity_headers};
use crate::proxy::scrub_client_headers;

/// Strings rich in the characters that matter for URLs and paths.
fn urlish() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "/",
        "//",
        "\\",
        ".",
        "..",
        "%",
        "%2f",
        "%2F",
        "%5c",
        "%2e",
        "%252e",
        "%00",
        "%0a",
        "%09",
        "?",
        "#",
        "@",
        ":",
        "http:",
        "javascript:",
        "evil.com",
        "a",
        "public",
        "admin",
        ";",
        " ",
        "\t",
        "é",
        "%C3%A9",
        "%ff",
        "~",
    ]);
    prop::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn redirects_never_leave_the_origin(rd in prop_oneof![urlish(), any::<String>()]) {
        let target = safe_redirect(Some(&rd));
        prop_assert!(target.starts_with('/') && !target.starts_with("//") && !target.starts_with("/\\"));
        let base = Url::parse("https://app.example.com/").unwrap();
        let resolved = base.join(target).unwrap();
        prop_assert_eq!(resolved.host_str(), Some("app.example.com"));
        prop_assert_eq!(resolved.scheme(), "https");
    }

    #[test]
    fn normalised_paths_are_canonical_and_forwarded_as_matched(raw in prop_oneof![urlish(), any::<String>()]) {
        if let Ok(p) = normalize(&raw) {
            prop_assert!(p.decoded.starts_with('/'));
            prop_assert!(!p.decoded.contains("//"));
            for segment in p.decoded.split('/') {
                prop_assert!(segment != "." && segment != "..", "dot segment left in {:?}", p.decoded);
            }
            prop_assert!(!p.decoded.chars().any(char::is_control));
            // What the upstream receives decodes to exactly what policy matched.
            let again = normalize(&p.encoded);
            prop_assert_eq!(again, Ok(p.clone()));
            // A skip_auth rule on /public/ can only match what the upstream sees as /public/.
            let upstream_sees = percent_encoding::percent_decode_str(&p.encoded).decode_utf8().unwrap().into_owned();
            prop_assert_eq!(upstream_sees.starts_with("/public/"), p.decoded.starts_with("/public/"));
        }
    }

    #[test]
    fn identity_header_names_match_after_canonicalisation(name in "[A-Za-z0-9_-]{1,80}") {
        let canon = name.to_ascii_lowercase().replace('_', "-");
        let expected = canon.starts_with("x-bink-")
            || canon.starts_with("x-auth-request-")
            || ["x-forwarded-access-token", "x-forwarded-user", "x-forwarded-email"].contains(&canon.as_str());
        prop_assert_eq!(is_identity_header(&name), expected, "{}", name);
    }

    #[test]
    fn arbitrary_cookie_values_never_open(value in any::<String>()) {
        let sealer = Sealer::new(&[9; 32]);
        prop_assert!(sealer.open(Purpose::Session, "_bink_session", &value).is_none());
    }

    #[test]
    fn any_single_change_to_a_sealed_cookie_is_rejected(plain in any::<Vec<u8>>(), index in any::<usize>(), replacement in "[A-Za-z0-9_-]") {
        let sealer = Sealer::new(&[9; 32]);
        let sealed = sealer.seal(Purpose::Session, "_bink_session", &plain);
        let i = index % sealed.len();
        let mut forged: Vec<char> = sealed.chars().collect();
        let r = replacement.chars().next().unwrap();
        prop_assume!(forged[i] != r);
        forged[i] = r;
        let forged: String = forged.into_iter().collect();
        prop_assert!(sealer.open(Purpose::Session, "_bink_session", &forged).is_none());
        prop_assert_eq!(sealer.open(Purpose::Session, "_bink_session", &sealed), Some(plain));
    }

    #[test]
    fn cookie_pairs_split_exactly_as_the_cookie_crate(header in cookieish()) {
        let ours: Vec<(&str, &str)> = split_cookie_pairs(&header).collect();
        let crate_pairs: Vec<cookie::Cookie<'_>> =
            cookie::Cookie::split_parse(header.as_str()).filter_map(Result::ok).collect();
        let theirs: Vec<(&str, &str)> = crate_pairs.iter().map(|c| (c.name(), c.value())).collect();
        prop_assert_eq!(ours, theirs, "{:?}", header);
    }
}

/// Header names a client might use to smuggle identity or forwarding information: every
/// name the proxy owns or strips, in odd spellings, plus ordinary ones.
fn client_header() -> impl Strategy<Value = (String, String)> {
    let names = prop::sample::select(vec![
        "x-auth-request-user",
        "X_Auth_Request_Email",
        "x-bink-user-id",
        "X-BINK-ADMIN",
        "x_bink_plan",
        "x-forwarded-user",
        "X-Forwarded-Email",
        "x-forwarded-access-token",
        "forwarded",
        "Forwarded",
        "x-forwarded-for",
        "X_Forwarded_For",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-port",
        "x-forwarded-prefix",
        "x-forwarded-server",
        "x-real-ip",
        "X_Real_Ip",
        "x-original-url",
        "x-rewrite-url",
        "x-original-uri",
        "x-forwarded-uri",
        "x-forwarded-method",
        "connection",
        "upgrade",
        "http2-settings",
        "keep-alive",
        "te",
        "accept",
        "x-request-id",
        "authorization",
        "cookie",
    ]);
    let values = prop::sample::select(vec![
        "admin",
        "h2c",
        "websocket",
        "upgrade, x-auth-request-user",
        "close, x-forwarded-host",
        "Bearer bink_pat_forged",
        "for=6.6.6.6",
        "1",
        "upgrade, http2-settings",
    ]);
    (
        prop_oneof![names.prop_map(String::from), "[A-Za-z_-]{1,24}"],
        values.prop_map(String::from),
    )
}

proptest! {
    /// Whatever a client sends, after the proxy's hygiene no header names an identity or
    /// forwarding header (the proxy writes its own after this step), and no h2c upgrade or
    /// unvalidated Bink token on a skip-auth route is left.
    #[test]
    fn no_client_identity_or_forwarding_header_survives(
        sent in prop::collection::vec(client_header(), 0..24),
        skip_auth in any::<bool>(),
    ) {
        let mut h = http::HeaderMap::new();
        for (name, value) in &sent {
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value),
            ) {
                h.append(n, v);
            }
        }
        strip_identity_headers(&mut h);
        scrub_client_headers(&mut h, skip_auth, false);
        for name in h.keys() {
            prop_assert!(!is_identity_header(name.as_str()), "{name} survived");
            prop_assert!(!is_forwarding_header(name.as_str()), "{name} survived");
        }
        for v in h.get_all(http::header::UPGRADE) {
            prop_assert!(!v.as_bytes().eq_ignore_ascii_case(b"h2c"));
        }
        if skip_auth {
            for v in h.get_all(http::header::AUTHORIZATION) {
                prop_assert!(!v.as_bytes().ends_with(b"bink_pat_forged"));
            }
        }
    }
}

/// Cookie headers rich in separators, spacing and odd pieces.
fn cookieish() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        ";",
        "; ",
        "=",
        " ",
        "\t",
        "\u{a0}",
        "\u{2003}",
        "a",
        "_bink_session",
        "__Host-",
        "\"",
        "x=y",
        "é",
        "==",
        ";;",
        "Path=/",
        "%3B",
    ]);
    prop::collection::vec(
        prop_oneof![pieces.prop_map(String::from), any::<String>()],
        0..12,
    )
    .prop_map(|v| v.concat())
}
