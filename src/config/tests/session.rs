//! `[session]`: defaults, the cookie secret (required with sign-in), cookie name and domain,
//! the Redis store, and the cookie's scope checked against `server.public_url`.

use std::time::Duration;

use super::*;

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

// ---- cookie scope ---------------------------------------------------------------------

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
