//! Defaults, mirrored in `config.toml.example` (a test checks the two agree).

pub const LISTEN: &str = "127.0.0.1:4180";
pub const PUBLIC_URL: &str = "http://localhost:4180";
pub const UPSTREAM_TIMEOUT: &str = "60s";
pub const SHUTDOWN_GRACE: &str = "10s";
pub const HEADER_READ_TIMEOUT: &str = "10s";
pub const BINK_BASE_URL: &str = "https://bink.link";
pub const BINK_TIMEOUT: &str = "5s";
pub const BINK_MAX_CONCURRENT_CALLS: u64 = 64;
pub const COOKIE_NAME: &str = "_bink_session";
pub const SESSION_LIFETIME: &str = "12h";
pub const REVALIDATE_AFTER: &str = "5m";
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";
pub const DATABASE_URL: &str = "sqlite://bink-proxy.db";
pub const PROVIDER_TIMEOUT: &str = "10s";
pub const GATEWAY_TIMEOUT: &str = "30s";
pub const GATEWAY_MAX_REQUEST_BODY: &str = "10MiB";
pub const BINDBEE_BASE_URL: &str = "https://api.bindbee.dev";
/// Bindbee's published embed script (sets `window.BindbeeEmbed`: `initialize`, `open`,
/// `destroy`).
pub const BINDBEE_SDK_URL: &str = "https://cdn.bindbee.dev/initialize.min.js";
pub const KOMBO_BASE_URL: &str = "https://api.kombo.dev/v1";
/// Kombo's documented CDN build of `@kombo-api/connect` (sets `window.KomboConnect`).
pub const KOMBO_SDK_URL: &str = "https://unpkg.com/@kombo-api/connect@1.3.0/dist/index.js";
pub const CACHE_TTL: &str = "60s";
pub const NEGATIVE_CACHE_TTL: &str = "5s";
pub const CACHE_MAX_ENTRIES: u64 = 100_000;
pub const STALE_IF_ERROR: &str = "0s";
