//! # baton-auth
//!
//! Authentication of devices and services with JWT bearer tokens: the one
//! verifier the WebSocket and REST edge, the PubNub bridge and the cluster
//! share, and the minter of development tokens (the CLI and the harness), in
//! a crate of its own so none of them pulls in the others.
//!
//! A client presents a token on the WebSocket upgrade or a REST call, either as
//! `Authorization: Bearer <jwt>` or as `?token=<jwt>` ([`bearer_or_query`]).
//! A [`Verifier`] checks it against the configured keys ([`AuthConfig`],
//! [`KeySource`]) and yields a [`Principal`]: the user (`sub`), the device (if
//! any), the granted [`Scopes`] and the expiry. Every refusal is an
//! [`AuthError`] with a stable [`AuthError::code`]. The identities a token
//! names are checked here, once ([`identity`]): an invalid `sub`, `device` or
//! `jti` is refused with `invalid_identity` and never reaches the store.
//!
//! Flow of one check (all synchronous, no I/O, no allocation-heavy work):
//! header decoded -> `alg` compared with the configured algorithm -> key picked
//! by `kid` from the current key set -> signature verified -> claims checked
//! against `now` (with leeway).
//!
//! Keys come from a PEM public key, a JWKS file, or a JWKS URL that a
//! background task refreshes; a token naming an unknown `kid` asks that task
//! for one early refetch (rate-limited). [`Minter`] signs development tokens.

mod claims;
mod config;
mod error;
mod extract;
pub mod identity;
mod keys;
mod minter;
mod principal;
mod refresh;
mod scope;
mod verifier;

#[cfg(test)]
mod tests;

pub use config::{AuthConfig, KeySource};
pub use error::AuthError;
pub use extract::bearer_or_query;
pub use jsonwebtoken::Algorithm;
pub use minter::Minter;
pub use principal::Principal;
pub use refresh::MIN_KID_REFETCH_INTERVAL;
pub use scope::{Scope, Scopes};
pub use verifier::Verifier;
