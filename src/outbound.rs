//! The one way the proxy builds an outbound HTTP client (Bink's user and token endpoints,
//! Bindbee, Kombo): never following redirects, with a total and a connect timeout, and
//! reading at most [`MAX_BODY`] of any answer.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// The most of an outbound response body the proxy will read.
pub const MAX_BODY: usize = 1024 * 1024;

/// A client for calls that carry credentials: a redirect could send them elsewhere
/// (SSRF, code and token leaks), so none is followed.
pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("bink-proxy/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// A client for the unified-API gateway, whose answers stream to the caller for as long
/// as they take: no total timeout (the gateway bounds the wait for the answer's head
/// itself), but a connect timeout, and `read_timeout` between two reads of the body so a
/// vendor that stalls mid-answer cannot hold a connection forever. Never follows
/// redirects.
pub fn streaming_client(
    connect_timeout: Duration,
    read_timeout: Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .read_timeout(read_timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("bink-proxy/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Why an outbound call gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("timed out")]
    Timeout,
    #[error("unreachable")]
    Unreachable,
    #[error("response body larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("request could not be built")]
    Request,
}

impl From<reqwest::Error> for OutboundError {
    fn from(e: reqwest::Error) -> OutboundError {
        if e.is_timeout() {
            OutboundError::Timeout
        } else {
            OutboundError::Unreachable
        }
    }
}

/// Reads at most `limit` bytes of `response`; a longer body is an error, not a prefix.
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, OutboundError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(OutboundError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(OutboundError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The OAuth token endpoint's HTTP client: `oauth2`'s own reqwest adapter reads the whole
/// body with `bytes()`, unbounded; this one goes through [`client`] and [`read_limited`]
/// like every other outbound call.
#[derive(Clone)]
pub struct TokenEndpointClient(pub reqwest::Client);

type TokenFuture<'c> =
    Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, OutboundError>> + Send + 'c>>;

impl<'c> oauth2::AsyncHttpClient<'c> for TokenEndpointClient {
    type Error = OutboundError;
    type Future = TokenFuture<'c>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request.map(reqwest::Body::from))
                .map_err(|_| OutboundError::Request)?;
            let response = self.0.execute(request).await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = read_limited(response, MAX_BODY).await?;
            let mut answer = http::Response::new(body);
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            Ok(answer)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oauth2::AsyncHttpClient;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// One HTTP/1.1 answer with `head` and `body_len` bytes of body, to one connection.
    async fn serve_once(head: &'static str, body_len: usize) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&vec![b'x'; body_len]).await;
        });
        addr
    }

    fn token_request(addr: std::net::SocketAddr) -> oauth2::HttpRequest {
        http::Request::post(format!("http://{addr}/api/oauth/token"))
            .body(b"grant_type=authorization_code".to_vec())
            .unwrap()
    }

    #[tokio::test]
    async fn the_token_endpoint_body_is_bounded() {
        let huge = MAX_BODY + 1;
        let head: &'static str = Box::leak(
            format!("HTTP/1.1 200 OK\r\ncontent-length: {huge}\r\n\r\n").into_boxed_str(),
        );
        let addr = serve_once(head, huge).await;
        let c = TokenEndpointClient(client(Duration::from_secs(2)).unwrap());
        assert!(matches!(
            c.call(token_request(addr)).await,
            Err(OutboundError::TooLarge)
        ));
        // Without a length, the limit holds while reading.
        let addr = serve_once("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n", huge).await;
        assert!(matches!(
            c.call(token_request(addr)).await,
            Err(OutboundError::TooLarge)
        ));
    }

    #[tokio::test]
    async fn the_token_endpoint_redirect_is_not_followed() {
        let addr = serve_once(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:1/steal\r\ncontent-length: 0\r\n\r\n",
            0,
        )
        .await;
        let c = TokenEndpointClient(client(Duration::from_secs(2)).unwrap());
        let answer = c.call(token_request(addr)).await.unwrap();
        assert_eq!(answer.status(), 307);
    }
}
