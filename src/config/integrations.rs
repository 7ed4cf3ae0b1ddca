//! `[integrations]`: the embedded Bindbee and Kombo flows, their database and encryption
//! keys, and each provider's `[integrations.<name>]` table.

use std::time::Duration;

use url::Url;

use super::defaults;
use super::parse::{non_empty, parse_http_url, positive_duration, secret_value};
use super::raw::{RawIntegrations, RawProvider};
use super::{parse_key, Problems, Secret, SecretKey};

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
    /// The vendor's front-end script loaded by `/integrations/ui` and `connect.js`
    /// (defaults: the vendors' published CDN scripts).
    pub sdk_url: String,
    /// A Subresource Integrity value for that script (`sha384-…`), when the operator
    /// pins one.
    pub sdk_integrity: Option<String>,
}

pub(super) fn validate_integrations(
    r: &RawIntegrations,
    p: &mut Problems,
) -> Option<IntegrationsConfig> {
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
    let bindbee = validate_provider(
        &r.bindbee,
        "bindbee",
        defaults::BINDBEE_BASE_URL,
        defaults::BINDBEE_SDK_URL,
        p,
    );
    let kombo = validate_provider(
        &r.kombo,
        "kombo",
        defaults::KOMBO_BASE_URL,
        defaults::KOMBO_SDK_URL,
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
    r: &RawProvider,
    name: &str,
    default_base: &str,
    default_sdk: &str,
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
    let sdk_url = non_empty(&r.sdk_url).unwrap_or(default_sdk).to_string();
    if parse_http_url(&sdk_url).is_err() && !crate::http::redirect::is_local_path(&sdk_url) {
        p.add(
            format!("{key}.sdk_url"),
            "must be an http(s) URL or a path on the proxy",
        );
    }
    let sdk_integrity = non_empty(&r.sdk_integrity).map(str::to_string);
    if sdk_integrity.as_deref().is_some_and(|v| !is_sri(v)) {
        p.add(
            format!("{key}.sdk_integrity"),
            "must be a Subresource Integrity value: sha256-, sha384- or sha512- followed by \
             the base64 digest (e.g. from `openssl dgst -sha384 -binary script.js | openssl base64 -A`)",
        );
    }
    Some(ProviderConfig {
        api_key,
        base_url: base_url?,
        sdk_url,
        sdk_integrity,
    })
}

/// One SRI hash expression (`sha384-<base64 digest of the right length>`), space-separated
/// alternatives allowed as in the `integrity` attribute.
fn is_sri(value: &str) -> bool {
    use base64::Engine;
    value.split_ascii_whitespace().all(|hash| {
        let (algorithm, digest) = hash.split_once('-').unwrap_or(("", ""));
        let length = match algorithm {
            "sha256" => 32,
            "sha384" => 48,
            "sha512" => 64,
            _ => return false,
        };
        base64::engine::general_purpose::STANDARD
            .decode(digest)
            .is_ok_and(|d| d.len() == length)
    })
}
