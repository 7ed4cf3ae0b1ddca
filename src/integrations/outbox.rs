//! Delivers verified vendor webhooks from the outbox (the `webhook_events` table) to the
//! upstream: at least once, oldest first, with exponential backoff, until the upstream
//! answers 2xx — for as long as it takes (the vendors give up within a minute; the outbox
//! does not). Several proxies on one database share the work: each event is leased by one
//! at a time.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use url::Url;

use super::store::WebhookEvent;
use super::Integrations;
use crate::config::IntegrationsConfig;

/// How long one delivery may take; also the lease, so an event whose deliverer died is
/// tried again soon after.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Events taken per look at the outbox.
const BATCH: i64 = 32;
/// The longest wait between two attempts at one event.
const MAX_BACKOFF_SECS: i64 = 600;
/// How often the outbox is looked at when nothing wakes the task (events that are due
/// again after a backoff, or written by another proxy).
const POLL: Duration = Duration::from_secs(1);

pub struct Outbox {
    integrations: Arc<Integrations>,
    http: reqwest::Client,
    upstream: Url,
    kombo_path: Option<String>,
    bindbee_path: Option<String>,
    wake: Notify,
}

impl Outbox {
    /// `None` when no provider forwards its webhooks.
    pub fn new(
        config: &IntegrationsConfig,
        integrations: Arc<Integrations>,
        upstream: &Url,
    ) -> Option<Result<Outbox, reqwest::Error>> {
        let (kombo_path, bindbee_path) = (
            config.kombo.webhook_forward_path.clone(),
            config.bindbee.webhook_forward_path.clone(),
        );
        if kombo_path.is_none() && bindbee_path.is_none() {
            return None;
        }
        Some(
            crate::outbound::client(DELIVERY_TIMEOUT).map(|http| Outbox {
                integrations,
                http,
                upstream: upstream.clone(),
                kombo_path,
                bindbee_path,
                wake: Notify::new(),
            }),
        )
    }

    /// A new event is in the outbox: deliver now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Delivers until the task is aborted (at shutdown).
    pub async fn run(self: Arc<Self>) {
        loop {
            self.deliver_due().await;
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// One pass over the events that are due.
    async fn deliver_due(&self) {
        let store = &self.integrations.store;
        let now = now();
        let due = match store.due_webhooks(now, BATCH).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "webhook outbox unreadable; will retry");
                return;
            }
        };
        for event in due {
            let lease_until = now + DELIVERY_TIMEOUT.as_secs() as i64 + 5;
            match store.lease_webhook(&event.id, now, lease_until).await {
                Ok(true) => self.deliver(&event).await,
                Ok(false) => {} // another proxy has it
                Err(e) => tracing::warn!(error = %e, "webhook outbox unavailable; will retry"),
            }
        }
    }

    /// One attempt at one event, recorded either way.
    async fn deliver(&self, event: &WebhookEvent) {
        let path = match event.provider.as_str() {
            "kombo" => self.kombo_path.as_deref(),
            "bindbee" => self.bindbee_path.as_deref(),
            _ => None,
        };
        let Some(path) = path else {
            // Forwarding was switched off after the event was stored: nothing to do.
            let _ = self
                .integrations
                .store
                .webhook_attempted(&event.id, Some(now()), now(), Some("not forwarded"))
                .await;
            return;
        };
        let mut url = self.upstream.clone();
        url.set_path(path);
        let outcome = self
            .http
            .post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("X-Bink-Webhook-Provider", &event.provider)
            .header("X-Bink-Webhook-Verified", "true")
            .header("X-Bink-Webhook-Id", &event.id)
            .header("X-Bink-Webhook-Event", &event.event_type)
            .body(event.body.clone())
            .send()
            .await;
        let error = match outcome {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("upstream answered {}", r.status().as_u16())),
            Err(e) if e.is_timeout() => Some("upstream timed out".to_string()),
            Err(_) => Some("upstream unreachable".to_string()),
        };
        let now = now();
        let store = &self.integrations.store;
        let recorded = match &error {
            None => {
                tracing::info!(event = %event.id, provider = %event.provider, "webhook delivered to the upstream");
                store
                    .webhook_attempted(&event.id, Some(now), now, None)
                    .await
            }
            Some(why) => {
                let next = now + backoff(event.attempts + 1);
                tracing::warn!(event = %event.id, provider = %event.provider, attempts = event.attempts + 1, error = %why, "webhook delivery failed; will retry");
                store
                    .webhook_attempted(&event.id, None, next, Some(why))
                    .await
            }
        };
        if let Err(e) = recorded {
            // The lease runs out and the event is tried again: at least once.
            tracing::warn!(error = %e, "webhook outcome not recorded");
        }
    }
}

/// Seconds to wait after `attempts` failures: 2, 4, 8, … up to ten minutes.
fn backoff(attempts: i64) -> i64 {
    1i64.checked_shl(attempts.clamp(1, 20) as u32)
        .unwrap_or(MAX_BACKOFF_SECS)
        .min(MAX_BACKOFF_SECS)
}

fn now() -> i64 {
    crate::auth::session::now_secs() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_ten_minutes() {
        assert_eq!(backoff(1), 2);
        assert_eq!(backoff(2), 4);
        assert_eq!(backoff(5), 32);
        assert_eq!(backoff(10), 600);
        assert_eq!(backoff(1000), 600);
    }
}
