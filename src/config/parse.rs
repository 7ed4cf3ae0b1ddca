//! Parsers the sections share: durations, http(s) URLs, optional strings, and secrets
//! given inline or as `<key>_file`.

use std::time::Duration;

use url::Url;

use super::{Problems, Secret};

pub(super) fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("not a duration like \"90s\", \"5m\" or \"12h\": {e}"))
}

pub(super) fn positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err("must be greater than zero".to_string()),
        d => Ok(d),
    }
}

pub(super) fn parse_http_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s.trim()).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        _ => Err("must be an http:// or https:// URL with a host".to_string()),
    }
}

/// A secret given inline as `key` or as a file path in `key_file`, but not both.
pub(super) fn secret_value(
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
