//! The application wiring, the only part that knows every other: the services built from
//! the configuration ([`state`]), the request pipeline ([`pipeline`]), the access log, the
//! application-wide routes, and starting and stopping the listeners.

pub mod access_log;
pub mod pipeline;
pub mod routes;
pub mod state;

use std::net::SocketAddr;

use axum::routing::get;
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::error::SetupError;
use crate::server;
use crate::telemetry::Metrics;

pub use pipeline::App;
pub use state::{AppState, Services};

/// A start-up failure that is not a config syntax problem (exit code 1), naming the
/// config key it comes from.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Tls(#[from] server::TlsError),
}

/// A running proxy: its addresses and a handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    /// Work that runs beside the server (webhook delivery), stopped with it.
    background: Vec<JoinHandle<()>>,
}

impl Running {
    /// Begins graceful shutdown and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        self.stop_background().await;
    }

    /// Waits until the server stops (after a signal, for `serve`).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
        self.stop_background().await;
    }

    /// Background work holds nothing that would be lost: an event mid-delivery keeps its
    /// lease and is delivered again after it.
    async fn stop_background(&mut self) {
        for task in self.background.drain(..) {
            task.abort();
            let _ = task.await;
        }
    }
}

/// Binds the listeners and starts serving. Shutdown begins on `Running::shutdown` or,
/// when `signals` is true, on SIGTERM/SIGINT.
pub async fn start(config: Config, signals: bool) -> Result<Running, StartError> {
    let metrics = Metrics::new();
    let tls = match &config.server.tls {
        Some(files) => Some(server::tls_acceptor(files)?),
        None => None,
    };
    let listener = server::bind(config.server.listen, "server.listen").await?;
    let addr = listener
        .local_addr()
        .map_err(|e| SetupError::new("server.listen", e))?;
    let metrics_listener = match config.server.metrics_listen {
        Some(a) => Some(
            server::bind(a, "server.metrics_listen")
                .await
                .map_err(StartError::Setup)?,
        ),
        None => None,
    };
    let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
    let state = AppState::new(config, metrics.clone()).await?;
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
    let background = state
        .outbox
        .iter()
        .map(|outbox| tokio::spawn(outbox.clone().run()))
        .collect();
    tracing::info!(%addr, upstream = %state.config.server.upstream, "bink-proxy listening");
    Ok(Running {
        addr,
        metrics_addr,
        state,
        stop: Some(stop_tx),
        task,
        background,
    })
}
