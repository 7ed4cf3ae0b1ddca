//! `Cookie` headers of arbitrary bytes (browsers send an app's non-ASCII cookies raw):
//!
//! 1. never a panic;
//! 2. the session cookie is found whenever a readable `_bink_session=` piece is present,
//!    whatever unreadable pieces surround it;
//! 3. after `strip_from`, the header holds exactly the pieces that are not the proxy's,
//!    byte for byte and in order (none of ours, none of the app's lost).
#![no_main]

use std::time::Duration;

use bink_proxy::auth::session::cookies::{request_cookie, CookieJarConfig};
use bink_proxy::config::{SessionConfig, SessionStore};
use http::header::{HeaderValue, COOKIE};
use http::HeaderMap;
use libfuzzer_sys::fuzz_target;

fn pieces(header: &[u8]) -> Vec<&[u8]> {
    header
        .split(|&b| b == b';')
        .map(<[u8]>::trim_ascii)
        .filter(|p| !p.is_empty())
        .collect()
}

fn readable_name(piece: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(piece).ok()?;
    if !text.bytes().all(|b| b == b' ' || b == b'\t' || (0x21..0x7f).contains(&b)) {
        return None;
    }
    let (name, _) = text.split_once('=')?;
    Some(name.trim()).filter(|n| !n.is_empty())
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let jar = CookieJarConfig::new(&SessionConfig {
        cookie_name: "_bink_session".into(),
        cookie_secret: None,
        cookie_secure: false,
        cookie_domain: None,
        lifetime: Duration::from_secs(60),
        revalidate_after: Duration::from_secs(60),
        store: SessionStore::Cookie,
    });
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, value);

    let original = pieces(data);
    let has_session = original
        .iter()
        .any(|p| readable_name(p) == Some("_bink_session"));
    assert_eq!(
        request_cookie(&headers, "_bink_session").is_some(),
        has_session,
        "{data:?}"
    );

    jar.strip_from(&mut headers);
    let expected: Vec<&[u8]> = original
        .iter()
        .copied()
        .filter(|p| !readable_name(p).is_some_and(|n| jar.is_ours(n)))
        .collect();
    let kept: Vec<u8> = headers
        .get(COOKIE)
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    if original.iter().any(|p| readable_name(p).is_some_and(|n| jar.is_ours(n))) {
        assert_eq!(pieces(&kept), expected, "{data:?}");
    } else {
        // Nothing of ours: the header is left exactly as sent.
        assert_eq!(kept, data, "{data:?}");
    }
});
