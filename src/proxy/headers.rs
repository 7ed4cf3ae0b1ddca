//! Client-header hygiene on the proxy path: which names are identity headers (client copies
//! stripped on every route), which are forgeable forwarding headers, and hop-by-hop removal
//! (RFC 9110 §7.6.1) with the one upgrade that may pass.
//!
//! The order they are applied in lives with their callers: `proxy::sanitize` strips client
//! identity headers on every route; `Forwarder::forward` then removes hop-by-hop and
//! forwarding headers and adds the proxy's own last, so no `Connection:
//! X-Auth-Request-User` can delete what the proxy adds (golang/go#50580).

use http::header::{
    HeaderName, HeaderValue, CONNECTION, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE, TRAILER,
    TRANSFER_ENCODING, UPGRADE,
};
use http::HeaderMap;

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

#[cfg(test)]
mod tests;
