//! No client-sent identity header reaches the upstream, whatever its spelling.
//!
//! 1. `is_identity_header` agrees with an independent reference on arbitrary strings.
//! 2. `strip_identity_headers` on a HeaderMap built from the input leaves no identity
//!    header behind and removes nothing else.
#![no_main]

use bink_proxy::proxy::headers::{is_identity_header, strip_identity_headers};
use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use libfuzzer_sys::fuzz_target;

/// Header names are ASCII-case-insensitive (RFC 9110 §5.1); `_` counts as `-` because
/// CGI/WSGI/nginx(`underscores_in_headers`) fold them together.
fn reference(name: &str) -> bool {
    let canon = name.to_ascii_lowercase().replace('_', "-");
    canon.starts_with("x-bink-")
        || canon.starts_with("x-auth-request-")
        || canon == "x-forwarded-access-token"
        || canon == "x-forwarded-user"
        || canon == "x-forwarded-email"
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);

    // The whole input, and every line of it, as a name.
    assert_eq!(is_identity_header(&s), reference(&s), "{s:?}");

    let mut map = HeaderMap::new();
    let mut kept = Vec::new();
    for (i, line) in s.split('\n').enumerate() {
        assert_eq!(is_identity_header(line), reference(line), "{line:?}");
        // Also try the line upper-cased with every '-' swapped for '_', so
        // mixed spellings show up without the fuzzer having to find them.
        for candidate in [line.to_owned(), line.replace('-', "_").to_ascii_uppercase()] {
            if let Ok(name) = HeaderName::from_bytes(candidate.as_bytes()) {
                assert_eq!(
                    is_identity_header(name.as_str()),
                    reference(name.as_str()),
                    "{name:?}"
                );
                map.append(name.clone(), HeaderValue::from(i as u64));
                if !reference(name.as_str()) {
                    kept.push(name);
                }
            }
        }
    }

    strip_identity_headers(&mut map);

    for name in map.keys() {
        assert!(
            !reference(name.as_str()),
            "{name:?} survived strip_identity_headers (input {s:?})"
        );
    }
    for name in &kept {
        assert!(
            map.contains_key(name),
            "{name:?} wrongly stripped (input {s:?})"
        );
    }
});
