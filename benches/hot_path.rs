//! Criterion benches for the functions every proxied request runs: the warm-cache identity
//! lookup, header strip + inject, path normalisation, policy evaluation, session-cookie
//! opening and `rd` validation.
//!
//! `cargo bench --bench hot_path`

use std::time::Duration;

use bink_proxy::auth::budget::ClientKey;
use bink_proxy::auth::cache::IdentityCache;
use bink_proxy::bink::BinkClient;
use bink_proxy::config::{Config, NoEnv};
use bink_proxy::http::path;
use bink_proxy::identity::AuthMethod;
use bink_proxy::proxy::headers;
use bink_proxy::sandbox::{self, SandboxBink, SAMPLE_USERS};
use bink_proxy::telemetry::Metrics;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use http::{HeaderMap, HeaderValue};

fn warm_cache_lookup(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let cache = rt.block_on(async {
        let bink = SandboxBink::new();
        let addr = sandbox::spawn(bink.router(), ([127, 0, 0, 1], 0).into()).await.unwrap();
        let config = Config::from_toml(
            &format!("[server]\nupstream = \"http://127.0.0.1:1\"\n[bink]\nbase_url = \"http://{addr}\"\n"),
            &NoEnv,
        )
        .unwrap();
        let client = BinkClient::new(&config.bink.base_url, Duration::from_secs(2)).unwrap();
        let cache = IdentityCache::new(&config.tokens, client, 64, Duration::from_secs(2), Metrics::new());
        cache.lookup(SAMPLE_USERS[0].pat, client_address()).await.unwrap();
        cache
    });
    c.bench_function("identity_cache_hit", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                cache
                    .lookup(black_box(SAMPLE_USERS[0].pat), client_address())
                    .await
                    .unwrap(),
            )
        })
    });
}

fn typical_request_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in [
        ("host", "app.example.com"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
        ),
        (
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        ("accept-language", "en-GB,en;q=0.9"),
        ("accept-encoding", "gzip, deflate, br"),
        ("authorization", "Bearer bink_pat_sandbox_ada_free"),
        ("connection", "keep-alive"),
        ("x-request-id", "4f8c1e2a-9b7d-4c3e-8a1f-2d6b5e9c0a7f"),
        ("x-auth-request-user", "forged"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    h
}

fn header_hygiene(c: &mut Criterion) {
    // As on the proxy path: a cached identity whose header values are already encoded.
    let principal = bink_proxy::identity::Principal::from(SAMPLE_USERS[3].identity());
    let template = typical_request_headers();
    c.bench_function("strip_hop_by_hop_and_inject", |b| {
        b.iter_batched_ref(
            || template.clone(),
            |h| {
                headers::strip_identity_headers(h);
                headers::remove_hop_by_hop(h);
                principal.header_values().inject(h, AuthMethod::Bearer);
            },
            criterion::BatchSize::SmallInput,
        )
    });
}

fn path_and_policy(c: &mut Criterion) {
    c.bench_function("normalize_path", |b| {
        b.iter(|| {
            path::normalize(black_box("/api/v1/projects/42/files/report%20final.pdf")).unwrap()
        })
    });
    let config = Config::from_toml(
        "[server]\nupstream = \"http://127.0.0.1:1\"\n[access]\nallowed_email_domains = [\"acme.com\", \"example.com\"]\n\
         skip_auth = [\"GET ^/healthz$\", \"^/public/\"]\n\
         [[access.rules]]\npath = \"^/admin/\"\nmin_verification_level = 2\n",
        &NoEnv,
    )
    .unwrap();
    let identity = SAMPLE_USERS[0].identity();
    let method = http::Method::GET;
    c.bench_function("policy_skip_auth_and_allow", |b| {
        b.iter(|| {
            let p = black_box("/api/v1/projects/42");
            black_box(config.access.skips_auth(&method, p))
                || black_box(config.access.allows(&identity, p))
        })
    });
}

fn session_and_redirect(c: &mut Criterion) {
    use bink_proxy::auth::session::seal::{Purpose, Sealer};
    use bink_proxy::http::redirect::safe_redirect;
    let sealer = Sealer::new(&[7; 32]);
    let session = serde_json::json!({
        "identity": SAMPLE_USERS[3].identity(),
        "token": "bink_oauth_0123456789abcdefghijklmnopqrstuvwxyzABCD",
        "issued_at": 1_795_000_000u64,
        "expires_at": 1_795_003_600u64,
    })
    .to_string();
    let sealed = sealer.seal(Purpose::Session, "__Host-_bink_session", session.as_bytes());
    c.bench_function("session_cookie_open", |b| {
        b.iter(|| {
            sealer
                .open(
                    Purpose::Session,
                    black_box("__Host-_bink_session"),
                    black_box(&sealed),
                )
                .unwrap()
        })
    });
    c.bench_function("rd_validation", |b| {
        b.iter(|| safe_redirect(black_box(Some("/reports/q3?year=2026&tab=summary#top"))))
    });
}

criterion_group!(
    benches,
    warm_cache_lookup,
    header_hygiene,
    path_and_policy,
    session_and_redirect
);
criterion_main!(benches);

/// The one client address the measurements run from.
fn client_address() -> ClientKey {
    ClientKey::of(std::net::IpAddr::from([127, 0, 0, 1]))
}
