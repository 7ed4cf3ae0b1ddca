//! The parsers every section shares, seen through the keys that use them: durations in
//! every section, and which timeouts must be greater than zero.

use std::time::Duration;

use super::*;

#[test]
fn durations_parse_seconds_minutes_and_hours() {
    let c = ok(&with(
        "upstream_timeout = \"90s\"\n\
         [bink]\ntimeout = \"5m\"\n\
         [tokens]\ncache_ttl = \"12h\"\nnegative_cache_ttl = \"500ms\"\n",
    ));
    assert_eq!(c.server.upstream_timeout, Duration::from_secs(90));
    assert_eq!(c.bink.timeout, Duration::from_secs(5 * 60));
    assert_eq!(c.tokens.cache_ttl, Duration::from_secs(12 * 60 * 60));
    assert_eq!(c.tokens.negative_cache_ttl, Duration::from_millis(500));
}

#[test]
fn unparsable_duration_names_its_key() {
    for (section, key) in [
        ("server", "upstream_timeout"),
        ("server", "shutdown_grace"),
        ("server", "header_read_timeout"),
        ("bink", "timeout"),
        ("tokens", "cache_ttl"),
        ("tokens", "negative_cache_ttl"),
        ("tokens", "stale_if_error"),
        ("session", "lifetime"),
        ("session", "revalidate_after"),
        ("integrations", "provider_timeout"),
    ] {
        // MINIMAL already opens [server], so server keys go through the environment.
        let env_name = format!(
            "BINK_PROXY_{}__{}",
            section.to_ascii_uppercase(),
            key.to_ascii_uppercase()
        );
        let p = if section == "server" {
            problems(MINIMAL, &[(env_name.as_str(), "abc")])
        } else {
            problems(&with(&format!("[{section}]\n{key} = \"abc\"\n")), &NoEnv)
        };
        assert_eq!(keys(&p), [format!("{section}.{key}")], "{section}.{key}");
        assert!(p[0].message.contains("abc"), "{:?}", p[0]);
    }
}

#[test]
fn zero_timeouts_are_rejected_but_zero_grace_and_stale_are_allowed() {
    let p = problems(&with("upstream_timeout = \"0s\"\n"), &NoEnv);
    assert_eq!(keys(&p), ["server.upstream_timeout"]);
    let c = ok(&with(
        "shutdown_grace = \"0s\"\n[tokens]\nstale_if_error = \"0s\"\n",
    ));
    assert!(c.server.shutdown_grace.is_zero());
    assert!(c.tokens.stale_if_error.is_zero());
}
