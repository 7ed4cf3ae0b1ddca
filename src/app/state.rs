//! The services every request may use, built once at start-up, and how each route gets
//! only its own part of them (axum's `FromRef`): nothing below `app` names [`AppState`].

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;

use super::StartError;
use crate::auth::cache::IdentityCache;
use crate::auth::routes::ForwardAuth;
use crate::auth::session::store::RedisStore;
use crate::auth::session::Sessions;
use crate::auth::signin::SignIn;
use crate::auth::Authenticator;
use crate::bink::BinkClient;
use crate::config::{Config, SessionStore};
use crate::error::SetupError;
use crate::identity::assertion::AssertionSigner;
use crate::integrations::gateway::Gateway;
use crate::integrations::outbox::Outbox;
use crate::integrations::webhooks::Webhooks;
use crate::integrations::Integrations;
use crate::proxy::{Forwarder, Upstream};
use crate::telemetry::Metrics;

/// Everything built from the configuration.
pub struct Services {
    pub config: Config,
    pub auth: Arc<Authenticator>,
    pub forwarder: Forwarder,
    pub signer: Option<Arc<AssertionSigner>>,
    /// `/integrations`; `None` unless `integrations.enabled`.
    pub integrations: Option<Arc<Integrations>>,
    /// The unified-API gateway; `None` unless integrations and the gateway are enabled.
    pub gateway: Option<Arc<Gateway>>,
    /// The vendor webhook routes; `None` unless integrations are enabled.
    pub webhooks: Option<Arc<Webhooks>>,
    /// Delivers stored webhooks to the upstream; `None` unless a provider forwards them.
    pub outbox: Option<Arc<Outbox>>,
    pub metrics: Arc<Metrics>,
}

/// The application's state as the router holds it (a cheap clone).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Arc<Authenticator> {
        state.auth.clone()
    }
}

impl FromRef<AppState> for ForwardAuth {
    fn from_ref(state: &AppState) -> ForwardAuth {
        ForwardAuth {
            auth: state.auth.clone(),
            signer: state.signer.clone(),
        }
    }
}

impl AppState {
    pub async fn new(config: Config, metrics: Arc<Metrics>) -> Result<AppState, StartError> {
        let signer = signer(&config)?.map(Arc::new);
        let auth = Arc::new(authenticator(&config, metrics.clone())?);
        let upstream = Upstream::new(&config.server.upstream, config.server.upstream_timeout)
            .map_err(|e| SetupError::new("server.upstream", e))?;
        let forwarder = Forwarder {
            upstream,
            trusted_proxy_hops: config.server.trusted_proxy_hops,
            headers: config.headers.clone(),
            signer: signer.clone(),
            jar: auth.sign_in.as_ref().map(|s| s.sessions.jar.clone()),
            metrics: metrics.clone(),
        };
        let integrations = if config.integrations.enabled {
            let origin = config.server.public_url.origin().ascii_serialization();
            let integrations = Integrations::start(&config.integrations, origin).await?;
            Some(Arc::new(integrations))
        } else {
            None
        };
        let gateway = match &integrations {
            Some(integrations) if config.integrations.gateway.enabled => Some(Arc::new(
                Gateway::new(
                    &config.integrations.gateway,
                    integrations.clone(),
                    auth.clone(),
                    metrics.clone(),
                )
                .map_err(StartError::Setup)?,
            )),
            _ => None,
        };
        let outbox = match &integrations {
            Some(integrations) => Outbox::new(
                &config.integrations,
                integrations.clone(),
                &config.server.upstream,
            )
            .transpose()
            .map_err(|e| SetupError::new("integrations webhook delivery", e))?
            .map(Arc::new),
            None => None,
        };
        let webhooks = integrations.as_ref().map(|integrations| {
            Arc::new(Webhooks::new(
                &config.integrations,
                integrations.clone(),
                outbox.clone(),
            ))
        });
        Ok(AppState(Arc::new(Services {
            config,
            auth,
            forwarder,
            signer,
            integrations,
            gateway,
            webhooks,
            outbox,
            metrics,
        })))
    }
}

fn authenticator(config: &Config, metrics: Arc<Metrics>) -> Result<Authenticator, StartError> {
    let bink = BinkClient::new(&config.bink.base_url, config.bink.timeout)
        .map_err(|e| SetupError::new("bink client", e))?;
    let identities = IdentityCache::new(
        &config.tokens,
        bink,
        config.bink.max_concurrent_calls,
        config.bink.timeout,
        metrics,
    );
    Ok(Authenticator {
        identities,
        sign_in: sign_in(config)?,
        access: config.access.clone(),
        accept_bearer: config.tokens.accept_bearer,
        trusted_proxy_hops: config.server.trusted_proxy_hops,
    })
}

fn sign_in(config: &Config) -> Result<Option<SignIn>, StartError> {
    let Some(secret) = &config.session.cookie_secret else {
        return Ok(None);
    };
    if config.bink.client_id.is_none() {
        return Ok(None);
    }
    let redis = match &config.session.store {
        SessionStore::Cookie => None,
        SessionStore::Redis { url } => Some(
            RedisStore::new(url.expose()).map_err(|e| SetupError::new("session.redis_url", e))?,
        ),
    };
    let sessions = Sessions::new(&config.session, &secret.0, redis);
    SignIn::new(config, sessions).map_err(StartError::Setup)
}

fn signer(config: &Config) -> Result<Option<AssertionSigner>, StartError> {
    if !config.headers.identity_jwt {
        return Ok(None);
    }
    let issuer = config
        .server
        .public_url
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let audience = config.server.upstream.origin().ascii_serialization();
    let key_file = config.headers.identity_jwt_key_file.as_deref();
    AssertionSigner::new(key_file, issuer, audience)
        .map(Some)
        .map_err(|e| SetupError::new("headers.identity_jwt_key_file", e).into())
}
