//! The HTTP vocabulary every layer shares, importing nothing above it: the header names
//! the proxy owns, the client connection's peer, the client address the proxy believes,
//! the request path decided once, and which `rd` targets are safe to redirect to.
//!
//! Always named `crate::http` inside the crate: a bare `http::` is the `http` crate.

pub mod forwarded;
pub mod names;
pub mod path;
pub mod peer;
pub mod redirect;

/// A header map from `(name, value)` pairs, repeats kept, for the unit tests.
#[cfg(test)]
pub fn header_map(pairs: &[(&str, &str)]) -> ::http::HeaderMap {
    let mut h = ::http::HeaderMap::new();
    for (name, value) in pairs {
        h.append(
            ::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            ::http::HeaderValue::from_str(value).unwrap(),
        );
    }
    h
}
