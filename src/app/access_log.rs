//! One line per request: method, path without query, status, duration, auth method and
//! user id. Never a header value, so never a token or cookie.

use std::time::Instant;

use axum::extract::Request;

use crate::identity::Caller;
use crate::telemetry::Metrics;

pub struct AccessLog {
    started: Instant,
    /// Method and URI, kept only when the line will be written (`RUST_LOG` admits it).
    request: Option<(http::Method, http::Uri)>,
}

impl AccessLog {
    pub fn begin(request: &Request) -> AccessLog {
        let enabled = tracing::enabled!(target: "bink_proxy::access", tracing::Level::INFO);
        AccessLog {
            started: Instant::now(),
            // A Uri clone shares its bytes: no copy of the path.
            request: enabled.then(|| (request.method().clone(), request.uri().clone())),
        }
    }

    /// Counts the request and writes its line, naming the caller when one was identified
    /// (admitted or not).
    pub fn finish(self, metrics: &Metrics, status: http::StatusCode, caller: Option<&Caller>) {
        let elapsed = self.started.elapsed();
        metrics.request_finished(status.as_u16(), elapsed);
        let Some((method, uri)) = self.request else {
            return;
        };
        let (auth_method, user) = match caller {
            Some(c) => (c.method().as_str(), c.identity.id.as_str()),
            None => ("none", "-"),
        };
        tracing::info!(
            target: "bink_proxy::access",
            %method,
            path = %uri.path(),
            status = status.as_u16(),
            duration_us = elapsed.as_micros() as u64,
            auth = auth_method,
            user,
            "request"
        );
    }
}
