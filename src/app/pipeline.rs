//! The request pipeline, in one place; [`App::handle`] reads top to bottom.
//!
//! The steps are plain async functions called in order rather than tower layers: measured
//! with callgrind (benches/README.md), the `from_fn` layers and the two router hops they
//! replace cost boxed futures, cloned services and extension maps on every request, more
//! than the authentication itself. The proxy's own routes are still an axum `Router`.

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, MethodRouter};
use axum::Router;
use tower::ServiceExt;

use super::access_log::AccessLog;
use super::routes;
use super::state::AppState;
use crate::auth::context::RequestContext;
use crate::auth::{self, routes as auth_routes, signin, Gate, Mode};
use crate::error::ProxyError;
use crate::integrations;
use crate::proxy::{hygiene, ReservedConnection};
use crate::server::{ConnectionInfo, Handler};

#[derive(Clone)]
pub struct App {
    state: AppState,
    own: OwnRoutes,
}

impl App {
    pub fn new(state: AppState) -> App {
        App {
            own: OwnRoutes::new(&state),
            state,
        }
    }

    /// One request, start to finish.
    pub async fn handle(&self, conn: ConnectionInfo, mut request: Request) -> Response {
        let log = AccessLog::begin(&request);
        // 1. Hygiene: smuggling-prone framing refused, client identity headers stripped (on
        //    every route), and the path decided once, so routes, policy and the upstream
        //    all see the same path.
        let path = match conn
            .check_framing(&request)
            .and_then(|()| hygiene::sanitize(&mut request))
        {
            Ok(path) => path,
            Err(refusal) => {
                let response = refusal.into_response();
                log.finish(&self.state.metrics, response.status(), None);
                return response;
            }
        };
        let ctx = RequestContext::new(conn.peer, path);
        // 2. The proxy's own routes, which decide about auth themselves.
        if self.own.may_claim(request.uri().path()) {
            let ctx = Arc::new(ctx);
            // Boxed: the router's future is large and most requests never come this way.
            let response = Box::pin(self.own.answer(ctx.clone(), conn.upstream, request)).await;
            log.finish(&self.state.metrics, response.status(), ctx.caller());
            return response;
        }
        // 3. Everything else: identity and `[access]`, then the upstream.
        let response = proxy_path(&self.state, &ctx, &conn.upstream, request).await;
        log.finish(&self.state.metrics, response.status(), ctx.caller());
        response
    }
}

impl Handler for App {
    fn handle(
        &self,
        conn: ConnectionInfo,
        request: Request,
    ) -> impl std::future::Future<Output = Response> + Send {
        App::handle(self, conn, request)
    }
}

/// A request bound for the upstream: the auth decision, then the upstream.
async fn proxy_path(
    state: &AppState,
    ctx: &RequestContext,
    reserved: &ReservedConnection,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let forwarder = &state.forwarder;
    match state
        .auth
        .gate(&parts, ctx, ctx.path.as_str(), Mode::Route)
        .await
    {
        Gate::Open => {
            forwarder
                .forward(&ctx.peer, reserved, parts, body, None)
                .await
        }
        Gate::Admitted(caller) => {
            forwarder
                .forward(&ctx.peer, reserved, parts, body, Some(caller))
                .await
        }
        Gate::Refused(response) => response,
    }
}

/// The routes the proxy answers itself, and the first path segments they live under.
#[derive(Clone)]
struct OwnRoutes {
    router: Router,
    /// The first segment of every own route (`oauth2` for `/oauth2/auth`), collected while
    /// the router is built: a path under none of them skips the router altogether.
    segments: Arc<[&'static str]>,
}

/// Builds the router and the list of its first segments from the same calls.
struct Builder {
    router: Router<AppState>,
    segments: Vec<&'static str>,
}

impl Builder {
    fn route(mut self, path: &'static str, handler: MethodRouter<AppState>) -> Builder {
        let segment = first_segment(path);
        if !self.segments.contains(&segment) {
            self.segments.push(segment);
        }
        self.router = self.router.route(path, handler);
        self
    }
}

impl OwnRoutes {
    fn new(state: &AppState) -> OwnRoutes {
        let built = Builder {
            router: Router::new(),
            segments: Vec::new(),
        }
        .route("/ping", get(routes::ping))
        .route("/ready", get(routes::ready))
        // Any method: Traefik's `preserveRequestMethod` sends the original one.
        .route("/oauth2/auth", any(auth_routes::forward_auth))
        .route("/oauth2/userinfo", get(auth_routes::userinfo))
        .route("/oauth2/start", get(signin::start))
        .route("/oauth2/callback", get(signin::callback))
        .route(
            "/oauth2/sign_out",
            get(signin::sign_out).post(signin::sign_out),
        )
        .route("/.well-known/jwks.json", get(routes::jwks));
        let mut segments = built.segments;
        let mut router = built.router.with_state(state.clone());
        if let Some(integrations) = &state.integrations {
            // The whole namespace is the proxy's (SPEC §4). Behind the same gate as the
            // proxy path, so the two can never disagree about who the caller is;
            // route_layer keeps an unknown route a 404.
            segments.push(first_segment(INTEGRATIONS));
            if let Some(gateway) = &state.gateway {
                // The gateway decides who is calling itself: a service key of the
                // upstream's backend is no Bink identity.
                router = router.merge(integrations::gateway::router().with_state(gateway.clone()));
            }
            if let Some(webhooks) = &state.webhooks {
                // Vendors sign their webhooks; they have no Bink identity.
                router =
                    router.merge(integrations::webhooks::router().with_state(webhooks.clone()));
            }
            router = router.merge(
                integrations::routes::router()
                    .route_layer(middleware::from_fn_with_state(
                        state.auth.clone(),
                        auth::require_identity,
                    ))
                    .with_state(integrations.clone()),
            );
        }
        let fallback_state = state.clone();
        let fallback = tower::service_fn(move |request: Request| {
            let state = fallback_state.clone();
            async move { Ok::<_, std::convert::Infallible>(unclaimed(&state, request).await) }
        });
        OwnRoutes {
            router: router.fallback_service(fallback),
            segments: segments.into(),
        }
    }

    /// Whether `path` (canonical, as sanitised) can be one of the own routes; a superset
    /// test, since a path the router does not claim falls back to the proxy path anyway.
    fn may_claim(&self, path: &str) -> bool {
        let segment = first_segment(path);
        self.segments.contains(&segment)
    }

    /// Runs the router with the context (and, for its fallback, the client connection's
    /// upstream connection) in the request's extensions.
    async fn answer(
        &self,
        ctx: Arc<RequestContext>,
        reserved: Arc<ReservedConnection>,
        mut request: Request,
    ) -> Response {
        let extensions = request.extensions_mut();
        extensions.insert(ctx);
        extensions.insert(reserved);
        let mut response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|e| match e {});
        if response.extensions_mut().remove::<Forwarded>().is_none() {
            response = routes::method_not_allowed_as_json(response);
        }
        response
    }
}

const INTEGRATIONS: &str = "/integrations";

/// `ping` for `/ping`, `oauth2` for `/oauth2/auth`, `` for `/`.
fn first_segment(path: &str) -> &str {
    let rest = path.strip_prefix('/').unwrap_or(path);
    rest.split('/').next().unwrap_or(rest)
}

/// The router's fallback: a path under an own segment that no route claims
/// (`/oauth2/other`) goes on to the proxy path, exactly as if it had never come here —
/// except under `/integrations`, the proxy's own namespace.
async fn unclaimed(state: &AppState, request: Request) -> Response {
    // The pipeline stores both before running the router; without them, refuse.
    let extensions = request.extensions();
    let (Some(ctx), Some(reserved)) = (
        extensions.get::<Arc<RequestContext>>().cloned(),
        extensions.get::<Arc<ReservedConnection>>().cloned(),
    ) else {
        return ProxyError::Internal.into_response();
    };
    if state.integrations.is_some() && is_integrations_namespace(ctx.path.as_str()) {
        // An unknown path under it (a trailing slash, a typo) is a 404 here, never the
        // application's to answer.
        return ProxyError::NotFound.into_response();
    }
    let mut response = proxy_path(state, &ctx, &reserved, request).await;
    response.extensions_mut().insert(Forwarded);
    response
}

/// True for `/integrations` and everything under it: the proxy's namespace when
/// integrations are enabled (SPEC §4).
fn is_integrations_namespace(path: &str) -> bool {
    path.strip_prefix(INTEGRATIONS)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Marks a response of the router's fallback (the proxy path): the upstream's answer, which
/// the own-route rules (JSON 405) must leave alone.
#[derive(Clone, Copy)]
struct Forwarded;

#[cfg(test)]
mod tests {
    use std::mem::size_of_val;

    use super::*;
    use crate::config;
    use crate::telemetry::Metrics;

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
        let state = AppState::new(config, Metrics::new()).await.unwrap();
        assert!(
            state.auth.sign_in.is_some(),
            "the session path is part of the measure"
        );
        let app = App::new(state.clone());
        let conn = ConnectionInfo::new(([127, 0, 0, 1], 1).into(), false);
        let request = || Request::new(axum::body::Body::empty());
        let (parts, _) = request().into_parts();
        let path = crate::http::path::RequestPath::new(parts.uri.clone(), None);
        let ctx = RequestContext::new(conn.peer.clone(), path);

        let handle = size_of_val(&app.handle(conn.clone(), request()));
        let gate = size_of_val(&state.auth.gate(&parts, &ctx, "/", Mode::Route));
        let client = crate::auth::budget::ClientKey::of(conn.peer.addr.ip());
        let lookup = size_of_val(&state.auth.identities.lookup("token", client));
        let upstream = size_of_val(&state.forwarder.upstream.forward(request(), &conn.upstream));
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

    #[tokio::test]
    async fn the_router_is_asked_only_under_the_segments_of_its_routes() {
        let config = config::Config::from_toml(
            "[server]\nupstream = \"http://127.0.0.1:1\"\n[bink]\nbase_url = \"http://127.0.0.1:2\"\n",
            &config::NoEnv,
        )
        .unwrap();
        let own = OwnRoutes::new(&AppState::new(config, Metrics::new()).await.unwrap());
        for path in [
            "/ping",
            "/ready",
            "/oauth2/auth",
            "/oauth2/userinfo",
            "/oauth2/start",
            "/oauth2/callback",
            "/oauth2/sign_out",
            "/oauth2/other",
            "/.well-known/jwks.json",
        ] {
            assert!(own.may_claim(path), "{path}");
        }
        // Integrations are off here: their namespace is the application's.
        for path in [
            "/",
            "/app",
            "/pingx",
            "/api/oauth2/start",
            "/integrations/ui",
        ] {
            assert!(!own.may_claim(path), "{path}");
        }
    }

    #[test]
    fn the_integrations_namespace_is_the_prefix_and_what_is_under_it() {
        for p in [
            "/integrations",
            "/integrations/",
            "/integrations/ui/",
            "/integrations/x/y",
        ] {
            assert!(is_integrations_namespace(p), "{p}");
        }
        for p in ["/integrationsx", "/integration", "/app/integrations", "/"] {
            assert!(!is_integrations_namespace(p), "{p}");
        }
    }
}
