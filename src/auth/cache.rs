//! The bearer-token cache: one Bink call per token however many requests wait for it.
//!
//! The cache holds *verdicts* (`Valid`, `Invalid`), each with its own lifetime
//! (`cache_ttl`, `negative_cache_ttl`). A Bink outage is an `Err` from the init future of
//! moka's `try_get_with`: moka hands it to every waiter and caches nothing, so an outage
//! can never be remembered as "invalid". `stale_if_error` keeps the last good identity of
//! each token in a second cache, consulted only when Bink is unavailable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::Expiry;

use crate::bink::{BinkClient, Unavailable, UserLookup};
use crate::config::TokenConfig;
use crate::identity::Principal;
use crate::telemetry::{Metrics, WarnLimiter};

use super::budget::{CallBudget, ClientKey};
use super::token::{TokenHasher, TokenKey};

/// What Bink said about a token.
#[derive(Debug, Clone)]
pub enum Verdict {
    Valid(Arc<Principal>),
    Invalid,
}

struct VerdictExpiry {
    ttl: Duration,
    negative_ttl: Duration,
}

impl Expiry<TokenKey, Verdict> for VerdictExpiry {
    fn expire_after_create(&self, _: &TokenKey, verdict: &Verdict, _: Instant) -> Option<Duration> {
        Some(match verdict {
            Verdict::Valid(_) => self.ttl,
            Verdict::Invalid => self.negative_ttl,
        })
    }
}

/// Why a token did not yield an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupError {
    /// Bink said no (possibly remembered from a recent answer).
    Invalid,
    /// Bink could not answer; nothing was cached.
    Unavailable(Unavailable),
}

pub struct IdentityCache {
    hasher: TokenHasher,
    verdicts: Cache<TokenKey, Verdict>,
    /// Last good identity per token, kept `cache_ttl + stale_if_error`; `None` when off.
    last_good: Option<Cache<TokenKey, Arc<Principal>>>,
    bink: BinkClient,
    /// Caps simultaneous Bink calls, fairly per client address; a miss waits at most
    /// `permit_wait` for its turn.
    calls: Arc<CallBudget>,
    permit_wait: Duration,
    metrics: Arc<Metrics>,
    outage_warnings: WarnLimiter,
}

/// One "identity provider unavailable" line per this interval at most.
const OUTAGE_WARNING_INTERVAL: Duration = Duration::from_secs(5);

impl IdentityCache {
    pub fn new(
        config: &TokenConfig,
        bink: BinkClient,
        max_concurrent_calls: usize,
        permit_wait: Duration,
        metrics: Arc<Metrics>,
    ) -> IdentityCache {
        let verdicts = Cache::builder()
            .max_capacity(config.cache_max_entries)
            .expire_after(VerdictExpiry {
                ttl: config.cache_ttl,
                negative_ttl: config.negative_cache_ttl,
            })
            .build();
        let last_good = (!config.stale_if_error.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(config.cache_max_entries)
                .time_to_live(config.cache_ttl + config.stale_if_error)
                .build()
        });
        IdentityCache {
            hasher: TokenHasher::random(),
            verdicts,
            last_good,
            bink,
            calls: CallBudget::new(max_concurrent_calls),
            permit_wait,
            metrics,
            outage_warnings: WarnLimiter::new(OUTAGE_WARNING_INTERVAL),
        }
    }

    /// The identity behind `token`, from the cache or from one Bink call shared by every
    /// request waiting on the same token, charged to `client`'s share of the call budget.
    /// The caller has already checked the syntax.
    pub async fn lookup(
        &self,
        token: &str,
        client: ClientKey,
    ) -> Result<Arc<Principal>, LookupError> {
        let key = self.hasher.key(token);
        if let Some(verdict) = self.verdicts.get(&key).await {
            self.metrics.cache_hit();
            return verdict_to_result(verdict);
        }
        // Boxed: the miss path holds a Bink call (kilobytes of future), and without the box
        // every request's future would carry that space and copy it at each await.
        Box::pin(self.lookup_miss(key, token, client)).await
    }

    /// The cache did not know `token`: one Bink call shared by every request waiting on it.
    async fn lookup_miss(
        &self,
        key: TokenKey,
        token: &str,
        client: ClientKey,
    ) -> Result<Arc<Principal>, LookupError> {
        let ran_here = AtomicBool::new(false);
        let fetched = self
            .verdicts
            .try_get_with(key, async {
                ran_here.store(true, Ordering::Relaxed);
                self.fetch(token, client).await
            })
            .await;
        if ran_here.load(Ordering::Relaxed) {
            self.metrics.cache_miss();
        } else {
            self.metrics.cache_coalesced();
        }
        match fetched {
            Ok(verdict) => {
                if let (Some(last_good), true) = (&self.last_good, ran_here.load(Ordering::Relaxed))
                {
                    match &verdict {
                        Verdict::Valid(identity) => last_good.insert(key, identity.clone()).await,
                        // A revoked token must not come back as "stale but good" in an outage.
                        Verdict::Invalid => last_good.invalidate(&key).await,
                    }
                }
                verdict_to_result(verdict)
            }
            Err(unavailable) => match self.stale(&key).await {
                Some(identity) => {
                    self.metrics.cache_stale_served();
                    Ok(identity)
                }
                None => Err(LookupError::Unavailable(*unavailable)),
            },
        }
    }

    /// Forgets a token (sign-out).
    pub async fn evict(&self, token: &str) {
        let key = self.hasher.key(token);
        self.verdicts.invalidate(&key).await;
        if let Some(last_good) = &self.last_good {
            last_good.invalidate(&key).await;
        }
    }

    /// Tokens with a remembered verdict (approximate until pending maintenance runs).
    pub fn entry_count(&self) -> u64 {
        self.verdicts.entry_count()
    }

    /// Runs the caches' deferred maintenance now (evictions, counts), for measurements.
    pub async fn run_pending_tasks(&self) {
        self.verdicts.run_pending_tasks().await;
        if let Some(last_good) = &self.last_good {
            last_good.run_pending_tasks().await;
        }
    }

    async fn stale(&self, key: &TokenKey) -> Option<Arc<Principal>> {
        self.last_good.as_ref()?.get(key).await
    }

    async fn fetch(&self, token: &str, client: ClientKey) -> Result<Verdict, Unavailable> {
        let _permit = self
            .calls
            .acquire(client, self.permit_wait)
            .await
            .map_err(|_| Unavailable::Saturated)?;
        let started = Instant::now();
        let answer = self.bink.fetch_user(token).await;
        let outcome = match &answer {
            Ok(UserLookup::Valid(_)) => "valid",
            Ok(UserLookup::Rejected) => "rejected",
            Err(e) => e.label(),
        };
        self.metrics.bink_call(outcome, started.elapsed());
        if let Err(why) = &answer {
            if let Some(held_back) = self.outage_warnings.admit() {
                tracing::warn!(reason = %why, token = %super::token::fingerprint(token), similar_since_last = held_back, "identity provider unavailable");
            }
        }
        match answer? {
            UserLookup::Valid(identity) => Ok(Verdict::Valid(Arc::new(Principal::from(identity)))),
            UserLookup::Rejected => Ok(Verdict::Invalid),
        }
    }
}

fn verdict_to_result(verdict: Verdict) -> Result<Arc<Principal>, LookupError> {
    match verdict {
        Verdict::Valid(identity) => Ok(identity),
        Verdict::Invalid => Err(LookupError::Invalid),
    }
}
