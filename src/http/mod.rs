//! The HTTP vocabulary every layer shares, importing nothing above it: the header names
//! the proxy owns, the client connection's peer, the client address the proxy believes,
//! and the request path decided once.
//!
//! Always named `crate::http` inside the crate: a bare `http::` is the `http` crate.

pub mod forwarded;
pub mod names;
pub mod path;
pub mod peer;
