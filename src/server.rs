//! Listeners: HTTP/1.1 and HTTP/2 (h2c, or ALPN over rustls), slow-loris and header-size
//! limits, per-connection metadata, the metrics listener, and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub mod framing;

use crate::config::TlsFiles;
use crate::error::{ProxyError, SetupError};
use crate::http::peer::Peer;
use crate::proxy::ReservedConnection;
use crate::timer;

/// What answers each request: the application's pipeline (`app::App`). A trait, so the
/// listeners sit below the application rather than importing it.
pub trait Handler: Clone + Send + Sync + 'static {
    fn handle(
        &self,
        conn: ConnectionInfo,
        request: axum::extract::Request,
    ) -> impl Future<Output = axum::response::Response> + Send;
}

/// Largest request head accepted; larger ones get 431 (hyper answers it while parsing).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Interval and timeout of HTTP/2 keep-alive pings.
const H2_KEEP_ALIVE: Duration = Duration::from_secs(20);
/// Time allowed for a TLS handshake before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Facts about the connection a request arrived on.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    pub peer: Peer,
    /// The upstream connection this client connection's HTTP/1 requests go over.
    pub upstream: Arc<ReservedConnection>,
    /// What the connection's [`framing::FramingWatch`] saw in the raw request heads.
    pub framing: Arc<framing::FramingLog>,
}

impl ConnectionInfo {
    pub fn new(peer: SocketAddr, tls: bool) -> ConnectionInfo {
        ConnectionInfo {
            peer: Peer::new(peer, tls),
            upstream: Arc::default(),
            framing: Arc::default(),
        }
    }

    /// Refuses an HTTP/1 request whose raw head carried both `Content-Length` and
    /// `Transfer-Encoding` (hyper hands it over as plain chunked), or a chunked one the
    /// connection's watcher could no longer vouch for. Call once per request, in order.
    pub fn check_framing(&self, request: &axum::extract::Request) -> Result<(), ProxyError> {
        use framing::Framing;
        if request.version() >= http::Version::HTTP_2 {
            return Ok(());
        }
        let chunked = request
            .headers()
            .contains_key(http::header::TRANSFER_ENCODING);
        match self.framing.next_request(chunked) {
            Framing::Clear => Ok(()),
            Framing::BothLengths => Err(ProxyError::BadRequest(
                "both Content-Length and Transfer-Encoding",
            )),
            Framing::Unverified => Err(ProxyError::BadRequest(
                "chunked request whose framing cannot be verified on this connection",
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("server.tls_cert_file: cannot read certificates from {0}: {1}")]
    Cert(String, String),
    #[error("server.tls_key_file: cannot read a private key from {0}: {1}")]
    Key(String, String),
    #[error("TLS configuration rejected: {0}")]
    Config(String),
}

/// A rustls acceptor offering h2 and http/1.1 by ALPN.
pub fn tls_acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let cert_name = files.cert.display().to_string();
    let key_name = files.key.display().to_string();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect())
        .map_err(|e| TlsError::Cert(cert_name.clone(), e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::Cert(cert_name, "no certificate found".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| TlsError::Key(key_name, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The connection builder with the proxy's protocol limits.
fn connection_builder(header_read_timeout: Duration) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        // Without a timer hyper silently ignores header_read_timeout. hyper starts a new
        // header-read sleep for every request, hence the coarse timer (see `timer`).
        .timer(timer::CoarseTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(MAX_HEADER_BYTES)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEADER_BYTES as u32)
        // Idle HTTP/2 connections are pinged and dropped when the peer stops answering.
        .keep_alive_interval(Some(H2_KEEP_ALIVE))
        .keep_alive_timeout(H2_KEEP_ALIVE);
    builder
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: impl Handler,
    header_read_timeout: Duration,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let builder = Arc::new(connection_builder(header_read_timeout));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = builder.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let info = ConnectionInfo::new(peer, tls.is_some());
            match tls {
                None => {
                    if first_bytes_within(&stream, header_read_timeout).await {
                        serve_connection(&builder, header_read_timeout, stream, info, app, watcher)
                            .await
                    }
                }
                Some(acceptor) => {
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        Ok(Ok(stream)) => {
                            serve_connection(
                                &builder,
                                header_read_timeout,
                                stream,
                                info,
                                app,
                                watcher,
                            )
                            .await
                        }
                        _ => tracing::debug!(%peer, "TLS handshake failed"),
                    }
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(grace) => tracing::warn!(?grace, "shutdown grace elapsed; dropping open connections"),
    }
}

async fn serve_connection<S>(
    builder: &auto::Builder<TokioExecutor>,
    header_read_timeout: Duration,
    stream: S,
    info: ConnectionInfo,
    app: impl Handler,
    watcher: hyper_util::server::graceful::Watcher,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let peer = info.peer.addr;
    let stream = framing::FramingWatch::new(stream, info.framing.clone(), header_read_timeout);
    let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
        let (app, info) = (app.clone(), info.clone());
        async move { Ok::<_, Infallible>(app.handle(info, request.map(Body::new)).await) }
    });
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(conn.into_owned()).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// Pending-connection queue: the OS default (128) overflows when hundreds of clients
/// connect at once, which costs them a one-second SYN retry.
const LISTEN_BACKLOG: u32 = 1024;

/// Binds a listener, naming the config key on failure.
pub async fn bind(addr: SocketAddr, key: &'static str) -> Result<TcpListener, SetupError> {
    let fail = |e: std::io::Error| SetupError::new(key, format!("cannot listen on {addr}: {e}"));
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(fail)?;
    socket.set_reuseaddr(true).map_err(fail)?;
    socket.bind(addr).map_err(fail)?;
    socket.listen(LISTEN_BACKLOG).map_err(fail)
}

/// The HTTP/2 connection preface (RFC 9113 §3.4).
pub(crate) const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Waits until the client has sent enough to tell HTTP/1 from HTTP/2, for at most
/// `limit`. hyper's header-read timer only starts once a request head is being read, so
/// without this a client that connects and sends nothing (or half the HTTP/2 preface)
/// would hold its connection forever.
async fn first_bytes_within(stream: &tokio::net::TcpStream, limit: Duration) -> bool {
    let wait = async {
        let mut buf = [0u8; 24];
        loop {
            if stream.readable().await.is_err() {
                return false;
            }
            match stream.peek(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) if n >= H2_PREFACE.len() || buf[..n] != H2_PREFACE[..n] => return true,
                // A prefix of the HTTP/2 preface: the rest is on its way, or never comes.
                Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    };
    tokio::time::timeout(limit, wait).await.unwrap_or(false)
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
