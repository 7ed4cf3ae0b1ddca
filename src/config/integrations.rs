//! `[integrations]`: the embedded Bindbee and Kombo flows, their database and encryption
//! keys, and each provider's `[integrations.<name>]` table.

use std::time::Duration;

use url::Url;

use super::defaults;
use super::parse::{non_empty, parse_http_url, positive_duration, secret_value};
use super::raw::{RawGateway, RawIntegrations, RawProvider};
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
    pub gateway: GatewayConfig,
}

/// `[integrations.gateway]`: the unified-API gateway (SPEC §10).
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub enabled: bool,
    /// Keys with which the upstream's own backend calls the gateway for any organization.
    pub service_keys: Vec<Secret>,
    /// Largest request body forwarded to a vendor, in bytes.
    pub max_request_body: u64,
    /// The whole vendor call, answer head included (the body then streams).
    pub timeout: Duration,
}

/// Shortest service key accepted: what `bink-proxy gen-secret` prints is 44 characters.
const MIN_SERVICE_KEY: usize = 32;

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
    /// The secret the vendor signs webhooks with; `None`: the webhook route answers 404.
    pub webhook_secret: Option<Secret>,
    /// Where verified webhooks are delivered on the upstream (a path); `None`: not
    /// forwarded.
    pub webhook_forward_path: Option<String>,
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
    let gateway = validate_gateway(&r.gateway, p);
    Some(IntegrationsConfig {
        enabled,
        database_url,
        encryption_key,
        previous_encryption_keys,
        provider_timeout: provider_timeout?,
        organization: organization?,
        bindbee: bindbee?,
        kombo: kombo?,
        gateway: gateway?,
    })
}

fn validate_gateway(r: &RawGateway, p: &mut Problems) -> Option<GatewayConfig> {
    const KEY: &str = "integrations.gateway";
    let mut service_keys: Vec<Secret> = r
        .service_keys
        .iter()
        .flatten()
        .map(|k| Secret::new(k.trim()))
        .collect();
    if let Some(path) = non_empty(&r.service_keys_file) {
        // One key per line, so keys can be added and retired without touching the others.
        match std::fs::read_to_string(path) {
            Ok(text) => service_keys.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(Secret::new),
            ),
            Err(e) => p.add(
                format!("{KEY}.service_keys_file"),
                format!("cannot read {path}: {e}"),
            ),
        }
    }
    for (i, k) in service_keys.iter().enumerate() {
        if k.expose().chars().count() < MIN_SERVICE_KEY {
            p.add(
                format!("{KEY}.service_keys[{i}]"),
                format!(
                    "must be at least {MIN_SERVICE_KEY} characters (`bink-proxy gen-secret` makes one)"
                ),
            );
        }
    }
    let max_request_body = p.parse(
        &format!("{KEY}.max_request_body"),
        r.max_request_body.as_deref(),
        defaults::GATEWAY_MAX_REQUEST_BODY,
        parse_size,
    );
    let timeout = p.parse(
        &format!("{KEY}.timeout"),
        r.timeout.as_deref(),
        defaults::GATEWAY_TIMEOUT,
        positive_duration,
    );
    Some(GatewayConfig {
        enabled: r.enabled.unwrap_or(true),
        service_keys,
        max_request_body: max_request_body?,
        timeout: timeout?,
    })
}

/// A size like `"10MiB"`, `"512KiB"` or `"1048576"` (bytes), greater than zero.
fn parse_size(s: &str) -> Result<u64, String> {
    let size: bytesize::ByteSize = s
        .trim()
        .parse()
        .map_err(|_| "not a size like \"10MiB\" or \"512KiB\"".to_string())?;
    match size.as_u64() {
        0 => Err("must be greater than zero".to_string()),
        n => Ok(n),
    }
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
    let webhook_secret = secret_value(
        p,
        &format!("{key}.webhook_secret"),
        &r.webhook_secret,
        &r.webhook_secret_file,
    );
    let webhook_forward_path = non_empty(&r.webhook_forward_path).map(str::to_string);
    if webhook_forward_path
        .as_deref()
        .is_some_and(|path| !crate::http::redirect::is_local_path(path))
    {
        p.add(
            format!("{key}.webhook_forward_path"),
            "must be a path on the upstream starting with \"/\" (e.g. \"/hooks/kombo\")",
        );
    }
    Some(ProviderConfig {
        api_key,
        base_url: base_url?,
        sdk_url,
        sdk_integrity,
        webhook_secret,
        webhook_forward_path,
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
