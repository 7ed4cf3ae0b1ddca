//! `[integrations]`: defaults, the encryption keys (current and previous), the database
//! URL, the organization mode and the provider timeout.

use std::time::Duration;

use super::*;

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
    assert_eq!(
        i.bindbee.sdk_url,
        "https://cdn.bindbee.dev/initialize.min.js"
    );
    assert!(i.kombo.api_key.is_none());
    assert_eq!(i.kombo.base_url.as_str(), "https://api.kombo.dev/v1");
    assert_eq!(
        i.kombo.sdk_url,
        "https://unpkg.com/@kombo-api/connect@1.3.0/dist/index.js"
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
        sdk_url = "bindbee.js"
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
fn the_gateway_has_sane_defaults_and_takes_service_keys_inline_or_from_a_file() {
    let g = ok(MINIMAL).integrations.gateway;
    assert!(g.enabled);
    assert!(g.service_keys.is_empty());
    assert_eq!(g.max_request_body, 10 * 1024 * 1024);
    assert_eq!(g.timeout, Duration::from_secs(30));

    let file = TempFile::new(
        "service-keys",
        "# the nightly sync\nsecond-key-0123456789-0123456789-abcdef\n\n",
    );
    let c = ok(&integrations_with(&format!(
        "[integrations.gateway]\nservice_keys = [\"first-key-0123456789-0123456789-abcdef\"]\n\
         service_keys_file = {}\nmax_request_body = \"512KiB\"\ntimeout = \"5s\"\n",
        file.toml_path()
    )));
    let g = &c.integrations.gateway;
    let keys: Vec<&str> = g.service_keys.iter().map(Secret::expose).collect();
    assert_eq!(
        keys,
        [
            "first-key-0123456789-0123456789-abcdef",
            "second-key-0123456789-0123456789-abcdef"
        ]
    );
    assert_eq!(g.max_request_body, 512 * 1024);
    assert_eq!(g.timeout, Duration::from_secs(5));
}

#[test]
fn gateway_and_webhook_mistakes_name_their_keys() {
    let p = problems(
        &integrations_with(
            "[integrations.gateway]\nservice_keys = [\"short\"]\nmax_request_body = \"lots\"\n\
             timeout = \"0s\"\nservice_keys_file = \"/nonexistent/keys\"\n\
             [integrations.kombo]\nwebhook_forward_path = \"https://evil.example/x\"\n\
             webhook_secret = \"a\"\nwebhook_secret_file = \"/nonexistent\"\n",
        ),
        &NoEnv,
    );
    let mut got = keys(&p);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "integrations.gateway.max_request_body",
            "integrations.gateway.service_keys[0]",
            "integrations.gateway.service_keys_file",
            "integrations.gateway.timeout",
            "integrations.kombo.webhook_forward_path",
            "integrations.kombo.webhook_secret",
        ]
    );
    let c = ok(&integrations_with(
        "[integrations.bindbee]\nwebhook_secret = \"whsec\"\nwebhook_forward_path = \"/hooks/bindbee\"\n",
    ));
    let b = &c.integrations.bindbee;
    assert_eq!(b.webhook_secret.as_ref().map(Secret::expose), Some("whsec"));
    assert_eq!(b.webhook_forward_path.as_deref(), Some("/hooks/bindbee"));
    assert_eq!(c.integrations.kombo.webhook_secret, None);
}
