//! Identity headers: value encoding and injection.

use super::*;
use crate::http::header_map as map;
use crate::identity::fixtures::zoe as identity;
use crate::identity::Plan;

/// Adds the identity headers of §6, as the proxy path does for a cached identity.
fn inject_identity(headers: &mut HeaderMap, identity: &Identity, method: AuthMethod) {
    IdentityHeaders::of(identity).inject(headers, method);
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
fn shared_identity_headers_injected_twice_replace_rather_than_duplicate() {
    let mut fresh = HeaderMap::new();
    inject_identity(&mut fresh, &identity(), AuthMethod::Session);
    let shared = IdentityHeaders::of(&identity());
    let mut reused = HeaderMap::new();
    shared.inject(&mut reused, AuthMethod::Session);
    shared.inject(&mut reused, AuthMethod::Session);
    assert_eq!(fresh, reused, "injecting twice replaces, never duplicates");
}
