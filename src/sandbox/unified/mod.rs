//! The sandbox vendors' unified APIs: a few real read endpoints in each vendor's own
//! response schema (`kombo/`: Kombo's `GET /v1/hris/employees` and `GET /v1/ats/jobs`;
//! `bindbee.rs`: Bindbee's `GET /api/hris/v1/employees`) over sample data per
//! integration (`data/`), with cursor pagination, and two knobs a test turns on the
//! vendor's handle: a rate limit ([`RateLimit`]) and padding that makes employee
//! answers large without costing the sandbox memory (`body.rs`).
//!
//! Every call goes through the same steps, in the vendor's order: injected fault and API
//! key (`Api::guard`), then the rate limit, then the credential naming the integration,
//! then the query; only then are rows rendered.

mod bindbee;
mod body;
mod data;
mod kombo;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use base64::engine::GeneralPurpose;
use base64::Engine;

use super::common::{lock, Api};

pub(super) use bindbee::router as bindbee_router;
pub(super) use data::Tenant;
pub use data::{EMPLOYEES, JOBS};
pub(super) use kombo::router as kombo_router;

/// A rate limit on a sandbox vendor's unified API: at most `per_window` calls in each
/// `window`. Windows are fixed, the first starting when the limit is set; calls refused
/// with 429 count too, as at a real vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub per_window: u32,
    pub window: Duration,
}

/// The unified API's knobs and counters, shared by a vendor handle and its routes.
#[derive(Default)]
pub(super) struct Knobs {
    window: Mutex<Option<Window>>,
    padding: AtomicUsize,
    calls: AtomicU64,
}

/// The current rate-limit window.
struct Window {
    limit: RateLimit,
    started: Instant,
    used: u32,
}

/// Where a caller stands in the current window, as the `X-RateLimit-*` headers say.
#[derive(Clone, Copy, Debug)]
struct Quota {
    limit: u32,
    remaining: u32,
    /// Until the window resets.
    reset_in: Duration,
}

impl Knobs {
    /// `None` lifts the limit; `Some` starts a fresh window.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        *lock(&self.window) = limit.map(|limit| Window {
            limit,
            started: Instant::now(),
            used: 0,
        });
    }

    pub fn set_padding(&self, bytes: usize) {
        self.padding.store(bytes, Ordering::SeqCst);
    }

    fn padding(&self) -> usize {
        self.padding.load(Ordering::SeqCst)
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// Counts a call against the limit: `Ok(None)` when there is none, `Ok(quota)` when
    /// the call is allowed, `Err(quota)` when it is over the limit.
    fn take(&self) -> Result<Option<Quota>, Quota> {
        let mut window = lock(&self.window);
        let Some(w) = window.as_mut() else {
            return Ok(None);
        };
        let period = w.limit.window.max(Duration::from_millis(1));
        let elapsed = w.started.elapsed();
        if elapsed >= period {
            // Whole windows only, so resets happen on the same boundaries however
            // seldom the API is called.
            let skipped = elapsed.as_nanos() / period.as_nanos();
            w.started += period * u32::try_from(skipped).unwrap_or(u32::MAX);
            w.used = 0;
        }
        w.used = w.used.saturating_add(1);
        let quota = Quota {
            limit: w.limit.per_window,
            remaining: w.limit.per_window.saturating_sub(w.used),
            reset_in: period.saturating_sub(w.started.elapsed()),
        };
        if w.used > w.limit.per_window {
            Err(quota)
        } else {
            Ok(Some(quota))
        }
    }
}

impl Quota {
    /// `X-RateLimit-Limit`, `-Remaining` and `-Reset` (a Unix time in seconds, as
    /// Bindbee documents it) on `response`.
    fn report(&self, mut response: Response) -> Response {
        let reset = (SystemTime::now() + self.reset_in)
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
            .unwrap_or_default();
        let headers = response.headers_mut();
        for (name, value) in [
            ("x-ratelimit-limit", u64::from(self.limit)),
            ("x-ratelimit-remaining", u64::from(self.remaining)),
            ("x-ratelimit-reset", reset),
        ] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
        response
    }

    /// Whole seconds until the window resets, at least 1 (`Retry-After` has no
    /// fractions, and 0 would invite an immediate retry that fails again).
    fn retry_after(&self) -> u64 {
        let d = self.reset_in;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }
}

/// Finds the sample organization a credential (Kombo's integration id, Bindbee's
/// connector token) names.
type Lookup = Arc<dyn Fn(&str) -> Option<Tenant> + Send + Sync>;

/// What a unified-API route needs from its vendor: the API (key, fault, error shapes),
/// the knobs, and the integrations the vendor holds.
#[derive(Clone)]
pub(super) struct Unified {
    api: Arc<Api>,
    knobs: Arc<Knobs>,
    tenants: Lookup,
}

impl Unified {
    fn new(
        api: Arc<Api>,
        knobs: Arc<Knobs>,
        tenants: impl Fn(&str) -> Option<Tenant> + Send + Sync + 'static,
    ) -> Unified {
        Unified {
            api,
            knobs,
            tenants: Arc::new(tenants),
        }
    }

    fn tenant(&self, credential: &str) -> Option<Tenant> {
        (self.tenants)(credential)
    }

    /// Counts the call, then fault and API key, then the rate limit: `Err(answer)` to
    /// answer with, or the quota every later answer reports.
    async fn admit(&self, headers: &HeaderMap) -> Result<Option<Quota>, Response> {
        self.knobs.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(r) = self.api.guard(headers).await {
            return Err(r);
        }
        self.knobs.take().map_err(|quota| {
            let mut r = self
                .api
                .error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(quota.retry_after()));
            quota.report(r)
        })
    }

    /// `answer` after `admit`: the quota's headers on it, whatever it is.
    async fn answer(&self, headers: &HeaderMap, answer: impl FnOnce() -> Response) -> Response {
        match self.admit(headers).await {
            Ok(Some(quota)) => quota.report(answer()),
            Ok(None) => answer(),
            Err(r) => r,
        }
    }
}

/// A request's query parameters; unknown ones are ignored, as both vendors do.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: Option<&str>) -> Params {
        Params(
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a query was refused; each vendor words it its own way.
#[derive(Debug, PartialEq, Eq)]
enum Invalid {
    NotInteger {
        field: &'static str,
        input: String,
    },
    Below {
        field: &'static str,
        input: String,
        min: usize,
    },
    Above {
        field: &'static str,
        input: String,
        max: usize,
    },
    NotBoolean {
        field: &'static str,
        input: String,
    },
    Cursor {
        input: String,
    },
}

/// A vendor's page-size rules and cursor encoding.
struct Paging {
    default_size: usize,
    max_size: usize,
    cursor: &'static GeneralPurpose,
}

/// Which rows a request asked for, and the cursor of the page after them.
#[derive(Debug, PartialEq, Eq)]
struct Page {
    rows: std::ops::Range<usize>,
    next: Option<String>,
}

impl Paging {
    /// The page of a collection of `total` rows whose ids are `id(i)` that `params`
    /// ask for (`page_size`, `cursor`). A cursor is the encoded id of the first row of
    /// its page (Bindbee's documented example cursor decodes to a row id), so it stays
    /// valid however the page size changes between calls.
    fn page(
        &self,
        params: &Params,
        total: usize,
        id: impl Fn(usize) -> String,
    ) -> Result<Page, Invalid> {
        let size = match params.get("page_size") {
            None => self.default_size,
            Some(raw) => self.size(raw)?,
        };
        let start = match params.get("cursor").filter(|c| !c.is_empty()) {
            None => 0,
            Some(cursor) => self
                .cursor
                .decode(cursor)
                .ok()
                .and_then(|id_bytes| (0..total).find(|&i| id(i).as_bytes() == id_bytes))
                .ok_or_else(|| Invalid::Cursor {
                    input: cursor.to_string(),
                })?,
        };
        let end = (start + size).min(total);
        let next = (end < total).then(|| self.cursor.encode(id(end)));
        Ok(Page {
            rows: start..end,
            next,
        })
    }

    fn size(&self, raw: &str) -> Result<usize, Invalid> {
        let field = "page_size";
        let input = raw.to_string();
        match raw.trim().parse::<i64>() {
            Err(_) => Err(Invalid::NotInteger { field, input }),
            Ok(n) if n < 1 => Err(Invalid::Below {
                field,
                input,
                min: 1,
            }),
            Ok(n) if n as u64 > self.max_size as u64 => Err(Invalid::Above {
                field,
                input,
                max: self.max_size,
            }),
            Ok(n) => Ok(n as usize),
        }
    }
}

/// A boolean query parameter the way FastAPI (Bindbee) reads one.
fn boolean(params: &Params, field: &'static str) -> Result<bool, Invalid> {
    match params.get(field).map(str::to_ascii_lowercase).as_deref() {
        None => Ok(false),
        Some("true" | "1" | "yes" | "on" | "t" | "y") => Ok(true),
        Some("false" | "0" | "no" | "off" | "f" | "n") => Ok(false),
        Some(other) => Err(Invalid::NotBoolean {
            field,
            input: other.to_string(),
        }),
    }
}
