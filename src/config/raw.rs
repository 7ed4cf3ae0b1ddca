//! The configuration file as written: serde structs that mirror the TOML one to one.
//!
//! Every struct denies unknown fields, so a typo (`allowed_email_domain`) is a start-up
//! error instead of a silently disabled policy. Values from the environment arrive as
//! strings, so the typed fields accept either their TOML type or a string (see `lenient`).

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub server: RawServer,
    pub bink: RawBink,
    pub session: RawSession,
    pub tokens: RawTokens,
    pub access: RawAccess,
    pub headers: RawHeaders,
    pub integrations: RawIntegrations,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawIntegrations {
    #[serde(deserialize_with = "lenient::opt_bool")]
    pub enabled: Option<bool>,
    pub database_url: Option<String>,
    pub database_url_file: Option<String>,
    pub encryption_key: Option<String>,
    pub encryption_key_file: Option<String>,
    #[serde(deserialize_with = "lenient::opt_list")]
    pub previous_encryption_keys: Option<Vec<String>>,
    pub provider_timeout: Option<String>,
    pub organization: Option<String>,
    pub bindbee: RawProvider,
    pub kombo: RawProvider,
    pub gateway: RawGateway,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawGateway {
    #[serde(deserialize_with = "lenient::opt_bool")]
    pub enabled: Option<bool>,
    #[serde(deserialize_with = "lenient::opt_list")]
    pub service_keys: Option<Vec<String>>,
    pub service_keys_file: Option<String>,
    pub max_request_body: Option<String>,
    pub timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawProvider {
    pub api_key: Option<String>,
    pub api_key_file: Option<String>,
    pub base_url: Option<String>,
    pub sdk_url: Option<String>,
    pub sdk_integrity: Option<String>,
    pub webhook_secret: Option<String>,
    pub webhook_secret_file: Option<String>,
    pub webhook_forward_path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub upstream: Option<String>,
    pub tls_cert_file: Option<String>,
    pub tls_key_file: Option<String>,
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub trusted_proxy_hops: Option<u64>,
    pub upstream_timeout: Option<String>,
    pub shutdown_grace: Option<String>,
    pub header_read_timeout: Option<String>,
    pub metrics_listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawBink {
    pub base_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_secret_file: Option<String>,
    pub timeout: Option<String>,
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub max_concurrent_calls: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSession {
    pub cookie_name: Option<String>,
    pub cookie_secret: Option<String>,
    pub cookie_secret_file: Option<String>,
    #[serde(deserialize_with = "lenient::opt_bool")]
    pub cookie_secure: Option<bool>,
    pub cookie_domain: Option<String>,
    pub lifetime: Option<String>,
    pub revalidate_after: Option<String>,
    pub store: Option<String>,
    pub redis_url: Option<String>,
    pub redis_url_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTokens {
    #[serde(deserialize_with = "lenient::opt_bool")]
    pub accept_bearer: Option<bool>,
    pub cache_ttl: Option<String>,
    pub negative_cache_ttl: Option<String>,
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub cache_max_entries: Option<u64>,
    pub stale_if_error: Option<String>,
}

/// The policy keys shared by `[access]` and each `[[access.rules]]` entry. (Written out in
/// both structs because serde's `flatten` cannot be combined with `deny_unknown_fields`.)
#[derive(Debug, Default, Clone)]
pub struct RawPolicy {
    pub allowed_emails: Option<Vec<String>>,
    pub allowed_email_domains: Option<Vec<String>>,
    pub allowed_usernames: Option<Vec<String>>,
    pub allowed_plans: Option<Vec<String>>,
    pub min_verification_level: Option<u64>,
}

macro_rules! policy_of {
    ($s:expr) => {
        RawPolicy {
            allowed_emails: $s.allowed_emails.clone(),
            allowed_email_domains: $s.allowed_email_domains.clone(),
            allowed_usernames: $s.allowed_usernames.clone(),
            allowed_plans: $s.allowed_plans.clone(),
            min_verification_level: $s.min_verification_level,
        }
    };
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAccess {
    #[serde(deserialize_with = "lenient::opt_list")]
    pub allowed_emails: Option<Vec<String>>,
    #[serde(deserialize_with = "lenient::opt_list")]
    pub allowed_email_domains: Option<Vec<String>>,
    #[serde(deserialize_with = "lenient::opt_list")]
    pub allowed_usernames: Option<Vec<String>>,
    #[serde(deserialize_with = "lenient::opt_list")]
    pub allowed_plans: Option<Vec<String>>,
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub min_verification_level: Option<u64>,
    #[serde(deserialize_with = "lenient::opt_list")]
    pub skip_auth: Option<Vec<String>>,
    pub rules: Vec<RawRule>,
}

impl RawAccess {
    pub fn policy(&self) -> RawPolicy {
        policy_of!(self)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRule {
    pub path: Option<String>,
    #[serde(deserialize_with = "lenient::opt_list")]
    pub allowed_emails: Option<Vec<String>>,
    #[serde(deserialize_with = "lenient::opt_list")]
    pub allowed_email_domains: Option<Vec<String>>,
    #[serde(deserialize_with = "lenient::opt_list")]
    pub allowed_usernames: Option<Vec<String>>,
    #[serde(deserialize_with = "lenient::opt_list")]
    pub allowed_plans: Option<Vec<String>>,
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub min_verification_level: Option<u64>,
}

impl RawRule {
    pub fn policy(&self) -> RawPolicy {
        policy_of!(self)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawHeaders {
    #[serde(deserialize_with = "lenient::opt_bool")]
    pub pass_authorization: Option<bool>,
    #[serde(deserialize_with = "lenient::opt_bool")]
    pub pass_access_token: Option<bool>,
    #[serde(deserialize_with = "lenient::opt_bool")]
    pub identity_jwt: Option<bool>,
    pub identity_jwt_key_file: Option<String>,
}

/// Deserializers that take a value either in its TOML type or as a string, because an
/// environment override (`BINK_PROXY_TOKENS__ACCEPT_BEARER=false`) is always a string.
mod lenient {
    use serde::{de::Error, Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(i64),
        Str(String),
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BoolOrStr {
        Bool(bool),
        Str(String),
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrStr {
        List(Vec<String>),
        Str(String),
    }

    pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        match Option::<NumOrStr>::deserialize(d)? {
            None => Ok(None),
            Some(NumOrStr::Num(n)) => u64::try_from(n)
                .map(Some)
                .map_err(|_| D::Error::custom(format!("expected a non-negative integer, got {n}"))),
            Some(NumOrStr::Str(s)) => s.trim().parse().map(Some).map_err(|_| {
                D::Error::custom(format!("expected a non-negative integer, got {s:?}"))
            }),
        }
    }

    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Option::<BoolOrStr>::deserialize(d)? {
            None => Ok(None),
            Some(BoolOrStr::Bool(b)) => Ok(Some(b)),
            Some(BoolOrStr::Str(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(Some(true)),
                "false" | "0" | "no" | "off" => Ok(Some(false)),
                _ => Err(D::Error::custom(format!(
                    "expected true or false, got {s:?}"
                ))),
            },
        }
    }

    /// A list, or a string holding either a TOML array (`["a", "b"]`) or comma-separated
    /// items (`a,b`). Regexes containing commas need the array form.
    pub fn opt_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
        match Option::<ListOrStr>::deserialize(d)? {
            None => Ok(None),
            Some(ListOrStr::List(v)) => Ok(Some(v)),
            Some(ListOrStr::Str(s)) => {
                let s = s.trim();
                if s.starts_with('[') {
                    #[derive(Deserialize)]
                    struct Wrap {
                        v: Vec<String>,
                    }
                    toml::from_str::<Wrap>(&format!("v = {s}"))
                        .map(|w| Some(w.v))
                        .map_err(|e| D::Error::custom(format!("expected a list: {}", e.message())))
                } else if s.is_empty() {
                    Ok(Some(Vec::new()))
                } else {
                    Ok(Some(s.split(',').map(|p| p.trim().to_owned()).collect()))
                }
            }
        }
    }
}
