//! Stand-ins for the outside world, used by `dev`, `sandbox` and the test suite: Bink
//! (sign-in and the user endpoint, with fixed personal access tokens), Bindbee and Kombo,
//! and a demo upstream that shows what it received.

pub mod bindbee;
pub mod bink;
mod common;
mod connect_page;
pub mod kombo;
mod unified;
pub mod upstream;
pub mod users;
mod webhooks;

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

pub use bindbee::SandboxBindbee;
pub use bink::{SandboxBink, SAMPLE_USERS};
pub use kombo::SandboxKombo;
pub use unified::{RateLimit, EMPLOYEES as SAMPLE_EMPLOYEES, JOBS as SAMPLE_JOBS};

/// Serves `router` on `addr` in the background; returns the bound address.
pub async fn spawn(router: Router, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(bound)
}

/// API keys the sandbox vendors accept.
pub const BINDBEE_API_KEY: &str = "sandbox-bindbee-api-key";
pub const KOMBO_API_KEY: &str = "sandbox-kombo-api-key";

/// Sandbox Bink, Bindbee and Kombo on one loopback port: Bink at `/`, Bindbee under
/// `/bindbee`, Kombo under `/kombo` (its API under `/kombo/v1`).
#[derive(Clone)]
pub struct Sandboxes {
    pub bink: SandboxBink,
    pub bindbee: SandboxBindbee,
    pub kombo: SandboxKombo,
    pub addr: SocketAddr,
}

impl Sandboxes {
    pub async fn spawn(addr: SocketAddr) -> std::io::Result<Sandboxes> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (bink, bindbee, kombo) = (
            SandboxBink::new(),
            SandboxBindbee::new(BINDBEE_API_KEY),
            SandboxKombo::new(KOMBO_API_KEY),
        );
        let router = bink
            .router()
            .nest(
                "/bindbee",
                bindbee.router(&format!("http://{addr}/bindbee")),
            )
            .nest("/kombo", kombo.router(&format!("http://{addr}/kombo")));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Sandboxes {
            bink,
            bindbee,
            kombo,
            addr,
        })
    }

    pub fn bink_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn bindbee_url(&self) -> String {
        format!("http://{}/bindbee", self.addr)
    }

    pub fn kombo_url(&self) -> String {
        format!("http://{}/kombo/v1", self.addr)
    }

    /// `[integrations]` config lines pointing at these sandboxes (keys and SDK scripts).
    pub fn integrations_toml(&self) -> String {
        format!(
            "[integrations.bindbee]\napi_key = \"{BINDBEE_API_KEY}\"\nbase_url = \"{}\"\nsdk_url = \"http://{}/bindbee/initialize.min.js\"\n\n\
             [integrations.kombo]\napi_key = \"{KOMBO_API_KEY}\"\nbase_url = \"{}\"\nsdk_url = \"http://{}/kombo/sdk.js\"\n",
            self.bindbee_url(),
            self.addr,
            self.kombo_url(),
            self.addr
        )
    }
}
