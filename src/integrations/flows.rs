//! What each `/integrations` action does, without HTTP: validate the request, call the
//! vendor, then store its result in a single statement. Every function returns a view or
//! a typed error; `routes` turns those into responses.

use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::caller::Member;
use super::providers::{self, bindbee, kombo, ProviderError};
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
    let connector = bindbee
        .connector_token(&temporary_token)
        .await
        .map_err(|e| provider_error("bindbee", e))?;
    if connector
        .origin_id
        .as_deref()
        .is_some_and(|o| o != m.organization)
    {
        return Err(ProxyError::OrganizationMismatch);
    }
    let remote_id = connector.connector_id.clone().unwrap_or_else(|| {
        let digest = Sha256::digest(connector.connector_token.as_bytes());
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    });
    let status = connector.status.clone().unwrap_or_else(|| "active".into());
    let connection = Connection {
        provider: "bindbee",
        category,
        tool,
        remote_id,
        status,
    };
    store_credential(i, m, connection, &connector.connector_token).await
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
    let language = match b.language.as_deref() {
        Some(l) if l.len() == 2 && l.bytes().all(|b| b.is_ascii_lowercase()) => Some(l),
        Some(_) => {
            return Err(ProxyError::InvalidBody(
                "`language` must be a two-letter code like \"en\"".into(),
            ))
        }
        None => None,
    };
    let user = i.end_user(&m.caller.identity, &m.organization);
    let link = kombo
        .create_link(&user, &category, tool.as_deref(), language)
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
        .map_err(|e| provider_error("kombo", e))?;
    // Integration ids never come from the browser: only from Kombo, for this organization.
    if integration.end_user_origin_id != m.organization {
        tracing::warn!(user = ?m.caller.identity.id, "kombo integration belongs to another organization");
        return Err(ProxyError::OrganizationMismatch);
    }
    let status = integration
        .setup_status
        .clone()
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_else(|| "active".into());
    let connection = Connection {
        provider: "kombo",
        category,
        tool: integration.tool.clone(),
        remote_id: integration.id.clone(),
        status,
    };
    store_credential(i, m, connection, &integration.id).await
}

/// The organization's integrations, newest first.
pub async fn list(i: &Integrations, m: &Member) -> Result<Vec<IntegrationView>, ProxyError> {
    let records = i.store.list(&m.organization).await.map_err(store_error)?;
    Ok(records.iter().map(IntegrationView::from).collect())
}

/// Removes one of the organization's integrations; `NotFound` when absent *or* another
/// organization's.
pub async fn remove(i: &Integrations, m: &Member, id: &str) -> Result<(), ProxyError> {
    match i.store.delete(&m.organization, id).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ProxyError::NotFound),
        Err(e) => Err(store_error(e)),
    }
}

fn provider_error(provider: &str, e: ProviderError) -> ProxyError {
    // The vendor's message is the vendor's text: logged as an escaped, quoted value (`?`),
    // so a newline in it cannot forge a log line (SPEC §9).
    tracing::warn!(provider, error = ?e.to_string(), "provider call failed");
    match e {
        ProviderError::Rejected { message, .. } => ProxyError::ProviderRejected(message),
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
    status: String,
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
        status: c.status,
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
