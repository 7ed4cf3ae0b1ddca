//! Browser sessions: what a signed-in browser carries, sealed with `cookie_secret`, kept
//! either in the cookie itself or in Redis behind a random id.

pub mod cookies;
pub mod seal;
pub mod store;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use moka::future::Cache;
use serde::{Deserialize, Serialize};

use crate::auth::token::{TokenHasher, TokenKey};
use crate::config::SessionConfig;
use crate::identity::{Identity, Principal};

use cookies::CookieJarConfig;
use seal::{Purpose, Sealer};
use store::{RedisStore, StoreError};

/// The largest `Set-Cookie` the proxy sends: browsers drop cookies over 4,096 bytes of
/// name, value and attributes (RFC 6265 §6.1), so this leaves room and never gets close.
pub const MAX_COOKIE_BYTES: usize = 4000;

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
    fn remaining(&self, now: u64) -> Duration {
        Duration::from_secs(self.expires_at.saturating_sub(now))
    }
}

/// A session as requests use it: opened once, then shared by every request that carries
/// the same cookie.
pub struct ActiveSession {
    pub principal: Arc<Principal>,
    /// The Bink access token, used to re-check the session against Bink.
    pub token: Arc<str>,
    pub issued_at: u64,
    pub expires_at: u64,
}

impl From<Session> for ActiveSession {
    fn from(s: Session) -> ActiveSession {
        ActiveSession {
            principal: Arc::new(Principal::from(s.identity)),
            token: Arc::from(s.token),
            issued_at: s.issued_at,
            expires_at: s.expires_at,
        }
    }
}

impl ActiveSession {
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }

    /// Whether the token should be re-checked with Bink before trusting the identity.
    pub fn needs_revalidation(&self, now: u64, after: Duration) -> bool {
        now.saturating_sub(self.issued_at) >= after.as_secs()
    }
}

impl std::fmt::Debug for ActiveSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveSession")
            .field("user", &self.principal.id)
            .field("token", &"[redacted]")
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What the request's session cookie turned out to be.
#[derive(Debug)]
pub enum Loaded {
    /// No session cookie.
    None,
    Found(Arc<ActiveSession>),
    /// A cookie that fails decryption, has expired or names a deleted session: ignored,
    /// and the response should clear it.
    Stale,
}

/// Cookies already opened, for the cookie store: a signed-in browser sends the same
/// cookie with every request, and opening it (base64, XChaCha20-Poly1305, JSON) costs more
/// than the rest of the request's authentication. Keyed by a keyed hash of the cookie
/// value, so neither a cookie nor a comparison against one is kept. Expiry and
/// revalidation are still checked on every request; only cookies that opened are kept.
struct OpenedCookies {
    hasher: TokenHasher,
    cache: Cache<TokenKey, Arc<ActiveSession>>,
}

/// Signed-in browsers kept opened at once; beyond it the least used are opened again.
const OPENED_COOKIES_CAPACITY: u64 = 10_000;
/// A browser idle this long has its cookie opened again on its next request.
const OPENED_COOKIES_IDLE: Duration = Duration::from_secs(300);

/// Seals, stores and finds sessions.
pub struct Sessions {
    sealer: Sealer,
    pub jar: CookieJarConfig,
    pub lifetime: Duration,
    pub revalidate_after: Duration,
    store: Store,
}

/// Where sessions live: in Redis (the cookie holds a sealed id; every request asks Redis,
/// so a sign-out ends the session everywhere at once), or in the sealed cookie itself
/// (with the cookies already opened kept in memory).
enum Store {
    Redis(RedisStore),
    Cookie(OpenedCookies),
}

impl Sessions {
    pub fn new(config: &SessionConfig, secret: &[u8; 32], redis: Option<RedisStore>) -> Sessions {
        let store = match redis {
            Some(redis) => Store::Redis(redis),
            None => Store::Cookie(OpenedCookies {
                hasher: TokenHasher::random(),
                cache: Cache::builder()
                    .max_capacity(OPENED_COOKIES_CAPACITY)
                    .time_to_idle(OPENED_COOKIES_IDLE)
                    .build(),
            }),
        };
        Sessions {
            sealer: Sealer::new(secret),
            jar: CookieJarConfig::new(config),
            lifetime: config.lifetime,
            revalidate_after: config.revalidate_after,
            store,
        }
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    pub fn redis(&self) -> Option<&RedisStore> {
        match &self.store {
            Store::Redis(redis) => Some(redis),
            Store::Cookie(_) => None,
        }
    }

    /// The session the request carries, if any.
    pub async fn load(&self, headers: &HeaderMap) -> Result<Loaded, StoreError> {
        let Some(value) = cookies::request_cookie(headers, &self.jar.session_name) else {
            return Ok(Loaded::None);
        };
        let session = match &self.store {
            // Boxed, as is the cache-miss insert below: both futures are large, and unboxed
            // they would enlarge (and be copied with) every request's future.
            Store::Redis(redis) => Box::pin(redis.get(value, &self.sealer))
                .await?
                .map(|s| Arc::new(ActiveSession::from(s))),
            Store::Cookie(opened) => {
                let key = opened.hasher.key(value);
                match opened.cache.get(&key).await {
                    Some(session) => Some(session),
                    None => match self.open_cookie(value) {
                        Some(s) => {
                            let session = Arc::new(ActiveSession::from(s));
                            Box::pin(opened.cache.insert(key, session.clone())).await;
                            Some(session)
                        }
                        None => None,
                    },
                }
            }
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
    /// Only what the proxy uses is kept: the avatar URL (often a long presigned URL) is
    /// dropped. A session that would still not fit a browser cookie is refused here with
    /// [`StoreError::TooLarge`] rather than set and silently dropped by the browser, which
    /// would send the user round the sign-in loop forever.
    pub async fn create(&self, session: &Session) -> Result<HeaderValue, StoreError> {
        let now = now_secs();
        let max_age = session.remaining(now);
        let mut session = session.clone();
        session.identity.avatar = None;
        let session = &session;
        let value = match &self.store {
            Store::Cookie(_) => {
                let json = serde_json::to_vec(session).map_err(|_| StoreError::Encoding)?;
                self.sealer
                    .seal(Purpose::Session, &self.jar.session_name, &json)
            }
            Store::Redis(redis) => redis.put(session, max_age, &self.sealer).await?,
        };
        let cookie = self.jar.session_cookie(value, max_age);
        if cookie.len() > MAX_COOKIE_BYTES {
            return Err(StoreError::TooLarge);
        }
        Ok(cookie)
    }

    /// Ends the session the request carries (server-side too) and returns it, if any.
    pub async fn destroy(&self, headers: &HeaderMap) -> Result<Option<Session>, StoreError> {
        let Some(value) = cookies::request_cookie(headers, &self.jar.session_name) else {
            return Ok(None);
        };
        match &self.store {
            Store::Cookie(opened) => {
                opened.cache.invalidate(&opened.hasher.key(value)).await;
                Ok(self.open_cookie(value))
            }
            Store::Redis(redis) => {
                let session = redis.get(value, &self.sealer).await?;
                redis.delete(value).await?;
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
            Loaded::Found(found) => assert_eq!(found.principal.id, "usr_1"),
            other => panic!("{other:?}"),
        }
        assert!(
            !set.to_str().unwrap().contains("bink_token_value"),
            "token sealed, never in clear"
        );
    }

    #[tokio::test]
    async fn a_large_profile_keeps_no_avatar_and_an_oversized_one_is_refused() {
        let s = sessions();
        // A long presigned avatar URL is not needed by the proxy: the cookie stays small.
        let mut big = session(60);
        big.identity.avatar = Some(format!(
            "https://cdn.example/a.png?X-Amz-Signature={}",
            "s".repeat(3000)
        ));
        big.identity.name = Some("N".repeat(500));
        let set = s.create(&big).await.unwrap();
        assert!(set.len() < MAX_COOKIE_BYTES, "{} bytes", set.len());
        match s.load(&request_with(&set)).await.unwrap() {
            Loaded::Found(found) => assert_eq!(found.principal.avatar, None),
            other => panic!("{other:?}"),
        }
        // A profile that still cannot fit is refused, never set for the browser to drop.
        let mut huge = session(60);
        huge.identity.name = Some("N".repeat(3500));
        assert!(matches!(s.create(&huge).await, Err(StoreError::TooLarge)));
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

    #[tokio::test]
    async fn a_cookie_opened_once_is_shared_and_still_expires() {
        let s = sessions();
        // Whole seconds: a 1 s session made at x.999 s would expire before the second load
        // on a busy machine (seen in CI); 3 s leaves the two loads their moment.
        let set = s.create(&session(3)).await.unwrap();
        let request = request_with(&set);
        let (Loaded::Found(first), Loaded::Found(second)) = (
            s.load(&request).await.unwrap(),
            s.load(&request).await.unwrap(),
        ) else {
            panic!("the session should load twice");
        };
        assert!(
            Arc::ptr_eq(&first, &second),
            "the second load is the cached one"
        );
        while now_secs() < first.expires_at {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            matches!(s.load(&request).await.unwrap(), Loaded::Stale),
            "expiry is checked on every request, cached or not"
        );
    }

    #[tokio::test]
    async fn a_tampered_cookie_is_stale_even_next_to_a_cached_one() {
        let s = sessions();
        let set = s.create(&session(60)).await.unwrap();
        let good = request_with(&set);
        assert!(matches!(s.load(&good).await.unwrap(), Loaded::Found(_)));
        let mut value = good[http::header::COOKIE].to_str().unwrap().to_string();
        let last = value.pop().unwrap();
        value.push(if last == 'A' { 'B' } else { 'A' });
        let mut tampered = HeaderMap::new();
        tampered.insert(http::header::COOKIE, HeaderValue::from_str(&value).unwrap());
        assert!(matches!(s.load(&tampered).await.unwrap(), Loaded::Stale));
    }

    #[test]
    fn debug_never_prints_the_token() {
        assert!(!format!("{:?}", session(1)).contains("bink_token_value"));
    }
}
