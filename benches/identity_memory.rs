//! Bytes held per cached bearer identity: fills a real `IdentityCache` with N identities
//! fetched over loopback from a mock Bink, encodes each one's upstream headers (as its
//! first forwarded request would), and divides the growth in live heap bytes by N.
//!
//! `cargo bench --bench identity_memory` (IDENTITIES=100000 by default)
//!
//! Live bytes are what the program asked the allocator for, counted by a wrapper around
//! the system allocator: deterministic, unlike RSS, but without the allocator's own
//! rounding and fragmentation (the peers harness's RSS column shows those).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::routing::get;
use axum::Json;
use bink_proxy::auth::budget::ClientKey;
use bink_proxy::auth::cache::IdentityCache;
use bink_proxy::bink::BinkClient;
use bink_proxy::config::{Config, NoEnv};
use bink_proxy::telemetry::Metrics;
use futures_util::StreamExt;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is
// updated beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A Bink user endpoint that knows every token `t<n>`, with profile fields of typical size.
async fn user(headers: HeaderMap) -> Json<serde_json::Value> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer t"))
        .unwrap_or("0");
    Json(serde_json::json!({
        "id": format!("usr_{token:0>10}"),
        "name": format!("Test User {token}"),
        "email": format!("user{token}@example.com"),
        "username": format!("user{token}"),
        "avatar": null,
        "plan": "VERIFIED",
        "verificationLevel": 1,
    }))
}

fn main() {
    let n: usize = std::env::var("IDENTITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new().route("/api/oauth/user", get(user));
        tokio::spawn(async move { axum::serve(listener, app).await });

        let config = Config::from_toml(
            &format!("[server]\nupstream = \"http://127.0.0.1:1\"\n[bink]\nbase_url = \"http://{addr}\"\n"),
            &NoEnv,
        )
        .expect("config");
        let client = BinkClient::new(&config.bink.base_url, Duration::from_secs(5)).expect("client");
        let cache = Arc::new(IdentityCache::new(&config.tokens, client, 64, Duration::from_secs(5), Metrics::new()));

        // Warm-up: connection pools, runtime and cache internals reach their steady size.
        let fill = |range: std::ops::Range<usize>| {
            let cache = cache.clone();
            async move {
                futures_util::stream::iter(range)
                    .map(|i| {
                        let cache = cache.clone();
                        async move {
                            let principal = cache.lookup(&format!("t{i}"), client_address()).await.expect("lookup");
                            principal.header_values();
                        }
                    })
                    .buffer_unordered(32)
                    .collect::<Vec<()>>()
                    .await;
            }
        };
        let warm = 1_000;
        fill(0..warm).await;
        cache.run_pending_tasks().await;
        let before = LIVE.load(Ordering::Relaxed);
        fill(warm..warm + n).await;
        cache.run_pending_tasks().await;
        let after = LIVE.load(Ordering::Relaxed);
        let per = (after - before) as f64 / n as f64;
        println!(
            "identity_memory: {n} identities, {:.1} MiB live heap growth, {per:.0} bytes per cached identity (entries: {})",
            (after - before) as f64 / (1024.0 * 1024.0),
            cache.entry_count()
        );
    });
}

/// The one client address the measurements run from.
fn client_address() -> ClientKey {
    ClientKey::of(std::net::IpAddr::from([127, 0, 0, 1]))
}
