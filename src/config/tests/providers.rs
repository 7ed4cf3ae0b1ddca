//! `[integrations.bindbee]` and `[integrations.kombo]`: API keys (inline or from a file),
//! base URLs and front-end scripts, also from the environment.

use std::time::Duration;

use url::Url;

use super::*;

#[test]
fn bindbee_gets_its_published_script_unless_one_is_given() {
    // An API key alone is a working configuration: the default is Bindbee's CDN script.
    let c = ok(&integrations_with(
        "[integrations.bindbee]\napi_key = \"bb-key\"\n",
    ));
    let b = &c.integrations.bindbee;
    assert_eq!(b.sdk_url, "https://cdn.bindbee.dev/initialize.min.js");
    assert_eq!(b.sdk_integrity, None);
    let c = ok(&integrations_with(
        "[integrations.bindbee]\napi_key = \"bb-key\"\nsdk_url = \" \"\n",
    ));
    assert_eq!(c.integrations.bindbee.sdk_url, defaults::BINDBEE_SDK_URL);

    for sdk in [
        "https://cdn.example.com/bindbee-embed.js",
        "/static/bindbee-embed.js",
    ] {
        let c = ok(&integrations_with(&format!(
            "[integrations.bindbee]\napi_key = \"bb-key\"\nsdk_url = \"{sdk}\"\n"
        )));
        let b = &c.integrations.bindbee;
        assert_eq!(b.api_key.as_ref().unwrap().expose(), "bb-key");
        assert_eq!(b.sdk_url, sdk);
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
}

#[test]
fn sdk_integrity_must_be_a_subresource_integrity_value() {
    let sha384 = format!("sha384-{}", "A".repeat(64));
    let c = ok(&integrations_with(&format!(
        "[integrations.bindbee]\napi_key = \"bb-key\"\nsdk_integrity = \"{sha384}\"\n"
    )));
    assert_eq!(
        c.integrations.bindbee.sdk_integrity.as_deref(),
        Some(sha384.as_str())
    );
    for bad in [
        "sha384-tooShort",
        "md5-AAAAAAAAAAAAAAAAAAAAAA==",
        "sha384:AAAA",
        "\\\"><script>",
    ] {
        let p = problems(
            &integrations_with(&format!(
                "[integrations.kombo]\napi_key = \"k\"\nsdk_integrity = \"{bad}\"\n"
            )),
            &NoEnv,
        );
        assert_eq!(keys(&p), ["integrations.kombo.sdk_integrity"], "{bad}");
    }
}

#[test]
fn kombo_gets_its_default_sdk_url_unless_one_is_given() {
    let c = ok(&integrations_with(
        "[integrations.kombo]\napi_key = \"kombo-key\"\n",
    ));
    let k = &c.integrations.kombo;
    assert_eq!(k.api_key.as_ref().unwrap().expose(), "kombo-key");
    assert_eq!(k.sdk_url, defaults::KOMBO_SDK_URL);
    assert_eq!(k.base_url, Url::parse(defaults::KOMBO_BASE_URL).unwrap());

    let c = ok(&integrations_with(
        "[integrations.kombo]\napi_key = \"kombo-key\"\nsdk_url = \"https://cdn.example.com/kombo.js\"\n\
         base_url = \"https://api.us.kombo.dev/v1\"\n",
    ));
    let k = &c.integrations.kombo;
    assert_eq!(k.sdk_url, "https://cdn.example.com/kombo.js");
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
