//! Decide on the request path once. The path is percent-decoded once, `.`/`..` segments
//! resolved and repeated `/` collapsed; policy matches that decoded form and the upstream
//! receives exactly the same path, re-encoded canonically. Encodings whose meaning differs
//! between servers (`%2F`, `%5C`, `\`, control characters, `..;`) are rejected with 400
//! rather than guessed at (Envoy CVE-2019-9901, Pomerium CVE-2023-33189).

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

/// Characters re-encoded when forwarding: everything that is not a plain path character.
/// `%` is included so a decoded `%` can never be decoded a second time upstream.
const FORWARD_ENCODE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedPath {
    /// Decoded, for matching `skip_auth` and `[[access.rules]]`.
    pub decoded: String,
    /// The same path encoded for the wire; this is what the upstream receives.
    pub encoded: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("path must start with /")]
    NotAbsolute,
    #[error("encoded slash or backslash in path")]
    EncodedSeparator,
    #[error("backslash in path")]
    Backslash,
    #[error("malformed percent-encoding in path")]
    BadEscape,
    #[error("control character in path")]
    Control,
    #[error("path is not UTF-8 after decoding")]
    NotUtf8,
    #[error("path parameter on a dot segment")]
    DotSegmentParameter,
    #[error("path parameter (;) in path")]
    PathParameter,
}

impl PathError {
    pub fn reason(self) -> &'static str {
        match self {
            PathError::NotAbsolute => "path must start with /",
            PathError::EncodedSeparator => "encoded slash or backslash in path",
            PathError::Backslash => "backslash in path",
            PathError::BadEscape => "malformed percent-encoding in path",
            PathError::Control => "control character in path",
            PathError::NotUtf8 => "path is not UTF-8 after decoding",
            PathError::DotSegmentParameter => "path parameter on a dot segment",
            PathError::PathParameter => "path parameter (;) in path",
        }
    }
}

/// The path of the current request as decided once (see the module comment): what the
/// proxy's routes, `skip_auth` and `[[access.rules]]` all match. The URI's own path when it
/// was already canonical (almost always, and then nothing is copied: the URI shares its
/// bytes), else its decoded form.
#[derive(Debug, Clone)]
pub struct RequestPath {
    uri: http::Uri,
    decoded: Option<String>,
}

impl RequestPath {
    /// `uri` is the request's URI after hygiene; `decoded` its decoded path when that
    /// differs from the URI's own.
    pub fn new(uri: http::Uri, decoded: Option<String>) -> RequestPath {
        RequestPath { uri, decoded }
    }

    pub fn as_str(&self) -> &str {
        self.decoded.as_deref().unwrap_or_else(|| self.uri.path())
    }
}

/// True when `raw` is already in canonical form: nothing to decode, no dot segments, no
/// empty segments, only characters that need no encoding. Most real paths are; they skip
/// the decoding work.
pub fn is_canonical(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.first() == Some(&b'/')
        && b.iter().all(|&c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'/' | b'-'
                        | b'.'
                        | b'_'
                        | b'~'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b'='
                        | b':'
                        | b'@'
                )
        })
        && !raw.contains("//")
        && !raw.contains("/./")
        && !raw.contains("/../")
        && !raw.ends_with("/.")
        && !raw.ends_with("/..")
}

pub fn normalize(raw: &str) -> Result<NormalizedPath, PathError> {
    if is_canonical(raw) {
        return Ok(NormalizedPath {
            decoded: raw.to_owned(),
            encoded: raw.to_owned(),
        });
    }
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    if raw.contains('\\') {
        return Err(PathError::Backslash);
    }
    check_escapes(raw)?;
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| PathError::NotUtf8)?;
    if decoded.chars().any(char::is_control) {
        return Err(PathError::Control);
    }
    // Java servers (Tomcat, Jetty, Spring) strip `;`-parameters from every segment, so
    // `/admin;x/secret` would pass a rule on `^/admin/` and be served as `/admin/secret`.
    // `..;` keeps its own, more specific reason.
    if decoded.contains(';')
        && !decoded
            .split('/')
            .any(|s| s.starts_with(".;") || s.starts_with("..;"))
    {
        return Err(PathError::PathParameter);
    }
    let decoded = resolve_segments(&decoded)?;
    let encoded = utf8_percent_encode(&decoded, FORWARD_ENCODE).to_string();
    Ok(NormalizedPath { decoded, encoded })
}

/// Every `%` starts a two-hex-digit escape, and none of them encodes a separator.
fn check_escapes(raw: &str) -> Result<(), PathError> {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(PathError::BadEscape)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return Err(PathError::BadEscape);
            }
            if hex.eq_ignore_ascii_case(b"2f") || hex.eq_ignore_ascii_case(b"5c") {
                return Err(PathError::EncodedSeparator);
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// RFC 3986 §5.2.4 dot-segment removal on a decoded path, with empty segments collapsed.
fn resolve_segments(path: &str) -> Result<String, PathError> {
    let mut out: Vec<&str> = Vec::new();
    let mut trailing_slash = path.ends_with('/');
    for segment in path.split('/') {
        match segment {
            "" => {}
            "." => trailing_slash = true,
            ".." => {
                out.pop();
                trailing_slash = true;
            }
            s if s.starts_with(".;") || s.starts_with("..;") => {
                return Err(PathError::DotSegmentParameter);
            }
            s => {
                out.push(s);
                trailing_slash = false;
            }
        }
    }
    if path.ends_with('/') {
        trailing_slash = true;
    }
    let mut result = String::with_capacity(path.len());
    for s in &out {
        result.push('/');
        result.push_str(s);
    }
    if result.is_empty() || trailing_slash {
        result.push('/');
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(p: &str) -> String {
        normalize(p).unwrap().decoded
    }

    #[test]
    fn dot_segments_are_resolved_before_matching() {
        assert_eq!(decoded("/public/../admin"), "/admin");
        assert_eq!(decoded("/public/%2e%2e/admin"), "/admin");
        assert_eq!(decoded("/public/%2E%2E/admin"), "/admin");
        assert_eq!(decoded("/public/./x"), "/public/x");
        assert_eq!(decoded("/../../etc"), "/etc");
        assert_eq!(decoded("/a/b/.."), "/a/");
        assert_eq!(decoded("/"), "/");
    }

    #[test]
    fn repeated_slashes_collapse_and_trailing_slash_is_kept() {
        assert_eq!(decoded("//public///x/"), "/public/x/");
        assert_eq!(decoded("/a//b"), "/a/b");
    }

    #[test]
    fn ambiguous_encodings_are_rejected() {
        assert_eq!(
            normalize("/public%2F..%2Fadmin"),
            Err(PathError::EncodedSeparator)
        );
        assert_eq!(
            normalize("/public/..%2fadmin"),
            Err(PathError::EncodedSeparator)
        );
        assert_eq!(
            normalize("/public/..%5Cadmin"),
            Err(PathError::EncodedSeparator)
        );
        assert_eq!(normalize("/public\\..\\admin"), Err(PathError::Backslash));
        assert_eq!(normalize("/a%00b"), Err(PathError::Control));
        assert_eq!(normalize("/a%0d%0ab"), Err(PathError::Control));
        assert_eq!(normalize("/a%zz"), Err(PathError::BadEscape));
        assert_eq!(normalize("/a%2"), Err(PathError::BadEscape));
        assert_eq!(normalize("/a%ff"), Err(PathError::NotUtf8));
        assert_eq!(
            normalize("/public/..;/admin"),
            Err(PathError::DotSegmentParameter)
        );
        assert_eq!(normalize("admin"), Err(PathError::NotAbsolute));
        for p in [
            "/admin;/secret",
            "/admin;jsessionid=x/secret",
            "/admin%3B/secret",
            "/a%3bb",
            "/x;",
        ] {
            assert_eq!(normalize(p), Err(PathError::PathParameter), "{p}");
        }
        assert_eq!(normalize("*"), Err(PathError::NotAbsolute));
    }

    #[test]
    fn forwarded_path_is_the_matched_path_re_encoded() {
        let p = normalize("/docs/%7Euser/Zo%C3%AB%20x").unwrap();
        assert_eq!(p.decoded, "/docs/~user/Zoë x");
        assert_eq!(p.encoded, "/docs/~user/Zo%C3%AB%20x");
        // A literal %25 stays literal: the upstream decodes it to "%2e", never to ".".
        let p = normalize("/a/%252e%252e/b").unwrap();
        assert_eq!(p.decoded, "/a/%2e%2e/b");
        assert_eq!(p.encoded, "/a/%252e%252e/b");
        // Re-normalising the forwarded form changes nothing.
        assert_eq!(normalize(&p.encoded).unwrap(), p);
    }
}
