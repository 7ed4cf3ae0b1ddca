//! Configuration: TOML file + `BINK_PROXY_*` environment overrides + `<key>_file` secrets,
//! validated once at start-up into typed values. Every problem is collected and reported
//! together, each naming its key.

mod access;
mod env;
mod raw;
mod secret;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

pub use env::{Env, NoEnv, ProcessEnv};
pub use raw::{RawAccess, RawConfig, RawPolicy};
pub use secret::{constant_time_eq, Secret};

use crate::policy::{AccessPolicy, Requirements};

/// Defaults, mirrored in `config.toml.example` (a test checks the two agree).
pub mod defaults {
    pub const LISTEN: &str = "127.0.0.1:4180";
    pub const PUBLIC_URL: &str = "http://localhost:4180";
    pub const UPSTREAM_TIMEOUT: &str = "60s";
    pub const SHUTDOWN_GRACE: &str = "10s";
    pub const HEADER_READ_TIMEOUT: &str = "10s";
    pub const BINK_BASE_URL: &str = "https://bink.link";
    pub const BINK_TIMEOUT: &str = "5s";
    pub const BINK_MAX_CONCURRENT_CALLS: u64 = 64;
    pub const COOKIE_NAME: &str = "_bink_session";
    pub const SESSION_LIFETIME: &str = "12h";
    pub const REVALIDATE_AFTER: &str = "5m";
    pub const REDIS_URL: &str = "redis://127.0.0.1:6379";
    pub const DATABASE_URL: &str = "sqlite://bink-proxy.db";
    pub const PROVIDER_TIMEOUT: &str = "10s";
    pub const BINDBEE_BASE_URL: &str = "https://api.bindbee.dev";
    pub const KOMBO_BASE_URL: &str = "https://api.kombo.dev/v1";
    /// Kombo's documented CDN build of `@kombo-api/connect` (sets `window.KomboConnect`).
    pub const KOMBO_SDK_URL: &str = "https://unpkg.com/@kombo-api/connect@1.3.0/dist/index.js";
    pub const CACHE_TTL: &str = "60s";
    pub const NEGATIVE_CACHE_TTL: &str = "5s";
    pub const CACHE_MAX_ENTRIES: u64 = 100_000;
    pub const STALE_IF_ERROR: &str = "0s";
}

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub bink: BinkConfig,
    pub session: SessionConfig,
    pub tokens: TokenConfig,
    pub access: AccessPolicy,
    pub headers: HeaderConfig,
    pub integrations: IntegrationsConfig,
}

/// `[integrations]`: the embedded Bindbee and Kombo flows.
#[derive(Debug, Clone)]
pub struct IntegrationsConfig {
    pub enabled: bool,
    /// May hold a password, hence secret. `sqlite://...` or `postgres://...`.
    pub database_url: Secret,
    /// The current key; present whenever `enabled` (validated).
    pub encryption_key: Option<SecretKey>,
    pub previous_encryption_keys: Vec<SecretKey>,
    pub provider_timeout: Duration,
    pub organization: OrganizationMode,
    pub bindbee: ProviderConfig,
    pub kombo: ProviderConfig,
}

/// What an integration belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationMode {
    /// The Bink user id.
    User,
    /// The lower-cased domain of the user's email (users without email are refused).
    EmailDomain,
}

#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// `None`: the provider is not configured (its routes answer 404).
    pub api_key: Option<Secret>,
    pub base_url: Url,
    /// The vendor's front-end script loaded by `/integrations/ui` and `connect.js`.
    pub sdk_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The external origin; every absolute URL the proxy produces starts with it.
    pub public_url: Url,
    pub upstream: Url,
    pub tls: Option<TlsFiles>,
    /// How many `X-Forwarded-For` entries (from the right) were written by trusted proxies.
    pub trusted_proxy_hops: usize,
    pub upstream_timeout: Duration,
    pub shutdown_grace: Duration,
    /// Time a client has to send a complete request head (slow-loris protection).
    pub header_read_timeout: Duration,
    pub metrics_listen: Option<SocketAddr>,
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct BinkConfig {
    pub base_url: Url,
    /// `None`: browser sign-in disabled, bearer tokens only.
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub timeout: Duration,
    /// Cap on simultaneous calls to Bink's user endpoint, so a flood of new tokens cannot
    /// turn the proxy into an amplifier against the identity provider.
    pub max_concurrent_calls: usize,
}

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

/// A 32-byte key whose `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(pub [u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Decodes a base64 (standard or URL-safe, padded or not) 32-byte key.
pub fn parse_key(value: &str) -> Result<SecretKey, String> {
    use base64::Engine;
    let v = value.trim();
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ];
    let bytes = engines
        .iter()
        .find_map(|e| {
            e.decode(v)
                .ok()
                .or_else(|| e.decode(v.trim_end_matches('=')).ok())
        })
        .or_else(|| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(v.trim_end_matches('='))
                .ok()
        })
        .or_else(|| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(v.trim_end_matches('='))
                .ok()
        })
        .ok_or("must be base64 (run `bink-proxy gen-secret`)")?;
    let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        format!(
            "must decode to 32 bytes, got {} (run `bink-proxy gen-secret`)",
            b.len()
        )
    })?;
    Ok(SecretKey(key))
}

#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub accept_bearer: bool,
    pub cache_ttl: Duration,
    pub negative_cache_ttl: Duration,
    pub cache_max_entries: u64,
    pub stale_if_error: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct HeaderConfig {
    pub pass_authorization: bool,
    pub pass_access_token: bool,
    pub identity_jwt: bool,
    pub identity_jwt_key_file: Option<PathBuf>,
}

/// One problem with the configuration, named by its dotted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

/// Every problem found, reported together.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "invalid configuration ({} problem(s)):",
            self.problems.len()
        )?;
        for p in &self.problems {
            writeln!(f, "  {}: {}", p.key, p.message)?;
        }
        Ok(())
    }
}

impl ConfigError {
    fn one(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                key: key.into(),
                message: message.into(),
            }],
        }
    }
}

/// Collects problems while validating, so one run reports all of them.
#[derive(Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    /// Runs `parse` on `value` (or on `default` when unset), recording a failure under `key`.
    pub fn parse<T, E: std::fmt::Display>(
        &mut self,
        key: &str,
        value: Option<&str>,
        default: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let v = value.unwrap_or(default);
        match parse(v) {
            Ok(t) => Some(t),
            Err(e) => {
                self.add(key, format!("{e} (got {v:?})"));
                None
            }
        }
    }
}

/// Where the configuration file comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Given with `--config` or `BINK_PROXY_CONFIG`: must exist.
    Explicit(PathBuf),
    /// `./config.toml`: used when present, otherwise the environment alone configures.
    Default(PathBuf),
}

impl Source {
    pub fn resolve(flag: Option<PathBuf>, env_config: Option<PathBuf>) -> Self {
        match flag.or(env_config) {
            Some(p) => Source::Explicit(p),
            None => Source::Default(PathBuf::from("config.toml")),
        }
    }
}

impl Config {
    /// Reads the file (if any), applies environment overrides and validates.
    pub fn load(source: &Source, env: &dyn Env) -> Result<Config, ConfigError> {
        let text = match source {
            Source::Explicit(p) => Some(read_file(p)?),
            Source::Default(p) if p.exists() => Some(read_file(p)?),
            Source::Default(_) => None,
        };
        Config::from_toml(text.as_deref().unwrap_or(""), env)
    }

    /// Parses TOML text plus environment overrides.
    pub fn from_toml(text: &str, env: &dyn Env) -> Result<Config, ConfigError> {
        let mut table: toml::Table = toml::from_str(text)
            .map_err(|e| ConfigError::one(toml_error_key(&e), e.message().to_string()))?;
        env::apply_overrides(&mut table, env).map_err(|e| ConfigError::one("environment", e))?;
        let raw: RawConfig = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| ConfigError::one(e.path().to_string(), e.inner().message().to_string()))?;
        Config::validate(raw)
    }

    /// Turns raw values into typed ones, collecting every problem.
    pub fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
        let mut p = Problems::default();
        let server = validate_server(&raw.server, &mut p);
        let bink = validate_bink(&raw.bink, &mut p);
        // From the raw key, so a bad `bink.base_url` does not hide a missing cookie secret.
        let sign_in = non_empty(&raw.bink.client_id).is_some();
        let session = validate_session(&raw.session, sign_in, &mut p);
        let tokens = validate_tokens(&raw.tokens, &mut p);
        let access = access::validate_access(&raw.access, &mut p);
        let integrations = validate_integrations(&raw.integrations, &mut p);
        let headers = HeaderConfig {
            pass_authorization: raw.headers.pass_authorization.unwrap_or(false),
            pass_access_token: raw.headers.pass_access_token.unwrap_or(false),
            identity_jwt: raw.headers.identity_jwt.unwrap_or(false),
            identity_jwt_key_file: non_empty(&raw.headers.identity_jwt_key_file).map(PathBuf::from),
        };
        if let (Some(server), Some(session)) = (&server, &session) {
            if sign_in {
                check_cookie_scope(server, session, &mut p);
            }
        }
        match (server, bink, session, tokens, access, integrations) {
            (
                Some(server),
                Some(bink),
                Some(session),
                Some(tokens),
                Some(access),
                Some(integrations),
            ) if p.0.is_empty() => Ok(Config {
                server,
                bink,
                session,
                tokens,
                access,
                headers,
                integrations,
            }),
            _ => Err(ConfigError { problems: p.0 }),
        }
    }

    /// The effective configuration as TOML, every secret shown as `[redacted]`.
    pub fn redacted_toml(&self) -> String {
        let s = &self.server;
        let b = &self.bink;
        let t = &self.tokens;
        let h = &self.headers;
        let q = |v: &str| toml::Value::String(v.to_string()).to_string();
        let dur = |d: Duration| q(&humantime::format_duration(d).to_string());
        let mut out = String::new();
        out += "[server]\n";
        out += &format!("listen = {}\n", q(&s.listen.to_string()));
        out += &format!("public_url = {}\n", q(s.public_url.as_str()));
        out += &format!("upstream = {}\n", q(s.upstream.as_str()));
        let (cert, key) = match &s.tls {
            Some(tls) => (
                tls.cert.display().to_string(),
                tls.key.display().to_string(),
            ),
            None => (String::new(), String::new()),
        };
        out += &format!("tls_cert_file = {}\ntls_key_file = {}\n", q(&cert), q(&key));
        out += &format!("trusted_proxy_hops = {}\n", s.trusted_proxy_hops);
        out += &format!("upstream_timeout = {}\n", dur(s.upstream_timeout));
        out += &format!("shutdown_grace = {}\n", dur(s.shutdown_grace));
        out += &format!("header_read_timeout = {}\n", dur(s.header_read_timeout));
        let metrics = s.metrics_listen.map(|a| a.to_string()).unwrap_or_default();
        out += &format!("metrics_listen = {}\n\n", q(&metrics));
        out += "[bink]\n";
        out += &format!("base_url = {}\n", q(b.base_url.as_str()));
        out += &format!("client_id = {}\n", q(b.client_id.as_deref().unwrap_or("")));
        let secret = if b.client_secret.is_some() {
            "[redacted]"
        } else {
            ""
        };
        out += &format!("client_secret = {}\n", q(secret));
        out += &format!("timeout = {}\n", dur(b.timeout));
        out += &format!("max_concurrent_calls = {}\n\n", b.max_concurrent_calls);
        let se = &self.session;
        out += "[session]\n";
        out += &format!("cookie_name = {}\n", q(&se.cookie_name));
        let secret = if se.cookie_secret.is_some() {
            "[redacted]"
        } else {
            ""
        };
        out += &format!("cookie_secret = {}\n", q(secret));
        out += &format!("cookie_secure = {}\n", se.cookie_secure);
        out += &format!(
            "cookie_domain = {}\n",
            q(se.cookie_domain.as_deref().unwrap_or(""))
        );
        out += &format!("lifetime = {}\n", dur(se.lifetime));
        out += &format!("revalidate_after = {}\n", dur(se.revalidate_after));
        match &se.store {
            SessionStore::Cookie => out += "store = \"cookie\"\n\n",
            SessionStore::Redis { .. } => {
                out += "store = \"redis\"\nredis_url = \"[redacted]\"\n\n"
            }
        }
        out += "[tokens]\n";
        out += &format!("accept_bearer = {}\n", t.accept_bearer);
        out += &format!("cache_ttl = {}\n", dur(t.cache_ttl));
        out += &format!("negative_cache_ttl = {}\n", dur(t.negative_cache_ttl));
        out += &format!("cache_max_entries = {}\n", t.cache_max_entries);
        out += &format!("stale_if_error = {}\n\n", dur(t.stale_if_error));
        out += &access_toml(&self.access);
        out += "\n[headers]\n";
        out += &format!("pass_authorization = {}\n", h.pass_authorization);
        out += &format!("pass_access_token = {}\n", h.pass_access_token);
        out += &format!("identity_jwt = {}\n", h.identity_jwt);
        let key_file = h
            .identity_jwt_key_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        out += &format!("identity_jwt_key_file = {}\n", q(&key_file));
        let i = &self.integrations;
        out += "\n[integrations]\n";
        out += &format!("enabled = {}\n", i.enabled);
        out += &format!(
            "database_url = {}\n",
            q(&redact_url(i.database_url.expose()))
        );
        let key = if i.encryption_key.is_some() {
            "[redacted]"
        } else {
            ""
        };
        out += &format!("encryption_key = {}\n", q(key));
        out += &format!(
            "previous_encryption_keys = [{}]\n",
            vec!["\"[redacted]\""; i.previous_encryption_keys.len()].join(", ")
        );
        out += &format!("provider_timeout = {}\n", dur(i.provider_timeout));
        let org = match i.organization {
            OrganizationMode::User => "user",
            OrganizationMode::EmailDomain => "email_domain",
        };
        out += &format!("organization = {}\n", q(org));
        for (name, p) in [("bindbee", &i.bindbee), ("kombo", &i.kombo)] {
            out += &format!("\n[integrations.{name}]\n");
            let key = if p.api_key.is_some() {
                "[redacted]"
            } else {
                ""
            };
            out += &format!("api_key = {}\n", q(key));
            out += &format!("base_url = {}\n", q(p.base_url.as_str()));
            out += &format!("sdk_url = {}\n", q(p.sdk_url.as_deref().unwrap_or("")));
        }
        out
    }
}

fn read_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|e| ConfigError::one("config", format!("cannot read {}: {e}", path.display())))
}

/// Best effort at naming the key a TOML syntax error sits on.
fn toml_error_key(e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => format!("config (at byte {})", span.start),
        None => "config".to_string(),
    }
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("not a duration like \"90s\", \"5m\" or \"12h\": {e}"))
}

fn parse_http_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s.trim()).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        _ => Err("must be an http:// or https:// URL with a host".to_string()),
    }
}

fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| "not a socket address like \"127.0.0.1:4180\"".to_string())
}

/// A secret given inline as `key` or as a file path in `key_file`, but not both.
fn secret_value(
    p: &mut Problems,
    key: &str,
    inline: &Option<String>,
    file: &Option<String>,
) -> Option<Secret> {
    match (non_empty(inline), non_empty(file)) {
        (Some(_), Some(_)) => {
            p.add(key, format!("set either {key} or {key}_file, not both"));
            None
        }
        (Some(v), None) => Some(Secret::new(v)),
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(v) if !v.trim().is_empty() => Some(Secret::new(v.trim())),
            Ok(_) => {
                p.add(format!("{key}_file"), format!("{path} is empty"));
                None
            }
            Err(e) => {
                p.add(format!("{key}_file"), format!("cannot read {path}: {e}"));
                None
            }
        },
        (None, None) => None,
    }
}

fn validate_server(r: &raw::RawServer, p: &mut Problems) -> Option<ServerConfig> {
    let listen = p.parse(
        "server.listen",
        r.listen.as_deref(),
        defaults::LISTEN,
        parse_addr,
    );
    let public_url = p.parse(
        "server.public_url",
        non_empty(&r.public_url),
        defaults::PUBLIC_URL,
        parse_http_url,
    );
    let upstream = match non_empty(&r.upstream) {
        None => {
            p.add("server.upstream", "required: the URL of the application to protect");
            None
        }
        Some(u) => p.parse("server.upstream", Some(u), "", |s| {
            let url = parse_http_url(s)?;
            if url.scheme() != "http" {
                return Err("only http:// upstreams are supported (terminate TLS to the upstream with a sidecar)".to_string());
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err("must not carry a query or fragment".to_string());
            }
            Ok(url)
        }),
    };
    let tls = match (non_empty(&r.tls_cert_file), non_empty(&r.tls_key_file)) {
        (Some(cert), Some(key)) => Some(Some(TlsFiles {
            cert: cert.into(),
            key: key.into(),
        })),
        (None, None) => Some(None),
        (Some(_), None) => {
            p.add(
                "server.tls_key_file",
                "required when server.tls_cert_file is set",
            );
            None
        }
        (None, Some(_)) => {
            p.add(
                "server.tls_cert_file",
                "required when server.tls_key_file is set",
            );
            None
        }
    };
    let upstream_timeout = p.parse(
        "server.upstream_timeout",
        r.upstream_timeout.as_deref(),
        defaults::UPSTREAM_TIMEOUT,
        positive_duration,
    );
    let shutdown_grace = p.parse(
        "server.shutdown_grace",
        r.shutdown_grace.as_deref(),
        defaults::SHUTDOWN_GRACE,
        parse_duration,
    );
    let header_read_timeout = p.parse(
        "server.header_read_timeout",
        r.header_read_timeout.as_deref(),
        defaults::HEADER_READ_TIMEOUT,
        positive_duration,
    );
    let metrics_listen = match non_empty(&r.metrics_listen) {
        None => Some(None),
        Some(v) => p
            .parse("server.metrics_listen", Some(v), "", parse_addr)
            .map(Some),
    };
    let hops = r.trusted_proxy_hops.unwrap_or(0);
    if hops > 64 {
        p.add(
            "server.trusted_proxy_hops",
            format!("must be at most 64 (got {hops})"),
        );
    }
    Some(ServerConfig {
        listen: listen?,
        public_url: public_url?,
        upstream: upstream?,
        tls: tls?,
        trusted_proxy_hops: hops.min(64) as usize,
        upstream_timeout: upstream_timeout?,
        shutdown_grace: shutdown_grace?,
        header_read_timeout: header_read_timeout?,
        metrics_listen: metrics_listen?,
    })
}

fn positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err("must be greater than zero".to_string()),
        d => Ok(d),
    }
}

fn validate_bink(r: &raw::RawBink, p: &mut Problems) -> Option<BinkConfig> {
    let base_url = p.parse(
        "bink.base_url",
        non_empty(&r.base_url),
        defaults::BINK_BASE_URL,
        parse_http_url,
    );
    let client_id = non_empty(&r.client_id).map(str::to_string);
    let client_secret = secret_value(
        p,
        "bink.client_secret",
        &r.client_secret,
        &r.client_secret_file,
    );
    if client_id.is_some() && client_secret.is_none() {
        p.add("bink.client_secret", "required when bink.client_id is set");
    }
    let timeout = p.parse(
        "bink.timeout",
        r.timeout.as_deref(),
        defaults::BINK_TIMEOUT,
        positive_duration,
    );
    let max_calls = r
        .max_concurrent_calls
        .unwrap_or(defaults::BINK_MAX_CONCURRENT_CALLS);
    if max_calls == 0 || max_calls > 10_000 {
        p.add(
            "bink.max_concurrent_calls",
            format!("must be between 1 and 10000 (got {max_calls})"),
        );
    }
    Some(BinkConfig {
        base_url: base_url?,
        client_id,
        client_secret,
        timeout: timeout?,
        max_concurrent_calls: max_calls.clamp(1, 10_000) as usize,
    })
}

fn validate_session(r: &raw::RawSession, sign_in: bool, p: &mut Problems) -> Option<SessionConfig> {
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
fn check_cookie_scope(server: &ServerConfig, session: &SessionConfig, p: &mut Problems) {
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

/// `[access]` as TOML, in the form `[access]` is written (`skip_auth` entries as
/// `"METHOD regex"`).
pub(super) fn access_toml(access: &AccessPolicy) -> String {
    let mut out = String::from("[access]\n");
    out += &requirements_toml(&access.base);
    let skip: Vec<String> = access
        .skip_auth
        .iter()
        .map(|s| match &s.method {
            Some(m) => format!("{m} {}", s.path.as_str()),
            None => s.path.as_str().to_string(),
        })
        .collect();
    out += &format!("skip_auth = {}\n", toml_list(&skip));
    for r in &access.rules {
        out += "\n[[access.rules]]\n";
        out += &format!(
            "path = {}\n",
            toml::Value::String(r.path.as_str().to_string())
        );
        out += &requirements_toml(&r.requirements);
    }
    out
}

fn requirements_toml(r: &Requirements) -> String {
    let plans: Vec<String> = r
        .allowed_plans
        .iter()
        .map(|p| p.as_str().to_string())
        .collect();
    format!(
        "allowed_emails = {}\nallowed_email_domains = {}\nallowed_usernames = {}\nallowed_plans = {}\nmin_verification_level = {}\n",
        toml_list(&r.allowed_emails),
        toml_list(&r.allowed_email_domains),
        toml_list(&r.allowed_usernames),
        toml_list(&plans),
        r.min_verification_level
    )
}

fn toml_list(items: &[String]) -> String {
    toml::Value::Array(items.iter().cloned().map(toml::Value::String).collect()).to_string()
}

/// A URL with any password (`user:password@`, or a `password=` query parameter, which
/// sqlx's PostgreSQL driver also reads) replaced, for printing.
fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            let in_userinfo = u.password().is_some();
            let in_query = u.query_pairs().any(|(k, _)| k == "password");
            if !in_userinfo && !in_query {
                return url.to_string();
            }
            if in_userinfo {
                let _ = u.set_password(Some("redacted"));
            }
            if in_query {
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k == "password" {
                            "redacted".into()
                        } else {
                            v
                        };
                        (k.into_owned(), v.into_owned())
                    })
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

fn validate_integrations(r: &raw::RawIntegrations, p: &mut Problems) -> Option<IntegrationsConfig> {
    let enabled = r.enabled.unwrap_or(false);
    let database_url = secret_value(
        p,
        "integrations.database_url",
        &r.database_url,
        &r.database_url_file,
    )
    .unwrap_or_else(|| Secret::new(defaults::DATABASE_URL));
    let db = database_url.expose();
    if !(db.starts_with("sqlite:")
        || db.starts_with("postgres://")
        || db.starts_with("postgresql://"))
    {
        p.add(
            "integrations.database_url",
            "must start with sqlite: or postgres://",
        );
    }
    let encryption_key = match secret_value(
        p,
        "integrations.encryption_key",
        &r.encryption_key,
        &r.encryption_key_file,
    ) {
        Some(k) => parse_key(k.expose())
            .map_err(|e| p.add("integrations.encryption_key", e))
            .ok(),
        None => {
            if enabled {
                p.add(
                    "integrations.encryption_key",
                    "required when integrations are enabled: 32 bytes, base64 (`bink-proxy gen-secret`)",
                );
            }
            None
        }
    };
    let previous_encryption_keys = r
        .previous_encryption_keys
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, k)| {
            parse_key(k)
                .map_err(|e| p.add(format!("integrations.previous_encryption_keys[{i}]"), e))
                .ok()
        })
        .collect();
    let provider_timeout = p.parse(
        "integrations.provider_timeout",
        r.provider_timeout.as_deref(),
        defaults::PROVIDER_TIMEOUT,
        positive_duration,
    );
    let organization = match non_empty(&r.organization).unwrap_or("user") {
        "user" => Some(OrganizationMode::User),
        "email_domain" => Some(OrganizationMode::EmailDomain),
        other => {
            p.add(
                "integrations.organization",
                format!("must be \"user\" or \"email_domain\" (got {other:?})"),
            );
            None
        }
    };
    let bindbee = validate_provider(&r.bindbee, "bindbee", defaults::BINDBEE_BASE_URL, None, p);
    let kombo = validate_provider(
        &r.kombo,
        "kombo",
        defaults::KOMBO_BASE_URL,
        Some(defaults::KOMBO_SDK_URL),
        p,
    );
    Some(IntegrationsConfig {
        enabled,
        database_url,
        encryption_key,
        previous_encryption_keys,
        provider_timeout: provider_timeout?,
        organization: organization?,
        bindbee: bindbee?,
        kombo: kombo?,
    })
}

fn validate_provider(
    r: &raw::RawProvider,
    name: &str,
    default_base: &str,
    default_sdk: Option<&str>,
    p: &mut Problems,
) -> Option<ProviderConfig> {
    let key = format!("integrations.{name}");
    let api_key = secret_value(p, &format!("{key}.api_key"), &r.api_key, &r.api_key_file);
    let base_url = p.parse(
        &format!("{key}.base_url"),
        non_empty(&r.base_url),
        default_base,
        parse_http_url,
    );
    let sdk_url = non_empty(&r.sdk_url).or(default_sdk).map(str::to_string);
    if let Some(sdk) = &sdk_url {
        if parse_http_url(sdk).is_err() && !crate::auth::redirect::is_local_path(sdk) {
            p.add(
                format!("{key}.sdk_url"),
                "must be an http(s) URL or a path on the proxy",
            );
        }
    } else if api_key.is_some() {
        p.add(
            format!("{key}.sdk_url"),
            "required when the provider is configured: the URL of the vendor's front-end script",
        );
    }
    Some(ProviderConfig {
        api_key,
        base_url: base_url?,
        sdk_url,
    })
}

fn validate_tokens(r: &raw::RawTokens, p: &mut Problems) -> Option<TokenConfig> {
    let cache_ttl = p.parse(
        "tokens.cache_ttl",
        r.cache_ttl.as_deref(),
        defaults::CACHE_TTL,
        parse_duration,
    );
    let negative_cache_ttl = p.parse(
        "tokens.negative_cache_ttl",
        r.negative_cache_ttl.as_deref(),
        defaults::NEGATIVE_CACHE_TTL,
        parse_duration,
    );
    let stale_if_error = p.parse(
        "tokens.stale_if_error",
        r.stale_if_error.as_deref(),
        defaults::STALE_IF_ERROR,
        parse_duration,
    );
    let cache_max_entries = r.cache_max_entries.unwrap_or(defaults::CACHE_MAX_ENTRIES);
    if cache_max_entries == 0 {
        p.add("tokens.cache_max_entries", "must be at least 1");
    }
    Some(TokenConfig {
        accept_bearer: r.accept_bearer.unwrap_or(true),
        cache_ttl: cache_ttl?,
        negative_cache_ttl: negative_cache_ttl?,
        cache_max_entries,
        stale_if_error: stale_if_error?,
    })
}

#[cfg(test)]
mod tests;
