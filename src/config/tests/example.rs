//! The shipped `config.toml.example`: it parses, shows every default, documents every
//! accepted key, and becomes a working config once the secrets are given.

use super::*;
use crate::identity::Plan;

const EXAMPLE: &str = include_str!("../../../config.toml.example");

#[test]
fn example_config_parses() {
    let c = ok(EXAMPLE);
    assert_eq!(c.server.upstream.as_str(), "http://127.0.0.1:8080/");
}

#[test]
fn example_config_shows_the_defaults() {
    assert_defaults(&ok(EXAMPLE));
}

/// The keys serde accepts at `context`, read from its "unknown field" message (which lists
/// every field of the struct), so this test follows `raw.rs` without a second list.
fn accepted_keys(context: &str, unknown_path: &str) -> Vec<String> {
    let p = problems(&format!("{context}\nzz_not_a_key = 1\n"), &NoEnv);
    assert_eq!(keys(&p), [unknown_path]);
    let expected = p[0]
        .message
        .split_once("expected one of ")
        .unwrap_or_else(|| panic!("unexpected message: {}", p[0].message))
        .1;
    expected
        .split(", ")
        .map(|k| k.trim_matches('`').to_string())
        .collect()
}

/// The commented-out `[[access.rules]]` example, uncommented.
fn example_rule() -> String {
    let mut lines = EXAMPLE
        .lines()
        .skip_while(|l| l.trim() != "# [[access.rules]]");
    let mut out = String::new();
    for line in lines.by_ref() {
        match line.strip_prefix("# ") {
            Some(l) if !l.trim().is_empty() => {
                out += l;
                out += "\n";
            }
            _ => break,
        }
    }
    assert!(out.starts_with("[[access.rules]]"), "no rule example found");
    out
}

/// Asserts the example shows every key accepted at the table `path` (`shown` is the
/// example's table there), descending into sub-tables such as `[integrations.kombo]`.
/// Returns every table path visited.
fn assert_documents(path: &str, shown: &toml::Table) -> Vec<String> {
    let (context, unknown) = if path.is_empty() {
        (String::new(), "zz_not_a_key".to_string())
    } else {
        (format!("[{path}]"), format!("{path}.zz_not_a_key"))
    };
    let mut visited = vec![path.to_string()];
    for key in accepted_keys(&context, &unknown) {
        let dotted = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        // An array of tables, shown commented out (see `example_rule`).
        if dotted == "access.rules" {
            continue;
        }
        let value = shown
            .get(&key)
            .unwrap_or_else(|| panic!("config.toml.example lacks {dotted}"));
        if let Some(table) = value.as_table() {
            visited.extend(assert_documents(&dotted, table));
        }
    }
    visited
}

#[test]
fn example_config_documents_every_accepted_key() {
    let table: toml::Table = toml::from_str(EXAMPLE).unwrap();
    let visited = assert_documents("", &table);
    assert_eq!(
        visited,
        [
            "",
            "server",
            "bink",
            "session",
            "tokens",
            "access",
            "headers",
            "integrations",
            "integrations.bindbee",
            "integrations.kombo",
            "integrations.gateway",
        ]
    );

    let rule_keys = accepted_keys(
        "[[access.rules]]\npath = \"^/\"",
        "access.rules[0].zz_not_a_key",
    );
    let rule: toml::Table = toml::from_str(&example_rule()).unwrap();
    let rule = &rule["access"]["rules"][0];
    for key in rule_keys {
        assert!(
            rule.get(&key).is_some(),
            "the [[access.rules]] example lacks {key}"
        );
    }
}

#[test]
fn example_rule_is_valid_when_uncommented() {
    let c = ok(&format!("{EXAMPLE}\n{}", example_rule()));
    assert_eq!(c.access.rules.len(), 1);
    let r = &c.access.rules[0].requirements;
    assert_eq!(r.min_verification_level, 2);
    assert_eq!(r.allowed_plans, [Plan::Business]);
}

#[test]
fn example_config_ships_integrations_off_with_empty_secrets() {
    let table: toml::Table = toml::from_str(EXAMPLE).unwrap();
    let i = table["integrations"].as_table().unwrap();
    assert_eq!(i["enabled"].as_bool(), Some(false));
    assert_eq!(i["encryption_key"].as_str(), Some(""));
    assert_eq!(
        i["previous_encryption_keys"].as_array().map(Vec::len),
        Some(0)
    );
    for provider in ["bindbee", "kombo"] {
        assert_eq!(i[provider]["api_key"].as_str(), Some(""), "{provider}");
        assert_eq!(i[provider]["api_key_file"].as_str(), Some(""), "{provider}");
    }
    // Both vendors' published scripts are the defaults, written out in the example.
    assert_eq!(
        i["bindbee"]["sdk_url"].as_str(),
        Some(defaults::BINDBEE_SDK_URL)
    );
    assert!(EXAMPLE.contains(
        "window.BindbeeEmbed.initialize({linkToken, serverUrl, onSuccess(temporary_token), onClose})"
    ));
    for provider in ["bindbee", "kombo"] {
        assert_eq!(
            i[provider]["sdk_integrity"].as_str(),
            Some(""),
            "{provider}"
        );
    }
    assert_eq!(
        i["kombo"]["sdk_url"].as_str(),
        Some(defaults::KOMBO_SDK_URL)
    );
    assert!(
        !EXAMPLE.contains("later version"),
        "stale note about [integrations]"
    );
    assert!(!ok(EXAMPLE).integrations.enabled);
}

#[test]
fn example_config_enables_integrations_once_the_key_is_given() {
    let env = [("BINK_PROXY_INTEGRATIONS__ENABLED", "true")];
    assert_eq!(
        keys(&problems(EXAMPLE, &env)),
        ["integrations.encryption_key"]
    );

    let env = [
        ("BINK_PROXY_INTEGRATIONS__ENABLED", "true"),
        ("BINK_PROXY_INTEGRATIONS__ENCRYPTION_KEY", KEY),
        ("BINK_PROXY_INTEGRATIONS__KOMBO__API_KEY", "kombo-key"),
    ];
    let c = Config::from_toml(EXAMPLE, &env).unwrap();
    let i = &c.integrations;
    assert!(i.enabled);
    assert_eq!(i.encryption_key, Some(SecretKey(key_bytes())));
    assert_eq!(i.database_url.expose(), defaults::DATABASE_URL);
    assert_eq!(i.kombo.api_key.as_ref().unwrap().expose(), "kombo-key");
    assert_eq!(i.kombo.sdk_url, defaults::KOMBO_SDK_URL);
    assert!(i.bindbee.api_key.is_none());

    // Bindbee too needs nothing but its key: its script defaults to Bindbee's CDN.
    let env = [
        ("BINK_PROXY_INTEGRATIONS__ENABLED", "true"),
        ("BINK_PROXY_INTEGRATIONS__ENCRYPTION_KEY", KEY),
        ("BINK_PROXY_INTEGRATIONS__BINDBEE__API_KEY", "bindbee-key"),
    ];
    let c = Config::from_toml(EXAMPLE, &env).unwrap();
    assert_eq!(c.integrations.bindbee.sdk_url, defaults::BINDBEE_SDK_URL);
}

#[test]
fn example_config_enables_sign_in_once_the_secrets_are_given() {
    let env = [
        ("BINK_PROXY_BINK__CLIENT_ID", "proxy"),
        ("BINK_PROXY_BINK__CLIENT_SECRET", "s3"),
        ("BINK_PROXY_SESSION__COOKIE_SECRET", KEY),
    ];
    let c = Config::from_toml(EXAMPLE, &env).unwrap();
    assert_eq!(c.bink.client_id.as_deref(), Some("proxy"));
    assert_eq!(c.session.cookie_secret, Some(SecretKey(key_bytes())));

    let env = [
        ("BINK_PROXY_BINK__CLIENT_ID", "proxy"),
        ("BINK_PROXY_BINK__CLIENT_SECRET", "s3"),
    ];
    assert_eq!(keys(&problems(EXAMPLE, &env)), ["session.cookie_secret"]);
}

#[test]
fn example_config_redis_store_uses_the_documented_redis_url() {
    let env = [("BINK_PROXY_SESSION__STORE", "redis")];
    let c = Config::from_toml(EXAMPLE, &env).unwrap();
    assert_eq!(
        c.session.store,
        SessionStore::Redis {
            url: Secret::new(defaults::REDIS_URL)
        }
    );
}
