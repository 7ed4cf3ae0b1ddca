//! Integration records in SQLite (default) or PostgreSQL, through sqlx with the same
//! migrations and the same statements. Each write is one statement, so a failure never
//! leaves a half-written record, and `UNIQUE (provider, remote_id)` makes concurrent
//! replays of the same connection converge on one row.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::Row;

use super::status::Status;

/// How long a request waits for a database connection before answering 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// The remote integration is already recorded for another organization.
    #[error("integration belongs to another organization")]
    OtherOrganization,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Unavailable(e)
    }
}

/// A stored integration, credential still sealed.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub organization: String,
    pub provider: String,
    pub remote_id: String,
    pub category: String,
    pub tool: String,
    pub status: String,
    pub credential: Vec<u8>,
    pub key_id: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub created_by: String,
}

/// A verified vendor webhook waiting in the outbox.
#[derive(Debug, Clone)]
pub struct WebhookEvent {
    pub id: String,
    pub provider: String,
    pub event_type: String,
    pub body: Vec<u8>,
    pub attempts: i64,
}

/// The category and tool a caller's latest vendor flow was started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRequest {
    pub category: String,
    pub tool: String,
}

enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

pub struct Store {
    pool: Pool,
}

/// Runs `$body` with `$pool` bound to whichever pool this store has.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

const COLUMNS: &str =
    "id, organization, provider, remote_id, category, tool, status, credential, key_id, \
                       created_at, updated_at, created_by";

fn record<R: Row>(row: &R) -> Result<Record, sqlx::Error>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Record {
        id: row.try_get("id")?,
        organization: row.try_get("organization")?,
        provider: row.try_get("provider")?,
        remote_id: row.try_get("remote_id")?,
        category: row.try_get("category")?,
        tool: row.try_get("tool")?,
        status: row.try_get("status")?,
        credential: row.try_get("credential")?,
        key_id: row.try_get("key_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        created_by: row.try_get("created_by")?,
    })
}

impl Store {
    /// Connects (creating a SQLite file if needed) and applies the migrations.
    pub async fn connect(url: &str) -> Result<Store, sqlx::Error> {
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect(url)
                .await?;
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            Pool::Postgres(pool)
        } else {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(ACQUIRE_TIMEOUT);
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await?;
            sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
            Pool::Sqlite(pool)
        };
        Ok(Store { pool })
    }

    /// `SELECT 1`, for `/ready`.
    pub async fn ping(&self) -> bool {
        let ping = async {
            on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
        };
        matches!(
            tokio::time::timeout(ACQUIRE_TIMEOUT, ping).await,
            Ok(Ok(()))
        )
    }

    /// The organization's integrations, newest first.
    pub async fn list(&self, organization: &str) -> Result<Vec<Record>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM integrations WHERE organization = $1 ORDER BY created_at DESC, id DESC");
        let records = on_pool!(self, pool => {
            let rows = sqlx::query(&sql).bind(organization).fetch_all(pool).await?;
            rows.iter().map(record).collect::<Result<Vec<_>, _>>()?
        });
        Ok(records)
    }

    /// Inserts, or updates the one record with this provider and remote id when it
    /// belongs to the same organization. Returns the stored record.
    pub async fn upsert(&self, r: &Record) -> Result<Record, StoreError> {
        let sql = format!(
            "INSERT INTO integrations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (provider, remote_id) DO UPDATE SET \
               category = excluded.category, tool = excluded.tool, status = excluded.status, \
               credential = excluded.credential, key_id = excluded.key_id, updated_at = excluded.updated_at \
             WHERE integrations.organization = excluded.organization \
             RETURNING {COLUMNS}"
        );
        let stored = on_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(&r.id)
                .bind(&r.organization)
                .bind(&r.provider)
                .bind(&r.remote_id)
                .bind(&r.category)
                .bind(&r.tool)
                .bind(&r.status)
                .bind(&r.credential)
                .bind(&r.key_id)
                .bind(r.created_at)
                .bind(r.updated_at)
                .bind(&r.created_by)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(record).transpose()?
        });
        stored.ok_or(StoreError::OtherOrganization)
    }

    /// The record with this id, if it exists *and* belongs to `organization`.
    pub async fn get(&self, organization: &str, id: &str) -> Result<Option<Record>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM integrations WHERE id = $1 AND organization = $2");
        let found = on_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).bind(organization).fetch_optional(pool).await?;
            row.as_ref().map(record).transpose()?
        });
        Ok(found)
    }

    /// The one record of `provider` that `key` names — its remote id (the vendor's id) or
    /// its own id — within `organization` when given (`None`: any organization, for the
    /// upstream's service keys). Two matches would be ambiguous: none is returned.
    pub async fn find(
        &self,
        provider: &str,
        key: &str,
        organization: Option<&str>,
    ) -> Result<Option<Record>, StoreError> {
        let by_key = format!(
            "SELECT {COLUMNS} FROM integrations \
             WHERE provider = $1 AND (remote_id = $2 OR id = $2) LIMIT 2"
        );
        let mut found = on_pool!(self, pool => {
            let rows = sqlx::query(&by_key).bind(provider).bind(key).fetch_all(pool).await?;
            rows.iter().map(record).collect::<Result<Vec<_>, _>>()?
        });
        if found.len() != 1 {
            return Ok(None);
        }
        let record = found.remove(0);
        Ok(organization
            .is_none_or(|o| o == record.organization)
            .then_some(record))
    }

    /// Sets the status of the one record with this provider and remote id (what a vendor's
    /// webhook names); false when there is none.
    pub async fn set_status(
        &self,
        provider: &str,
        remote_id: &str,
        status: Status,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE integrations SET status = $1, updated_at = $2 \
                   WHERE provider = $3 AND remote_id = $4";
        let affected = on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(status.as_str())
                .bind(now)
                .bind(provider)
                .bind(remote_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(affected > 0)
    }

    /// Deletes the record if it exists *and* belongs to `organization`.
    pub async fn delete(&self, organization: &str, id: &str) -> Result<bool, StoreError> {
        let sql = "DELETE FROM integrations WHERE id = $1 AND organization = $2";
        let affected = on_pool!(self, pool => {
            sqlx::query(sql).bind(id).bind(organization).execute(pool).await?.rows_affected()
        });
        Ok(affected > 0)
    }

    pub async fn remember_link_request(
        &self,
        created_by: &str,
        provider: &str,
        organization: &str,
        link: &LinkRequest,
        now: i64,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO link_requests (created_by, provider, organization, category, tool, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6) \
                   ON CONFLICT (created_by, provider) DO UPDATE SET organization = excluded.organization, \
                   category = excluded.category, tool = excluded.tool, created_at = excluded.created_at";
        on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(created_by)
                .bind(provider)
                .bind(organization)
                .bind(&link.category)
                .bind(&link.tool)
                .bind(now)
                .execute(pool)
                .await
                .map(|_| ())?
        });
        Ok(())
    }

    pub async fn latest_link_request(
        &self,
        created_by: &str,
        provider: &str,
    ) -> Result<Option<LinkRequest>, StoreError> {
        let sql =
            "SELECT category, tool FROM link_requests WHERE created_by = $1 AND provider = $2";
        let found = on_pool!(self, pool => {
            let row = sqlx::query(sql).bind(created_by).bind(provider).fetch_optional(pool).await?;
            match row {
                Some(row) => Some(LinkRequest { category: row.try_get("category")?, tool: row.try_get("tool")? }),
                None => None,
            }
        });
        Ok(found)
    }

    /// Removes the record of `provider` with this remote id (the vendor deleted it);
    /// false when there is none.
    pub async fn delete_by_remote(
        &self,
        provider: &str,
        remote_id: &str,
    ) -> Result<bool, StoreError> {
        let sql = "DELETE FROM integrations WHERE provider = $1 AND remote_id = $2";
        let affected = on_pool!(self, pool => {
            sqlx::query(sql).bind(provider).bind(remote_id).execute(pool).await?.rows_affected()
        });
        Ok(affected > 0)
    }

    /// Puts a verified webhook in the outbox, once per `dedup_key`: false when the same
    /// delivery is already there (a vendor's retry).
    pub async fn enqueue_webhook(
        &self,
        event: &WebhookEvent,
        dedup_key: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = "INSERT INTO webhook_events (id, provider, dedup_key, event_type, body, \
                   received_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $6) \
                   ON CONFLICT (dedup_key) DO NOTHING";
        let affected = on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(&event.id)
                .bind(&event.provider)
                .bind(dedup_key)
                .bind(&event.event_type)
                .bind(&event.body)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(affected > 0)
    }

    /// Undelivered events whose next attempt is due, oldest first.
    pub async fn due_webhooks(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<WebhookEvent>, StoreError> {
        let sql = "SELECT id, provider, event_type, body, attempts FROM webhook_events \
                   WHERE delivered_at IS NULL AND next_attempt_at <= $1 \
                   ORDER BY received_at, id LIMIT $2";
        let events = on_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(now).bind(limit).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok::<_, sqlx::Error>(WebhookEvent {
                        id: row.try_get("id")?,
                        provider: row.try_get("provider")?,
                        event_type: row.try_get("event_type")?,
                        body: row.try_get("body")?,
                        attempts: row.try_get("attempts")?,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        });
        Ok(events)
    }

    /// Claims a due event until `until`, so that of several proxies on one database one
    /// delivers it at a time; false when another got there first.
    pub async fn lease_webhook(&self, id: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        let sql = "UPDATE webhook_events SET next_attempt_at = $3 \
                   WHERE id = $1 AND delivered_at IS NULL AND next_attempt_at <= $2";
        let affected = on_pool!(self, pool => {
            sqlx::query(sql).bind(id).bind(now).bind(until).execute(pool).await?.rows_affected()
        });
        Ok(affected == 1)
    }

    /// Records an attempt: delivered (`next_attempt_at` unused) or failed with `error`,
    /// to be tried again at `next_attempt_at`.
    pub async fn webhook_attempted(
        &self,
        id: &str,
        delivered_at: Option<i64>,
        next_attempt_at: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE webhook_events SET attempts = attempts + 1, delivered_at = $2, \
                   next_attempt_at = $3, last_error = $4 WHERE id = $1";
        on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(id)
                .bind(delivered_at)
                .bind(next_attempt_at)
                .bind(error)
                .execute(pool)
                .await
                .map(|_| ())?
        });
        Ok(())
    }

    /// How many events wait for delivery.
    pub async fn undelivered_webhooks(&self) -> Result<i64, StoreError> {
        let sql = "SELECT COUNT(*) AS n FROM webhook_events WHERE delivered_at IS NULL";
        let n = on_pool!(self, pool => {
            sqlx::query(sql).fetch_one(pool).await?.try_get::<i64, _>("n")?
        });
        Ok(n)
    }

    /// One record per key id in use, to prove at start-up that every key is configured.
    pub async fn sample_per_key(&self) -> Result<Vec<Record>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM integrations WHERE id IN \
             (SELECT MIN(id) FROM integrations GROUP BY key_id)"
        );
        let records = on_pool!(self, pool => {
            let rows = sqlx::query(&sql).fetch_all(pool).await?;
            rows.iter().map(record).collect::<Result<Vec<_>, _>>()?
        });
        Ok(records)
    }
}
