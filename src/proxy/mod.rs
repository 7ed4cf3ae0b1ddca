//! The data path: everything between an admitted request and the upstream's answer.
//! [`Forwarder`] owns what it needs for that and nothing else.

pub mod body;
pub mod forward;
pub mod headers;
pub mod hygiene;

use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, HOST, UPGRADE};
use http::HeaderValue;

use crate::auth::session::cookies::CookieJarConfig;
use crate::config::HeaderConfig;
use crate::error::ProxyError;
use crate::http::peer::Peer;
use crate::http::{forwarded, names};
use crate::identity::assertion::AssertionSigner;
use crate::identity::{wire, AuthMethod, Caller};
use crate::telemetry::Metrics;

pub use forward::{ReservedConnection, Upstream};

/// Forwards admitted requests upstream, with the headers the upstream may trust in place of
/// the ones it must not.
pub struct Forwarder {
    pub upstream: Upstream,
    /// `server.trusted_proxy_hops`: how much of a client's `X-Forwarded-For` is kept.
    pub trusted_proxy_hops: usize,
    pub headers: HeaderConfig,
    /// The signed identity assertion, when `headers.identity_jwt` is on.
    pub signer: Option<Arc<AssertionSigner>>,
    /// The proxy's own cookies (session, CSRF), never passed on; `None` without sign-in.
    pub jar: Option<CookieJarConfig>,
    pub metrics: Arc<Metrics>,
}

impl Forwarder {
    /// Forwards an admitted (or skip-auth, `caller` `None`) request over the client
    /// connection's `reserved` upstream connection.
    pub async fn forward(
        &self,
        peer: &Peer,
        reserved: &ReservedConnection,
        mut parts: http::request::Parts,
        body: Body,
        caller: Option<&Caller>,
    ) -> Response {
        let h = &mut parts.headers;
        // One growth for the headers added below instead of several.
        h.reserve(12);
        let forwarded_for = match self.trusted_proxy_hops {
            0 => peer.value.clone(),
            hops => forwarded::forwarded_for(h, hops, peer.addr.ip()),
        };
        let forwarded_host = h.get(HOST).cloned().or_else(|| {
            parts
                .uri
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        });
        scrub_client_headers(h, caller.is_none(), self.headers.pass_authorization);
        h.insert(names::X_FORWARDED_FOR.clone(), forwarded_for);
        h.insert(
            names::X_FORWARDED_PROTO.clone(),
            HeaderValue::from_static(if peer.tls { "https" } else { "http" }),
        );
        match forwarded_host {
            Some(host) => h.insert(names::X_FORWARDED_HOST.clone(), host),
            None => h.remove(&names::X_FORWARDED_HOST),
        };
        if let Some(jar) = &self.jar {
            // The session and CSRF cookies are the proxy's business, not the upstream's.
            jar.strip_from(h);
        }
        if let Some(caller) = caller {
            self.add_caller_headers(h, caller);
        }

        // A body the client may still be sending is watched, so a client that breaks its
        // own framing is told so (400) instead of being reported as an upstream failure.
        let (body, client_body) = body::watch(body);
        match self
            .upstream
            .forward(http::Request::from_parts(parts, body), reserved)
            .await
        {
            Ok(response) => response,
            Err(_) if client_body.failed() => {
                self.metrics.client_body_error();
                ProxyError::BrokenClientBody.into_response()
            }
            Err(e) => {
                self.metrics.upstream_error(match e {
                    ProxyError::UpstreamTimeout => "timeout",
                    _ => "unreachable",
                });
                e.into_response()
            }
        }
    }

    /// Identity headers, the optional token copy and the optional signed assertion.
    fn add_caller_headers(&self, h: &mut http::HeaderMap, caller: &Caller) {
        if self.headers.pass_access_token {
            if let Ok(mut v) = HeaderValue::from_str(caller.token()) {
                v.set_sensitive(true);
                h.insert(names::X_FORWARDED_ACCESS_TOKEN.clone(), v);
            }
        }
        if caller.method() == AuthMethod::Bearer && !self.headers.pass_authorization {
            h.remove(AUTHORIZATION);
        }
        wire::identity_headers(h, caller, self.signer.as_deref());
    }
}

/// Removes from a client's headers everything the upstream must only ever get from the
/// proxy (client identity headers were already removed by [`hygiene::sanitize`]): hop-by-hop
/// headers and those named in `Connection` (an upgrade other than `h2c` is kept), every
/// forgeable forwarding header, and on a skip-auth route an unvalidated Bink token.
pub fn scrub_client_headers(h: &mut http::HeaderMap, skip_auth: bool, pass_authorization: bool) {
    // `Upgrade: h2c` is never passed on: RFC 9113 retired it, and an upstream that accepts
    // it would open a raw HTTP/2 tunnel past every check made here.
    let upgrade = headers::is_upgrade_request(h)
        .then(|| h.get(UPGRADE).cloned())
        .flatten()
        .filter(|u| !headers::names_h2c(u));
    headers::remove_hop_by_hop(h);
    // Forwarding headers a client could forge (`Forwarded`, `X-Real-IP`, …); the proxy's
    // own are set after this, so no client copy survives next to them.
    headers::strip_forwarding_headers(h);
    if skip_auth && !pass_authorization {
        // A skip-auth route: a Bink token here was never validated, and the upstream must
        // not see a Bink credential it did not need.
        // Every value is looked at: a second Authorization line must not shelter one.
        if h.get_all(AUTHORIZATION).iter().any(carries_bink_token) {
            h.remove(AUTHORIZATION);
        }
    }
    if let Some(upgrade) = upgrade {
        headers::restore_upgrade(h, upgrade);
    }
}

/// `Bearer bink_…`, scheme in any case: a Bink credential.
fn carries_bink_token(value: &HeaderValue) -> bool {
    let v = value.as_bytes();
    v.len() > 7
        && v[..7].eq_ignore_ascii_case(b"bearer ")
        && v[7..].trim_ascii_start().starts_with(b"bink_")
}
