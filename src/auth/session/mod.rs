//! Browser sessions: what a signed-in browser carries, sealed with `cookie_secret`, kept
//! either in the cookie itself or in Redis behind a random id.

pub mod cookies;
pub mod seal;
pub mod store;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::config::SessionConfig;
use crate::identity::Identity;

use cookies::CookieJarConfig;
use seal::{Purpose, Sealer};
use store::{RedisStore, StoreError};

/// A signed-in browser.
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    pub identity: Identity,
    /// The Bink access token, used to re-check the session against Bink.
    pub token: String,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds; never beyond the token's `expires_in`.
    pub expires_at: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.identity.id)
            .field("token", &"[redacted]")
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Session {
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }

    /// Whether the token should be re-checked with Bink before trusting the identity.
    pub fn needs_revalidation(&self, now: u64, after: Duration) -> bool {
        now.saturating_sub(self.issued_at) >= after.as_secs()
    }

    fn remaining(&self, now: u64) -> Duration {
        Duration::from_secs(self.expires_at.saturating_sub(now))
    }
}

/// What the request's session cookie turned out to be.
#[derive(Debug)]
pub enum Loaded {
    /// No session cookie.
    None,
    Found(Session),
    /// A cookie that fails decryption, has expired or names a deleted session: ignored,
    /// and the response should clear it.
    Stale,
}

/// Seals, stores and finds sessions.
pub struct Sessions {
    sealer: Sealer,
    pub jar: CookieJarConfig,
    pub lifetime: Duration,
    pub revalidate_after: Duration,
    redis: Option<RedisStore>,
}

impl Sessions {
    pub fn new(config: &SessionConfig, secret: &[u8; 32], redis: Option<RedisStore>) -> Sessions {
        Sessions {
            sealer: Sealer::new(secret),
            jar: CookieJarConfig::new(config),
            lifetime: config.lifetime,
            revalidate_after: config.revalidate_after,
            redis,
        }
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    pub fn redis(&self) -> Option<&RedisStore> {
        self.redis.as_ref()
    }

    /// The session the request carries, if any.
    pub async fn load(&self, headers: &HeaderMap) -> Result<Loaded, StoreError> {
        let Some(value) = cookies::request_cookie(headers, &self.jar.session_name) else {
            return Ok(Loaded::None);
        };
        let session = match &self.redis {
            None => self.open_cookie(&value),
            Some(redis) => redis.get(&value, &self.sealer).await?,
        };
        Ok(match session {
            Some(s) if !s.is_expired(now_secs()) => Loaded::Found(s),
            _ => Loaded::Stale,
        })
    }

    fn open_cookie(&self, value: &str) -> Option<Session> {
        let plain = self
            .sealer
            .open(Purpose::Session, &self.jar.session_name, value)?;
        serde_json::from_slice(&plain).ok()
    }

    /// Persists `session` and returns the `Set-Cookie` that carries it.
    pub async fn create(&self, session: &Session) -> Result<HeaderValue, StoreError> {
        let now = now_secs();
        let max_age = session.remaining(now);
        let value = match &self.redis {
            None => {
                let json = serde_json::to_vec(session).map_err(|_| StoreError::Encoding)?;
                self.sealer
                    .seal(Purpose::Session, &self.jar.session_name, &json)
            }
            Some(redis) => redis.put(session, max_age, &self.sealer).await?,
        };
        Ok(self.jar.session_cookie(value, max_age))
    }

    /// Ends the session the request carries (server-side too) and returns it, if any.
    pub async fn destroy(&self, headers: &HeaderMap) -> Result<Option<Session>, StoreError> {
        let Some(value) = cookies::request_cookie(headers, &self.jar.session_name) else {
            return Ok(None);
        };
        match &self.redis {
            None => Ok(self.open_cookie(&value)),
            Some(redis) => {
                let session = redis.get(&value, &self.sealer).await?;
                redis.delete(&value).await?;
                Ok(session)
            }
        }
    }

    pub fn clear_cookie(&self) -> HeaderValue {
        self.jar.clear(&self.jar.session_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SessionStore;
    use crate::identity::Plan;

    fn sessions() -> Sessions {
        let config = SessionConfig {
            cookie_name: "_bink_session".into(),
            cookie_secret: None,
            cookie_secure: true,
            cookie_domain: None,
            lifetime: Duration::from_secs(3600),
            revalidate_after: Duration::from_secs(300),
            store: SessionStore::Cookie,
        };
        Sessions::new(&config, &[7; 32], None)
    }

    fn session(expires_in: u64) -> Session {
        let now = now_secs();
        Session {
            identity: Identity {
                id: "usr_1".into(),
                name: Some("Zoë".into()),
                email: Some("z@example.com".into()),
                username: Some("zoe".into()),
                avatar: None,
                plan: Plan::Free,
                verification_level: 1,
            },
            token: "bink_token_value".into(),
            issued_at: now,
            expires_at: now + expires_in,
        }
    }

    fn request_with(set_cookie: &HeaderValue) -> HeaderMap {
        let pair = set_cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let mut h = HeaderMap::new();
        h.insert(http::header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        h
    }

    #[tokio::test]
    async fn a_created_cookie_loads_back() {
        let s = sessions();
        let set = s.create(&session(60)).await.unwrap();
        match s.load(&request_with(&set)).await.unwrap() {
            Loaded::Found(found) => assert_eq!(found.identity.id, "usr_1"),
            other => panic!("{other:?}"),
        }
        assert!(
            !set.to_str().unwrap().contains("bink_token_value"),
            "token sealed, never in clear"
        );
    }

    #[tokio::test]
    async fn expired_sessions_are_stale() {
        let s = sessions();
        let mut old = session(60);
        old.expires_at = now_secs() - 1;
        let json = serde_json::to_vec(&old).unwrap();
        let value = s.sealer.seal(Purpose::Session, &s.jar.session_name, &json);
        let set = s.jar.session_cookie(value, Duration::from_secs(60));
        assert!(matches!(
            s.load(&request_with(&set)).await.unwrap(),
            Loaded::Stale
        ));
    }

    #[test]
    fn debug_never_prints_the_token() {
        assert!(!format!("{:?}", session(1)).contains("bink_token_value"));
    }
}
