//! Bearer credentials: extracting them (RFC 6750 §2.1), the syntax check that keeps junk
//! away from Bink, and the keyed hash that stands in for a token as a cache key.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;

/// Longest token the proxy will send to Bink.
pub const MAX_TOKEN_LEN: usize = 4096;

/// What the `Authorization` header holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Credentials<'a> {
    None,
    Bearer(&'a str),
    /// Present but not `Bearer <token>`: another scheme, no token, or not text.
    Malformed,
}

/// Reads `Authorization`; the scheme is case-insensitive (RFC 7235 §2.1).
pub fn credentials(headers: &HeaderMap) -> Credentials<'_> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Credentials::None;
    };
    if values.next().is_some() {
        return Credentials::Malformed;
    }
    let Ok(value) = value.to_str() else {
        return Credentials::Malformed;
    };
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = token.trim_matches(' ');
            if token.is_empty() {
                Credentials::Malformed
            } else {
                Credentials::Bearer(token)
            }
        }
        _ => Credentials::Malformed,
    }
}

/// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`,
/// at most [`MAX_TOKEN_LEN`] bytes.
pub fn is_well_formed(token: &str) -> bool {
    let bytes = token.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_TOKEN_LEN {
        return false;
    }
    let body_len = bytes.len() - bytes.iter().rev().take_while(|&&b| b == b'=').count();
    body_len > 0
        && bytes[..body_len].iter().all(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// `first4…(len)`: how a token may appear in a log line.
pub fn fingerprint(token: &str) -> String {
    let head: String = token.chars().take(4).collect();
    format!("{head}…({})", token.len())
}

/// HMAC-SHA256 of a token under a key drawn at start-up, so the cache never holds raw
/// tokens and its keys are useless outside this process.
pub type TokenKey = [u8; 32];

#[derive(Clone)]
pub struct TokenHasher {
    mac: Hmac<Sha256>,
}

impl TokenHasher {
    pub fn random() -> TokenHasher {
        let key: [u8; 32] = rand::random();
        TokenHasher {
            mac: Hmac::new_from_slice(&key).expect("HMAC accepts any key length"),
        }
    }

    pub fn key(&self, token: &str) -> TokenKey {
        let mut mac = self.mac.clone();
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(v: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in v {
            h.append(
                http::header::AUTHORIZATION,
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(
            credentials(&headers(&["bearer abc"])),
            Credentials::Bearer("abc")
        );
        assert_eq!(
            credentials(&headers(&["BEARER abc"])),
            Credentials::Bearer("abc")
        );
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_malformed() {
        for v in [
            "Basic YWxhZGRpbjpvcGVu",
            "Bearer",
            "Bearer ",
            "Bearerabc",
            "token abc",
        ] {
            assert_eq!(credentials(&headers(&[v])), Credentials::Malformed, "{v}");
        }
        assert_eq!(
            credentials(&headers(&["Bearer a", "Bearer b"])),
            Credentials::Malformed
        );
        assert_eq!(credentials(&HeaderMap::new()), Credentials::None);
    }

    #[test]
    fn syntax_check_follows_rfc6750_b64token() {
        assert!(is_well_formed("bink_pat_abc-DEF.123~+/=="));
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("=="));
        assert!(!is_well_formed("abc def"));
        assert!(!is_well_formed("abc=def"));
        assert!(!is_well_formed("tok\u{e9}n"));
        assert!(!is_well_formed(&"a".repeat(MAX_TOKEN_LEN + 1)));
        assert!(is_well_formed(&"a".repeat(MAX_TOKEN_LEN)));
    }

    #[test]
    fn keyed_hash_depends_on_the_process_key() {
        let (a, b) = (TokenHasher::random(), TokenHasher::random());
        assert_eq!(a.key("t"), a.key("t"));
        assert_ne!(a.key("t"), a.key("u"));
        assert_ne!(a.key("t"), b.key("t"));
    }

    #[test]
    fn fingerprint_shows_four_characters_and_the_length() {
        assert_eq!(fingerprint("bink_secret_value"), "bink…(17)");
    }
}
