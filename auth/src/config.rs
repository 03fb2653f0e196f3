//! What a [`Verifier`](super::Verifier) trusts.

use std::path::PathBuf;
use std::time::Duration;

use jsonwebtoken::Algorithm;

/// The verifier's configuration: who may issue tokens, for whom, and with which keys.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Required `iss` claim.
    pub issuer: String,
    /// Required member of the `aud` claim.
    pub audience: String,
    /// The only accepted header `alg` (RS256 by default).
    pub algorithm: Algorithm,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
    /// Where the verification keys come from.
    pub keys: KeySource,
}

impl AuthConfig {
    /// Default leeway on `exp`/`nbf`.
    pub const DEFAULT_LEEWAY_SECS: u64 = 30;

    /// RS256 with the default leeway.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, keys: KeySource) -> Self {
        AuthConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            algorithm: Algorithm::RS256,
            leeway_secs: Self::DEFAULT_LEEWAY_SECS,
            keys,
        }
    }
}

/// Where verification keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// One public key (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY` PEM); any `kid` is accepted.
    Pem {
        /// The PEM text.
        public_pem: String,
    },
    /// A JWKS document on disk, read once at start; keys are selected by `kid`.
    JwksFile(PathBuf),
    /// A JWKS document fetched at start and then every `refresh` (and early,
    /// rate-limited, when a token names an unknown `kid`).
    JwksUrl {
        /// `http(s)://` URL of the JWKS.
        url: String,
        /// Period of the background refresh.
        refresh: Duration,
    },
}
