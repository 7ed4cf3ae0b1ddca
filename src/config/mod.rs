//! Configuration: TOML file + `BINK_PROXY_*` environment overrides + `<key>_file` secrets,
//! validated once at start-up into typed values. Every problem is collected and reported
//! together, each naming its key.
//!
//! This file owns the [`Config`] type, where the file comes from ([`Source`]) and the order
//! of the steps: TOML → environment overrides (`env`) → the structs as written (`raw`) →
//! one `validate_*` per section, each in its own file (`server`, `bink`, `session`,
//! `tokens`, `access`, `headers`, `integrations`) with the parsers they share in `parse`,
//! every problem collected in `problems`. `redact` prints the result back for `check-config`.

mod access;
mod bink;
pub mod defaults;
mod env;
mod headers;
mod integrations;
mod parse;
mod problems;
mod raw;
mod redact;
mod secret;
mod server;
mod session;
mod tokens;

use std::path::{Path, PathBuf};

pub use bink::BinkConfig;
pub use env::{Env, NoEnv, ProcessEnv};
pub use headers::HeaderConfig;
pub use integrations::{GatewayConfig, IntegrationsConfig, OrganizationMode, ProviderConfig};
pub use parse::parse_duration;
pub use problems::{ConfigError, Problem, Problems};
pub use raw::{RawAccess, RawConfig, RawPolicy};
pub use secret::{constant_time_eq, parse_key, Secret, SecretKey};
pub use server::{ServerConfig, TlsFiles};
pub use session::{SessionConfig, SessionStore};
pub use tokens::TokenConfig;

use crate::policy::AccessPolicy;

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
        let server = server::validate_server(&raw.server, &mut p);
        let bink = bink::validate_bink(&raw.bink, &mut p);
        // From the raw key, so a bad `bink.base_url` does not hide a missing cookie secret.
        let sign_in = parse::non_empty(&raw.bink.client_id).is_some();
        let session = session::validate_session(&raw.session, sign_in, &mut p);
        let tokens = tokens::validate_tokens(&raw.tokens, &mut p);
        let access = access::validate_access(&raw.access, &mut p);
        let integrations = integrations::validate_integrations(&raw.integrations, &mut p);
        let headers = headers::validate_headers(&raw.headers);
        if let (Some(server), Some(session)) = (&server, &session) {
            if sign_in {
                session::check_cookie_scope(server, session, &mut p);
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
            ) if p.is_empty() => Ok(Config {
                server,
                bink,
                session,
                tokens,
                access,
                headers,
                integrations,
            }),
            _ => Err(p.into()),
        }
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

#[cfg(test)]
mod tests;
