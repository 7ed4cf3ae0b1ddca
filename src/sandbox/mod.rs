//! Stand-ins for the outside world, used by `dev`, `sandbox` and the test suite: a Bink
//! user endpoint with fixed personal access tokens, and a demo upstream that shows what
//! it received.

pub mod bink;
pub mod upstream;

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

pub use bink::{SandboxBink, SAMPLE_USERS};

/// Serves `router` on `addr` in the background; returns the bound address.
pub async fn spawn(router: Router, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(bound)
}
