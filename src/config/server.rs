//! `[server]`: the listen and metrics addresses, the public origin, the upstream, TLS files,
//! how many forwarding proxies are trusted, and timeouts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::defaults;
use super::parse::{non_empty, parse_duration, parse_http_url, positive_duration};
use super::raw::RawServer;
use super::Problems;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The external origin; every absolute URL the proxy produces starts with it.
    pub public_url: Url,
    pub upstream: Url,
    pub tls: Option<TlsFiles>,
    /// How many `X-Forwarded-For` entries (from the right) were written by trusted proxies.
    pub trusted_proxy_hops: usize,
    pub upstream_timeout: Duration,
    pub shutdown_grace: Duration,
    /// Time a client has to send a complete request head (slow-loris protection).
    pub header_read_timeout: Duration,
    pub metrics_listen: Option<SocketAddr>,
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| "not a socket address like \"127.0.0.1:4180\"".to_string())
}

pub(super) fn validate_server(r: &RawServer, p: &mut Problems) -> Option<ServerConfig> {
    let listen = p.parse(
        "server.listen",
        r.listen.as_deref(),
        defaults::LISTEN,
        parse_addr,
    );
    let public_url = p.parse(
        "server.public_url",
        non_empty(&r.public_url),
        defaults::PUBLIC_URL,
        parse_http_url,
    );
    let upstream = match non_empty(&r.upstream) {
        None => {
            p.add("server.upstream", "required: the URL of the application to protect");
            None
        }
        Some(u) => p.parse("server.upstream", Some(u), "", |s| {
            let url = parse_http_url(s)?;
            if url.scheme() != "http" {
                return Err("only http:// upstreams are supported (terminate TLS to the upstream with a sidecar)".to_string());
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err("must not carry a query or fragment".to_string());
            }
            Ok(url)
        }),
    };
    let tls = match (non_empty(&r.tls_cert_file), non_empty(&r.tls_key_file)) {
        (Some(cert), Some(key)) => Some(Some(TlsFiles {
            cert: cert.into(),
            key: key.into(),
        })),
        (None, None) => Some(None),
        (Some(_), None) => {
            p.add(
                "server.tls_key_file",
                "required when server.tls_cert_file is set",
            );
            None
        }
        (None, Some(_)) => {
            p.add(
                "server.tls_cert_file",
                "required when server.tls_key_file is set",
            );
            None
        }
    };
    let upstream_timeout = p.parse(
        "server.upstream_timeout",
        r.upstream_timeout.as_deref(),
        defaults::UPSTREAM_TIMEOUT,
        positive_duration,
    );
    let shutdown_grace = p.parse(
        "server.shutdown_grace",
        r.shutdown_grace.as_deref(),
        defaults::SHUTDOWN_GRACE,
        parse_duration,
    );
    let header_read_timeout = p.parse(
        "server.header_read_timeout",
        r.header_read_timeout.as_deref(),
        defaults::HEADER_READ_TIMEOUT,
        positive_duration,
    );
    let metrics_listen = match non_empty(&r.metrics_listen) {
        None => Some(None),
        Some(v) => p
            .parse("server.metrics_listen", Some(v), "", parse_addr)
            .map(Some),
    };
    let hops = r.trusted_proxy_hops.unwrap_or(0);
    if hops > 64 {
        p.add(
            "server.trusted_proxy_hops",
            format!("must be at most 64 (got {hops})"),
        );
    }
    Some(ServerConfig {
        listen: listen?,
        public_url: public_url?,
        upstream: upstream?,
        tls: tls?,
        trusted_proxy_hops: hops.min(64) as usize,
        upstream_timeout: upstream_timeout?,
        shutdown_grace: shutdown_grace?,
        header_read_timeout: header_read_timeout?,
        metrics_listen: metrics_listen?,
    })
}
