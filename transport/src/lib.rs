//! # baton-transport
//!
//! Everything that speaks HTTP: the device WebSocket at `GET /v1/sync`, the
//! REST cold reads under `/v1/users/{user}/...`, the OpenAPI document, health
//! probes and Prometheus metrics, and JWT authentication ([`auth`]).
//!
//! A device connection: the token is checked and a connection slot taken
//! *before* the upgrade completes (401/403/503 otherwise); the upgraded socket
//! is adapted to the actor layer's `WireIn`/`WireOut` and handed to
//! [`baton_actors::run_session`], which owns it from then on. Socket buffers
//! and the message size cap come from [`TransportConfig`].

pub use baton_auth as auth;

// A user id the edge admits is one the store accepts.
const _: () = assert!(baton_auth::identity::MAX_USER_BYTES == baton_store::MAX_USER_LEN);
mod conn;
mod error;
mod forward;
mod health;
pub mod metrics_catalog;
mod metrics_http;
mod openapi;
mod recommend;
mod rest;
mod revoke;
mod server;
mod socket;
pub mod user_data;
mod ws;

pub use conn::HttpLimits;
pub use error::ApiError;
pub use metrics_http::install_metrics;
pub use openapi::ApiDoc;
pub use server::{bind, router, serve, AppState, TransportConfig};
