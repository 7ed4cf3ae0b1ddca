//! `Config::redacted_toml` (`check-config`): no secret shown, passwords in URLs replaced,
//! and the text parses back to the same configuration once the hidden secrets are given.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

#[test]
fn redacted_toml_hides_the_secret_and_parses_back_to_the_same_config() {
    let text = with(
        r#"trusted_proxy_hops = 2
        upstream_timeout = "90s"
        metrics_listen = "127.0.0.1:9180"
        public_url = "https://app.example.com"
        [bink]
        client_id = "proxy"
        client_secret = "hunter2-secret"
        timeout = "1m 30s"
        [session]
        cookie_secret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
        cookie_name = "app_session"
        cookie_domain = "Example.COM"
        lifetime = "8h"
        revalidate_after = "1m"
        [tokens]
        cache_ttl = "12h"
        stale_if_error = "5m"
        [access]
        allowed_email_domains = ["ACME.com"]
        skip_auth = ["GET ^/healthz$", "^/public/"]
        [[access.rules]]
        path = "^/admin/"
        allowed_plans = ["BUSINESS"]
        min_verification_level = 2
        [headers]
        pass_access_token = true
        "#,
    );
    let original = ok(&text);
    let redacted = original.redacted_toml();
    assert!(!redacted.contains("hunter2"), "{redacted}");
    assert!(!redacted.contains(KEY), "{redacted}");
    assert!(redacted.contains("[redacted]"), "{redacted}");

    let back = parse_back(&redacted, &original);
    assert_eq!(back.redacted_toml(), redacted);
    assert_eq!(back.bink.client_secret, original.bink.client_secret);
    assert_eq!(back.session.cookie_secret, original.session.cookie_secret);
    assert_eq!(back.session.cookie_name, "app_session");
    assert_eq!(back.session.cookie_domain.as_deref(), Some("example.com"));
    assert_eq!(back.session.lifetime, Duration::from_secs(8 * 3600));
    assert_eq!(back.session.revalidate_after, Duration::from_secs(60));
    assert_eq!(back.server.upstream, original.server.upstream);
    assert_eq!(back.server.trusted_proxy_hops, 2);
    assert_eq!(back.server.upstream_timeout, Duration::from_secs(90));
    assert_eq!(back.server.metrics_listen, original.server.metrics_listen);
    assert_eq!(back.bink.timeout, Duration::from_secs(90));
    assert_eq!(back.tokens.cache_ttl, Duration::from_secs(12 * 3600));
    assert_eq!(back.tokens.stale_if_error, Duration::from_secs(300));
    assert_eq!(back.access.base, original.access.base);
    assert_eq!(back.access.rules.len(), 1);
    assert_eq!(
        back.access.rules[0].requirements,
        original.access.rules[0].requirements
    );
    assert_eq!(back.access.skip_auth.len(), 2);
    assert_eq!(back.access.skip_auth[0].method, Some(http::Method::GET));
    assert!(back.headers.pass_access_token);
}

/// `redacted` parsed again, with the secrets it hides handed back through the environment
/// (a `[redacted]` placeholder is not a valid cookie secret or Redis URL, and an environment
/// value beats the file's).
const SERVICE_KEY: &str = "svc-key-for-the-upstreams-own-backend-0001";

fn parse_back(redacted: &str, original: &Config) -> Config {
    let mut env = BTreeMap::new();
    let mut give = |name: &str, value: String| env.insert(format!("BINK_PROXY_{name}"), value);
    if let Some(s) = &original.bink.client_secret {
        give("BINK__CLIENT_SECRET", s.expose().to_string());
    }
    if let Some(k) = &original.session.cookie_secret {
        give("SESSION__COOKIE_SECRET", b64(&k.0));
    }
    if let SessionStore::Redis { url } = &original.session.store {
        give("SESSION__REDIS_URL", url.expose().to_string());
    }
    let i = &original.integrations;
    give(
        "INTEGRATIONS__DATABASE_URL",
        i.database_url.expose().to_string(),
    );
    if let Some(k) = &i.encryption_key {
        give("INTEGRATIONS__ENCRYPTION_KEY", b64(&k.0));
    }
    let previous: Vec<String> = i
        .previous_encryption_keys
        .iter()
        .map(|k| b64(&k.0))
        .collect();
    give("INTEGRATIONS__PREVIOUS_ENCRYPTION_KEYS", previous.join(","));
    for (name, p) in [("BINDBEE", &i.bindbee), ("KOMBO", &i.kombo)] {
        if let Some(k) = &p.api_key {
            give(
                &format!("INTEGRATIONS__{name}__API_KEY"),
                k.expose().to_string(),
            );
        }
        if let Some(k) = &p.webhook_secret {
            give(
                &format!("INTEGRATIONS__{name}__WEBHOOK_SECRET"),
                k.expose().to_string(),
            );
        }
    }
    let keys: Vec<&str> = i.gateway.service_keys.iter().map(Secret::expose).collect();
    give("INTEGRATIONS__GATEWAY__SERVICE_KEYS", keys.join(","));
    Config::from_toml(redacted, &env)
        .unwrap_or_else(|e| panic!("redacted TOML does not parse back: {e}\n{redacted}"))
}

#[test]
fn redacted_toml_of_the_minimal_config_parses_back_with_defaults() {
    let redacted = ok(MINIMAL).redacted_toml();
    assert!(!redacted.contains("[redacted]"), "{redacted}");
    assert_defaults(&ok(&redacted));
}

#[test]
fn redacted_toml_hides_a_secret_read_from_a_file() {
    let file = TempFile::new("secret-redacted", "file-secret-value");
    let text = with(&format!(
        "[bink]\nclient_id = \"proxy\"\nclient_secret_file = {}\n{SESSION}",
        file.toml_path()
    ));
    let original = ok(&text);
    let redacted = original.redacted_toml();
    assert!(!redacted.contains("file-secret-value"), "{redacted}");
    let back = parse_back(&redacted, &original);
    assert_eq!(
        back.bink.client_secret.unwrap().expose(),
        "file-secret-value"
    );
}

// ---- [session] -------------------------------------------------------------------------

#[test]
fn redacted_toml_hides_the_cookie_secret_and_redis_password_and_parses_back() {
    let text = sign_in_with(&format!(
        "cookie_secret = \"{KEY}\"\ncookie_secure = false\nstore = \"redis\"\n\
         redis_url = \"redis://:hunter2@host/\"\n"
    ));
    let original = ok(&text);
    let redacted = original.redacted_toml();
    assert!(!redacted.contains(KEY), "{redacted}");
    assert!(!redacted.contains("hunter2"), "{redacted}");
    assert!(redacted.contains("[session]"), "{redacted}");
    assert!(redacted.contains("store = \"redis\""), "{redacted}");

    let back = parse_back(&redacted, &original);
    assert_eq!(back.redacted_toml(), redacted);
    assert_eq!(back.session.store, original.session.store);
    assert_eq!(back.session.cookie_secret, Some(SecretKey(key_bytes())));
    assert!(!back.session.cookie_secure);
    assert!(!format!("{:?}", original.session).contains("hunter2"));
}

#[test]
fn redacted_toml_shows_an_unset_cookie_secret_as_empty() {
    let redacted = ok(&with("[session]\ncookie_name = \"s\"\n")).redacted_toml();
    assert!(redacted.contains("cookie_secret = \"\"\n"), "{redacted}");
    assert!(redacted.contains("store = \"cookie\"\n"), "{redacted}");
    assert!(!redacted.contains("redis_url"), "{redacted}");
    assert_eq!(ok(&redacted).session.cookie_name, "s");
}

// ---- [integrations] --------------------------------------------------------------------

#[test]
fn redacted_toml_hides_every_integrations_secret_and_parses_back() {
    let (b1, k1) = other_key(100);
    let (b2, k2) = other_key(200);
    let text = integrations_with(&format!(
        "database_url = \"postgres://u:hunter2@h/db\"\n\
         previous_encryption_keys = [\"{k1}\", \"{k2}\"]\n\
         organization = \"email_domain\"\n\
         [integrations.bindbee]\napi_key = \"bindbee-api-secret\"\nsdk_url = \"/bindbee.js\"\n\
         webhook_secret = \"bindbee-hook-secret\"\nwebhook_forward_path = \"/hooks/bindbee\"\n\
         [integrations.kombo]\napi_key = \"kombo-api-secret\"\n\
         [integrations.gateway]\nservice_keys = [\"{SERVICE_KEY}\"]\nmax_request_body = \"2MiB\"\n"
    ));
    let original = ok(&text);
    let redacted = original.redacted_toml();
    for secret in [
        KEY,
        KEY.trim_end_matches('='),
        &k1,
        &k2,
        "hunter2",
        "bindbee-api-secret",
        "kombo-api-secret",
        "bindbee-hook-secret",
        SERVICE_KEY,
    ] {
        assert!(!redacted.contains(secret), "{secret} shown in:\n{redacted}");
    }
    assert!(
        redacted.contains("service_keys = [\"[redacted]\"]\nmax_request_body = \"2MiB\"\n"),
        "{redacted}"
    );
    assert!(
        redacted.contains("database_url = \"postgres://u:redacted@h/db\"\n"),
        "{redacted}"
    );
    assert!(
        redacted.contains("encryption_key = \"[redacted]\"\n"),
        "{redacted}"
    );
    assert!(
        redacted.contains("previous_encryption_keys = [\"[redacted]\", \"[redacted]\"]\n"),
        "{redacted}"
    );
    assert_eq!(
        redacted.matches("api_key = \"[redacted]\"\n").count(),
        2,
        "{redacted}"
    );
    // The redacted text is itself a config with the same shape.
    let table: toml::Table = toml::from_str(&redacted).unwrap();
    let i = &table["integrations"];
    assert_eq!(i["enabled"].as_bool(), Some(true));
    assert_eq!(i["organization"].as_str(), Some("email_domain"));
    assert_eq!(i["bindbee"]["sdk_url"].as_str(), Some("/bindbee.js"));
    assert_eq!(
        i["kombo"]["sdk_url"].as_str(),
        Some(defaults::KOMBO_SDK_URL)
    );

    let back = parse_back(&redacted, &original);
    assert_eq!(back.redacted_toml(), redacted);
    let (a, b) = (&original.integrations, &back.integrations);
    assert_eq!(b.database_url, a.database_url);
    assert_eq!(b.encryption_key, Some(SecretKey(key_bytes())));
    assert_eq!(b.previous_encryption_keys, [SecretKey(b1), SecretKey(b2)]);
    assert_eq!(b.organization, OrganizationMode::EmailDomain);
    assert_eq!(b.bindbee.api_key, a.bindbee.api_key);
    assert_eq!(b.kombo.api_key, a.kombo.api_key);
    assert_eq!(b.kombo.sdk_url, a.kombo.sdk_url);
    assert_eq!(b.bindbee.webhook_secret, a.bindbee.webhook_secret);
    assert_eq!(
        b.bindbee.webhook_forward_path.as_deref(),
        Some("/hooks/bindbee")
    );
    assert_eq!(b.gateway.service_keys, a.gateway.service_keys);
    assert_eq!(b.gateway.max_request_body, 2 * 1024 * 1024);

    let debug = format!("{original:?}");
    for secret in ["hunter2", "bindbee-api-secret", "kombo-api-secret", KEY] {
        assert!(!debug.contains(secret), "{secret} in Debug: {debug}");
    }
    // Key bytes 100.. or 200.. would show as `[100, 101, ...` if printed.
    assert!(!debug.contains("[100, 101"), "{debug}");
    assert!(!debug.contains("[200, 201"), "{debug}");
}

#[test]
fn redacted_toml_hides_a_database_url_read_from_a_file() {
    let file = TempFile::new("database-url-redacted", "postgres://u:hunter2@h/db");
    let original = ok(&integrations_with(&format!(
        "database_url_file = {}\n",
        file.toml_path()
    )));
    let redacted = original.redacted_toml();
    assert!(!redacted.contains("hunter2"), "{redacted}");
    assert!(!redacted.contains("database_url_file"), "{redacted}");
    assert!(
        redacted.contains("postgres://u:redacted@h/db"),
        "{redacted}"
    );
}

#[test]
fn redacted_toml_hides_a_database_password_given_as_a_query_parameter() {
    // sqlx's PostgreSQL driver reads `password=` from the query too.
    for (url, shown) in [
        (
            "postgres://u@h/db?sslmode=require&password=hunter2",
            "postgres://u@h/db?sslmode=require&password=redacted",
        ),
        (
            "postgres://u:hunter2@h/db?password=hunter2",
            "postgres://u:redacted@h/db?password=redacted",
        ),
        // Nothing to hide: printed as written.
        (
            "postgres://u@h/db?sslmode=require",
            "postgres://u@h/db?sslmode=require",
        ),
        ("sqlite://bink-proxy.db", "sqlite://bink-proxy.db"),
    ] {
        let redacted =
            ok(&integrations_with(&format!("database_url = \"{url}\"\n"))).redacted_toml();
        assert!(!redacted.contains("hunter2"), "{redacted}");
        assert!(
            redacted.contains(&format!("database_url = \"{shown}\"\n")),
            "{url}: {redacted}"
        );
    }
}

#[test]
fn redacted_toml_shows_unset_integrations_secrets_as_empty() {
    let redacted = ok(MINIMAL).redacted_toml();
    assert!(
        redacted.contains("\n[integrations]\nenabled = false\n"),
        "{redacted}"
    );
    assert!(redacted.contains("encryption_key = \"\"\n"), "{redacted}");
    assert!(
        redacted.contains("previous_encryption_keys = []\n"),
        "{redacted}"
    );
    assert!(
        redacted.contains(&format!("database_url = \"{}\"\n", defaults::DATABASE_URL)),
        "{redacted}"
    );
    assert_eq!(
        redacted.matches("api_key = \"\"\n").count(),
        2,
        "{redacted}"
    );
    assert!(redacted.contains("[integrations.bindbee]\n"), "{redacted}");
    assert!(redacted.contains("[integrations.kombo]\n"), "{redacted}");
}
