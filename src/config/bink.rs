//! `[bink]`: the identity provider, the OAuth client for browser sign-in, and the cap on
//! calls to Bink.

use std::time::Duration;

use url::Url;

use super::defaults;
use super::parse::{non_empty, parse_http_url, positive_duration, secret_value};
use super::raw::RawBink;
use super::{Problems, Secret};

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

pub(super) fn validate_bink(r: &RawBink, p: &mut Problems) -> Option<BinkConfig> {
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
