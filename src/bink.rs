//! The client for Bink's user endpoint: no redirects, real timeouts, bounded bodies, and a
//! type that keeps "Bink rejected this token" apart from "Bink could not answer".

use std::time::Duration;

use url::Url;

use crate::identity::Identity;

/// The most of a Bink response body the proxy will read.
pub const MAX_BODY: usize = crate::outbound::MAX_BODY;

/// A definite answer from Bink about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserLookup {
    Valid(Identity),
    /// 401 or 403: the token is not (or no longer) valid. Only this may be cached
    /// negatively or end a session.
    Rejected,
}

/// Bink could not give a definite answer. Never cached, never a 401, never access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("identity provider unreachable")]
    Unreachable,
    #[error("identity provider timed out")]
    Timeout,
    #[error("identity provider answered {0}")]
    Status(u16),
    #[error("identity provider answered with a body that is not the documented JSON")]
    Malformed,
    #[error("too many identity-provider calls in flight")]
    Saturated,
}

impl Unavailable {
    /// A short label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            Unavailable::Unreachable => "unreachable",
            Unavailable::Timeout => "timeout",
            Unavailable::Status(429) => "rate_limited",
            Unavailable::Status(_) => "error_status",
            Unavailable::Malformed => "malformed",
            Unavailable::Saturated => "saturated",
        }
    }
}

#[derive(Clone)]
pub struct BinkClient {
    http: reqwest::Client,
    user_url: Url,
}

impl BinkClient {
    pub fn new(base_url: &Url, timeout: Duration) -> Result<BinkClient, reqwest::Error> {
        // An identity provider that redirects is misconfigured or compromised; the shared
        // builder never follows one, which could send a token somewhere else.
        let http = crate::outbound::client(timeout)?;
        Ok(BinkClient {
            http,
            user_url: join(base_url, "api/oauth/user"),
        })
    }

    /// `GET /api/oauth/user` with the token as bearer credentials.
    pub async fn fetch_user(&self, token: &str) -> Result<UserLookup, Unavailable> {
        let response = self
            .http
            .get(self.user_url.clone())
            .bearer_auth(token)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(classify)?;
        match response.status().as_u16() {
            200 => {
                let body = read_limited(response, MAX_BODY).await?;
                Identity::from_bink_json(&body)
                    .map(UserLookup::Valid)
                    .ok_or(Unavailable::Malformed)
            }
            401 | 403 => Ok(UserLookup::Rejected),
            other => Err(Unavailable::Status(other)),
        }
    }
}

/// `base` + `path`, keeping any path prefix `base` already has.
pub fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}/{path}"));
    url.set_query(None);
    url
}

fn classify(e: reqwest::Error) -> Unavailable {
    if e.is_timeout() {
        Unavailable::Timeout
    } else {
        Unavailable::Unreachable
    }
}

/// Reads at most `limit` bytes through the shared bounded reader; a longer body is treated
/// as malformed.
async fn read_limited(response: reqwest::Response, limit: usize) -> Result<Vec<u8>, Unavailable> {
    crate::outbound::read_limited(response, limit)
        .await
        .map_err(|e| match e {
            crate::outbound::OutboundError::Timeout => Unavailable::Timeout,
            crate::outbound::OutboundError::Unreachable => Unavailable::Unreachable,
            _ => Unavailable::Malformed,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_keeps_the_base_path_prefix() {
        let base = Url::parse("http://127.0.0.1:9/bink/").unwrap();
        assert_eq!(
            join(&base, "api/oauth/user").as_str(),
            "http://127.0.0.1:9/bink/api/oauth/user"
        );
        let base = Url::parse("https://bink.link").unwrap();
        assert_eq!(
            join(&base, "api/oauth/user").as_str(),
            "https://bink.link/api/oauth/user"
        );
    }
}
