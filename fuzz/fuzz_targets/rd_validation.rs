//! `rd` (post-sign-in redirect) must never leave the origin.
//!
//! Whatever `safe_redirect` returns for arbitrary input is a local path: it starts with
//! one `/` (not `//`, not `/\`), and a browser resolving it against our origin (WHATWG
//! URL parser, `url` crate) stays on that origin.
#![no_main]

use bink_proxy::http::redirect::safe_redirect;
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let r = safe_redirect(Some(&s));

    // Either the input unchanged (accepted) or the fallback `/`.
    assert!(
        r == s || r == "/",
        "{s:?} -> {r:?}: neither the input nor /"
    );

    assert!(r.starts_with('/'), "{s:?} -> {r:?}: not a path");
    assert!(!r.starts_with("//"), "{s:?} -> {r:?}: scheme-relative");
    assert!(
        !r.starts_with("/\\"),
        "{s:?} -> {r:?}: /\\ is // to browsers"
    );

    let base = Url::parse("https://app.example.com/").unwrap();
    let url = base
        .join(r)
        .unwrap_or_else(|e| panic!("{s:?} -> {r:?}: browser cannot resolve it: {e}"));
    assert_eq!(url.host_str(), Some("app.example.com"), "{s:?} -> {r:?}");
    assert_eq!(url.scheme(), "https", "{s:?} -> {r:?}");
    assert_eq!(url.port(), None, "{s:?} -> {r:?}");
    assert!(
        url.username().is_empty() && url.password().is_none(),
        "{s:?} -> {r:?}: userinfo"
    );
});
