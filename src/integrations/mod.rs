//! `/integrations`: the backend half of the Bindbee Embed and Kombo Connect flows. The
//! vendor's front end runs in the browser; everything that needs an API key, and the
//! resulting credential, stays here — encrypted at rest, bound to an organization.

pub mod caller;
pub mod crypto;
pub mod flows;
pub mod gateway;
pub mod outbox;
pub mod providers;
pub mod routes;
pub mod status;
pub mod store;
pub mod ui;
pub mod webhooks;

use serde::Serialize;

use crate::config::{IntegrationsConfig, OrganizationMode};
use crate::error::SetupError;
use crate::identity::Identity;

use crypto::{Binding, CredentialCipher};
use providers::{bindbee::Bindbee, kombo::Kombo, ApiClient};
use store::{Record, Store};

/// The end-user fields sent to vendors.
#[derive(Debug, Clone)]
pub struct EndUser {
    /// The organization: `origin_id` / `end_user_origin_id`.
    pub origin_id: String,
    /// The user's name, else username, else the organization.
    pub org_name: String,
    pub email: Option<String>,
}

/// The end user sent to vendors: the user's name, else username, else the organization,
/// skipping any shorter than two characters (Bindbee refuses an `org_name` under 2).
pub fn end_user(identity: &Identity, organization: &str) -> EndUser {
    let long_enough = |s: &&String| s.trim().chars().count() >= 2;
    let org_name = identity
        .name
        .as_ref()
        .filter(long_enough)
        .or(identity.username.as_ref().filter(long_enough))
        .cloned()
        .unwrap_or_else(|| organization.to_string());
    EndUser {
        origin_id: organization.to_string(),
        org_name,
        email: identity.email.clone(),
    }
}

/// Everything `/integrations` needs, built once at start-up.
pub struct Integrations {
    pub store: Store,
    pub cipher: CredentialCipher,
    pub organization: OrganizationMode,
    pub bindbee: Option<Bindbee>,
    pub kombo: Option<Kombo>,
    /// Each provider's front-end script and its SRI value, for `connect.js`.
    pub bindbee_sdk: FrontEnd,
    pub kombo_sdk: FrontEnd,
    /// `scheme://host[:port]` of `server.public_url`, which cookie-authenticated writes
    /// must come from.
    pub public_origin: String,
}

const KEY: &str = "integrations.encryption_key";
const DATABASE: &str = "integrations.database_url";

impl Integrations {
    /// Connects to the database (migrating it) and proves every stored record's key is
    /// configured and correct: a wrong key is a start-up error, never garbage later.
    pub async fn start(
        config: &IntegrationsConfig,
        public_origin: String,
    ) -> Result<Integrations, SetupError> {
        let key = config
            .encryption_key
            .as_ref()
            .ok_or_else(|| SetupError::new(KEY, "required when integrations are enabled"))?;
        let cipher = CredentialCipher::new(key, &config.previous_encryption_keys);
        let store = Store::connect(config.database_url.expose())
            .await
            .map_err(|e| SetupError::new(DATABASE, format!("cannot open the database: {e}")))?;
        let samples = store
            .sample_per_key()
            .await
            .map_err(|e| SetupError::new(DATABASE, format!("cannot read integrations: {e}")))?;
        for record in samples {
            if !cipher.knows(&record.key_id) {
                return Err(SetupError::new(
                    KEY,
                    format!(
                        "stored integrations were sealed with key {} which is neither \
                         integrations.encryption_key nor in integrations.previous_encryption_keys",
                        record.key_id
                    ),
                ));
            }
            cipher
                .open(&binding(&record), &record.credential, &record.key_id)
                .map_err(|e| {
                    SetupError::new(
                        KEY,
                        format!("integration {} does not decrypt: {e}", record.id),
                    )
                })?;
        }
        let client = |p: &crate::config::ProviderConfig, key: &'static str| {
            p.api_key
                .as_ref()
                .map(|api_key| {
                    ApiClient::new(&p.base_url, api_key.clone(), config.provider_timeout)
                })
                .transpose()
                .map_err(|e| SetupError::new(key, e))
        };
        Ok(Integrations {
            store,
            cipher,
            organization: config.organization,
            bindbee: client(&config.bindbee, "integrations.bindbee")?.map(Bindbee::new),
            kombo: client(&config.kombo, "integrations.kombo")?.map(Kombo::new),
            bindbee_sdk: FrontEnd::of(&config.bindbee),
            kombo_sdk: FrontEnd::of(&config.kombo),
            public_origin,
        })
    }

    /// The caller's organization, or `None` when `email_domain` mode meets a user
    /// without email.
    pub fn organization_of(&self, identity: &Identity) -> Option<String> {
        match self.organization {
            OrganizationMode::User => Some(identity.id.clone()),
            OrganizationMode::EmailDomain => identity.email_domain(),
        }
    }

    pub fn end_user(&self, identity: &Identity, organization: &str) -> EndUser {
        end_user(identity, organization)
    }
}

impl Integrations {
    /// The record's credential (Bindbee connector token, Kombo integration id), for the
    /// unified-API calls that need it. Fails for a record sealed under another binding.
    pub fn open_credential(&self, record: &Record) -> Result<String, crypto::CryptoError> {
        self.cipher
            .open(&binding(record), &record.credential, &record.key_id)
    }
}

pub fn binding(record: &Record) -> Binding<'_> {
    Binding {
        organization: &record.organization,
        provider: &record.provider,
        remote_id: &record.remote_id,
    }
}

/// What the browser needs to run a vendor's front end: the script, its SRI value, and the
/// API origin the widget must talk to (Bindbee's `serverUrl`: the region).
#[derive(Debug, Clone, Serialize)]
pub struct FrontEnd {
    pub script: String,
    pub integrity: Option<String>,
    pub server_url: String,
}

impl FrontEnd {
    fn of(p: &crate::config::ProviderConfig) -> FrontEnd {
        FrontEnd {
            script: p.sdk_url.clone(),
            integrity: p.sdk_integrity.clone(),
            server_url: p.base_url.origin().ascii_serialization(),
        }
    }
}

/// An integration as the API shows it: never the credential.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrationView {
    pub id: String,
    pub provider: String,
    pub category: String,
    pub tool: String,
    pub remote_id: String,
    pub status: String,
    pub created_at: String,
    pub created_by: String,
}

impl From<&Record> for IntegrationView {
    fn from(r: &Record) -> Self {
        let created =
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(r.created_at.max(0) as u64);
        IntegrationView {
            id: r.id.clone(),
            provider: r.provider.clone(),
            category: r.category.clone(),
            tool: r.tool.clone(),
            remote_id: r.remote_id.clone(),
            status: r.status.clone(),
            created_at: humantime::format_rfc3339_seconds(created).to_string(),
            created_by: r.created_by.clone(),
        }
    }
}
