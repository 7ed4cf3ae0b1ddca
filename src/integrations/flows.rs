//! What each `/integrations` action does, without HTTP: validate the request, call the
//! vendor, then store its result in a single statement. Every function returns a view or
//! a typed error; `routes` turns those into responses.

use base64::Engine;
use serde::Deserialize;

use super::caller::Member;
use super::providers::{self, bindbee, kombo, ProviderError};
use super::status::Status;
use super::store::{LinkRequest, Record, StoreError};
use super::{IntegrationView, Integrations};
use crate::error::ProxyError;

#[derive(Deserialize)]
pub struct LinkTokenBody {
    category: Option<String>,
    integration: Option<String>,
}

/// `{category, integration}` → Bindbee's link token.
pub async fn bindbee_link_token(
    i: &Integrations,
    m: &Member,
    b: LinkTokenBody,
) -> Result<String, ProxyError> {
    let bindbee = i
        .bindbee
        .as_ref()
        .ok_or(ProxyError::ProviderNotConfigured)?;
    let category = require_category(b.category.as_deref(), bindbee::CATEGORIES)?;
    let integration = require_slug(b.integration.as_deref(), "integration")?;
    let user = i.end_user(&m.caller.identity, &m.organization);
    let link_token = bindbee
        .create_link_token(&user, &category, &integration)
        .await
        .map_err(|e| provider_error("bindbee", e))?;
    remember(i, m, "bindbee", category, integration).await?;
    Ok(link_token)
}

#[derive(Deserialize)]
pub struct BindbeeConnectBody {
    temporary_token: Option<String>,
    category: Option<String>,
    integration: Option<String>,
}

/// `{temporary_token, category?, integration?}` → the stored connector.
pub async fn bindbee_connect(
    i: &Integrations,
    m: &Member,
    b: BindbeeConnectBody,
) -> Result<IntegrationView, ProxyError> {
    let bindbee = i
        .bindbee
        .as_ref()
        .ok_or(ProxyError::ProviderNotConfigured)?;
    let temporary_token = require_token(b.temporary_token.as_deref(), "temporary_token")?;
    let latest = latest_link(i, m, "bindbee").await?;
    let category = category_or_latest(b.category.as_deref(), latest.as_ref(), bindbee::CATEGORIES)?;
    let tool = match b
        .integration
        .as_deref()
        .or(latest.as_ref().map(|l| l.tool.as_str()))
    {
        Some(t) => require_slug(Some(t), "integration")?,
        None => {
            return Err(ProxyError::InvalidBody(
                "missing field `integration` (and no earlier link-token request)".into(),
            ))
        }
    };
    let token = bindbee
        .connector_token(&temporary_token)
        .await
        .map_err(|e| exchange_error("bindbee", e))?;
    // The exchange does not say whose connector this is: Bindbee's connectors endpoint
    // does. Nothing is stored until it says this organization's.
    let connector = bindbee
        .connector(&category, &token)
        .await
        .map_err(|e| provider_error("bindbee", e))?
        .ok_or_else(|| {
            tracing::warn!(connector = %token.connector_id, "bindbee lists no connector for the token it just issued");
            ProxyError::ProviderFailed
        })?;
    // A connector without an origin cannot be shown to be this organization's: refused.
    if connector.origin_id.as_deref() != Some(m.organization.as_str()) {
        tracing::warn!(user = ?m.caller.identity.id, connector = %connector.id, "bindbee connector belongs to another organization");
        return Err(ProxyError::OrganizationMismatch);
    }
    let connection = Connection {
        provider: "bindbee",
        category,
        tool,
        remote_id: connector.id,
        status: connector.status,
    };
    store_credential(i, m, connection, &token.connector_token).await
}

#[derive(Deserialize)]
pub struct KomboInitBody {
    category: Option<String>,
    tool: Option<String>,
    language: Option<String>,
}

/// `{category, tool?, language?}` → Kombo's connection link.
pub async fn kombo_init(
    i: &Integrations,
    m: &Member,
    b: KomboInitBody,
) -> Result<String, ProxyError> {
    let kombo = i.kombo.as_ref().ok_or(ProxyError::ProviderNotConfigured)?;
    let category = require_category(b.category.as_deref(), kombo::CATEGORIES)?;
    let tool = b
        .tool
        .as_deref()
        .map(|t| require_slug(Some(t), "tool"))
        .transpose()?;
    let language = require_language(b.language.as_deref())?;
    // Kombo requires the end user's email (a string, never null): say so here, not as a
    // vendor rejection after the round trip.
    let email = m
        .caller
        .identity
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .ok_or(ProxyError::EmailRequired)?;
    let user = i.end_user(&m.caller.identity, &m.organization);
    let link = kombo
        .create_link(&user, email, &category, tool.as_deref(), language)
        .await
        .map_err(|e| provider_error("kombo", e))?;
    remember(i, m, "kombo", category, tool.unwrap_or_default()).await?;
    Ok(link)
}

#[derive(Deserialize)]
pub struct KomboActivateBody {
    token: Option<String>,
    category: Option<String>,
}

/// `{token, category?}` → the stored integration.
pub async fn kombo_activate(
    i: &Integrations,
    m: &Member,
    b: KomboActivateBody,
) -> Result<IntegrationView, ProxyError> {
    let kombo = i.kombo.as_ref().ok_or(ProxyError::ProviderNotConfigured)?;
    let token = require_token(b.token.as_deref(), "token")?;
    let latest = latest_link(i, m, "kombo").await?;
    let category = category_or_latest(b.category.as_deref(), latest.as_ref(), kombo::CATEGORIES)?;
    let integration = kombo
        .exchange(&token)
        .await
        .map_err(|e| exchange_error("kombo", e))?;
    // Integration ids never come from the browser: only from Kombo, for this organization.
    if integration.end_user_origin_id != m.organization {
        tracing::warn!(user = ?m.caller.identity.id, "kombo integration belongs to another organization");
        return Err(ProxyError::OrganizationMismatch);
    }
    let connection = Connection {
        provider: "kombo",
        category,
        tool: integration.tool.clone(),
        remote_id: integration.id.clone(),
        status: integration.status,
    };
    store_credential(i, m, connection, &integration.id).await
}

/// The organization's integrations, newest first.
pub async fn list(i: &Integrations, m: &Member) -> Result<Vec<IntegrationView>, ProxyError> {
    let records = i.store.list(&m.organization).await.map_err(store_error)?;
    Ok(records.iter().map(IntegrationView::from).collect())
}

#[derive(Deserialize, Default)]
pub struct RelinkBody {
    language: Option<String>,
}

/// What the front end runs to reconnect an integration.
pub struct Relink {
    pub provider: &'static str,
    pub link: String,
}

/// A link that reconnects one of the organization's integrations in place: the vendor
/// flow then ends in `activate`, which updates the same record. (Running the connect flow
/// again would create a second integration at Kombo, which does not deduplicate.)
pub async fn relink(
    i: &Integrations,
    m: &Member,
    id: &str,
    b: RelinkBody,
) -> Result<Relink, ProxyError> {
    let record = owned_record(i, m, id).await?;
    let language = require_language(b.language.as_deref())?;
    match record.provider.as_str() {
        "kombo" => {
            let kombo = i.kombo.as_ref().ok_or(ProxyError::ProviderNotConfigured)?;
            let link = kombo
                .relink(&record.remote_id, language)
                .await
                .map_err(|e| provider_error("kombo", e))?;
            // `activate` defaults its category to the caller's latest flow: this one.
            remember(i, m, "kombo", record.category, record.tool).await?;
            Ok(Relink {
                provider: "kombo",
                link,
            })
        }
        _ => Err(ProxyError::RelinkNotSupported),
    }
}

/// Removes one of the organization's integrations — at the vendor first, so it stops
/// syncing the customer's data (and billing). A vendor that no longer knows it counts as
/// done; any other vendor failure keeps the record as it was. `NotFound` when absent *or*
/// another organization's.
pub async fn remove(i: &Integrations, m: &Member, id: &str) -> Result<(), ProxyError> {
    let record = owned_record(i, m, id).await?;
    let at_vendor = match record.provider.as_str() {
        "kombo" => {
            let kombo = i.kombo.as_ref().ok_or(ProxyError::ProviderNotConfigured)?;
            kombo.delete(&record.remote_id).await
        }
        "bindbee" => {
            let bindbee = i
                .bindbee
                .as_ref()
                .ok_or(ProxyError::ProviderNotConfigured)?;
            bindbee.delete(&record.category, &record.remote_id).await
        }
        _ => Ok(()),
    };
    match at_vendor {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {
            tracing::info!(provider = %record.provider, integration = %record.id, "already gone at the vendor");
        }
        Err(e) => return Err(provider_error(&record.provider, e)),
    }
    // Gone at the vendor: a concurrent removal of the record is no failure either.
    i.store
        .delete(&m.organization, id)
        .await
        .map(|_| ())
        .map_err(store_error)
}

/// One of the organization's records; `NotFound` for another organization's.
async fn owned_record(i: &Integrations, m: &Member, id: &str) -> Result<Record, ProxyError> {
    i.store
        .get(&m.organization, id)
        .await
        .map_err(store_error)?
        .ok_or(ProxyError::NotFound)
}

/// A failed token exchange: the vendor's 404 means the front end's token is unknown,
/// expired or already used — the client's problem, not the vendor's.
fn exchange_error(provider: &str, e: ProviderError) -> ProxyError {
    if e.is_not_found() {
        tracing::info!(provider, "the vendor does not know the exchanged token");
        return ProxyError::VendorTokenInvalid;
    }
    provider_error(provider, e)
}

fn provider_error(provider: &str, e: ProviderError) -> ProxyError {
    // The vendor's message is the vendor's text: logged as an escaped, quoted value (`?`),
    // so a newline in it cannot forge a log line (SPEC §9).
    tracing::warn!(provider, error = ?e.to_string(), "provider call failed");
    match e {
        ProviderError::Rejected { message, .. } => ProxyError::ProviderRejected(message),
        ProviderError::RateLimited { retry_after } => ProxyError::ProviderRateLimited(retry_after),
        ProviderError::Timeout => ProxyError::ProviderTimeout,
        ProviderError::Unreachable => ProxyError::ProviderUnreachable,
        ProviderError::Unavailable { .. } | ProviderError::Malformed => ProxyError::ProviderFailed,
    }
}

fn store_error(e: StoreError) -> ProxyError {
    match e {
        StoreError::OtherOrganization => ProxyError::OrganizationMismatch,
        StoreError::Unavailable(e) => {
            tracing::error!(error = %e, "integration database unavailable");
            ProxyError::DatabaseUnavailable
        }
    }
}

fn require_category(category: Option<&str>, allowed: &[&str]) -> Result<String, ProxyError> {
    match category {
        Some(c) if allowed.contains(&c) => Ok(c.to_string()),
        Some(c) => Err(ProxyError::InvalidBody(format!(
            "unknown category {:?}; expected one of {}",
            c.chars().take(40).collect::<String>(),
            allowed.join(", ")
        ))),
        None => Err(ProxyError::InvalidBody("missing field `category`".into())),
    }
}

/// Kombo's `language`, one of the languages its flow is offered in.
fn require_language(language: Option<&str>) -> Result<Option<&str>, ProxyError> {
    match language {
        Some(l) if kombo::LANGUAGES.contains(&l) => Ok(Some(l)),
        Some(_) => Err(ProxyError::InvalidBody(format!(
            "`language` must be one of {}",
            kombo::LANGUAGES.join(", ")
        ))),
        None => Ok(None),
    }
}

/// A vendor slug such as `bamboohr` or `personio`.
fn require_slug(value: Option<&str>, field: &str) -> Result<String, ProxyError> {
    match value {
        Some(v)
            if !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(v.to_string())
        }
        Some(_) => Err(ProxyError::InvalidBody(format!(
            "`{field}` must be a slug like \"bamboohr\""
        ))),
        None => Err(ProxyError::InvalidBody(format!("missing field `{field}`"))),
    }
}

fn require_token(value: Option<&str>, field: &str) -> Result<String, ProxyError> {
    match value {
        Some(v) if providers::is_plain_token(v) => Ok(v.to_string()),
        Some(_) => Err(ProxyError::InvalidBody(format!(
            "`{field}` is not a valid token"
        ))),
        None => Err(ProxyError::InvalidBody(format!("missing field `{field}`"))),
    }
}

fn now() -> i64 {
    crate::auth::session::now_secs() as i64
}

fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    format!(
        "int_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What a vendor said about a connection, before its credential is sealed and stored.
struct Connection {
    provider: &'static str,
    category: String,
    tool: String,
    remote_id: String,
    status: Status,
}

async fn remember(
    i: &Integrations,
    m: &Member,
    provider: &str,
    category: String,
    tool: String,
) -> Result<(), ProxyError> {
    i.store
        .remember_link_request(
            &m.caller.identity.id,
            provider,
            &m.organization,
            &LinkRequest { category, tool },
            now(),
        )
        .await
        .map_err(store_error)
}

/// The body's category, else the one the caller's latest vendor flow was started with.
fn category_or_latest(
    from_body: Option<&str>,
    latest: Option<&LinkRequest>,
    allowed: &[&str],
) -> Result<String, ProxyError> {
    match from_body.or(latest.map(|l| l.category.as_str())) {
        Some(category) => require_category(Some(category), allowed),
        None => Err(ProxyError::InvalidBody(
            "missing field `category` (and no earlier link-token or init request)".into(),
        )),
    }
}

async fn latest_link(
    i: &Integrations,
    m: &Member,
    provider: &str,
) -> Result<Option<LinkRequest>, ProxyError> {
    i.store
        .latest_link_request(&m.caller.identity.id, provider)
        .await
        .map_err(store_error)
}

/// Seals the credential under this record's binding and stores it in one statement.
async fn store_credential(
    i: &Integrations,
    m: &Member,
    c: Connection,
    credential: &str,
) -> Result<IntegrationView, ProxyError> {
    let now = now();
    let binding = super::crypto::Binding {
        organization: &m.organization,
        provider: c.provider,
        remote_id: &c.remote_id,
    };
    let (sealed, key_id) = i.cipher.seal(&binding, credential);
    let record = Record {
        id: new_id(),
        organization: m.organization.clone(),
        provider: c.provider.to_string(),
        remote_id: c.remote_id,
        category: c.category,
        tool: c.tool,
        status: c.status.as_str().to_string(),
        credential: sealed,
        key_id,
        created_at: now,
        updated_at: now,
        created_by: m.caller.identity.id.clone(),
    };
    let stored = i.store.upsert(&record).await.map_err(store_error)?;
    Ok(IntegrationView::from(&stored))
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_vendor_message_cannot_forge_a_log_line() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let e = ProviderError::Rejected {
                status: 400,
                message: "bad\nWARN admin signed in \"ok\"".into(),
            };
            let _ = provider_error("kombo", e);
        });
        let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains(r#"bad\nWARN admin signed in \"ok\""#), "{out}");
    }
}
