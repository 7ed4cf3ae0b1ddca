//! `rd`: where to send the browser after sign-in or sign-out. Only a local path is ever
//! accepted (SPEC §4); anything else becomes `/`. The checks run on the raw value and on
//! every percent-decoding of it, so `%2F%2Fevil.com` or `%5Cevil.com` cannot sneak a host
//! past a browser that decodes differently (oauth2-proxy's `testdata/openredirects.txt`).

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use url::Url;

/// Decoding rounds after which a value is rejected rather than decoded again.
const MAX_DECODE_ROUNDS: usize = 4;

/// The longest `rd` kept. It is sealed into the CSRF cookie with the state and verifier,
/// and browsers drop a cookie over 4,096 bytes, which would fail the sign-in only after
/// the round trip to Bink (SPEC §4).
pub const MAX_RD_BYTES: usize = 2048;

/// `rd` when it is a safe local path no longer than [`MAX_RD_BYTES`], else `/`.
pub fn safe_redirect(rd: Option<&str>) -> &str {
    match rd {
        Some(rd) if rd.len() <= MAX_RD_BYTES && is_local_path(rd) => rd,
        _ => "/",
    }
}

/// [`safe_redirect`], also accepting an absolute `rd` on exactly `public_url`'s origin as
/// its path and query: Traefik's `errors` middleware can only pass the absolute URL, and
/// the deep link should survive sign-in. Any other origin still becomes `/`.
pub fn redirect_target(rd: Option<&str>, public_url: &Url) -> String {
    let Some(rd) = rd else {
        return "/".into();
    };
    if rd.starts_with('/') || rd.len() > MAX_RD_BYTES {
        return safe_redirect(Some(rd)).to_string();
    }
    let Ok(absolute) = Url::parse(rd) else {
        return "/".into();
    };
    let same_origin = absolute.origin() == public_url.origin()
        && absolute.username().is_empty()
        && absolute.password().is_none();
    if !same_origin {
        return "/".into();
    }
    let mut local = absolute.path().to_string();
    if let Some(query) = absolute.query() {
        local.push('?');
        local.push_str(query);
    }
    safe_redirect(Some(&local)).to_string()
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
    fn a_long_rd_becomes_the_root() {
        let long = format!("/deep?{}", "q".repeat(3000));
        assert_eq!(safe_redirect(Some(&long)), "/");
        let fits = format!("/deep?{}", "q".repeat(MAX_RD_BYTES - 6));
        assert_eq!(safe_redirect(Some(&fits)), fits);
    }

    #[test]
    fn an_absolute_rd_on_the_public_origin_keeps_its_path_and_query() {
        let public = Url::parse("https://app.example.com/").unwrap();
        let t = |rd: &str| redirect_target(Some(rd), &public);
        assert_eq!(t("https://app.example.com/deep/link?a=1"), "/deep/link?a=1");
        assert_eq!(t("https://APP.example.com:443/x"), "/x");
        assert_eq!(t("/local?b=2"), "/local?b=2");
        for other in [
            "http://app.example.com/x",
            "https://app.example.com:8443/x",
            "https://app.example.com.evil.io/x",
            "https://evil.com/x",
            "https://user@app.example.com/x",
            "javascript:alert(1)",
            "//app.example.com/x",
            "https://app.example.com//evil.com",
        ] {
            assert_eq!(t(other), "/", "{other}");
        }
        assert_eq!(redirect_target(None, &public), "/");
    }

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
