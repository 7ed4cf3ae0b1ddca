//! The header vocabulary of the proxy path: which names are identity headers (client
//! copies stripped), which are forgeable forwarding headers, hop-by-hop removal (RFC 9110
//! §7.6.1), and how values are encoded (identity text, `X-Forwarded-For`).
//!
//! The order they are applied in lives with their callers: `proxy::sanitize` strips client
//! identity headers on every route; `proxy::scrub_client_headers` then removes hop-by-hop
//! and forwarding headers, and `proxy::forward` adds the proxy's own last, so no
//! `Connection: X-Auth-Request-User` can delete what the proxy adds (golang/go#50580).

use std::net::IpAddr;

use bytes::Bytes;
use http::header::{
    HeaderName, HeaderValue, CONNECTION, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE, TRAILER,
    TRANSFER_ENCODING, UPGRADE,
};
use http::HeaderMap;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use crate::identity::{AuthMethod, Identity};

pub static X_AUTH_REQUEST_USER: HeaderName = HeaderName::from_static("x-auth-request-user");
pub static X_AUTH_REQUEST_EMAIL: HeaderName = HeaderName::from_static("x-auth-request-email");
pub static X_AUTH_REQUEST_PREFERRED_USERNAME: HeaderName =
    HeaderName::from_static("x-auth-request-preferred-username");
pub static X_BINK_USER_ID: HeaderName = HeaderName::from_static("x-bink-user-id");
pub static X_BINK_NAME: HeaderName = HeaderName::from_static("x-bink-name");
pub static X_BINK_PLAN: HeaderName = HeaderName::from_static("x-bink-plan");
pub static X_BINK_VERIFICATION_LEVEL: HeaderName =
    HeaderName::from_static("x-bink-verification-level");
pub static X_BINK_AUTH_METHOD: HeaderName = HeaderName::from_static("x-bink-auth-method");
pub static X_BINK_ASSERTION: HeaderName = HeaderName::from_static("x-bink-assertion");
pub static X_FORWARDED_ACCESS_TOKEN: HeaderName =
    HeaderName::from_static("x-forwarded-access-token");
pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy ones proxies still see). Names, not
/// strings: removing by `&str` parses the name again on every call.
static HOP_BY_HOP: [&HeaderName; 9] = [
    &CONNECTION,
    &KEEP_ALIVE,
    &PROXY_CONNECTION,
    &PROXY_AUTHENTICATE,
    &PROXY_AUTHORIZATION,
    &TE,
    &TRAILER,
    &TRANSFER_ENCODING,
    &UPGRADE,
];

/// Names the proxy owns exactly (beyond the `x-bink-` / `x-auth-request-` prefixes).
const OWNED_EXACT: [&str; 3] = [
    "x-forwarded-access-token",
    "x-forwarded-user",
    "x-forwarded-email",
];

/// True for a header name a client must never get to the upstream: compared lower-cased
/// (HeaderName already is) with `_` read as `-`, because some servers (CGI, nginx with
/// `underscores_in_headers`, WSGI) treat `X_Bink_User_Id` as `X-Bink-User-Id`.
pub fn is_identity_header(name: &str) -> bool {
    let mut canon = [0u8; 64];
    let bytes = name.as_bytes();
    let n = bytes.len().min(canon.len());
    for (dst, &b) in canon.iter_mut().zip(&bytes[..n]) {
        *dst = if b == b'_' {
            b'-'
        } else {
            b.to_ascii_lowercase()
        };
    }
    let canon = &canon[..n];
    canon.starts_with(b"x-bink-")
        || canon.starts_with(b"x-auth-request-")
        || (bytes.len() <= 64 && OWNED_EXACT.iter().any(|o| o.as_bytes() == canon))
}

/// Removes every client-sent identity header.
pub fn strip_identity_headers(headers: &mut HeaderMap) {
    remove_names(headers, is_identity_header);
}

/// Removes every header whose name `doomed` picks.
fn remove_names(headers: &mut HeaderMap, doomed: fn(&str) -> bool) {
    // Collecting first: HeaderMap has no retain. Almost always empty, so no allocation.
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|name| doomed(name.as_str()))
        .cloned()
        .collect();
    for name in names {
        headers.remove(&name);
    }
}

/// Forwarding headers only a proxy should write, which a client can forge: removed before
/// forwarding (SPEC §6). The three the proxy sets (`X-Forwarded-For`, `-Proto`, `-Host`)
/// are overwritten, but their `_` spellings are removed here like the rest. The two
/// forward-auth URI headers (and the method) are read only by `/oauth2/auth`.
const FORWARDING: [&str; 14] = [
    "forwarded",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-server",
    "x-forwarded-uri",
    "x-forwarded-method",
    "x-real-ip",
    "x-original-url",
    "x-original-uri",
    "x-rewrite-url",
    "http2-settings",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
];

/// True for a forwarding header name a client must not get to the upstream, compared as
/// [`is_identity_header`] compares (lower case, `_` read as `-`).
pub fn is_forwarding_header(name: &str) -> bool {
    name.len() <= 32
        && FORWARDING.iter().any(|f| {
            f.len() == name.len()
                && f.bytes().zip(name.bytes()).all(|(f, n)| {
                    f == if n == b'_' {
                        b'-'
                    } else {
                        n.to_ascii_lowercase()
                    }
                })
        })
}

/// Removes every forwarding header a client may have sent (see [`FORWARDING`]).
pub fn strip_forwarding_headers(headers: &mut HeaderMap) {
    remove_names(headers, is_forwarding_header);
}

/// True when an `Upgrade` value names `h2c` (RFC 9113 retired that upgrade).
pub fn names_h2c(upgrade: &HeaderValue) -> bool {
    upgrade.to_str().map_or(true, |v| {
        v.split(',').any(|t| {
            t.trim()
                .split('/')
                .next()
                .unwrap_or("")
                .eq_ignore_ascii_case("h2c")
        })
    })
}

/// Whether the request asks for a protocol switch (WebSocket and friends).
pub fn is_upgrade_request(headers: &HeaderMap) -> bool {
    headers.contains_key(UPGRADE) && connection_lists(headers, "upgrade")
}

fn connection_lists(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Removes hop-by-hop headers and every header named in `Connection`.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(&name);
    }
    // One pass over the names present is cheaper than nine hashed removals, and most
    // messages carry at most `Connection`.
    let present = headers.keys().filter(|n| HOP_BY_HOP.contains(n)).count();
    if present == 0 {
        return;
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Keeps an upgrade request an upgrade after hop-by-hop removal.
pub fn restore_upgrade(headers: &mut HeaderMap, upgrade: HeaderValue) {
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, upgrade);
}

/// Bytes that get percent-encoded in a header value: everything outside printable ASCII,
/// and `%` so the encoding can be undone unambiguously.
const HEADER_ENCODE: &AsciiSet = &CONTROLS.add(b'%');

/// A header value from profile text: non-ASCII percent-encoded as UTF-8 (`Zoë` →
/// `Zo%C3%AB`), CR/LF/NUL and every other control character encoded too, so no profile
/// can inject a header line.
pub fn encode_value(text: &str) -> HeaderValue {
    let mut encoded = Vec::with_capacity(text.len());
    append_encoded(&mut encoded, text);
    // Only printable ASCII remains, which HeaderValue always accepts.
    HeaderValue::from_maybe_shared(Bytes::from(encoded))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The headers whose values come from profile text, in the order they are added.
static PROFILE_HEADERS: [&HeaderName; 5] = [
    &X_AUTH_REQUEST_USER,
    &X_AUTH_REQUEST_EMAIL,
    &X_AUTH_REQUEST_PREFERRED_USERNAME,
    &X_BINK_USER_ID,
    &X_BINK_NAME,
];

/// The identity headers of one identity, encoded once. A cached identity keeps its own
/// (see [`crate::identity::Principal`]), so each request costs reference-count bumps
/// rather than encoding and an allocation per header.
#[derive(Debug, Clone)]
pub struct IdentityHeaders {
    /// The encoded values of `PROFILE_HEADERS`, back to back in one buffer: a cached
    /// identity holds one allocation here instead of one (and a shared-count block) per
    /// header, about half a kilobyte less per identity (benches/README.md).
    text: Bytes,
    /// Where each value ends in `text`; `None` when the profile lacks that field.
    ends: [Option<u32>; 5],
    plan: &'static str,
    verification_level: HeaderValue,
}

impl IdentityHeaders {
    pub fn of(identity: &Identity) -> IdentityHeaders {
        let values = [
            Some(identity.user()),
            identity.email.as_deref(),
            identity.username.as_deref(),
            Some(identity.id.as_str()),
            identity.name.as_deref(),
        ];
        let mut text = Vec::with_capacity(values.iter().flatten().map(|v| v.len()).sum());
        let mut ends = [None; 5];
        for (end, value) in ends.iter_mut().zip(values) {
            if let Some(value) = value {
                append_encoded(&mut text, value);
                *end = u32::try_from(text.len()).ok();
            }
        }
        IdentityHeaders {
            text: Bytes::from(text),
            ends,
            plan: identity.plan.as_str(),
            // The levels Bink uses need no allocation.
            verification_level: match identity.verification_level {
                0 => HeaderValue::from_static("0"),
                1 => HeaderValue::from_static("1"),
                2 => HeaderValue::from_static("2"),
                other => HeaderValue::from(u16::from(other)),
            },
        }
    }

    /// Sets every header, replacing any value already there.
    pub fn inject(&self, headers: &mut HeaderMap, method: AuthMethod) {
        let mut start = 0;
        for (name, end) in PROFILE_HEADERS.into_iter().zip(self.ends) {
            let Some(end) = end.map(|e| e as usize) else {
                continue;
            };
            // Shares `text`; the bytes were checked printable when encoded, and are
            // checked again here rather than trusted through `unsafe`.
            if let Ok(value) = HeaderValue::from_maybe_shared(self.text.slice(start..end)) {
                headers.insert(name, value);
            }
            start = end;
        }
        headers.insert(&X_BINK_PLAN, HeaderValue::from_static(self.plan));
        headers.insert(&X_BINK_VERIFICATION_LEVEL, self.verification_level.clone());
        headers.insert(
            &X_BINK_AUTH_METHOD,
            HeaderValue::from_static(method.as_str()),
        );
    }
}

/// Appends `text` encoded as [`encode_value`] describes.
fn append_encoded(out: &mut Vec<u8>, text: &str) {
    // Most profile text needs no encoding: copied as it is.
    if text.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'%') {
        out.extend_from_slice(text.as_bytes());
    } else {
        for piece in utf8_percent_encode(text, HEADER_ENCODE) {
            out.extend_from_slice(piece.as_bytes());
        }
    }
}

/// `X-Forwarded-For`: the last `trusted_hops` entries a client sent (written by proxies we
/// trust), then the peer address. Everything further left is client-controlled and dropped.
pub fn forwarded_for(headers: &HeaderMap, trusted_hops: usize, peer: IpAddr) -> HeaderValue {
    if trusted_hops == 0 {
        return ip_value(peer);
    }
    let mut chain: Vec<&str> = Vec::new();
    if trusted_hops > 0 {
        let sent: Vec<&str> = headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        chain.extend(&sent[sent.len().saturating_sub(trusted_hops)..]);
    }
    let peer = peer.to_string();
    chain.push(&peer);
    HeaderValue::from_str(&chain.join(", ")).unwrap_or_else(|_| encode_value(&peer))
}

/// An address as a header value, formatted on the stack: one allocation, not two.
pub fn ip_value(ip: IpAddr) -> HeaderValue {
    use std::io::Write;
    // The longest textual IPv6 address is 45 bytes.
    let mut buf = [0u8; 64];
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    let written = write!(cursor, "{ip}").map(|()| cursor.position() as usize);
    match written {
        Ok(n) => {
            HeaderValue::from_bytes(&buf[..n]).unwrap_or_else(|_| encode_value(&ip.to_string()))
        }
        Err(_) => encode_value(&ip.to_string()),
    }
}

/// The client address as the proxy believes it: `trusted_hops` entries back from the end.
pub fn client_ip(headers: &HeaderMap, trusted_hops: usize, peer: IpAddr) -> IpAddr {
    if trusted_hops == 0 {
        return peer;
    }
    // Read from the right without collecting: every identified request calls this (the
    // Bink call budget is charged to the client), so it allocates nothing.
    headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .rev()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.rsplit(','))
        .map(str::trim)
        // Same entries as `forwarded_for`, so both agree on which one is trusted.
        .filter(|s| !s.is_empty())
        .nth(trusted_hops - 1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests;
