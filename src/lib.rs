//! bink-proxy: an identity-aware reverse proxy that lets people and scripts in with Bink.
//!
//! [`app`] assembles the request pipeline in one place; [`start`] binds the listeners.

pub mod auth;
pub mod bink;
pub mod config;
pub mod error;
pub mod identity;
pub mod integrations;
pub mod outbound;
pub mod policy;
#[cfg(test)]
mod proptests;
pub mod proxy;
pub mod routes;
pub mod sandbox;
pub mod server;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use auth::assertion::AssertionSigner;
use auth::cache::IdentityCache;
use auth::session::store::RedisStore;
use auth::session::Sessions;
use auth::signin::SignIn;
use config::Config;
use telemetry::Metrics;

/// Everything a request handler may need, shared by all requests.
pub struct Proxy {
    pub config: Config,
    pub identities: IdentityCache,
    pub upstream: proxy::Upstream,
    pub signer: Option<AssertionSigner>,
    /// Browser sign-in; `None` when `bink.client_id` is unset (bearer tokens only).
    pub sign_in: Option<SignIn>,
    /// `/integrations`; `None` unless `integrations.enabled`.
    pub integrations: Option<integrations::Integrations>,
    pub metrics: Arc<Metrics>,
}

pub type AppState = Arc<Proxy>;

/// A start-up failure that is not a config syntax problem (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Setup(String),
}

impl Proxy {
    pub async fn new(config: Config, metrics: Arc<Metrics>) -> Result<AppState, StartError> {
        let bink = bink::BinkClient::new(&config.bink.base_url, config.bink.timeout)
            .map_err(|e| StartError::Setup(format!("bink client: {e}")))?;
        let identities = IdentityCache::new(
            &config.tokens,
            bink,
            config.bink.max_concurrent_calls,
            config.bink.timeout,
            metrics.clone(),
        );
        let upstream =
            proxy::Upstream::new(&config.server.upstream, config.server.upstream_timeout)
                .map_err(|e| StartError::Setup(format!("server.upstream: {e}")))?;
        let signer = if config.headers.identity_jwt {
            let issuer = config
                .server
                .public_url
                .as_str()
                .trim_end_matches('/')
                .to_string();
            let audience = config.server.upstream.origin().ascii_serialization();
            let key_file = config.headers.identity_jwt_key_file.as_deref();
            Some(
                AssertionSigner::new(key_file, issuer, audience).map_err(|e| {
                    StartError::Setup(format!("headers.identity_jwt_key_file: {e}"))
                })?,
            )
        } else {
            None
        };
        let sign_in = match &config.session.cookie_secret {
            Some(secret) if config.bink.client_id.is_some() => {
                let redis = match &config.session.store {
                    config::SessionStore::Cookie => None,
                    config::SessionStore::Redis { url } => {
                        Some(RedisStore::new(url.expose()).map_err(StartError::Setup)?)
                    }
                };
                let sessions = Sessions::new(&config.session, &secret.0, redis);
                SignIn::new(&config, sessions).map_err(StartError::Setup)?
            }
            _ => None,
        };
        let integrations = if config.integrations.enabled {
            Some(
                integrations::Integrations::start(&config.integrations)
                    .await
                    .map_err(StartError::Setup)?,
            )
        } else {
            None
        };
        Ok(Arc::new(Proxy {
            config,
            identities,
            upstream,
            signer,
            sign_in,
            integrations,
            metrics,
        }))
    }
}

/// The request pipeline, in one place; [`App::handle`] reads top to bottom.
///
/// The steps are plain async functions called in order rather than tower layers: measured
/// with callgrind (benches/README.md), the `from_fn` layers and the two router hops they
/// replace cost boxed futures, cloned services and extension maps on every request, more
/// than the authentication itself. The proxy's own routes are still an axum `Router`.
#[derive(Clone)]
pub struct App {
    state: AppState,
    own_routes: Router,
}

impl App {
    pub fn new(state: AppState) -> App {
        App {
            own_routes: own_routes(&state),
            state,
        }
    }

    /// One request, start to finish.
    pub async fn handle(&self, conn: server::ConnectionInfo, request: Request) -> Response {
        let log = AccessLog::begin(&request);
        let (response, caller) = self.dispatch(conn, request).await;
        log.finish(&self.state, response.status(), caller.as_ref());
        response
    }

    async fn dispatch(
        &self,
        conn: server::ConnectionInfo,
        mut request: Request,
    ) -> (Response, Option<auth::Authenticated>) {
        // 1. Hygiene: smuggling-prone framing refused, client identity headers stripped (on
        //    every route), and the path decided once, so routes, policy and the upstream
        //    all see the same path.
        let path = match conn
            .check_framing(&request)
            .and_then(|()| proxy::sanitize(&mut request))
        {
            Ok(path) => path,
            Err(refusal) => return (refusal.into_response(), None),
        };
        // 2. The proxy's own routes, which decide about auth themselves.
        if routes::may_be_own(request.uri().path()) {
            let decoded = path.resolve(request.uri()).to_owned();
            let extensions = request.extensions_mut();
            extensions.insert(conn);
            extensions.insert(proxy::path::RequestPath(decoded));
            // Boxed: the router's future is large and most requests never come this way.
            let mut response = Box::pin(self.own_routes.clone().oneshot(request))
                .await
                .unwrap_or_else(|e| match e {});
            let caller = response.extensions_mut().remove::<auth::CallerForLog>();
            if response.extensions_mut().remove::<Forwarded>().is_none() {
                response = routes::method_not_allowed_as_json(response);
            }
            return (response, caller.map(|c| c.0));
        }
        // 3. Everything else: identity and `[access]`, then the upstream.
        proxy::authorize_and_forward(&self.state, conn, request, &path).await
    }
}

/// The routes the proxy answers itself. A path no route claims (`/oauth2/other`) falls
/// back to the proxy path, exactly as if it had never come here.
fn own_routes(state: &AppState) -> Router {
    let mut routes = Router::new()
        .route("/ping", get(routes::ping))
        .route("/ready", get(routes::ready))
        // Any method: Traefik's `preserveRequestMethod` sends the original one.
        .route("/oauth2/auth", any(routes::forward_auth))
        .route("/oauth2/userinfo", get(routes::userinfo))
        .route("/oauth2/start", get(auth::signin::start))
        .route("/oauth2/callback", get(auth::signin::callback))
        .route(
            "/oauth2/sign_out",
            get(auth::signin::sign_out).post(auth::signin::sign_out),
        )
        .route("/.well-known/jwks.json", get(routes::jwks));
    if state.integrations.is_some() {
        // Behind the same gate as the proxy path, so the two can never disagree about who
        // the caller is; route_layer keeps an unknown route a 404.
        routes = routes.merge(integrations::routes::router().route_layer(
            middleware::from_fn_with_state(state.clone(), auth::require_identity),
        ));
    }
    let fallback_state = state.clone();
    let fallback = tower::service_fn(move |request: Request| {
        let state = fallback_state.clone();
        async move {
            let conn = request
                .extensions()
                .get::<server::ConnectionInfo>()
                .cloned()
                .unwrap_or_default();
            let Some(proxy::path::RequestPath(decoded)) = request
                .extensions()
                .get::<proxy::path::RequestPath>()
                .cloned()
            else {
                // The pipeline always stores the path first; without it, refuse.
                return Ok(error::ProxyError::Internal.into_response());
            };
            if state.integrations.is_some() && routes::is_integrations_namespace(&decoded) {
                // The whole namespace is the proxy's: an unknown path under it (a trailing
                // slash, a typo) is a 404 here, never the application's to answer.
                return Ok(error::ProxyError::NotFound.into_response());
            }
            let path = proxy::PolicyPath::decoded(decoded);
            let (mut response, caller) =
                proxy::authorize_and_forward(&state, conn, request, &path).await;
            if let Some(caller) = caller {
                response.extensions_mut().insert(auth::CallerForLog(caller));
            }
            response.extensions_mut().insert(Forwarded);
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    routes.fallback_service(fallback).with_state(state.clone())
}

/// Marks a response of the router's fallback (the proxy path): the upstream's answer, which
/// the own-route rules (JSON 405) must leave alone.
#[derive(Clone, Copy)]
struct Forwarded;

/// One line per request: method, path without query, status, duration, auth method and
/// user id. Never a header value, so never a token or cookie.
struct AccessLog {
    started: Instant,
    /// Method and URI, kept only when the line will be written (`RUST_LOG` admits it).
    request: Option<(http::Method, http::Uri)>,
}

impl AccessLog {
    fn begin(request: &Request) -> AccessLog {
        let enabled = tracing::enabled!(target: "bink_proxy::access", tracing::Level::INFO);
        AccessLog {
            started: Instant::now(),
            // A Uri clone shares its bytes: no copy of the path.
            request: enabled.then(|| (request.method().clone(), request.uri().clone())),
        }
    }

    fn finish(
        self,
        state: &AppState,
        status: http::StatusCode,
        caller: Option<&auth::Authenticated>,
    ) {
        let elapsed = self.started.elapsed();
        state.metrics.request_finished(status.as_u16(), elapsed);
        let Some((method, uri)) = self.request else {
            return;
        };
        let (auth_method, user) = match caller {
            Some(c) => (c.method.as_str(), c.identity.id.as_str()),
            None => ("none", "-"),
        };
        tracing::info!(
            target: "bink_proxy::access",
            %method,
            path = %uri.path(),
            status = status.as_u16(),
            duration_us = elapsed.as_micros() as u64,
            auth = auth_method,
            user,
            "request"
        );
    }
}

/// A running proxy: its addresses and a handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    /// Begins graceful shutdown and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server stops (after a signal, for `serve`).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

/// Binds the listeners and starts serving. Shutdown begins on `Running::shutdown` or,
/// when `signals` is true, on SIGTERM/SIGINT.
pub async fn start(config: Config, signals: bool) -> Result<Running, StartError> {
    let metrics = Metrics::new();
    let tls = match &config.server.tls {
        Some(files) => {
            Some(server::tls_acceptor(files).map_err(|e| StartError::Setup(e.to_string()))?)
        }
        None => None,
    };
    let listener = server::bind(config.server.listen, "server.listen")
        .await
        .map_err(StartError::Setup)?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Setup(e.to_string()))?;
    let metrics_listener = match config.server.metrics_listen {
        Some(a) => Some(
            server::bind(a, "server.metrics_listen")
                .await
                .map_err(StartError::Setup)?,
        ),
        None => None,
    };
    let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
    let state = Proxy::new(config, metrics.clone()).await?;
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let shutdown = async move {
        if signals {
            tokio::select! {
                _ = stop_rx => {},
                () = server::shutdown_signal() => {},
            }
        } else {
            let _ = stop_rx.await;
        }
    };
    if let Some(listener) = metrics_listener {
        let metrics_app = Router::new().route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(
                            http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        metrics.render(),
                    )
                }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, metrics_app).await;
        });
    }
    let app = App::new(state.clone());
    let header_timeout = state.config.server.header_read_timeout;
    let grace = state.config.server.shutdown_grace;
    let task = tokio::spawn(server::serve(
        listener,
        tls,
        app,
        header_timeout,
        grace,
        shutdown,
    ));
    tracing::info!(%addr, upstream = %state.config.server.upstream, "bink-proxy listening");
    Ok(Running {
        addr,
        metrics_addr,
        state,
        stop: Some(stop_tx),
        task,
    })
}

#[cfg(test)]
mod tests {
    use std::mem::size_of_val;

    use super::*;

    /// Every `.await` moves the callee's future into its caller's, so kilobytes of rarely
    /// used state inline on the request path are copied on every request (benches/README.md,
    /// third pass: `App::handle` was 6,600 bytes). The budgets leave headroom over today's
    /// sizes (4,728 / 976 / 816 / 1,872); a failure means a large future slipped inline on
    /// a common path: box the rare branch that holds it.
    #[tokio::test]
    async fn request_futures_stay_small() {
        let config = config::Config::from_toml(
            "[server]\nupstream = \"http://127.0.0.1:1\"\npublic_url = \"http://127.0.0.1:3\"\n\
             [bink]\nbase_url = \"http://127.0.0.1:2\"\nclient_id = \"x\"\nclient_secret = \"y\"\n\
             [session]\ncookie_secret = \"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=\"\n",
            &config::NoEnv,
        )
        .unwrap();
        let state = Proxy::new(config, Metrics::new()).await.unwrap();
        assert!(
            state.sign_in.is_some(),
            "the session path is part of the measure"
        );
        let app = App::new(state.clone());
        let conn = server::ConnectionInfo::default();
        let request = || Request::new(axum::body::Body::empty());
        let (parts, _) = request().into_parts();

        let handle = size_of_val(&app.handle(conn.clone(), request()));
        let peer = conn.peer.ip();
        let gate = size_of_val(&auth::gate(&state, &parts, "/", peer));
        let client = auth::budget::ClientKey::of(peer);
        let lookup = size_of_val(&state.identities.lookup("token", client));
        let upstream = size_of_val(&state.upstream.forward(request(), &conn.upstream));
        assert!(handle <= 5632, "App::handle future: {handle} bytes");
        assert!(gate <= 1536, "auth::gate future: {gate} bytes");
        assert!(
            lookup <= 1024,
            "IdentityCache::lookup future: {lookup} bytes"
        );
        assert!(
            upstream <= 2560,
            "Upstream::forward future: {upstream} bytes"
        );
    }
}
