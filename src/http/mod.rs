//! The HTTP vocabulary every layer shares, importing nothing above it: the header names
//! the proxy owns, the client address it believes, the request path decided once, and the
//! context one request carries from the pipeline to its handler and the access log.

pub mod context;
pub mod forwarded;
pub mod names;
pub mod path;

pub use context::RequestContext;
