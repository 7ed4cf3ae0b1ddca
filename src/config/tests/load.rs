//! `Config::from_toml` as a whole: every default, unknown keys and sections named by their
//! path, TOML syntax errors, and every problem reported at once.

use super::*;

// ---- defaults -------------------------------------------------------------------------

#[test]
fn minimal_config_gets_every_default() {
    let c = ok(MINIMAL);
    assert_eq!(c.server.upstream.as_str(), "http://127.0.0.1:8080/");
    assert_defaults(&c);
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
