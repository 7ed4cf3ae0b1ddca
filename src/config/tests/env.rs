//! Environment overrides: they beat the file, and their strings become booleans, integers
//! and lists (the `lenient` deserializers of `raw.rs`).

use super::*;

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
