//! `[session]`: the session cookie (name, key, scope, lifetime) and where sessions live,
//! with the check that the cookie can apply to `server.public_url` at all.

use std::time::Duration;

use url::Url;

use super::defaults;
use super::parse::{non_empty, parse_duration, positive_duration, secret_value};
use super::raw::RawSession;
use super::{parse_key, Problems, Secret, SecretKey, ServerConfig};

#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Base name; `__Host-` is prepended when the cookie is Secure with no Domain.
    pub cookie_name: String,
    /// 32 bytes; present whenever sign-in is enabled (validated).
    pub cookie_secret: Option<SecretKey>,
    pub cookie_secure: bool,
    pub cookie_domain: Option<String>,
    pub lifetime: Duration,
    pub revalidate_after: Duration,
    pub store: SessionStore,
}

/// Where sessions live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionStore {
    /// The encrypted session is the cookie (stateless).
    Cookie,
    /// The cookie holds a random id; the encrypted session lives in Redis.
    Redis { url: Secret },
}

pub(super) fn validate_session(
    r: &RawSession,
    sign_in: bool,
    p: &mut Problems,
) -> Option<SessionConfig> {
    let cookie_name = non_empty(&r.cookie_name)
        .unwrap_or(defaults::COOKIE_NAME)
        .to_string();
    if !cookie_name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        || cookie_name.starts_with("__")
    {
        p.add(
            "session.cookie_name",
            "use letters, digits, '_', '-' and '.' only, not starting with \"__\"",
        );
    }
    let cookie_secret = match secret_value(
        p,
        "session.cookie_secret",
        &r.cookie_secret,
        &r.cookie_secret_file,
    ) {
        Some(s) => match parse_key(s.expose()) {
            Ok(k) => Some(k),
            Err(e) => {
                p.add("session.cookie_secret", e);
                None
            }
        },
        None => {
            if sign_in {
                p.add(
                    "session.cookie_secret",
                    "required when sign-in is enabled (bink.client_id is set): 32 bytes, base64 (`bink-proxy gen-secret`)",
                );
            }
            None
        }
    };
    let cookie_domain =
        non_empty(&r.cookie_domain).map(|d| d.trim_start_matches('.').to_ascii_lowercase());
    if let Some(d) = &cookie_domain {
        if d.is_empty()
            || !d
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            p.add(
                "session.cookie_domain",
                format!("{d:?} is not a domain name"),
            );
        }
    }
    let lifetime = p.parse(
        "session.lifetime",
        r.lifetime.as_deref(),
        defaults::SESSION_LIFETIME,
        positive_duration,
    );
    let revalidate_after = p.parse(
        "session.revalidate_after",
        r.revalidate_after.as_deref(),
        defaults::REVALIDATE_AFTER,
        parse_duration,
    );
    let store = match non_empty(&r.store).unwrap_or("cookie") {
        "cookie" => Some(SessionStore::Cookie),
        "redis" => {
            let url = secret_value(p, "session.redis_url", &r.redis_url, &r.redis_url_file)
                .unwrap_or_else(|| Secret::new(defaults::REDIS_URL));
            match Url::parse(url.expose()) {
                Ok(u) if matches!(u.scheme(), "redis" | "rediss") => {
                    Some(SessionStore::Redis { url })
                }
                _ => {
                    p.add("session.redis_url", "must be a redis:// or rediss:// URL");
                    None
                }
            }
        }
        other => {
            p.add(
                "session.store",
                format!("must be \"cookie\" or \"redis\" (got {other:?})"),
            );
            None
        }
    };
    Some(SessionConfig {
        cookie_name,
        cookie_secret,
        cookie_secure: r.cookie_secure.unwrap_or(true),
        cookie_domain,
        lifetime: lifetime?,
        revalidate_after: revalidate_after?,
        store: store?,
    })
}

/// Browsers silently drop cookies that cannot apply to the public origin, which shows up
/// as an endless sign-in loop; refuse such a configuration up front.
pub(super) fn check_cookie_scope(server: &ServerConfig, session: &SessionConfig, p: &mut Problems) {
    let host = server
        .public_url
        .host_str()
        .unwrap_or("")
        .to_ascii_lowercase();
    let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]");
    if session.cookie_secure && server.public_url.scheme() == "http" && !loopback {
        p.add(
            "session.cookie_secure",
            "browsers drop Secure cookies on an http:// server.public_url; serve over https or set cookie_secure = false",
        );
    }
    if let Some(domain) = &session.cookie_domain {
        if host != *domain && !host.ends_with(&format!(".{domain}")) {
            p.add(
                "session.cookie_domain",
                format!("{domain:?} does not cover the server.public_url host {host:?}"),
            );
        }
    }
}
