//! `Config::from_toml`: defaults, unknown keys, collected problems, environment overrides,
//! secrets, redaction, and the shipped `config.toml.example`.

use super::*;
use crate::identity::Plan;
use crate::policy::Requirements;

const MINIMAL: &str = "[server]\nupstream = \"http://127.0.0.1:8080\"\n";
const EXAMPLE: &str = include_str!("../../config.toml.example");

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
    for section in ["session", "integrations", "sever"] {
        let p = problems(&with(&format!("[{section}]\nx = 1\n")), &NoEnv);
        assert_eq!(keys(&p), [section]);
        assert!(p[0].message.contains(section), "{}", p[0].message);
    }
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
        "[bink]\nclient_id = \"proxy\"\nclient_secret_file = {}\n",
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
    ];
    let c = Config::from_toml(MINIMAL, &env).unwrap();
    assert_eq!(c.bink.client_secret.unwrap().expose(), "env-file-secret");
}

#[test]
fn setting_both_client_secret_and_client_secret_file_is_an_error() {
    let file = TempFile::new("secret-both", "one");
    let text = with(&format!(
        "[bink]\nclient_id = \"proxy\"\nclient_secret = \"two\"\nclient_secret_file = {}\n",
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
    let p = problems(&with("[bink]\nclient_id = \"proxy\"\n"), &NoEnv);
    assert_eq!(keys(&p), ["bink.client_secret"]);
}

#[test]
fn client_secret_debug_output_is_redacted() {
    let c = ok(&with(
        "[bink]\nclient_id = \"proxy\"\nclient_secret = \"hunter2-secret\"\n",
    ));
    assert!(!format!("{c:?}").contains("hunter2-secret"));
}

#[test]
fn redacted_toml_hides_the_secret_and_parses_back_to_the_same_config() {
    let text = with(
        r#"trusted_proxy_hops = 2
        upstream_timeout = "90s"
        metrics_listen = "127.0.0.1:9180"
        [bink]
        client_id = "proxy"
        client_secret = "hunter2-secret"
        timeout = "1m 30s"
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
    assert!(redacted.contains("[redacted]"), "{redacted}");

    let back = ok(&redacted);
    assert_eq!(back.redacted_toml(), redacted);
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
        "[bink]\nclient_id = \"proxy\"\nclient_secret_file = {}\n",
        file.toml_path()
    ));
    let redacted = ok(&text).redacted_toml();
    assert!(!redacted.contains("file-secret-value"), "{redacted}");
    ok(&redacted);
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

#[test]
fn example_config_documents_every_accepted_key() {
    let table: toml::Table = toml::from_str(EXAMPLE).unwrap();
    let sections = accepted_keys("", "zz_not_a_key");
    assert_eq!(sections, ["server", "bink", "tokens", "access", "headers"]);
    for section in &sections {
        let shown = table[section.as_str()].as_table().unwrap();
        for key in accepted_keys(&format!("[{section}]"), &format!("{section}.zz_not_a_key")) {
            if section == "access" && key == "rules" {
                continue;
            }
            assert!(
                shown.contains_key(&key),
                "config.toml.example lacks {section}.{key}"
            );
        }
    }

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
fn example_config_has_no_live_session_or_integrations_section() {
    let table: toml::Table = toml::from_str(EXAMPLE).unwrap();
    assert!(!table.contains_key("session"));
    assert!(!table.contains_key("integrations"));
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
