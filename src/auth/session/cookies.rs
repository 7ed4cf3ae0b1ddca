//! The proxy's cookies: names, flags, parsing the `Cookie` header, and removing them from
//! what the upstream receives. Built and parsed with the `cookie` crate.

use std::time::Duration;

use cookie::{Cookie, SameSite};
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

use crate::config::SessionConfig;

/// Sign-ins that may be pending at once per browser (one CSRF cookie each).
pub const MAX_PENDING_LOGINS: usize = 5;
/// Lifetime of a pending sign-in.
pub const CSRF_TTL: Duration = Duration::from_secs(600);

/// Names and flags for every cookie the proxy sets.
#[derive(Debug, Clone)]
pub struct CookieJarConfig {
    /// Full session cookie name (with `__Host-` when applicable).
    pub session_name: String,
    /// Prefix of the per-login CSRF cookies.
    pub csrf_prefix: String,
    pub secure: bool,
    pub domain: Option<String>,
}

impl CookieJarConfig {
    pub fn new(config: &SessionConfig) -> CookieJarConfig {
        // `__Host-` pins the cookie to this exact origin over HTTPS (RFC 6265bis §4.1.3.2);
        // it is only allowed with Secure, Path=/ and no Domain.
        let prefix = if config.cookie_secure && config.cookie_domain.is_none() {
            "__Host-"
        } else {
            ""
        };
        CookieJarConfig {
            session_name: format!("{prefix}{}", config.cookie_name),
            csrf_prefix: format!("{prefix}{}_csrf_", config.cookie_name),
            secure: config.cookie_secure,
            domain: config.cookie_domain.clone(),
        }
    }

    /// The CSRF cookie name for one pending login, derived from its state.
    pub fn csrf_name(&self, login_id: &str) -> String {
        format!("{}{login_id}", self.csrf_prefix)
    }

    fn build<'a>(&self, name: String, value: String, max_age: Option<Duration>) -> Cookie<'a> {
        let mut c = Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax);
        if let Some(domain) = &self.domain {
            c = c.domain(domain.clone());
        }
        if let Some(age) = max_age {
            c = c.max_age(cookie::time::Duration::seconds(age.as_secs() as i64));
        }
        c.build()
    }

    /// `Set-Cookie` for the session. Session-lifetime bound by `max_age`.
    pub fn session_cookie(&self, value: String, max_age: Duration) -> HeaderValue {
        to_header(self.build(self.session_name.clone(), value, Some(max_age)))
    }

    pub fn csrf_cookie(&self, name: String, value: String) -> HeaderValue {
        to_header(self.build(name, value, Some(CSRF_TTL)))
    }

    /// `Set-Cookie` that deletes `name` (same attributes, so the browser matches it).
    pub fn clear(&self, name: &str) -> HeaderValue {
        let mut c = self.build(name.to_string(), String::new(), Some(Duration::ZERO));
        c.set_expires(cookie::time::OffsetDateTime::UNIX_EPOCH);
        to_header(c)
    }

    pub fn is_ours(&self, name: &str) -> bool {
        name == self.session_name || name.starts_with(&self.csrf_prefix)
    }

    /// Removes the proxy's cookies from the `Cookie` header(s) the upstream will receive.
    /// Every other pair reaches the upstream byte for byte, including pairs this proxy
    /// cannot read (raw non-ASCII such as `pref=Zoë`, which browsers send as is).
    pub fn strip_from(&self, headers: &mut HeaderMap) {
        // Parsed in place; the header is rebuilt only when one of ours is there.
        if !cookie_pairs(headers).any(|(name, _)| self.is_ours(name)) {
            return;
        }
        let mut kept: Vec<u8> = Vec::new();
        for piece in cookie_pieces(headers)
            .filter(|piece| !readable_pair(piece).is_some_and(|(name, _)| self.is_ours(name)))
        {
            if !kept.is_empty() {
                kept.extend_from_slice(b"; ");
            }
            kept.extend_from_slice(piece);
        }
        headers.remove(COOKIE);
        if !kept.is_empty() {
            if let Ok(v) = HeaderValue::from_bytes(&kept) {
                headers.insert(COOKIE, v);
            }
        }
    }
}

fn to_header(c: Cookie<'_>) -> HeaderValue {
    // Names and values are base64url or fixed ASCII, so this never fails in practice.
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Every `name=value` pair in the request's `Cookie` headers (HTTP/2 may split them).
pub fn request_cookies(headers: &HeaderMap) -> impl Iterator<Item = (String, String)> + '_ {
    cookie_pairs(headers).map(|(name, value)| (name.to_string(), value.to_string()))
}

/// Every readable cookie in the request's `Cookie` headers as `(name, value)`, borrowed
/// from the headers. Read pair by pair: a pair with bytes outside visible ASCII (an app's
/// own `pref=Zoë`, sent raw) is skipped alone and never hides the pairs around it (SPEC
/// §5; reading the whole header as text used to lose the session and CSRF cookies).
fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> + '_ {
    cookie_pieces(headers).filter_map(readable_pair)
}

/// Every non-empty `;`-separated piece of the `Cookie` headers, trimmed, as raw bytes.
pub(crate) fn cookie_pieces(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> + '_ {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b';'))
        .map(<[u8]>::trim_ascii)
        .filter(|piece| !piece.is_empty())
}

/// A piece as `(name, value)` when it is text this proxy can read (visible ASCII and
/// spaces) with a non-empty name; trimmed like [`split_cookie_pairs`].
pub(crate) fn readable_pair(piece: &[u8]) -> Option<(&str, &str)> {
    if !piece
        .iter()
        .all(|&b| b == b' ' || b == b'\t' || (0x21..0x7f).contains(&b))
    {
        return None;
    }
    let text = std::str::from_utf8(piece).ok()?;
    split_cookie_pairs(text)
        .next()
        .filter(|_| text.split(';').count() == 1)
}

/// A `Cookie` header value split into pairs exactly as `cookie::Cookie::split_parse` does
/// (a property test holds the two together): pieces between `;`, trimmed; the name is what
/// precedes the first `=`, trimmed and not empty; pieces without `=` are skipped. Done here
/// because the crate builds a full `Cookie` per piece and scans every character of it for
/// whitespace, which made cookie parsing the largest cost of a signed-in request after the
/// HMAC (three passes over a ~400-byte session cookie; benches/README.md).
pub(crate) fn split_cookie_pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|piece| {
        let (name, value) = piece.trim().split_once('=')?;
        let name = name.trim();
        (!name.is_empty()).then(|| (name, value.trim()))
    })
}

/// The value of cookie `name`, if sent (the first, when a browser sends duplicates).
pub fn request_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    cookie_pairs(headers)
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SessionConfig, SessionStore};

    fn config(secure: bool, domain: Option<&str>) -> CookieJarConfig {
        CookieJarConfig::new(&SessionConfig {
            cookie_name: "_bink_session".into(),
            cookie_secret: None,
            cookie_secure: secure,
            cookie_domain: domain.map(Into::into),
            lifetime: Duration::from_secs(3600),
            revalidate_after: Duration::from_secs(300),
            store: SessionStore::Cookie,
        })
    }

    #[test]
    fn secure_cookie_without_domain_gets_the_host_prefix_and_all_flags() {
        let jar = config(true, None);
        let v = jar.session_cookie("abc".into(), Duration::from_secs(60));
        let v = v.to_str().unwrap();
        assert!(v.starts_with("__Host-_bink_session=abc"), "{v}");
        for flag in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=60"] {
            assert!(v.contains(flag), "{flag} missing: {v}");
        }
        assert!(!v.contains("Domain"));
    }

    #[test]
    fn insecure_or_domain_cookies_have_no_prefix() {
        let v = config(false, None).session_cookie("x".into(), Duration::from_secs(1));
        let v = v.to_str().unwrap();
        assert!(
            v.starts_with("_bink_session=x") && !v.contains("Secure"),
            "{v}"
        );
        let v =
            config(true, Some("example.com")).session_cookie("x".into(), Duration::from_secs(1));
        assert!(v.to_str().unwrap().contains("Domain=example.com"));
    }

    #[test]
    fn proxy_cookies_are_stripped_and_others_kept() {
        let jar = config(true, None);
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("a=1; __Host-_bink_session=s; b=2"),
        );
        h.append(
            COOKIE,
            HeaderValue::from_static("__Host-_bink_session_csrf_ab12=c; c=3"),
        );
        jar.strip_from(&mut h);
        assert_eq!(h.get_all(COOKIE).iter().count(), 1);
        assert_eq!(h[COOKIE], "a=1; b=2; c=3");
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("__Host-_bink_session=s"));
        jar.strip_from(&mut h);
        assert!(!h.contains_key(COOKIE));
    }

    #[test]
    fn an_unreadable_pair_affects_only_itself() {
        let jar = config(false, None);
        let mut h = HeaderMap::new();
        // Browsers send an app's non-ASCII cookie raw (here UTF-8 "Zoë").
        h.insert(
            COOKIE,
            HeaderValue::from_bytes(b"pref=Zo\xc3\xab; _bink_session=s; theme=dark").unwrap(),
        );
        assert_eq!(request_cookie(&h, "_bink_session"), Some("s"));
        assert_eq!(request_cookie(&h, "theme"), Some("dark"));
        jar.strip_from(&mut h);
        assert_eq!(h[COOKIE].as_bytes(), b"pref=Zo\xc3\xab; theme=dark");
    }

    #[test]
    fn clearing_cookie_expires_it_with_matching_attributes() {
        let v = config(true, None).clear("__Host-_bink_session");
        let v = v.to_str().unwrap();
        assert!(
            v.contains("Max-Age=0") && v.contains("Path=/") && v.contains("Secure"),
            "{v}"
        );
    }
}
