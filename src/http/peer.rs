//! The far end of a client connection, as the listener accepted it.

use std::net::SocketAddr;

use http::HeaderValue;

use super::forwarded::ip_value;

/// The far end of the client connection, as the listener accepted it.
#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    pub tls: bool,
    /// The address as a header value, formatted once per connection rather than once per
    /// request (it is `X-Forwarded-For` when no proxy in front is trusted).
    pub value: HeaderValue,
}

impl Peer {
    pub fn new(addr: SocketAddr, tls: bool) -> Peer {
        Peer {
            addr,
            tls,
            value: ip_value(addr.ip()),
        }
    }
}
