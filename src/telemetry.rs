//! Logs and metrics: the tracing subscriber and the Prometheus registry behind
//! `server.metrics_listen`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the global subscriber; `RUST_LOG` sets the filter (default `info`).
///
/// Lines are written by a background thread through a buffer that is flushed whenever the
/// queue runs dry, so a busy proxy makes one `write` per batch of access-log lines rather
/// than one per request. Keep the returned guard alive: dropping it flushes what is left.
pub fn init_logging(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        // Under overload, wait for the writer rather than silently dropping log lines.
        .lossy(false)
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    guard
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GatewayLabel {
    provider: &'static str,
    status_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// Status classes 1xx..5xx, pre-created so the hot path touches no lock.
struct ByStatusClass {
    requests: [Counter; 5],
    latency: [Histogram; 5],
}

/// Every metric the proxy exports.
pub struct Metrics {
    registry: Registry,
    by_class: ByStatusClass,
    cache_hits: Counter,
    cache_misses: Counter,
    cache_coalesced: Counter,
    cache_stale_served: Counter,
    bink_calls: Family<OutcomeLabel, Counter>,
    bink_latency: Histogram,
    upstream_errors: Family<KindLabel, Counter>,
    client_body_errors: Counter,
    gateway_calls: Family<GatewayLabel, Counter>,
}

fn latency_histogram() -> Histogram {
    // 100 µs .. ~52 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 20))
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("bink_proxy");
        let requests = Family::<StatusLabel, Counter>::default();
        let latency = Family::<StatusLabel, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        // Family hands out clones that share the series' atomics: keep one handle per class.
        const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
        let label = |i: usize| StatusLabel {
            status_class: CLASSES[i],
        };
        let by_class = ByStatusClass {
            requests: std::array::from_fn(|i| requests.get_or_create(&label(i)).clone()),
            latency: std::array::from_fn(|i| latency.get_or_create(&label(i)).clone()),
        };
        registry.register(
            "http_requests",
            "Requests served, by status class",
            requests,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from request head to response head, by status class",
            latency,
        );
        let cache_hits = Counter::default();
        let cache_misses = Counter::default();
        let cache_coalesced = Counter::default();
        let cache_stale_served = Counter::default();
        registry.register(
            "identity_cache_hits",
            "Bearer lookups answered by the cache",
            cache_hits.clone(),
        );
        registry.register(
            "identity_cache_misses",
            "Bearer lookups that called Bink themselves",
            cache_misses.clone(),
        );
        registry.register(
            "identity_cache_coalesced_waits",
            "Bearer lookups that waited for another request's Bink call",
            cache_coalesced.clone(),
        );
        registry.register(
            "identity_cache_stale_served",
            "Identities served past their ttl because Bink was unavailable (stale_if_error)",
            cache_stale_served.clone(),
        );
        let bink_calls = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "bink_calls",
            "Calls to Bink's user endpoint, by outcome",
            bink_calls.clone(),
        );
        let bink_latency = latency_histogram();
        registry.register(
            "bink_call_duration_seconds",
            "Latency of Bink user-endpoint calls",
            bink_latency.clone(),
        );
        let upstream_errors = Family::<KindLabel, Counter>::default();
        registry.register(
            "upstream_errors",
            "Failed upstream requests, by kind",
            upstream_errors.clone(),
        );
        let client_body_errors = Counter::default();
        registry.register(
            "client_body_errors",
            "Requests refused because the client broke its own body framing",
            client_body_errors.clone(),
        );
        let gateway_calls = Family::<GatewayLabel, Counter>::default();
        registry.register(
            "gateway_calls",
            "Unified-API gateway calls, by provider and the vendor's status class",
            gateway_calls.clone(),
        );
        Arc::new(Metrics {
            gateway_calls,
            registry,
            by_class,
            cache_hits,
            cache_misses,
            cache_coalesced,
            cache_stale_served,
            bink_calls,
            bink_latency,
            upstream_errors,
            client_body_errors,
        })
    }

    pub fn request_finished(&self, status: u16, elapsed: Duration) {
        let i = usize::from((status / 100).clamp(1, 5) - 1);
        self.by_class.requests[i].inc();
        self.by_class.latency[i].observe(elapsed.as_secs_f64());
    }

    pub fn cache_hit(&self) {
        self.cache_hits.inc();
    }
    pub fn cache_miss(&self) {
        self.cache_misses.inc();
    }
    pub fn cache_coalesced(&self) {
        self.cache_coalesced.inc();
    }
    pub fn cache_stale_served(&self) {
        self.cache_stale_served.inc();
    }

    pub fn bink_call(&self, outcome: &'static str, elapsed: Duration) {
        self.bink_calls
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
        self.bink_latency.observe(elapsed.as_secs_f64());
    }

    /// One gateway call answered by the vendor (or by the proxy for it: 504, 413, …).
    pub fn gateway_call(&self, provider: &'static str, status: u16) {
        const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
        let status_class = CLASSES[usize::from((status / 100).clamp(1, 5) - 1)];
        self.gateway_calls
            .get_or_create(&GatewayLabel {
                provider,
                status_class,
            })
            .inc();
    }

    pub fn upstream_error(&self, kind: &'static str) {
        self.upstream_errors
            .get_or_create(&KindLabel { kind })
            .inc();
    }

    /// A client error, not an upstream one: alerts on upstream errors stay meaningful.
    pub fn client_body_error(&self) {
        self.client_body_errors.inc();
    }

    /// The registry in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        match prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            Ok(()) => out,
            Err(_) => String::from("# encoding failed\n"),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status_class: &'static str,
}

/// Lets a warning through at most once per `interval` and counts the ones it holds back,
/// so a storm (every uncached request during a Bink outage fails the same way) cannot flood
/// the log while the first line of it, and how many followed, still show. The metrics
/// count every event regardless.
pub struct WarnLimiter {
    start: Instant,
    interval_ms: u64,
    /// Milliseconds since `start` before which warnings are held back.
    next_ms: AtomicU64,
    held_back: AtomicU64,
}

impl WarnLimiter {
    pub fn new(interval: Duration) -> WarnLimiter {
        WarnLimiter {
            start: Instant::now(),
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            next_ms: AtomicU64::new(0),
            held_back: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when this warning may be logged, `n` being how many were held back since
    /// the last one; `None` when it is held back.
    pub fn admit(&self) -> Option<u64> {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.admit_at(now)
    }

    fn admit_at(&self, now_ms: u64) -> Option<u64> {
        let next = self.next_ms.load(Ordering::Relaxed);
        let won = now_ms >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now_ms.saturating_add(self.interval_ms),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        if won {
            Some(self.held_back.swap(0, Ordering::Relaxed))
        } else {
            self.held_back.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes_share_series_with_the_registry() {
        let m = Metrics::new();
        m.request_finished(204, Duration::from_millis(1));
        m.request_finished(503, Duration::from_millis(1));
        m.cache_hit();
        m.bink_call("valid", Duration::from_millis(3));
        m.upstream_error("timeout");
        let text = m.render();
        assert!(
            text.contains("bink_proxy_http_requests_total{status_class=\"2xx\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("bink_proxy_http_requests_total{status_class=\"5xx\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("bink_proxy_identity_cache_hits_total 1"),
            "{text}"
        );
        assert!(
            text.contains("bink_proxy_bink_calls_total{outcome=\"valid\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("bink_proxy_upstream_errors_total{kind=\"timeout\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn warn_limiter_admits_one_per_interval_and_reports_what_it_held_back() {
        let limiter = WarnLimiter::new(Duration::from_secs(10));
        assert_eq!(limiter.admit_at(5), Some(0));
        assert_eq!(limiter.admit_at(6), None);
        assert_eq!(limiter.admit_at(10_004), None);
        assert_eq!(limiter.admit_at(10_005), Some(2));
        assert_eq!(limiter.admit_at(10_006), None);
        assert_eq!(limiter.admit_at(30_000), Some(1));
    }
}
