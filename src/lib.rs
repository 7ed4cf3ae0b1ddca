//! bink-proxy: an identity-aware reverse proxy that lets people and scripts in with Bink.
//!
//! Imports run one way: [`app`] (the wiring) uses the features ([`auth`], [`proxy`],
//! [`integrations`], [`sandbox`]), which use the leaves ([`http`], [`identity`], [`error`],
//! [`config`], [`policy`], [`outbound`], [`telemetry`], [`timer`]). [`server`] holds the
//! listeners and runs any [`server::Handler`]; `app::App` is the one it is given.

pub mod app;
pub mod auth;
pub mod bink;
pub mod config;
pub mod error;
pub mod http;
pub mod identity;
pub mod integrations;
pub mod outbound;
pub mod policy;
#[cfg(test)]
mod proptests;
pub mod proxy;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod server;
pub mod telemetry;
pub mod timer;

pub use app::{start, Running, StartError};
