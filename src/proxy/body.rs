//! The client's request body on its way upstream, watched for the client's own framing
//! errors (an impossible chunk size, a body cut short). hyper's client reports those as
//! a failed request like any upstream failure; the flag set here tells the two apart, so
//! a client cannot make the proxy answer 502 and count an upstream error (SPEC §5).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};

/// Whether the watched body failed.
#[derive(Debug, Default, Clone)]
pub struct ClientBody(Option<Arc<AtomicBool>>);

impl ClientBody {
    pub fn failed(&self) -> bool {
        self.0.as_ref().is_some_and(|f| f.load(Ordering::Relaxed))
    }
}

/// Wraps `body` unless it is already complete (most requests: no body at all, which then
/// costs nothing).
pub fn watch(body: Body) -> (Body, ClientBody) {
    if body.is_end_stream() {
        return (body, ClientBody(None));
    }
    let failed = Arc::new(AtomicBool::new(false));
    let watched = Watched {
        inner: body,
        failed: failed.clone(),
    };
    (Body::new(watched), ClientBody(Some(failed)))
}

struct Watched {
    inner: Body,
    failed: Arc<AtomicBool>,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = &polled {
            self.failed.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_failing_body_is_flagged_and_a_complete_one_is_not() {
        let (body, watch_ok) = watch(Body::from("hello"));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "hello");
        assert!(!watch_ok.failed());

        let broken = futures_util::stream::iter([
            Ok::<_, std::io::Error>(Bytes::from_static(b"part")),
            Err(std::io::Error::other("client broke chunked framing")),
        ]);
        let (body, watched) = watch(Body::from_stream(broken));
        assert!(body.collect().await.is_err());
        assert!(watched.failed());

        let (_, empty) = watch(Body::empty());
        assert!(!empty.failed());
    }
}
