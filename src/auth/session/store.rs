//! The Redis session store: the cookie carries only a random session id; the sealed
//! session lives in Redis under a hash of that id, with a TTL. Deleting the entry ends
//! the session everywhere, so a copied cookie dies with sign-out.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::seal::{Purpose, Sealer};
use super::Session;

/// How long one Redis operation may take before the store counts as unavailable.
const OP_TIMEOUT: Duration = Duration::from_secs(2);
const KEY_PREFIX: &str = "bink-proxy:session:";
const SESSION_ID_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("session store unavailable")]
    Unavailable,
    #[error("session could not be encoded")]
    Encoding,
    #[error("the profile is too large for a session cookie")]
    TooLarge,
}

pub struct RedisStore {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
}

impl RedisStore {
    /// Parses the URL; connects lazily, so a Redis outage at start-up is a 503 for
    /// session requests (and a failing `/ready`), not a proxy that will not start.
    pub fn new(url: &str) -> Result<RedisStore, redis::RedisError> {
        let client = redis::Client::open(url)?;
        Ok(RedisStore {
            client,
            connection: OnceCell::new(),
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let connect = || async {
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(OP_TIMEOUT)
                .set_response_timeout(OP_TIMEOUT)
                .set_number_of_retries(1);
            ConnectionManager::new_with_config(self.client.clone(), config).await
        };
        match tokio::time::timeout(OP_TIMEOUT, self.connection.get_or_try_init(connect)).await {
            Ok(Ok(c)) => Ok(c.clone()),
            _ => Err(StoreError::Unavailable),
        }
    }

    /// `PING`, for `/ready`.
    pub async fn ping(&self) -> bool {
        let Ok(mut c) = self.connection().await else {
            return false;
        };
        let pong: Result<Result<String, _>, _> =
            tokio::time::timeout(OP_TIMEOUT, redis::cmd("PING").query_async(&mut c)).await;
        matches!(pong, Ok(Ok(p)) if p == "PONG")
    }

    /// Stores the session under a new random id and returns the id (the cookie value).
    pub async fn put(
        &self,
        session: &Session,
        ttl: Duration,
        sealer: &Sealer,
    ) -> Result<String, StoreError> {
        let id_bytes: [u8; SESSION_ID_BYTES] = rand::random();
        let id = URL_SAFE_NO_PAD.encode(id_bytes);
        let key = key_for(&id);
        let json = serde_json::to_vec(session).map_err(|_| StoreError::Encoding)?;
        let sealed = sealer.seal(Purpose::StoredSession, &key, &json);
        let mut c = self.connection().await?;
        let ttl = ttl.as_secs().max(1);
        let set: Result<Result<(), _>, _> =
            tokio::time::timeout(OP_TIMEOUT, c.set_ex(&key, sealed, ttl)).await;
        match set {
            Ok(Ok(())) => Ok(id),
            _ => Err(StoreError::Unavailable),
        }
    }

    /// The session for cookie value `id`; `None` when unknown, expired or not ours.
    pub async fn get(&self, id: &str, sealer: &Sealer) -> Result<Option<Session>, StoreError> {
        if !is_session_id(id) {
            return Ok(None);
        }
        let key = key_for(id);
        let mut c = self.connection().await?;
        let got: Result<Result<Option<String>, _>, _> =
            tokio::time::timeout(OP_TIMEOUT, c.get(&key)).await;
        let sealed = match got {
            Ok(Ok(v)) => v,
            _ => return Err(StoreError::Unavailable),
        };
        Ok(sealed
            .and_then(|s| sealer.open(Purpose::StoredSession, &key, &s))
            .and_then(|plain| serde_json::from_slice(&plain).ok()))
    }

    pub async fn delete(&self, id: &str) -> Result<(), StoreError> {
        if !is_session_id(id) {
            return Ok(());
        }
        let mut c = self.connection().await?;
        let deleted: Result<Result<i64, _>, _> =
            tokio::time::timeout(OP_TIMEOUT, c.del(key_for(id))).await;
        match deleted {
            Ok(Ok(_)) => Ok(()),
            _ => Err(StoreError::Unavailable),
        }
    }
}

/// Redis keys hold a hash of the id, so a dump of Redis contains no usable cookie.
fn key_for(id: &str) -> String {
    let digest = Sha256::digest(id.as_bytes());
    let mut key = String::with_capacity(KEY_PREFIX.len() + 64);
    key.push_str(KEY_PREFIX);
    for b in digest {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

fn is_session_id(id: &str) -> bool {
    id.len() == 43
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
