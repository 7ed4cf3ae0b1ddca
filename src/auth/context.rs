//! What one request carries from the pipeline to the route that answers it and to the
//! access log: the client it came from, the path decided once, and the caller once the
//! [`Authenticator`](super::Authenticator) has identified it.

use std::sync::{Arc, OnceLock};

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::error::ProxyError;
use crate::http::path::RequestPath;
use crate::http::peer::Peer;
use crate::identity::Caller;

/// One request's facts, created by the pipeline once the request passed hygiene and read
/// by the access log when the response is done. The caller is recorded by whoever
/// authenticates it (`auth::Authenticator`), once.
#[derive(Debug)]
pub struct RequestContext {
    pub peer: Peer,
    pub path: RequestPath,
    caller: OnceLock<Caller>,
}

impl RequestContext {
    pub fn new(peer: Peer, path: RequestPath) -> RequestContext {
        RequestContext {
            peer,
            path,
            caller: OnceLock::new(),
        }
    }

    pub fn caller(&self) -> Option<&Caller> {
        self.caller.get()
    }

    /// Records who is calling; a request is authenticated at most once, so a second
    /// caller would be a wiring bug and is ignored rather than replacing the first.
    pub fn identified(&self, caller: Caller) -> &Caller {
        self.caller.get_or_init(|| caller)
    }
}

/// The context of a request answered by one of the proxy's own routes, which the pipeline
/// puts in the request's extensions. Its absence is a wiring bug: refused with a 500 rather
/// than guessed at (a missing peer must never become 0.0.0.0).
#[derive(Debug, Clone)]
pub struct Context(pub Arc<RequestContext>);

impl<S: Sync> FromRequestParts<S> for Context {
    type Rejection = ProxyError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Context, ProxyError> {
        parts
            .extensions
            .get::<Arc<RequestContext>>()
            .cloned()
            .map(Context)
            .ok_or(ProxyError::Internal)
    }
}

impl std::ops::Deref for Context {
    type Target = RequestContext;

    fn deref(&self) -> &RequestContext {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_route_without_its_context_is_refused_never_given_a_made_up_peer() {
        let (mut parts, ()) = http::Request::new(()).into_parts();
        let missing = Context::from_request_parts(&mut parts, &()).await;
        assert!(matches!(missing, Err(ProxyError::Internal)));

        let path = RequestPath::new(parts.uri.clone(), None);
        let ctx = Arc::new(RequestContext::new(
            Peer::new(([192, 0, 2, 7], 4711).into(), false),
            path,
        ));
        parts.extensions.insert(ctx);
        let found = Context::from_request_parts(&mut parts, &()).await.unwrap();
        assert_eq!(found.peer.addr.ip().to_string(), "192.0.2.7");
        assert!(found.caller().is_none());
    }
}
