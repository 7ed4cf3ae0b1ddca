//! Forwarding to the upstream: bodies stream both ways, `Upgrade` requests (WebSocket)
//! become a byte tunnel once the upstream answers 101.
//!
//! An HTTP/1 client connection keeps one upstream connection for itself (HAProxy calls
//! these private connections): its requests arrive one after another, so the connection
//! is always free when the next one comes, and reusing it skips the shared pool (a locked
//! map lookup, checkout and return per request; benches/README.md has the numbers). HTTP/2
//! clients, whose streams run side by side, and upgrades use the shared pool.

use std::sync::Mutex;
use std::task::Poll;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::header::{HOST, UPGRADE};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, StatusCode, Uri, Version};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tower::Service;
use url::Url;

use super::headers;
use crate::error::ProxyError;
use crate::timer::CoarseTimer;

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
    connector: HttpConnector,
    /// `scheme://authority/`, what the connector is asked to connect to.
    origin: Uri,
    scheme: Scheme,
    authority: Authority,
    /// The upstream URL's path without a trailing `/`, prefixed to every forwarded path.
    base_path: String,
    timeout: Duration,
    /// Times `timeout` without a tokio timer per request (see `timer`).
    timer: CoarseTimer,
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
            .build(connector.clone());
        let host = url.host_str().ok_or("upstream has no host")?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let authority: Authority = authority
            .parse()
            .map_err(|e| format!("upstream authority: {e}"))?;
        let origin = Uri::builder()
            .scheme(Scheme::HTTP)
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| format!("upstream URL: {e}"))?;
        Ok(Upstream {
            client,
            connector,
            origin,
            scheme: Scheme::HTTP,
            authority,
            base_path: url.path().trim_end_matches('/').to_string(),
            timeout,
            timer: CoarseTimer::new(),
        })
    }

    /// The upstream request target for an already-normalised path and the original query.
    /// Without a base path the request's own `PathAndQuery` is reused (shared bytes, no
    /// copy).
    fn target_for(&self, original: &Uri) -> Result<PathAndQuery, ProxyError> {
        match original.path_and_query() {
            Some(pq) if self.base_path.is_empty() => Ok(pq.clone()),
            pq => {
                let pq = pq.map_or("/", |pq| pq.as_str());
                let mut joined = String::with_capacity(self.base_path.len() + pq.len());
                joined.push_str(&self.base_path);
                joined.push_str(pq);
                PathAndQuery::try_from(joined).map_err(|_| UNFORWARDABLE)
            }
        }
    }

    /// The absolute upstream URI the shared pool routes by.
    fn uri_for(&self, original: &Uri) -> Result<Uri, ProxyError> {
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(self.target_for(original)?);
        Uri::from_parts(parts).map_err(|_| UNFORWARDABLE)
    }

    /// Sends `request` (headers already prepared) and returns the upstream's response with
    /// hop-by-hop headers removed. For an upgrade, the tunnel is spawned here. `reserved` is
    /// the client connection's own upstream connection, used for plain HTTP/1 requests.
    pub async fn forward(
        &self,
        mut request: Request,
        reserved: &ReservedConnection,
    ) -> Result<Response, ProxyError> {
        let upgrade = request.headers().get(UPGRADE).is_some();
        let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));
        let private = !upgrade && request.version() <= Version::HTTP_11;

        if !request.headers().contains_key(HOST) {
            // HTTP/2 clients send :authority instead, HTTP/1.0 clients may send nothing;
            // HTTP/1.1 upstreams need Host.
            let host = match request.uri().authority() {
                Some(authority) => HeaderValue::from_str(authority.as_str()).ok(),
                None => HeaderValue::from_str(self.authority.as_str()).ok(),
            };
            if let Some(host) = host {
                request.headers_mut().insert(HOST, host);
            }
        }
        *request.version_mut() = Version::HTTP_11;

        let sent = if private {
            *request.uri_mut() = Uri::from(self.target_for(request.uri())?);
            self.timer
                .timeout(self.timeout, self.send_private(reserved, request))
                .await
        } else {
            *request.uri_mut() = self.uri_for(request.uri())?;
            // Boxed, like `connect`: the pool's future is large and this path is the rare one.
            let pooled = Box::pin(self.client.request(request));
            self.timer
                .timeout(self.timeout, async {
                    pooled.await.map_err(|_| ForwardError::Unreachable)
                })
                .await
        };
        let response = match sent {
            Err(_) => return Err(ForwardError::Timeout.into()),
            Ok(Err(e)) => return Err(e.into()),
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

    /// Sends on the client connection's own upstream connection, opening one when there is
    /// none or it has closed. A request the kept connection refused before writing a byte
    /// (the upstream ended keep-alive just then) is resent once on a new connection; one
    /// that may have reached the upstream is not, as it may not be idempotent.
    async fn send_private(
        &self,
        reserved: &ReservedConnection,
        request: Request,
    ) -> Result<http::Response<Incoming>, ForwardError> {
        let mut sender = match reserved.take_ready().await {
            Some(sender) => sender,
            None => Box::pin(self.connect()).await?,
        };
        match sender.try_send_request(request).await {
            Ok(response) => {
                reserved.keep(sender);
                Ok(response)
            }
            Err(mut e) => match e.take_message() {
                Some(request) => Box::pin(self.resend(reserved, request)).await,
                None => Err(ForwardError::Unreachable),
            },
        }
    }

    /// The rare second try of [`send_private`](Self::send_private), on a new connection.
    async fn resend(
        &self,
        reserved: &ReservedConnection,
        request: Request,
    ) -> Result<http::Response<Incoming>, ForwardError> {
        let mut sender = self.connect().await?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|_| ForwardError::Unreachable)?;
        reserved.keep(sender);
        Ok(response)
    }

    /// A new HTTP/1 connection to the upstream, driven by its own task until both ends are
    /// done with it. Callers box this future: it is large (connector and handshake), needed
    /// once per client connection, and would otherwise enlarge every request's future.
    async fn connect(&self) -> Result<SendRequest<Body>, ForwardError> {
        let io = self
            .connector
            .clone()
            .call(self.origin.clone())
            .await
            .map_err(|_| ForwardError::Unreachable)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|_| ForwardError::Unreachable)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }
}

const UNFORWARDABLE: ProxyError = ProxyError::BadRequest("request target cannot be forwarded");

/// The upstream connection one client connection keeps between its requests. Dropped with
/// the client connection, which closes the upstream connection too; an upstream that ends
/// keep-alive first just makes the next request open a new one.
#[derive(Default)]
pub struct ReservedConnection(Mutex<Option<SendRequest<Body>>>);

impl ReservedConnection {
    /// The kept connection if it can take a request now. One still busy (a response whose
    /// body was abandoned mid-way is being drained) or closed is dropped: waiting on it
    /// could stall this request for as long as the upstream likes.
    async fn take_ready(&self) -> Option<SendRequest<Body>> {
        let mut sender = self.0.lock().ok()?.take()?;
        std::future::poll_fn(|cx| match sender.poll_ready(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(true),
            Poll::Ready(Err(_)) | Poll::Pending => Poll::Ready(false),
        })
        .await
        .then_some(sender)
    }

    fn keep(&self, sender: SendRequest<Body>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(sender);
        }
    }
}

impl std::fmt::Debug for ReservedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReservedConnection")
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
