//! The request path is decided once: what policy matches (`decoded`) is exactly what the
//! upstream receives (`encoded`), and `decoded` is fully normalised.
#![no_main]

use std::str::FromStr;

use bink_proxy::http::path::normalize;
use http::uri::PathAndQuery;
use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let Ok(p) = normalize(&s) else {
        return;
    };
    let d = &p.decoded;

    // `decoded` is normalised: absolute, no empty / `.` / `..` segments, no controls.
    assert!(d.starts_with('/'), "{s:?} -> {p:?}: not absolute");
    assert!(!d.contains("//"), "{s:?} -> {p:?}: empty segment");
    for seg in d.split('/') {
        assert!(seg != "." && seg != "..", "{s:?} -> {p:?}: dot segment");
    }
    assert!(
        !d.chars().any(char::is_control),
        "{s:?} -> {p:?}: control char"
    );
    assert!(!d.contains('\\'), "{s:?} -> {p:?}: backslash");

    // What the upstream receives normalises to exactly the same thing (idempotent) ...
    assert_eq!(
        normalize(&p.encoded),
        Ok(p.clone()),
        "{s:?}: forwarded path normalises differently"
    );
    // ... and a single percent-decoding of it (what the upstream does) is what policy
    // matched.
    let upstream = percent_decode_str(&p.encoded)
        .decode_utf8()
        .unwrap_or_else(|e| panic!("{s:?} -> {p:?}: encoded is not UTF-8: {e}"));
    assert_eq!(
        &*upstream,
        d.as_str(),
        "{s:?}: upstream decodes to another path"
    );

    // The encoded form is a plain path on the wire: no query or fragment smuggled in.
    let pq = PathAndQuery::from_str(&p.encoded)
        .unwrap_or_else(|e| panic!("{s:?} -> {p:?}: not a valid request path: {e}"));
    assert_eq!(pq.path(), p.encoded, "{s:?} -> {p:?}");
    assert_eq!(pq.query(), None, "{s:?} -> {p:?}: query in forwarded path");
});
