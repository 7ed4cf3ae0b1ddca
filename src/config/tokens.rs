//! `[tokens]`: bearer tokens and the cache of Bink's answers about them.

use std::time::Duration;

use super::defaults;
use super::parse::parse_duration;
use super::raw::RawTokens;
use super::Problems;

#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub accept_bearer: bool,
    pub cache_ttl: Duration,
    pub negative_cache_ttl: Duration,
    pub cache_max_entries: u64,
    pub stale_if_error: Duration,
}

pub(super) fn validate_tokens(r: &RawTokens, p: &mut Problems) -> Option<TokenConfig> {
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
