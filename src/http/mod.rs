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
