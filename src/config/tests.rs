//! `Config::from_toml`: defaults, unknown keys, collected problems, environment overrides,
//! secrets, `[session]`, `[integrations]`, `[access]` as written, redaction, and the shipped
//! `config.toml.example`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use http::Method;
use url::Url;

use super::redact::access_toml;
use super::*;
use crate::identity::{Identity, Plan};
use crate::policy::{AccessPolicy, Requirements};

const MINIMAL: &str = "[server]\nupstream = \"http://127.0.0.1:8080\"\n";
const EXAMPLE: &str = include_str!("../../config.toml.example");

/// A valid `session.cookie_secret`: bytes 0..32, base64 (standard alphabet, padded, the
/// form `bink-proxy gen-secret` prints).
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// The `[session]` lines sign-in needs besides the `[bink]` client.
const SESSION: &str =
    "[session]\ncookie_secret = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n";

fn key_bytes() -> [u8; 32] {
    std::array::from_fn(|i| i as u8)
}

/// Standard padded base64, the form `bink-proxy gen-secret` prints.
fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A valid key other than `KEY`: bytes `first..first + 32`, and its base64.
fn other_key(first: u8) -> ([u8; 32], String) {
    let bytes: [u8; 32] = std::array::from_fn(|i| first.wrapping_add(i as u8));
    (bytes, b64(&bytes))
}

fn ok(text: &str) -> Config {
    Config::from_toml(text, &NoEnv).unwrap_or_else(|e| panic!("expected a valid config: {e}"))
}

fn problems(text: &str, env: &dyn Env) -> Vec<Problem> {
    match Config::from_toml(text, env) {
        Ok(_) => panic!("expected a config error for:\n{text}"),
        Err(e) => e.problems,
    }
}

fn keys(problems: &[Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.key.as_str()).collect()
}

/// `MINIMAL` with `extra` appended (extra sections, or more `[server]` keys first).
fn with(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

fn dur(s: &str) -> Duration {
    parse_duration(s).unwrap()
}

/// A file in the temp directory that no other test (or test run) uses; removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "bink-proxy-config-test-{}-{name}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }

    fn toml_path(&self) -> String {
        toml::Value::String(self.0.display().to_string()).to_string()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Every value other than `server.upstream` equals the one in `config::defaults`.
fn assert_defaults(c: &Config) {
    let s = &c.server;
    assert_eq!(s.listen, defaults::LISTEN.parse::<SocketAddr>().unwrap());
    assert_eq!(s.public_url, Url::parse(defaults::PUBLIC_URL).unwrap());
    assert!(s.tls.is_none());
    assert_eq!(s.trusted_proxy_hops, 0);
    assert_eq!(s.upstream_timeout, dur(defaults::UPSTREAM_TIMEOUT));
    assert_eq!(s.shutdown_grace, dur(defaults::SHUTDOWN_GRACE));
    assert_eq!(s.header_read_timeout, dur(defaults::HEADER_READ_TIMEOUT));
    assert_eq!(s.metrics_listen, None);

    let b = &c.bink;
    assert_eq!(b.base_url, Url::parse(defaults::BINK_BASE_URL).unwrap());
    assert_eq!(b.client_id, None);
    assert!(b.client_secret.is_none());
    assert_eq!(b.timeout, dur(defaults::BINK_TIMEOUT));
    assert_eq!(
        b.max_concurrent_calls as u64,
        defaults::BINK_MAX_CONCURRENT_CALLS
    );

    let se = &c.session;
    assert_eq!(se.cookie_name, defaults::COOKIE_NAME);
    assert!(se.cookie_secret.is_none());
    assert!(se.cookie_secure);
    assert_eq!(se.cookie_domain, None);
    assert_eq!(se.lifetime, dur(defaults::SESSION_LIFETIME));
    assert_eq!(se.revalidate_after, dur(defaults::REVALIDATE_AFTER));
    assert_eq!(se.store, SessionStore::Cookie);

    let t = &c.tokens;
    assert!(t.accept_bearer);
    assert_eq!(t.cache_ttl, dur(defaults::CACHE_TTL));
    assert_eq!(t.negative_cache_ttl, dur(defaults::NEGATIVE_CACHE_TTL));
    assert_eq!(t.cache_max_entries, defaults::CACHE_MAX_ENTRIES);
    assert_eq!(t.stale_if_error, dur(defaults::STALE_IF_ERROR));

    assert_eq!(c.access.base, Requirements::default());
    assert!(c.access.rules.is_empty());
    assert!(c.access.skip_auth.is_empty());

    let h = &c.headers;
    assert!(!h.pass_authorization);
    assert!(!h.pass_access_token);
    assert!(!h.identity_jwt);
    assert_eq!(h.identity_jwt_key_file, None);

    let i = &c.integrations;
    assert!(!i.enabled);
    assert_eq!(i.database_url, Secret::new(defaults::DATABASE_URL));
    assert_eq!(i.encryption_key, None);
    assert!(i.previous_encryption_keys.is_empty());
    assert_eq!(i.provider_timeout, dur(defaults::PROVIDER_TIMEOUT));
    assert_eq!(i.organization, OrganizationMode::User);
    assert!(i.bindbee.api_key.is_none());
    assert_eq!(
        i.bindbee.base_url,
        Url::parse(defaults::BINDBEE_BASE_URL).unwrap()
    );
    assert_eq!(i.bindbee.sdk_url, None);
    assert!(i.kombo.api_key.is_none());
    assert_eq!(
        i.kombo.base_url,
        Url::parse(defaults::KOMBO_BASE_URL).unwrap()
    );
    assert_eq!(i.kombo.sdk_url.as_deref(), Some(defaults::KOMBO_SDK_URL));
}

// ---- defaults and required keys -------------------------------------------------------

#[test]
fn minimal_config_gets_every_default() {
    let c = ok(MINIMAL);
    assert_eq!(c.server.upstream.as_str(), "http://127.0.0.1:8080/");
    assert_defaults(&c);
}

#[test]
fn missing_upstream_is_an_error_naming_server_upstream() {
    assert_eq!(keys(&problems("", &NoEnv)), ["server.upstream"]);
    assert_eq!(
        keys(&problems("[server]\nupstream = \"  \"\n", &NoEnv)),
        ["server.upstream"]
    );
}

#[test]
fn upstream_may_come_from_the_environment_alone() {
    let env = [("BINK_PROXY_SERVER__UPSTREAM", "http://127.0.0.1:1")];
    let c = Config::from_toml("", &env).unwrap();
    assert_eq!(c.server.upstream.as_str(), "http://127.0.0.1:1/");
}

#[test]
fn https_upstream_and_upstream_with_query_are_rejected() {
    for upstream in [
        "https://app.internal",
        "http://app/?x=1",
        "ftp://app",
        "not a url",
    ] {
        let text = format!("[server]\nupstream = \"{upstream}\"\n");
        assert_eq!(
            keys(&problems(&text, &NoEnv)),
            ["server.upstream"],
            "{upstream}"
        );
    }
}

// ---- unknown keys ---------------------------------------------------------------------

#[test]
fn unknown_key_in_a_section_is_an_error_naming_its_path() {
    let p = problems(&with("lisen = \"127.0.0.1:1\"\n"), &NoEnv);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].key, "server.lisen");
    assert!(p[0].message.contains("lisen"), "{}", p[0].message);
}

#[test]
fn misspelt_policy_key_is_an_error_not_a_disabled_policy() {
    let p = problems(
        &with("[access]\nallowed_email_domain = [\"acme.com\"]\n"),
        &NoEnv,
    );
    assert_eq!(keys(&p), ["access.allowed_email_domain"]);
}

#[test]
fn unknown_key_in_an_access_rule_names_the_rule() {
    let p = problems(
        &with("[[access.rules]]\npath = \"^/a/\"\nmin_level = 2\n"),
        &NoEnv,
    );
    assert_eq!(keys(&p), ["access.rules[0].min_level"]);
}

#[test]
fn unknown_section_is_an_error_naming_it() {
    for section in ["integration", "sever", "sessions"] {
        let p = problems(&with(&format!("[{section}]\nx = 1\n")), &NoEnv);
        assert_eq!(keys(&p), [section]);
        assert!(p[0].message.contains(section), "{}", p[0].message);
    }
}

#[test]
fn unknown_key_in_session_is_an_error_naming_its_path() {
    let p = problems(&with("[session]\ncookie_secret_path = \"x\"\n"), &NoEnv);
    assert_eq!(keys(&p), ["session.cookie_secret_path"]);
}

#[test]
fn unknown_key_from_the_environment_is_an_error_too() {
    let env = [("BINK_PROXY_SERVER__LISEN", "127.0.0.1:1")];
    assert_eq!(keys(&problems(MINIMAL, &env)), ["server.lisen"]);
}

#[test]
fn toml_syntax_error_is_reported() {
    let p = problems("[server\nupstream = 1", &NoEnv);
    assert_eq!(p.len(), 1);
    assert!(p[0].key.starts_with("config"), "{:?}", p[0]);
}

// ---- every problem at once ------------------------------------------------------------

#[test]
fn several_problems_are_all_reported_each_with_its_key() {
    let text = r#"
        [server]
        upstream = "http://127.0.0.1:8080"
        listen = "nowhere"
        upstream_timeout = "soon"

        [access]
        allowed_plans = ["GOLD"]
        skip_auth = ["^/public/(", "GET ^/healthz$"]
    "#;
    let p = problems(text, &NoEnv);
    let mut got = keys(&p);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "access.allowed_plans",
            "access.skip_auth[0]",
            "server.listen",
            "server.upstream_timeout",
        ]
    );
    let display = ConfigError { problems: p }.to_string();
    assert!(display.contains("4 problem(s)"), "{display}");
    assert!(display.contains("\"GOLD\""), "{display}");
}

#[test]
fn problems_in_different_sections_are_collected_together() {
    let text = r#"
        [bink]
        base_url = "bink.link"
        max_concurrent_calls = 0
        [session]
        store = "memcached"
        lifetime = "0s"
        [tokens]
        cache_max_entries = 0
        [access]
        min_verification_level = 3
        allowed_email_domains = ["@acme.com"]
        [[access.rules]]
        allowed_plans = ["BUSINESS"]
        [[access.rules]]
        path = "^/x/["
    "#;
    let p = problems(text, &NoEnv);
    let mut got = keys(&p);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "access.allowed_email_domains",
            "access.min_verification_level",
            "access.rules[0].path",
            "access.rules[1].path",
            "bink.base_url",
            "bink.max_concurrent_calls",
            "server.upstream",
            "session.lifetime",
            "session.store",
            "tokens.cache_max_entries",
        ]
    );
}

// ---- environment overrides ------------------------------------------------------------

#[test]
fn environment_overrides_beat_file_values_and_are_typed_from_strings() {
    let text = with(
        "trusted_proxy_hops = 1\n\
         [tokens]\naccept_bearer = true\n\
         [access]\nallowed_email_domains = [\"file.example\"]\n",
    );
    let env = [
        ("BINK_PROXY_TOKENS__ACCEPT_BEARER", "false"),
        ("BINK_PROXY_SERVER__TRUSTED_PROXY_HOPS", "2"),
        (
            "BINK_PROXY_ACCESS__ALLOWED_EMAIL_DOMAINS",
            "acme.com, example.org",
        ),
        ("BINK_PROXY_SERVER__UPSTREAM", "http://127.0.0.1:9"),
    ];
    let c = Config::from_toml(&text, &env).unwrap();
    assert!(!c.tokens.accept_bearer);
    assert_eq!(c.server.trusted_proxy_hops, 2);
    assert_eq!(
        c.access.base.allowed_email_domains,
        ["acme.com", "example.org"]
    );
    assert_eq!(c.server.upstream.as_str(), "http://127.0.0.1:9/");
}

#[test]
fn environment_list_accepts_the_toml_array_form() {
    let env = [
        (
            "BINK_PROXY_ACCESS__ALLOWED_EMAILS",
            r#"["a@acme.com", "B@acme.com"]"#,
        ),
        // A regex with a comma needs the array form.
        (
            "BINK_PROXY_ACCESS__SKIP_AUTH",
            r#"["GET ^/healthz$", "^/a{1,3}$"]"#,
        ),
        ("BINK_PROXY_ACCESS__ALLOWED_PLANS", "[]"),
    ];
    let c = Config::from_toml(MINIMAL, &env).unwrap();
    assert_eq!(c.access.base.allowed_emails, ["a@acme.com", "b@acme.com"]);
    assert_eq!(c.access.skip_auth.len(), 2);
    assert_eq!(c.access.skip_auth[1].path.as_str(), "^/a{1,3}$");
    assert!(c.access.base.allowed_plans.is_empty());
}

#[test]
fn environment_empty_string_clears_a_list() {
    let text = with("[access]\nallowed_plans = [\"BUSINESS\"]\n");
    let env = [("BINK_PROXY_ACCESS__ALLOWED_PLANS", "")];
    let c = Config::from_toml(&text, &env).unwrap();
    assert!(c.access.base.allowed_plans.is_empty());
}

#[test]
fn environment_booleans_accept_the_usual_spellings() {
    for (value, expected) in [
        ("true", true),
        ("TRUE", true),
        ("1", true),
        ("yes", true),
        ("on", true),
        ("false", false),
        ("0", false),
        ("no", false),
        ("Off", false),
    ] {
        let env = [("BINK_PROXY_HEADERS__PASS_AUTHORIZATION", value)];
        let c = Config::from_toml(MINIMAL, &env).unwrap();
        assert_eq!(c.headers.pass_authorization, expected, "{value}");
    }
}

#[test]
fn environment_value_of_the_wrong_type_names_the_key() {
    let cases = [
        (
            "BINK_PROXY_TOKENS__ACCEPT_BEARER",
            "maybe",
            "tokens.accept_bearer",
        ),
        (
            "BINK_PROXY_SERVER__TRUSTED_PROXY_HOPS",
            "-1",
            "server.trusted_proxy_hops",
        ),
        (
            "BINK_PROXY_BINK__MAX_CONCURRENT_CALLS",
            "lots",
            "bink.max_concurrent_calls",
        ),
        (
            "BINK_PROXY_ACCESS__ALLOWED_PLANS",
            "[FREE",
            "access.allowed_plans",
        ),
    ];
    for (name, value, key) in cases {
        let env = [(name, value)];
        assert_eq!(keys(&problems(MINIMAL, &env)), [key], "{name}={value}");
    }
}

#[test]
fn negative_integer_in_the_file_is_an_error() {
    let p = problems(&with("trusted_proxy_hops = -1\n"), &NoEnv);
    assert_eq!(keys(&p), ["server.trusted_proxy_hops"]);
}

// ---- secrets --------------------------------------------------------------------------

#[test]
fn client_secret_file_is_read_and_trimmed() {
    let file = TempFile::new("secret", "  from-a-file\n");
    let text = with(&format!(
        "[bink]\nclient_id = \"proxy\"\nclient_secret_file = {}\n{SESSION}",
        file.toml_path()
    ));
    let c = ok(&text);
    assert_eq!(c.bink.client_id.as_deref(), Some("proxy"));
    assert_eq!(c.bink.client_secret.unwrap().expose(), "from-a-file");
}

#[test]
fn client_secret_file_may_be_named_from_the_environment() {
    let file = TempFile::new("secret-env", "env-file-secret");
    let path = file.0.display().to_string();
    let env = [
        ("BINK_PROXY_BINK__CLIENT_ID", "proxy"),
        ("BINK_PROXY_BINK__CLIENT_SECRET_FILE", path.as_str()),
        ("BINK_PROXY_SESSION__COOKIE_SECRET", KEY),
    ];
    let c = Config::from_toml(MINIMAL, &env).unwrap();
    assert_eq!(c.bink.client_secret.unwrap().expose(), "env-file-secret");
}

#[test]
fn setting_both_client_secret_and_client_secret_file_is_an_error() {
    let file = TempFile::new("secret-both", "one");
    let text = with(&format!(
        "[bink]\nclient_id = \"proxy\"\nclient_secret = \"two\"\n\
         client_secret_file = {}\n{SESSION}",
        file.toml_path()
    ));
    let p = problems(&text, &NoEnv);
    assert!(
        keys(&p).iter().all(|k| k.starts_with("bink.client_secret")),
        "{p:?}"
    );
    assert!(p.iter().any(|p| p.message.contains("not both")), "{p:?}");
}

#[test]
fn unreadable_or_empty_secret_file_names_the_file_key() {
    let empty = TempFile::new("secret-empty", " \n");
    let missing = std::env::temp_dir().join(format!(
        "bink-proxy-config-test-{}-does-not-exist",
        std::process::id()
    ));
    for path in [
        empty.toml_path(),
        toml::Value::String(missing.display().to_string()).to_string(),
    ] {
        let text = with(&format!("[bink]\nclient_secret_file = {path}\n"));
        assert_eq!(
            keys(&problems(&text, &NoEnv)),
            ["bink.client_secret_file"],
            "{path}"
        );
    }
}

#[test]
fn client_id_without_secret_is_an_error() {
    let p = problems(
        &with(&format!("[bink]\nclient_id = \"proxy\"\n{SESSION}")),
        &NoEnv,
    );
    assert_eq!(keys(&p), ["bink.client_secret"]);
}

#[test]
fn client_id_alone_reports_both_missing_secrets() {
    let p = problems(&with("[bink]\nclient_id = \"proxy\"\n"), &NoEnv);
    assert_eq!(keys(&p), ["bink.client_secret", "session.cookie_secret"]);
}

#[test]
fn client_secret_debug_output_is_redacted() {
    let c = ok(&with(&format!(
        "[bink]\nclient_id = \"proxy\"\nclient_secret = \"hunter2-secret\"\n{SESSION}"
    )));
    let debug = format!("{c:?}");
    assert!(!debug.contains("hunter2-secret"), "{debug}");
    assert!(!debug.contains(KEY), "{debug}");
    // The key's bytes 0..32 would show as `[0, 1, 2, ...` if it were printed.
    assert!(!debug.contains("[0, 1, 2"), "{debug}");
}

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
    }
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

/// `MINIMAL` with sign-in enabled (client id and secret) and `session` as the [session] body.
fn sign_in_with(session: &str) -> String {
    with(&format!(
        "[bink]\nclient_id = \"proxy\"\nclient_secret = \"s3\"\n[session]\n{session}"
    ))
}

#[test]
fn session_defaults_apply_to_every_key_left_out() {
    // Sign-in on, so only the cookie secret is given; `assert_defaults` covers sign-in off.
    let c = ok(&sign_in_with(&format!("cookie_secret = \"{KEY}\"\n")));
    let se = &c.session;
    assert_eq!(se.cookie_name, "_bink_session");
    assert!(se.cookie_secure);
    assert_eq!(se.cookie_domain, None);
    assert_eq!(se.lifetime, Duration::from_secs(12 * 3600));
    assert_eq!(se.revalidate_after, Duration::from_secs(5 * 60));
    assert_eq!(se.store, SessionStore::Cookie);
    assert_eq!(se.cookie_secret, Some(SecretKey(key_bytes())));
}

#[test]
fn client_id_without_cookie_secret_is_an_error_naming_it() {
    let p = problems(
        &with("[bink]\nclient_id = \"proxy\"\nclient_secret = \"s3\"\n"),
        &NoEnv,
    );
    assert_eq!(keys(&p), ["session.cookie_secret"]);
    assert!(p[0].message.contains("gen-secret"), "{}", p[0].message);
    // An empty value counts as unset.
    let p = problems(&sign_in_with("cookie_secret = \"  \"\n"), &NoEnv);
    assert_eq!(keys(&p), ["session.cookie_secret"]);
}

#[test]
fn cookie_secret_is_optional_without_sign_in() {
    let c = ok(MINIMAL);
    assert!(c.bink.client_id.is_none());
    assert!(c.session.cookie_secret.is_none());
}

#[test]
fn missing_cookie_secret_is_reported_even_when_bink_base_url_is_bad() {
    let p = problems(
        &with("[bink]\nbase_url = \"bink.link\"\nclient_id = \"proxy\"\n"),
        &NoEnv,
    );
    let mut got = keys(&p);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "bink.base_url",
            "bink.client_secret",
            "session.cookie_secret"
        ]
    );
}

#[test]
fn cookie_secret_accepts_standard_and_url_safe_base64_padded_or_not() {
    let url_safe = "yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5uc";
    let expected: [u8; 32] = std::array::from_fn(|i| 200 + i as u8);
    for (value, bytes) in [
        (KEY, key_bytes()),
        (KEY.trim_end_matches('='), key_bytes()),
        (url_safe, expected),
        (&format!("{url_safe}=") as &str, expected),
        (&format!("  {KEY}  ") as &str, key_bytes()),
    ] {
        let c = ok(&sign_in_with(&format!("cookie_secret = \"{value}\"\n")));
        assert_eq!(c.session.cookie_secret, Some(SecretKey(bytes)), "{value}");
    }
}

#[test]
fn cookie_secret_that_is_not_base64_or_not_32_bytes_names_it_without_echoing_it() {
    for value in [
        "not base64 at all!",
        "hunter2-hunter2-hunter2",
        // 16 and 33 bytes.
        "AAAAAAAAAAAAAAAAAAAAAA==",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",
    ] {
        let p = problems(
            &sign_in_with(&format!("cookie_secret = \"{value}\"\n")),
            &NoEnv,
        );
        assert_eq!(keys(&p), ["session.cookie_secret"], "{value}");
        assert!(!p[0].message.contains(value), "{:?}", p[0]);
        assert!(p[0].message.contains("gen-secret"), "{:?}", p[0]);
    }
    let p = problems(
        &sign_in_with("cookie_secret = \"AAAAAAAAAAAAAAAAAAAAAA==\"\n"),
        &NoEnv,
    );
    assert!(p[0].message.contains("32 bytes"), "{:?}", p[0]);
    assert!(p[0].message.contains("16"), "{:?}", p[0]);
}

#[test]
fn bad_cookie_secret_is_an_error_even_without_sign_in() {
    let p = problems(&with("[session]\ncookie_secret = \"short\"\n"), &NoEnv);
    assert_eq!(keys(&p), ["session.cookie_secret"]);
}

#[test]
fn cookie_secret_file_is_read_and_trimmed() {
    let file = TempFile::new("cookie-secret", &format!("\n{KEY}\n"));
    let c = ok(&sign_in_with(&format!(
        "cookie_secret_file = {}\n",
        file.toml_path()
    )));
    assert_eq!(c.session.cookie_secret, Some(SecretKey(key_bytes())));

    // The file may also be named from the environment.
    let path = file.0.display().to_string();
    let env = [
        ("BINK_PROXY_BINK__CLIENT_ID", "proxy"),
        ("BINK_PROXY_BINK__CLIENT_SECRET", "s3"),
        ("BINK_PROXY_SESSION__COOKIE_SECRET_FILE", path.as_str()),
    ];
    let c = Config::from_toml(MINIMAL, &env).unwrap();
    assert_eq!(c.session.cookie_secret, Some(SecretKey(key_bytes())));
}

#[test]
fn cookie_secret_file_with_a_bad_key_names_cookie_secret() {
    let file = TempFile::new("cookie-secret-bad", "too-short-secret\n");
    let p = problems(
        &sign_in_with(&format!("cookie_secret_file = {}\n", file.toml_path())),
        &NoEnv,
    );
    assert_eq!(keys(&p), ["session.cookie_secret"]);
    assert!(!p[0].message.contains("too-short-secret"), "{:?}", p[0]);
}

#[test]
fn unreadable_cookie_secret_file_names_the_file_key() {
    let missing = std::env::temp_dir().join(format!(
        "bink-proxy-config-test-{}-no-cookie-secret",
        std::process::id()
    ));
    let path = toml::Value::String(missing.display().to_string()).to_string();
    let p = problems(
        &with(&format!("[session]\ncookie_secret_file = {path}\n")),
        &NoEnv,
    );
    assert_eq!(keys(&p), ["session.cookie_secret_file"]);
}

#[test]
fn setting_both_cookie_secret_and_cookie_secret_file_is_an_error() {
    let file = TempFile::new("cookie-secret-both", KEY);
    let p = problems(
        &sign_in_with(&format!(
            "cookie_secret = \"{KEY}\"\ncookie_secret_file = {}\n",
            file.toml_path()
        )),
        &NoEnv,
    );
    assert!(
        keys(&p).iter().all(|k| *k == "session.cookie_secret"),
        "{p:?}"
    );
    assert!(p.iter().any(|p| p.message.contains("not both")), "{p:?}");
}

#[test]
fn cookie_name_with_illegal_characters_or_a_double_underscore_prefix_is_an_error() {
    for name in [
        "my session",
        "a;b",
        "a=b",
        "s\u{e9}ance",
        "__Host-session",
        "__Secure-session",
        "__x",
    ] {
        let text = with(&format!(
            "[session]\ncookie_name = {}\n",
            toml::Value::String(name.to_string())
        ));
        assert_eq!(
            keys(&problems(&text, &NoEnv)),
            ["session.cookie_name"],
            "{name:?}"
        );
    }
    let c = ok(&with("[session]\ncookie_name = \"app.session-1_x\"\n"));
    assert_eq!(c.session.cookie_name, "app.session-1_x");
    // One leading underscore is fine (the default has one).
    ok(&with("[session]\ncookie_name = \"_s\"\n"));
}

#[test]
fn cookie_domain_is_lower_cased_without_a_leading_dot_and_checked() {
    let c = ok(&with("[session]\ncookie_domain = \".Example.COM\"\n"));
    assert_eq!(c.session.cookie_domain.as_deref(), Some("example.com"));
    for domain in ["exa mple.com", "example.com/path", "."] {
        let text = with(&format!("[session]\ncookie_domain = \"{domain}\"\n"));
        assert_eq!(
            keys(&problems(&text, &NoEnv)),
            ["session.cookie_domain"],
            "{domain}"
        );
    }
}

#[test]
fn session_durations_and_cookie_secure_are_read() {
    let c = ok(&with(
        "[session]\ncookie_secure = false\nlifetime = \"1h\"\nrevalidate_after = \"0s\"\n",
    ));
    assert!(!c.session.cookie_secure);
    assert_eq!(c.session.lifetime, Duration::from_secs(3600));
    assert!(c.session.revalidate_after.is_zero());
    let p = problems(&with("[session]\nlifetime = \"0s\"\n"), &NoEnv);
    assert_eq!(keys(&p), ["session.lifetime"]);
}

#[test]
fn store_redis_uses_the_default_redis_url() {
    let c = ok(&with("[session]\nstore = \"redis\"\n"));
    assert_eq!(
        c.session.store,
        SessionStore::Redis {
            url: Secret::new(defaults::REDIS_URL)
        }
    );
}

#[test]
fn store_redis_accepts_redis_and_rediss_urls_inline_or_from_a_file() {
    for url in [
        "redis://:hunter2@cache.internal:6380/2",
        "rediss://cache.internal",
    ] {
        let c = ok(&with(&format!(
            "[session]\nstore = \"redis\"\nredis_url = \"{url}\"\n"
        )));
        assert_eq!(
            c.session.store,
            SessionStore::Redis {
                url: Secret::new(url)
            }
        );
    }
    let file = TempFile::new("redis-url", "redis://:hunter2@cache.internal/\n");
    let c = ok(&with(&format!(
        "[session]\nstore = \"redis\"\nredis_url_file = {}\n",
        file.toml_path()
    )));
    assert_eq!(
        c.session.store,
        SessionStore::Redis {
            url: Secret::new("redis://:hunter2@cache.internal/")
        }
    );
}

#[test]
fn store_redis_with_a_bad_redis_url_names_it_without_echoing_it() {
    for url in [
        "http://:hunter2@cache.internal/",
        "cache.internal:6379",
        "not a url",
    ] {
        let p = problems(
            &with(&format!(
                "[session]\nstore = \"redis\"\nredis_url = \"{url}\"\n"
            )),
            &NoEnv,
        );
        assert_eq!(keys(&p), ["session.redis_url"], "{url}");
        assert!(!p[0].message.contains("hunter2"), "{:?}", p[0]);
    }
}

#[test]
fn setting_both_redis_url_and_redis_url_file_is_an_error() {
    let file = TempFile::new("redis-url-both", "redis://a/");
    let text = with(&format!(
        "[session]\nstore = \"redis\"\nredis_url = \"redis://b/\"\nredis_url_file = {}\n",
        file.toml_path()
    ));
    let p = problems(&text, &NoEnv);
    assert!(!p.is_empty());
    assert!(
        keys(&p).iter().all(|k| k.starts_with("session.redis_url")),
        "{p:?}"
    );
    assert!(p.iter().any(|p| p.message.contains("not both")), "{p:?}");
}

#[test]
fn unknown_store_is_an_error_naming_session_store() {
    for store in ["memcached", "Cookie", "file"] {
        let p = problems(&with(&format!("[session]\nstore = \"{store}\"\n")), &NoEnv);
        assert_eq!(keys(&p), ["session.store"], "{store}");
        assert!(p[0].message.contains(store), "{:?}", p[0]);
    }
}

#[test]
fn session_keys_may_come_from_the_environment() {
    let env = [
        ("BINK_PROXY_SESSION__STORE", "redis"),
        ("BINK_PROXY_SESSION__COOKIE_SECURE", "false"),
        ("BINK_PROXY_SESSION__LIFETIME", "2h"),
    ];
    let c = Config::from_toml(&with("[session]\nstore = \"cookie\"\n"), &env).unwrap();
    assert_eq!(
        c.session.store,
        SessionStore::Redis {
            url: Secret::new(defaults::REDIS_URL)
        }
    );
    assert!(!c.session.cookie_secure);
    assert_eq!(c.session.lifetime, Duration::from_secs(2 * 3600));

    let env = [
        ("BINK_PROXY_SESSION__STORE", "redis"),
        (
            "BINK_PROXY_SESSION__REDIS_URL",
            "redis://:pw@10.0.0.5:6379/1",
        ),
    ];
    let c = Config::from_toml(MINIMAL, &env).unwrap();
    assert_eq!(
        c.session.store,
        SessionStore::Redis {
            url: Secret::new("redis://:pw@10.0.0.5:6379/1")
        }
    );

    let env = [("BINK_PROXY_SESSION__COOKIE_SECURE", "sometimes")];
    assert_eq!(keys(&problems(MINIMAL, &env)), ["session.cookie_secure"]);
}

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

/// `MINIMAL` with `[integrations]` enabled, the key given, and `body` appended to the section
/// (sub-tables such as `[integrations.kombo]` may follow in `body`).
fn integrations_with(body: &str) -> String {
    with(&format!(
        "[integrations]\nenabled = true\nencryption_key = \"{KEY}\"\n{body}"
    ))
}

#[test]
fn integrations_defaults_match_the_contract() {
    // Literal values from SPEC §3 / §1, so a changed constant in `defaults` is noticed.
    let i = ok(MINIMAL).integrations;
    assert!(!i.enabled);
    assert_eq!(i.database_url.expose(), "sqlite://bink-proxy.db");
    assert_eq!(i.encryption_key, None);
    assert!(i.previous_encryption_keys.is_empty());
    assert_eq!(i.provider_timeout, Duration::from_secs(10));
    assert_eq!(i.organization, OrganizationMode::User);
    assert!(i.bindbee.api_key.is_none());
    assert_eq!(i.bindbee.base_url.as_str(), "https://api.bindbee.dev/");
    assert_eq!(i.bindbee.sdk_url, None);
    assert!(i.kombo.api_key.is_none());
    assert_eq!(i.kombo.base_url.as_str(), "https://api.kombo.dev/v1");
    assert_eq!(
        i.kombo.sdk_url.as_deref(),
        Some("https://unpkg.com/@kombo-api/connect@1.3.0/dist/index.js")
    );
}

#[test]
fn integrations_enabled_with_a_key_is_valid() {
    let c = ok(&integrations_with(
        "provider_timeout = \"2500ms\"\norganization = \"email_domain\"\n",
    ));
    let i = &c.integrations;
    assert!(i.enabled);
    assert_eq!(i.encryption_key, Some(SecretKey(key_bytes())));
    assert_eq!(i.provider_timeout, Duration::from_millis(2500));
    assert_eq!(i.organization, OrganizationMode::EmailDomain);
    // No provider is required: both simply stay unconfigured.
    assert!(i.bindbee.api_key.is_none() && i.kombo.api_key.is_none());
}

#[test]
fn integrations_enabled_without_encryption_key_is_an_error_naming_it() {
    for text in [
        with("[integrations]\nenabled = true\n"),
        with("[integrations]\nenabled = true\nencryption_key = \"  \"\n"),
    ] {
        let p = problems(&text, &NoEnv);
        assert_eq!(keys(&p), ["integrations.encryption_key"], "{text}");
        assert!(p[0].message.contains("gen-secret"), "{:?}", p[0]);
    }
    // Disabled, no key is needed.
    assert!(ok(&with("[integrations]\nenabled = false\n"))
        .integrations
        .encryption_key
        .is_none());
}

#[test]
fn integrations_encryption_key_that_is_not_a_32_byte_key_names_it_without_echoing_it() {
    for value in [
        "not base64 at all!",
        "hunter2-hunter2-hunter2",
        // 16 and 33 bytes.
        "AAAAAAAAAAAAAAAAAAAAAA==",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",
    ] {
        for enabled in [true, false] {
            let text = with(&format!(
                "[integrations]\nenabled = {enabled}\nencryption_key = \"{value}\"\n"
            ));
            let p = problems(&text, &NoEnv);
            assert_eq!(keys(&p), ["integrations.encryption_key"], "{value}");
            assert!(!p[0].message.contains(value), "{:?}", p[0]);
        }
    }
    let p = problems(
        &with("[integrations]\nencryption_key = \"AAAAAAAAAAAAAAAAAAAAAA==\"\n"),
        &NoEnv,
    );
    assert!(p[0].message.contains("32 bytes"), "{:?}", p[0]);
    assert!(p[0].message.contains("16"), "{:?}", p[0]);
}

#[test]
fn integrations_encryption_key_file_is_read_and_both_forms_together_are_an_error() {
    let file = TempFile::new("encryption-key", &format!("\n{KEY}\n"));
    let c = ok(&with(&format!(
        "[integrations]\nenabled = true\nencryption_key_file = {}\n",
        file.toml_path()
    )));
    assert_eq!(c.integrations.encryption_key, Some(SecretKey(key_bytes())));

    let p = problems(
        &integrations_with(&format!("encryption_key_file = {}\n", file.toml_path())),
        &NoEnv,
    );
    assert!(
        keys(&p).iter().all(|k| *k == "integrations.encryption_key"),
        "{p:?}"
    );
    assert!(p.iter().any(|p| p.message.contains("not both")), "{p:?}");

    let missing = std::env::temp_dir().join(format!(
        "bink-proxy-config-test-{}-no-encryption-key",
        std::process::id()
    ));
    let path = toml::Value::String(missing.display().to_string()).to_string();
    let p = problems(
        &with(&format!(
            "[integrations]\nenabled = true\nencryption_key_file = {path}\n"
        )),
        &NoEnv,
    );
    // The unreadable file, and (because no key resulted) the missing key.
    assert_eq!(
        keys(&p),
        [
            "integrations.encryption_key_file",
            "integrations.encryption_key"
        ]
    );
}

#[test]
fn previous_encryption_keys_are_read_in_order() {
    let (b1, k1) = other_key(100);
    let (b2, k2) = other_key(200);
    let c = ok(&integrations_with(&format!(
        "previous_encryption_keys = [\"{k1}\", \"{}\"]\n",
        k2.trim_end_matches('=')
    )));
    assert_eq!(
        c.integrations.previous_encryption_keys,
        [SecretKey(b1), SecretKey(b2)]
    );

    // From the environment: comma-separated (base64 has no commas) or the array form.
    for value in [format!("{k1},{k2}"), format!("[\"{k1}\", \"{k2}\"]")] {
        let env = [(
            "BINK_PROXY_INTEGRATIONS__PREVIOUS_ENCRYPTION_KEYS",
            value.as_str(),
        )];
        let c = Config::from_toml(&integrations_with(""), &env).unwrap();
        assert_eq!(
            c.integrations.previous_encryption_keys,
            [SecretKey(b1), SecretKey(b2)],
            "{value}"
        );
    }
}

#[test]
fn bad_previous_encryption_key_names_its_index_without_echoing_it() {
    let (_, k1) = other_key(100);
    for bad in ["hunter2-not-a-key", "AAAAAAAAAAAAAAAAAAAAAA==", ""] {
        let p = problems(
            &integrations_with(&format!(
                "previous_encryption_keys = [\"{k1}\", \"{bad}\", \"{KEY}\"]\n"
            )),
            &NoEnv,
        );
        assert_eq!(
            keys(&p),
            ["integrations.previous_encryption_keys[1]"],
            "{bad:?}"
        );
        if !bad.is_empty() {
            assert!(!p[0].message.contains(bad), "{:?}", p[0]);
        }
    }
}

#[test]
fn database_url_must_be_sqlite_or_postgres() {
    for url in [
        "sqlite://bink-proxy.db",
        "sqlite:///var/lib/bink-proxy/integrations.db",
        "sqlite::memory:",
        "postgres://u:hunter2@db.internal:5432/bink",
        "postgresql://db.internal/bink",
    ] {
        let c = ok(&integrations_with(&format!("database_url = \"{url}\"\n")));
        assert_eq!(c.integrations.database_url.expose(), url);
    }
    for url in [
        "mysql://u:hunter2@db.internal/bink",
        "bink-proxy.db",
        "http://db.internal/",
        "redis://127.0.0.1:6379",
    ] {
        // Checked whether or not integrations are enabled.
        for text in [
            integrations_with(&format!("database_url = \"{url}\"\n")),
            with(&format!("[integrations]\ndatabase_url = \"{url}\"\n")),
        ] {
            let p = problems(&text, &NoEnv);
            assert_eq!(keys(&p), ["integrations.database_url"], "{url}");
            assert!(!p[0].message.contains("hunter2"), "{:?}", p[0]);
        }
    }
    // Empty means the default.
    let c = ok(&integrations_with("database_url = \"\"\n"));
    assert_eq!(c.integrations.database_url.expose(), defaults::DATABASE_URL);
}

#[test]
fn database_url_file_is_read_and_checked() {
    let file = TempFile::new("database-url", "postgres://u:hunter2@db/bink\n");
    let c = ok(&integrations_with(&format!(
        "database_url_file = {}\n",
        file.toml_path()
    )));
    assert_eq!(
        c.integrations.database_url.expose(),
        "postgres://u:hunter2@db/bink"
    );

    let bad = TempFile::new("database-url-bad", "mysql://u:hunter2@db/bink\n");
    let p = problems(
        &integrations_with(&format!("database_url_file = {}\n", bad.toml_path())),
        &NoEnv,
    );
    assert_eq!(keys(&p), ["integrations.database_url"]);
    assert!(!p[0].message.contains("hunter2"), "{:?}", p[0]);

    let p = problems(
        &integrations_with(&format!(
            "database_url = \"sqlite://x.db\"\ndatabase_url_file = {}\n",
            file.toml_path()
        )),
        &NoEnv,
    );
    assert_eq!(keys(&p), ["integrations.database_url"]);
    assert!(p[0].message.contains("not both"), "{:?}", p[0]);
}

#[test]
fn unknown_organization_mode_is_an_error_naming_it() {
    for mode in ["team", "User", "email-domain", "domain"] {
        let p = problems(
            &integrations_with(&format!("organization = \"{mode}\"\n")),
            &NoEnv,
        );
        assert_eq!(keys(&p), ["integrations.organization"], "{mode}");
        assert!(p[0].message.contains(mode), "{:?}", p[0]);
    }
    let c = ok(&integrations_with("organization = \"user\"\n"));
    assert_eq!(c.integrations.organization, OrganizationMode::User);
    let c = ok(&integrations_with("organization = \"\"\n"));
    assert_eq!(c.integrations.organization, OrganizationMode::User);
}

#[test]
fn bad_provider_timeout_names_its_key() {
    for value in ["0s", "soon"] {
        let p = problems(
            &integrations_with(&format!("provider_timeout = \"{value}\"\n")),
            &NoEnv,
        );
        assert_eq!(keys(&p), ["integrations.provider_timeout"], "{value}");
    }
}

#[test]
fn bindbee_api_key_without_sdk_url_is_an_error_naming_bindbee_sdk_url() {
    let p = problems(
        &integrations_with("[integrations.bindbee]\napi_key = \"bb-key\"\n"),
        &NoEnv,
    );
    assert_eq!(keys(&p), ["integrations.bindbee.sdk_url"]);
    let p = problems(
        &integrations_with("[integrations.bindbee]\napi_key = \"bb-key\"\nsdk_url = \" \"\n"),
        &NoEnv,
    );
    assert_eq!(keys(&p), ["integrations.bindbee.sdk_url"]);

    for sdk in [
        "https://cdn.example.com/bindbee-embed.js",
        "/static/bindbee-embed.js",
    ] {
        let c = ok(&integrations_with(&format!(
            "[integrations.bindbee]\napi_key = \"bb-key\"\nsdk_url = \"{sdk}\"\n"
        )));
        let b = &c.integrations.bindbee;
        assert_eq!(b.api_key.as_ref().unwrap().expose(), "bb-key");
        assert_eq!(b.sdk_url.as_deref(), Some(sdk));
    }
    for sdk in [
        "javascript:alert(1)",
        "bindbee.js",
        "ftp://cdn.example.com/x.js",
    ] {
        let p = problems(
            &integrations_with(&format!(
                "[integrations.bindbee]\napi_key = \"bb-key\"\nsdk_url = \"{sdk}\"\n"
            )),
            &NoEnv,
        );
        assert_eq!(keys(&p), ["integrations.bindbee.sdk_url"], "{sdk}");
    }
    // Without an api_key Bindbee is simply not configured.
    assert_eq!(
        ok(&integrations_with("")).integrations.bindbee.sdk_url,
        None
    );
}

#[test]
fn kombo_gets_its_default_sdk_url_unless_one_is_given() {
    let c = ok(&integrations_with(
        "[integrations.kombo]\napi_key = \"kombo-key\"\n",
    ));
    let k = &c.integrations.kombo;
    assert_eq!(k.api_key.as_ref().unwrap().expose(), "kombo-key");
    assert_eq!(k.sdk_url.as_deref(), Some(defaults::KOMBO_SDK_URL));
    assert_eq!(k.base_url, Url::parse(defaults::KOMBO_BASE_URL).unwrap());

    let c = ok(&integrations_with(
        "[integrations.kombo]\napi_key = \"kombo-key\"\nsdk_url = \"https://cdn.example.com/kombo.js\"\n\
         base_url = \"https://api.us.kombo.dev/v1\"\n",
    ));
    let k = &c.integrations.kombo;
    assert_eq!(
        k.sdk_url.as_deref(),
        Some("https://cdn.example.com/kombo.js")
    );
    assert_eq!(k.base_url.as_str(), "https://api.us.kombo.dev/v1");
}

#[test]
fn bad_provider_base_url_names_its_key() {
    let p = problems(
        &integrations_with(
            "[integrations.bindbee]\nbase_url = \"api.bindbee.dev\"\n\
             [integrations.kombo]\nbase_url = \"ftp://api.kombo.dev\"\n",
        ),
        &NoEnv,
    );
    assert_eq!(
        keys(&p),
        [
            "integrations.bindbee.base_url",
            "integrations.kombo.base_url"
        ]
    );
}

#[test]
fn provider_api_key_file_is_read_and_trimmed() {
    let file = TempFile::new("kombo-api-key", "  kombo-from-file\n");
    let c = ok(&integrations_with(&format!(
        "[integrations.kombo]\napi_key_file = {}\n",
        file.toml_path()
    )));
    assert_eq!(
        c.integrations.kombo.api_key.unwrap().expose(),
        "kombo-from-file"
    );

    // Also for Bindbee, and named from the environment.
    let path = file.0.display().to_string();
    let env = [
        (
            "BINK_PROXY_INTEGRATIONS__BINDBEE__API_KEY_FILE",
            path.as_str(),
        ),
        ("BINK_PROXY_INTEGRATIONS__BINDBEE__SDK_URL", "/bindbee.js"),
    ];
    let c = Config::from_toml(&integrations_with(""), &env).unwrap();
    assert_eq!(
        c.integrations.bindbee.api_key.unwrap().expose(),
        "kombo-from-file"
    );
}

#[test]
fn provider_api_key_file_problems_name_their_keys() {
    let file = TempFile::new("bindbee-api-key", "one");
    let p = problems(
        &integrations_with(&format!(
            "[integrations.bindbee]\napi_key = \"two\"\napi_key_file = {}\nsdk_url = \"/b.js\"\n",
            file.toml_path()
        )),
        &NoEnv,
    );
    assert_eq!(keys(&p), ["integrations.bindbee.api_key"]);
    assert!(p[0].message.contains("not both"), "{:?}", p[0]);

    let empty = TempFile::new("kombo-api-key-empty", "\n");
    let p = problems(
        &integrations_with(&format!(
            "[integrations.kombo]\napi_key_file = {}\n",
            empty.toml_path()
        )),
        &NoEnv,
    );
    assert_eq!(keys(&p), ["integrations.kombo.api_key_file"]);
}

#[test]
fn environment_override_sets_a_nested_provider_key() {
    let env = [("BINK_PROXY_INTEGRATIONS__KOMBO__API_KEY", "k")];
    let c = Config::from_toml(MINIMAL, &env).unwrap();
    assert_eq!(c.integrations.kombo.api_key.unwrap().expose(), "k");
    assert!(c.integrations.bindbee.api_key.is_none());

    // An environment value beats the file's, in a nested table too.
    let text = integrations_with("[integrations.kombo]\napi_key = \"from-file\"\n");
    let c = Config::from_toml(&text, &env).unwrap();
    assert_eq!(c.integrations.kombo.api_key.unwrap().expose(), "k");

    // The whole section from the environment.
    let env = [
        ("BINK_PROXY_INTEGRATIONS__ENABLED", "yes"),
        ("BINK_PROXY_INTEGRATIONS__ENCRYPTION_KEY", KEY),
        ("BINK_PROXY_INTEGRATIONS__ORGANIZATION", "email_domain"),
        ("BINK_PROXY_INTEGRATIONS__PROVIDER_TIMEOUT", "3s"),
        (
            "BINK_PROXY_INTEGRATIONS__DATABASE_URL",
            "postgres://db/bink",
        ),
    ];
    let i = Config::from_toml(MINIMAL, &env).unwrap().integrations;
    assert!(i.enabled);
    assert_eq!(i.encryption_key, Some(SecretKey(key_bytes())));
    assert_eq!(i.organization, OrganizationMode::EmailDomain);
    assert_eq!(i.provider_timeout, Duration::from_secs(3));
    assert_eq!(i.database_url.expose(), "postgres://db/bink");

    let env = [("BINK_PROXY_INTEGRATIONS__ENABLED", "sometimes")];
    assert_eq!(keys(&problems(MINIMAL, &env)), ["integrations.enabled"]);
}

#[test]
fn unknown_integrations_keys_and_tables_are_errors_naming_them() {
    let p = problems(&integrations_with("encryption_keys = []\n"), &NoEnv);
    assert_eq!(keys(&p), ["integrations.encryption_keys"]);
    let p = problems(
        &integrations_with("[integrations.kombo]\nsdk = \"/k.js\"\n"),
        &NoEnv,
    );
    assert_eq!(keys(&p), ["integrations.kombo.sdk"]);
    let p = problems(
        &integrations_with("[integrations.merge]\napi_key = \"x\"\n"),
        &NoEnv,
    );
    assert_eq!(keys(&p), ["integrations.merge"]);
    let env = [("BINK_PROXY_INTEGRATIONS__BINDBEE__APIKEY", "x")];
    assert_eq!(
        keys(&problems(MINIMAL, &env)),
        ["integrations.bindbee.apikey"]
    );
}

#[test]
fn integrations_problems_are_all_reported_together() {
    let text = with(
        r#"
        [integrations]
        enabled = true
        database_url = "mysql://db/bink"
        previous_encryption_keys = ["nope"]
        provider_timeout = "0s"
        organization = "team"
        [integrations.bindbee]
        api_key = "bb-key"
        [integrations.kombo]
        base_url = "api.kombo.dev"
        sdk_url = "kombo.js"
        "#,
    );
    let p = problems(&text, &NoEnv);
    let mut got = keys(&p);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "integrations.bindbee.sdk_url",
            "integrations.database_url",
            "integrations.encryption_key",
            "integrations.kombo.base_url",
            "integrations.kombo.sdk_url",
            "integrations.organization",
            "integrations.previous_encryption_keys[0]",
            "integrations.provider_timeout",
        ]
    );
}

#[test]
fn redacted_toml_hides_every_integrations_secret_and_parses_back() {
    let (b1, k1) = other_key(100);
    let (b2, k2) = other_key(200);
    let text = integrations_with(&format!(
        "database_url = \"postgres://u:hunter2@h/db\"\n\
         previous_encryption_keys = [\"{k1}\", \"{k2}\"]\n\
         organization = \"email_domain\"\n\
         [integrations.bindbee]\napi_key = \"bindbee-api-secret\"\nsdk_url = \"/bindbee.js\"\n\
         [integrations.kombo]\napi_key = \"kombo-api-secret\"\n"
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
    ] {
        assert!(!redacted.contains(secret), "{secret} shown in:\n{redacted}");
    }
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

// ---- TLS, addresses, durations --------------------------------------------------------

#[test]
fn tls_cert_without_key_is_an_error_naming_tls_key_file() {
    let p = problems(&with("tls_cert_file = \"cert.pem\"\n"), &NoEnv);
    assert_eq!(keys(&p), ["server.tls_key_file"]);
    let p = problems(&with("tls_key_file = \"key.pem\"\n"), &NoEnv);
    assert_eq!(keys(&p), ["server.tls_cert_file"]);
}

#[test]
fn tls_cert_and_key_together_enable_tls() {
    let c = ok(&with(
        "tls_cert_file = \"cert.pem\"\ntls_key_file = \"key.pem\"\n",
    ));
    let tls = c.server.tls.unwrap();
    assert_eq!(tls.cert, PathBuf::from("cert.pem"));
    assert_eq!(tls.key, PathBuf::from("key.pem"));
}

#[test]
fn bad_metrics_listen_names_its_key() {
    let p = problems(&with("metrics_listen = \"localhost\"\n"), &NoEnv);
    assert_eq!(keys(&p), ["server.metrics_listen"]);
}

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

#[test]
fn access_lists_are_lower_cased_and_plans_typed() {
    let c = ok(&with(
        "[access]\nallowed_emails = [\" Bob@Acme.COM \"]\nallowed_email_domains = [\"ACME.com\", \"\"]\nallowed_plans = [\"VERIFIED\", \"BUSINESS\"]\n",
    ));
    assert_eq!(c.access.base.allowed_emails, ["bob@acme.com"]);
    assert_eq!(c.access.base.allowed_email_domains, ["acme.com"]);
    assert_eq!(
        c.access.base.allowed_plans,
        [Plan::Verified, Plan::Business]
    );
}

#[test]
fn trusted_proxy_hops_up_to_64_is_accepted() {
    let c = ok(&with("trusted_proxy_hops = 64\n"));
    assert_eq!(c.server.trusted_proxy_hops, 64);
}

// ---- config.toml.example --------------------------------------------------------------

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
    // Bindbee has no default script; the comment above it says what to point it at.
    assert_eq!(i["bindbee"]["sdk_url"].as_str(), Some(""));
    assert!(EXAMPLE
        .contains("window.BindbeeEmbed.open({linkToken, onSuccess(temporary_token), onClose})"));
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
    assert_eq!(i.kombo.sdk_url.as_deref(), Some(defaults::KOMBO_SDK_URL));
    assert!(i.bindbee.api_key.is_none());

    // Bindbee additionally needs its script.
    let env = [
        ("BINK_PROXY_INTEGRATIONS__ENABLED", "true"),
        ("BINK_PROXY_INTEGRATIONS__ENCRYPTION_KEY", KEY),
        ("BINK_PROXY_INTEGRATIONS__BINDBEE__API_KEY", "bindbee-key"),
    ];
    assert_eq!(
        keys(&problems(EXAMPLE, &env)),
        ["integrations.bindbee.sdk_url"]
    );
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

#[test]
fn trusted_proxy_hops_above_64_is_an_error() {
    let err = Config::from_toml(
        "[server]\nupstream = \"http://127.0.0.1:1\"\ntrusted_proxy_hops = 65\n",
        &NoEnv,
    )
    .unwrap_err();
    assert!(err
        .problems
        .iter()
        .any(|p| p.key == "server.trusted_proxy_hops"));
}

#[test]
fn secure_cookies_on_a_plain_http_public_origin_are_refused() {
    let text = format!(
        "[server]\nupstream = \"http://127.0.0.1:1\"\npublic_url = \"http://app.example.com\"\n\
         [bink]\nclient_id = \"c\"\nclient_secret = \"s\"\n[session]\ncookie_secret = \"{KEY}\"\n"
    );
    let err = Config::from_toml(&text, &NoEnv).unwrap_err();
    assert!(
        err.problems
            .iter()
            .any(|p| p.key == "session.cookie_secure"),
        "{err}"
    );
    let ok_text = text.replace("http://app.example.com", "https://app.example.com");
    assert!(Config::from_toml(&ok_text, &NoEnv).is_ok());
}

#[test]
fn cookie_domain_must_cover_the_public_host() {
    let text = format!(
        "[server]\nupstream = \"http://127.0.0.1:1\"\npublic_url = \"https://app.example.com\"\n\
         [bink]\nclient_id = \"c\"\nclient_secret = \"s\"\n[session]\ncookie_secret = \"{KEY}\"\ncookie_domain = \"other.org\"\n"
    );
    let err = Config::from_toml(&text, &NoEnv).unwrap_err();
    assert!(
        err.problems
            .iter()
            .any(|p| p.key == "session.cookie_domain"),
        "{err}"
    );
    assert!(Config::from_toml(&text.replace("other.org", "example.com"), &NoEnv).is_ok());
}

// ---- [access] as written (moved from policy/tests.rs) ---------------------------------

/// The policy of a config made of `access` (TOML starting at `[access]` or `[[access.rules]]`).
fn policy(access: &str) -> AccessPolicy {
    let text = format!("[server]\nupstream = \"http://127.0.0.1:8080\"\n{access}");
    Config::from_toml(&text, &NoEnv)
        .unwrap_or_else(|e| panic!("expected a valid config: {e}"))
        .access
}

fn problem_keys(access: &str) -> Vec<String> {
    let text = format!("[server]\nupstream = \"http://127.0.0.1:8080\"\n{access}");
    match Config::from_toml(&text, &NoEnv) {
        Ok(_) => panic!("expected a config error for {access}"),
        Err(e) => e.problems.into_iter().map(|p| p.key).collect(),
    }
}

fn user(email: Option<&str>) -> Identity {
    Identity {
        id: "u-1".into(),
        name: Some("Test User".into()),
        email: email.map(str::to_string),
        username: Some("tester".into()),
        avatar: None,
        plan: Plan::Free,
        verification_level: 0,
    }
}

fn with_plan(plan: Plan, verification_level: u8) -> Identity {
    Identity {
        plan,
        verification_level,
        ..user(Some("x@acme.com"))
    }
}

// ---- email domains --------------------------------------------------------------------

#[test]
fn domain_allow_list_written_in_upper_case_still_matches() {
    let p = policy("[access]\nallowed_email_domains = [\"ACME.COM\"]\n");
    assert!(p.allows(&user(Some("x@acme.com")), "/"));
}

#[test]
fn domain_entry_with_at_sign_or_leading_dot_is_a_config_error() {
    assert_eq!(
        problem_keys("[access]\nallowed_email_domains = [\"@acme.com\"]\n"),
        ["access.allowed_email_domains"]
    );
    assert_eq!(
        problem_keys("[access]\nallowed_email_domains = [\".acme.com\"]\n"),
        ["access.allowed_email_domains"]
    );
}

// ---- plans and verification level -----------------------------------------------------

#[test]
fn unknown_or_lower_case_plan_is_a_config_error() {
    assert_eq!(
        problem_keys("[access]\nallowed_plans = [\"GOLD\"]\n"),
        ["access.allowed_plans"]
    );
    assert_eq!(
        problem_keys("[access]\nallowed_plans = [\"business\"]\n"),
        ["access.allowed_plans"]
    );
}

#[test]
fn min_verification_level_above_two_is_a_config_error() {
    assert_eq!(
        problem_keys("[access]\nmin_verification_level = 3\n"),
        ["access.min_verification_level"]
    );
}

// ---- [[access.rules]] -----------------------------------------------------------------

const RULES: &str = r#"
[access]
allowed_email_domains = ["acme.com"]
allowed_plans = ["VERIFIED", "BUSINESS"]

[[access.rules]]
path = "^/admin/"
min_verification_level = 2
allowed_plans = ["BUSINESS"]

[[access.rules]]
path = "^/admin/public/"
min_verification_level = 0

[[access.rules]]
path = "^/partners/"
allowed_email_domains = ["partner.io"]
"#;

#[test]
fn matching_rule_overrides_the_keys_it_sets() {
    let p = policy(RULES);
    assert!(p.allows(&with_plan(Plan::Business, 2), "/admin/users"));
    assert!(!p.allows(&with_plan(Plan::Business, 1), "/admin/users"));
    assert!(!p.allows(&with_plan(Plan::Verified, 2), "/admin/users"));
}

#[test]
fn matching_rule_inherits_the_keys_it_leaves_out() {
    let p = policy(RULES);
    // /admin/ sets no email keys: the domain list of [access] still applies.
    let outsider = Identity {
        plan: Plan::Business,
        verification_level: 2,
        ..user(Some("root@evil.io"))
    };
    assert!(!p.allows(&outsider, "/admin/users"));
    let r = p.requirements_for("/admin/users");
    assert_eq!(r.allowed_email_domains, ["acme.com"]);
    assert_eq!(r.allowed_plans, [Plan::Business]);
    assert_eq!(r.min_verification_level, 2);
}

#[test]
fn rule_replacing_the_domain_list_does_not_keep_the_access_one() {
    let p = policy(RULES);
    let partner = Identity {
        plan: Plan::Verified,
        ..user(Some("p@partner.io"))
    };
    let staff = Identity {
        plan: Plan::Verified,
        ..user(Some("s@acme.com"))
    };
    assert!(p.allows(&partner, "/partners/docs"));
    assert!(!p.allows(&staff, "/partners/docs"));
    // The rule left allowed_plans alone: FREE is still refused there.
    let free_partner = Identity {
        plan: Plan::Free,
        ..partner.clone()
    };
    assert!(!p.allows(&free_partner, "/partners/docs"));
}

#[test]
fn rule_setting_an_empty_list_lifts_that_restriction() {
    let p = policy(
        r#"
        [access]
        allowed_email_domains = ["acme.com"]
        [[access.rules]]
        path = "^/open/"
        allowed_email_domains = []
        "#,
    );
    assert!(p.allows(&user(None), "/open/x"));
    assert!(!p.allows(&user(None), "/closed"));
}

#[test]
fn rule_without_path_or_with_bad_regex_is_a_config_error() {
    assert_eq!(
        problem_keys("[[access.rules]]\nmin_verification_level = 2\n"),
        ["access.rules[0].path"]
    );
    assert_eq!(
        problem_keys("[[access.rules]]\npath = \"^/(\"\n"),
        ["access.rules[0].path"]
    );
    assert_eq!(
        problem_keys("[[access.rules]]\npath = \"^/\"\nallowed_plans = [\"GOLD\"]\n"),
        ["access.rules[0].allowed_plans"]
    );
}

// ---- skip_auth ------------------------------------------------------------------------

#[test]
fn skip_auth_regex_containing_a_space_is_not_mistaken_for_a_method() {
    let p = policy("[access]\nskip_auth = [\"^/a b$\"]\n");
    assert_eq!(p.skip_auth[0].method, None);
    assert!(p.skips_auth(&Method::GET, "/a b"));
}

#[test]
fn skip_auth_accepts_extension_methods() {
    let p = policy("[access]\nskip_auth = [\"PROPFIND ^/dav/\"]\n");
    let propfind = Method::from_bytes(b"PROPFIND").unwrap();
    assert!(p.skips_auth(&propfind, "/dav/x"));
    assert!(!p.skips_auth(&Method::GET, "/dav/x"));
}

#[test]
fn skip_auth_with_bad_regex_or_empty_pattern_is_a_config_error() {
    assert_eq!(
        problem_keys("[access]\nskip_auth = [\"^/ok$\", \"GET ^/(\"]\n"),
        ["access.skip_auth[1]"]
    );
    assert_eq!(
        problem_keys("[access]\nskip_auth = [\"GET \"]\n"),
        ["access.skip_auth[0]"]
    );
}

#[test]
fn lower_case_method_prefix_is_a_config_error() {
    let err = crate::config::Config::from_toml(
        "[server]\nupstream = \"http://127.0.0.1:1\"\n[access]\nskip_auth = [\"get ^/x\"]\n",
        &crate::config::NoEnv,
    )
    .unwrap_err();
    assert!(err
        .problems
        .iter()
        .any(|p| p.key == "access.skip_auth[0]" && p.message.contains("upper case")));
}

// ---- printed back ---------------------------------------------------------------------

#[test]
fn to_toml_round_trips_through_the_config_parser() {
    let p = policy(RULES);
    let back = policy(&access_toml(&p));
    assert_eq!(back.base, p.base);
    assert_eq!(back.rules.len(), p.rules.len());
    for (a, b) in back.rules.iter().zip(&p.rules) {
        assert_eq!(a.path.as_str(), b.path.as_str());
        assert_eq!(a.requirements, b.requirements);
    }
}
