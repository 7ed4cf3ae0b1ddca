//! `[bink]`: the client id and secret, and through `client_secret` the rules every secret
//! shares (inline or `<key>_file`, trimmed, never both, never printed).

use super::*;

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
