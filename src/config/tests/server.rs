//! `[server]`: the required upstream, TLS files, the metrics address and
//! `trusted_proxy_hops`.

use std::path::PathBuf;

use super::*;

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

// ---- TLS, addresses -------------------------------------------------------------------

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
fn trusted_proxy_hops_up_to_64_is_accepted() {
    let c = ok(&with("trusted_proxy_hops = 64\n"));
    assert_eq!(c.server.trusted_proxy_hops, 64);
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
