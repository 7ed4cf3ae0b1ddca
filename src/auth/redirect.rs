//! `rd`: where to send the browser after sign-in or sign-out. Only a local path is ever
//! accepted (SPEC §4); anything else becomes `/`. The checks run on the raw value and on
//! every percent-decoding of it, so `%2F%2Fevil.com` or `%5Cevil.com` cannot sneak a host
//! past a browser that decodes differently (oauth2-proxy's `testdata/openredirects.txt`).

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use url::Url;

/// Decoding rounds after which a value is rejected rather than decoded again.
const MAX_DECODE_ROUNDS: usize = 4;

/// `rd` when it is a safe local path, else `/`.
pub fn safe_redirect(rd: Option<&str>) -> &str {
    match rd {
        Some(rd) if is_local_path(rd) => rd,
        _ => "/",
    }
}

/// True when `rd` is a path on this origin in every decoding of it.
pub fn is_local_path(rd: &str) -> bool {
    let mut current = Cow::Borrowed(rd);
    for _ in 0..MAX_DECODE_ROUNDS {
        if !is_plain_local_path(&current) {
            return false;
        }
        let decoded = match percent_decode_str(&current).decode_utf8() {
            Ok(d) => d.into_owned(),
            Err(_) => return false,
        };
        if decoded == current {
            return true;
        }
        current = Cow::Owned(decoded);
    }
    false
}

fn is_plain_local_path(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.first() == Some(&b'/')
        && bytes.get(1) != Some(&b'/')
        && !s.contains('\\')
        && !s.chars().any(|c| c.is_control() || c.is_whitespace())
        && resolves_on_this_origin(s)
}

/// The WHATWG URL parser (what browsers use) must agree that `s` stays on our origin.
fn resolves_on_this_origin(s: &str) -> bool {
    const BASE: &str = "http://proxy.invalid/";
    let Ok(base) = Url::parse(BASE) else {
        return false;
    };
    match base.join(s) {
        Ok(url) => {
            url.scheme() == "http"
                && url.host_str() == Some("proxy.invalid")
                && url.port().is_none()
                && url.username().is_empty()
                && url.password().is_none()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_kept() {
        for rd in [
            "/",
            "/app",
            "/app/page?x=1&y=%2F",
            "/a/b#frag",
            "/caf%C3%A9",
        ] {
            assert_eq!(safe_redirect(Some(rd)), rd);
        }
    }

    #[test]
    fn anything_with_a_host_or_scheme_becomes_root() {
        for rd in [
            "//evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            "https://evil.com",
            "javascript:alert(1)",
            "/%2F%2Fevil.com",
            "/%2f/evil.com",
            "/%5Cevil.com",
            "/%09/evil.com",
            "/ /evil.com",
            "%2F%2Fevil.com",
            "/%252F%252Fevil.com",
            "evil.com",
            "",
            "/a\nb",
            "/%0d%0aSet-Cookie:x=1",
        ] {
            assert_eq!(safe_redirect(Some(rd)), "/", "{rd:?}");
        }
        assert_eq!(safe_redirect(None), "/");
    }

    #[test]
    fn the_open_redirect_corpus_never_leaves_the_origin() {
        let corpus = include_str!("../../tests/data/openredirects.txt");
        let mut lines = 0;
        for line in corpus.lines() {
            lines += 1;
            let rd = safe_redirect(Some(line));
            // Whatever survives must resolve on our origin for a browser.
            let url = Url::parse("https://app.example.com/")
                .unwrap()
                .join(rd)
                .unwrap();
            assert_eq!(
                url.host_str(),
                Some("app.example.com"),
                "{line:?} -> {rd:?}"
            );
            assert!(
                rd.starts_with('/') && !rd.starts_with("//") && !rd.contains('\\'),
                "{line:?}"
            );
        }
        assert_eq!(lines, 559);
    }
}
