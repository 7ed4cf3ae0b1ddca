//! Sandbox Bink: `GET /api/oauth/user` answering for fixed personal access tokens, with a
//! call counter and switchable faults so tests can stage every kind of outage.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::identity::{Identity, Plan};

/// A sample account: its personal access token and profile.
pub struct SampleUser {
    pub pat: &'static str,
    pub id: &'static str,
    pub username: Option<&'static str>,
    pub name: Option<&'static str>,
    pub email: Option<&'static str>,
    pub plan: Plan,
    pub verification_level: u8,
}

/// Every plan and verification level, a user without email and a non-ASCII name.
pub const SAMPLE_USERS: &[SampleUser] = &[
    SampleUser {
        pat: "bink_pat_sandbox_ada_free",
        id: "usr_ada",
        username: Some("ada"),
        name: Some("Ada Lovelace"),
        email: Some("ada@example.com"),
        plan: Plan::Free,
        verification_level: 0,
    },
    SampleUser {
        pat: "bink_pat_sandbox_ben_verified",
        id: "usr_ben",
        username: Some("ben"),
        name: Some("Ben Okafor"),
        email: Some("ben@acme.com"),
        plan: Plan::Verified,
        verification_level: 1,
    },
    SampleUser {
        pat: "bink_pat_sandbox_cleo_business",
        id: "usr_cleo",
        username: Some("cleo"),
        name: Some("Cleo Park"),
        email: Some("cleo@acme.com"),
        plan: Plan::Business,
        verification_level: 2,
    },
    SampleUser {
        pat: "bink_pat_sandbox_zoe_unicode",
        id: "usr_zoe",
        username: Some("zoe"),
        name: Some("Zoë Ångström"),
        email: Some("zoe@example.org"),
        plan: Plan::Business,
        verification_level: 1,
    },
    SampleUser {
        pat: "bink_pat_sandbox_ghost_noemail",
        id: "usr_ghost",
        username: None,
        name: None,
        email: None,
        plan: Plan::Verified,
        verification_level: 2,
    },
];

impl SampleUser {
    pub fn identity(&self) -> Identity {
        Identity {
            id: self.id.into(),
            name: self.name.map(Into::into),
            email: self.email.map(Into::into),
            username: self.username.map(Into::into),
            avatar: None,
            plan: self.plan,
            verification_level: self.verification_level,
        }
    }
}

/// How the sandbox misbehaves, for outage tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// Answer with this status (500, 502, 429, ...).
    Status(u16),
    /// Answer 200 with a body that is not the documented JSON.
    Garbage,
    /// Answer correctly after this delay.
    Delay(Duration),
    /// Answer with a redirect to another host (must not be followed).
    Redirect,
}

#[derive(Default)]
struct Inner {
    tokens: RwLock<HashMap<String, Identity>>,
    calls: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    fault: RwLock<Fault>,
}

/// Decrements the in-flight count when a call ends, however it ends.
struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A handle to a sandbox Bink; clones share state.
#[derive(Clone)]
pub struct SandboxBink {
    inner: Arc<Inner>,
}

impl Default for SandboxBink {
    fn default() -> Self {
        Self::new()
    }
}

impl SandboxBink {
    /// A sandbox knowing the [`SAMPLE_USERS`].
    pub fn new() -> SandboxBink {
        let sandbox = SandboxBink {
            inner: Arc::new(Inner::default()),
        };
        for user in SAMPLE_USERS {
            sandbox.add_token(user.pat, user.identity());
        }
        sandbox
    }

    pub fn add_token(&self, token: &str, identity: Identity) {
        if let Ok(mut tokens) = self.inner.tokens.write() {
            tokens.insert(token.to_string(), identity);
        }
    }

    /// Makes `token` answer 401 from now on.
    pub fn revoke(&self, token: &str) {
        if let Ok(mut tokens) = self.inner.tokens.write() {
            tokens.remove(token);
        }
    }

    pub fn set_fault(&self, fault: Fault) {
        if let Ok(mut f) = self.inner.fault.write() {
            *f = fault;
        }
    }

    /// Calls made to the user endpoint so far.
    pub fn calls(&self) -> u64 {
        self.inner.calls.load(Ordering::SeqCst)
    }

    /// The most user-endpoint calls that were ever in progress at once.
    pub fn max_in_flight(&self) -> u64 {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/oauth/user", get(user))
            .with_state(self.clone())
    }

    fn fault(&self) -> Fault {
        self.inner.fault.read().map(|f| *f).unwrap_or_default()
    }

    fn lookup(&self, token: &str) -> Option<Identity> {
        self.inner.tokens.read().ok()?.get(token).cloned()
    }
}

async fn user(State(sandbox): State<SandboxBink>, headers: HeaderMap) -> Response {
    sandbox.inner.calls.fetch_add(1, Ordering::SeqCst);
    let now = sandbox.inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    sandbox.inner.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _in_flight = InFlight(&sandbox.inner.in_flight);
    match sandbox.fault() {
        Fault::None => {}
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, "sandbox fault").into_response();
        }
        Fault::Garbage => return (StatusCode::OK, "<html>maintenance</html>").into_response(),
        Fault::Delay(d) => tokio::time::sleep(d).await,
        Fault::Redirect => {
            return (
                StatusCode::FOUND,
                [(header::LOCATION, "http://127.0.0.1:9/steal")],
            )
                .into_response();
        }
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token.and_then(|t| sandbox.lookup(t)) {
        Some(identity) => axum::Json(identity).into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#)],
            axum::Json(serde_json::json!({"error": "invalid_token"})),
        )
            .into_response(),
    }
}
