//! Forwarding to the upstream over a pooled hyper-util client: bodies stream both ways,
//! `Upgrade` requests (WebSocket) become a byte tunnel once the upstream answers 101.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::header::{HOST, UPGRADE};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, StatusCode, Uri, Version};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use url::Url;

use super::headers;
use crate::error::ProxyError;

/// Idle upstream connections kept per host. Generous on purpose: the client opens a
/// connection for a request that finds none idle even if one frees up first, so under a
/// few hundred concurrent requests the pool briefly holds more than the concurrency, and
/// a tight cap closes them again (measured: ~20 new upstream connections a second at 256
/// client connections with a cap of 256). Idle ones still close after the timeout.
const POOL_MAX_IDLE_PER_HOST: usize = 1024;
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Where and how requests are forwarded.
pub struct Upstream {
    client: Client<HttpConnector, Body>,
    scheme: Scheme,
    authority: Authority,
    /// The upstream URL's path without a trailing `/`, prefixed to every forwarded path.
    base_path: String,
    timeout: Duration,
}

/// Why forwarding failed, as far as the client is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardError {
    Unreachable,
    Timeout,
}

impl From<ForwardError> for ProxyError {
    fn from(e: ForwardError) -> ProxyError {
        match e {
            ForwardError::Unreachable => ProxyError::UpstreamUnavailable,
            ForwardError::Timeout => ProxyError::UpstreamTimeout,
        }
    }
}

impl Upstream {
    pub fn new(url: &Url, timeout: Duration) -> Result<Upstream, String> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
            .pool_timer(TokioTimer::new())
            .build(connector);
        let host = url.host_str().ok_or("upstream has no host")?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        Ok(Upstream {
            client,
            scheme: Scheme::HTTP,
            authority: authority
                .parse()
                .map_err(|e| format!("upstream authority: {e}"))?,
            base_path: url.path().trim_end_matches('/').to_string(),
            timeout,
        })
    }

    /// The upstream URI for an already-normalised path and the original query. Without a
    /// base path the request's own `PathAndQuery` is reused (shared bytes, no copy).
    fn uri_for(&self, original: &Uri) -> Result<Uri, ProxyError> {
        let path_and_query = match original.path_and_query() {
            Some(pq) if self.base_path.is_empty() => pq.clone(),
            pq => {
                let pq = pq.map_or("/", |pq| pq.as_str());
                let mut joined = String::with_capacity(self.base_path.len() + pq.len());
                joined.push_str(&self.base_path);
                joined.push_str(pq);
                PathAndQuery::try_from(joined)
                    .map_err(|_| ProxyError::BadRequest("request target cannot be forwarded"))?
            }
        };
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(path_and_query);
        Uri::from_parts(parts)
            .map_err(|_| ProxyError::BadRequest("request target cannot be forwarded"))
    }

    /// Sends `request` (headers already prepared) and returns the upstream's response with
    /// hop-by-hop headers removed. For an upgrade, the tunnel is spawned here.
    pub async fn forward(&self, mut request: Request) -> Result<Response, ProxyError> {
        let upgrade = request.headers().get(UPGRADE).cloned();
        let client_upgrade = upgrade.as_ref().map(|_| hyper::upgrade::on(&mut request));

        if !request.headers().contains_key(HOST) {
            // HTTP/2 clients send :authority instead; HTTP/1.1 upstreams need Host.
            if let Some(authority) = request.uri().authority() {
                if let Ok(v) = HeaderValue::from_str(authority.as_str()) {
                    request.headers_mut().insert(HOST, v);
                }
            }
        }
        *request.uri_mut() = self.uri_for(request.uri())?;
        *request.version_mut() = Version::HTTP_11;

        let response = match tokio::time::timeout(self.timeout, self.client.request(request)).await
        {
            Err(_) => return Err(ForwardError::Timeout.into()),
            Ok(Err(_)) => return Err(ForwardError::Unreachable.into()),
            Ok(Ok(response)) => response,
        };

        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            if let Some(client_upgrade) = client_upgrade {
                return Ok(tunnel(response, client_upgrade));
            }
        }
        let (mut parts, body) = response.into_parts();
        headers::remove_hop_by_hop(&mut parts.headers);
        Ok(Response::from_parts(parts, Body::new(body)))
    }
}

/// Relays bytes between client and upstream after both sides switched protocols.
fn tunnel(
    mut upstream_response: http::Response<hyper::body::Incoming>,
    client: hyper::upgrade::OnUpgrade,
) -> Response {
    let upstream = hyper::upgrade::on(&mut upstream_response);
    tokio::spawn(async move {
        let (client, upstream) = match tokio::try_join!(client, upstream) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::debug!(error = %e, "upgrade failed");
                return;
            }
        };
        let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    });
    let (parts, _) = upstream_response.into_parts();
    Response::from_parts(parts, Body::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(url: &str) -> Upstream {
        Upstream::new(&Url::parse(url).unwrap(), Duration::from_secs(1)).unwrap()
    }

    #[tokio::test]
    async fn without_a_base_path_the_request_target_is_kept_as_is() {
        let original: Uri = "/a/b?x=1&y=%20".parse().unwrap();
        let uri = upstream("http://127.0.0.1:9000")
            .uri_for(&original)
            .unwrap();
        assert_eq!(uri.to_string(), "http://127.0.0.1:9000/a/b?x=1&y=%20");
    }

    #[tokio::test]
    async fn a_base_path_prefixes_every_path_and_keeps_the_query() {
        let up = upstream("http://app.internal:8080/base/");
        let uri = up.uri_for(&"/a?x=1".parse().unwrap()).unwrap();
        assert_eq!(uri.to_string(), "http://app.internal:8080/base/a?x=1");
        let root = up.uri_for(&"/".parse().unwrap()).unwrap();
        assert_eq!(root.to_string(), "http://app.internal:8080/base/");
    }
}
