//! End-to-end tests: the real proxy, sandbox Bink and the demo upstream on loopback.

mod common;

mod bearer;
mod data_path;
mod front_proxies;
mod gateway;
mod hardening;
mod headers;
mod integrations;
mod lifecycle;
mod policy;
mod process;
mod redis_store;
mod routes;
mod signin;
mod vendor_sdks;
mod webhooks;
