//! `Config::from_toml`, one file per concern (see the `mod` lines below), and the helpers
//! they share: a minimal valid config, keys, temporary secret files, and the full list of
//! defaults.

mod access;
mod bink;
mod env;
mod example;
mod integrations;
mod load;
mod parse;
mod providers;
mod redact;
mod server;
mod session;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::*;
use crate::policy::Requirements;

const MINIMAL: &str = "[server]\nupstream = \"http://127.0.0.1:8080\"\n";

/// A valid `session.cookie_secret`: bytes 0..32, base64 (standard alphabet, padded, the
/// form `bink-proxy gen-secret` prints).
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// The `[session]` lines sign-in needs besides the `[bink]` client.
const SESSION: &str =
    "[session]\ncookie_secret = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n";

fn key_bytes() -> [u8; 32] {
    std::array::from_fn(|i| i as u8)
}

/// Standard padded base64, the form `bink-proxy gen-secret` prints.
fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A valid key other than `KEY`: bytes `first..first + 32`, and its base64.
fn other_key(first: u8) -> ([u8; 32], String) {
    let bytes: [u8; 32] = std::array::from_fn(|i| first.wrapping_add(i as u8));
    (bytes, b64(&bytes))
}

fn ok(text: &str) -> Config {
    Config::from_toml(text, &NoEnv).unwrap_or_else(|e| panic!("expected a valid config: {e}"))
}

fn problems(text: &str, env: &dyn Env) -> Vec<Problem> {
    match Config::from_toml(text, env) {
        Ok(_) => panic!("expected a config error for:\n{text}"),
        Err(e) => e.problems,
    }
}

fn keys(problems: &[Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.key.as_str()).collect()
}

/// `MINIMAL` with `extra` appended (extra sections, or more `[server]` keys first).
fn with(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

fn dur(s: &str) -> Duration {
    parse_duration(s).unwrap()
}

/// A file in the temp directory that no other test (or test run) uses; removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "bink-proxy-config-test-{}-{name}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }

    fn toml_path(&self) -> String {
        toml::Value::String(self.0.display().to_string()).to_string()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Every value other than `server.upstream` equals the one in `config::defaults`.
fn assert_defaults(c: &Config) {
    let s = &c.server;
    assert_eq!(s.listen, defaults::LISTEN.parse::<SocketAddr>().unwrap());
    assert_eq!(s.public_url, Url::parse(defaults::PUBLIC_URL).unwrap());
    assert!(s.tls.is_none());
    assert_eq!(s.trusted_proxy_hops, 0);
    assert_eq!(s.upstream_timeout, dur(defaults::UPSTREAM_TIMEOUT));
    assert_eq!(s.shutdown_grace, dur(defaults::SHUTDOWN_GRACE));
    assert_eq!(s.header_read_timeout, dur(defaults::HEADER_READ_TIMEOUT));
    assert_eq!(s.metrics_listen, None);

    let b = &c.bink;
    assert_eq!(b.base_url, Url::parse(defaults::BINK_BASE_URL).unwrap());
    assert_eq!(b.client_id, None);
    assert!(b.client_secret.is_none());
    assert_eq!(b.timeout, dur(defaults::BINK_TIMEOUT));
    assert_eq!(
        b.max_concurrent_calls as u64,
        defaults::BINK_MAX_CONCURRENT_CALLS
    );

    let se = &c.session;
    assert_eq!(se.cookie_name, defaults::COOKIE_NAME);
    assert!(se.cookie_secret.is_none());
    assert!(se.cookie_secure);
    assert_eq!(se.cookie_domain, None);
    assert_eq!(se.lifetime, dur(defaults::SESSION_LIFETIME));
    assert_eq!(se.revalidate_after, dur(defaults::REVALIDATE_AFTER));
    assert_eq!(se.store, SessionStore::Cookie);

    let t = &c.tokens;
    assert!(t.accept_bearer);
    assert_eq!(t.cache_ttl, dur(defaults::CACHE_TTL));
    assert_eq!(t.negative_cache_ttl, dur(defaults::NEGATIVE_CACHE_TTL));
    assert_eq!(t.cache_max_entries, defaults::CACHE_MAX_ENTRIES);
    assert_eq!(t.stale_if_error, dur(defaults::STALE_IF_ERROR));

    assert_eq!(c.access.base, Requirements::default());
    assert!(c.access.rules.is_empty());
    assert!(c.access.skip_auth.is_empty());

    let h = &c.headers;
    assert!(!h.pass_authorization);
    assert!(!h.pass_access_token);
    assert!(!h.identity_jwt);
    assert_eq!(h.identity_jwt_key_file, None);

    let i = &c.integrations;
    assert!(!i.enabled);
    assert_eq!(i.database_url, Secret::new(defaults::DATABASE_URL));
    assert_eq!(i.encryption_key, None);
    assert!(i.previous_encryption_keys.is_empty());
    assert_eq!(i.provider_timeout, dur(defaults::PROVIDER_TIMEOUT));
    assert_eq!(i.organization, OrganizationMode::User);
    assert!(i.bindbee.api_key.is_none());
    assert_eq!(
        i.bindbee.base_url,
        Url::parse(defaults::BINDBEE_BASE_URL).unwrap()
    );
    assert_eq!(i.bindbee.sdk_url, defaults::BINDBEE_SDK_URL);
    assert!(i.kombo.api_key.is_none());
    assert_eq!(
        i.kombo.base_url,
        Url::parse(defaults::KOMBO_BASE_URL).unwrap()
    );
    assert_eq!(i.kombo.sdk_url, defaults::KOMBO_SDK_URL);
}

/// `MINIMAL` with sign-in enabled (client id and secret) and `session` as the [session] body.
fn sign_in_with(session: &str) -> String {
    with(&format!(
        "[bink]\nclient_id = \"proxy\"\nclient_secret = \"s3\"\n[session]\n{session}"
    ))
}

/// `MINIMAL` with `[integrations]` enabled, the key given, and `body` appended to the section
/// (sub-tables such as `[integrations.kombo]` may follow in `body`).
fn integrations_with(body: &str) -> String {
    with(&format!(
        "[integrations]\nenabled = true\nencryption_key = \"{KEY}\"\n{body}"
    ))
}
