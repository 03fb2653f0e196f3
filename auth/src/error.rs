//! The one error type of the auth boundary.

use std::path::PathBuf;

/// Why a token was refused, or why keys could not be loaded or a token minted.
///
/// Token refusals (`is_token_error() == true`) are the client's fault and map
/// to HTTP 401 / a WebSocket close; the others are configuration or
/// infrastructure failures of this node. No variant touches any state: a failed
/// check leaves the verifier's key set as it was.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No token was presented.
    #[error("no bearer token presented")]
    MissingToken,
    /// The token was revoked (by its `jti`).
    #[error("token revoked")]
    Revoked,
    /// The token's user was erased after the token was issued (or the token has
    /// no `iat`): wipe the local replica and get a new token.
    #[error("the user was erased after this token was issued: wipe local data and sign in again")]
    UserErased,
    /// The token is not a well-formed JWT (segments, base64, JSON, claim types).
    #[error("malformed token: {0}")]
    MalformedToken(String),
    /// The signature does not verify with the selected key.
    #[error("token signature is invalid")]
    BadSignature,
    /// `exp` (plus leeway) is in the past.
    #[error("token expired")]
    Expired,
    /// `nbf` (minus leeway) is in the future.
    #[error("token is not valid yet")]
    NotYetValid,
    /// `aud` does not contain the configured audience.
    #[error("token audience is not accepted")]
    WrongAudience,
    /// `iss` is not the configured issuer.
    #[error("token issuer is not accepted")]
    WrongIssuer,
    /// The header's `alg` is not the configured algorithm (e.g. `HS256`, `none`).
    #[error("token algorithm `{found}` is not accepted")]
    WrongAlgorithm {
        /// The `alg` the token announced.
        found: String,
    },
    /// No key in the current key set matches the token's `kid`.
    #[error("no key for kid {kid:?}")]
    UnknownKey {
        /// The `kid` the token named, if any.
        kid: Option<String>,
    },
    /// A required claim is absent (or empty).
    #[error("token lacks the `{0}` claim")]
    MissingClaim(&'static str),
    /// `sub`, `device` or `jti` breaks its rule ([`super::identity`]).
    #[error("the token's `{claim}` claim is invalid: it must be {rule}")]
    InvalidIdentity {
        /// The claim.
        claim: &'static str,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// Key material could not be parsed (PEM, JWK, JWKS document).
    #[error("invalid key material from {origin}: {reason}")]
    InvalidKey {
        /// Where the key came from (file, URL, "pem").
        origin: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A key file could not be read.
    #[error("cannot read key file {path}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The JWKS URL could not be fetched.
    #[error("cannot fetch JWKS from {url}: {reason}")]
    JwksFetch {
        /// The URL.
        url: String,
        /// The transport or HTTP failure.
        reason: String,
    },
    /// A scope name given by an operator (CLI, config) is not known. Token
    /// claims never produce this: unknown names in a `scope` claim are ignored.
    #[error("unknown scope `{0}` (known: read:watchlist write:watchlist read:preferences write:preferences playback:control service:read)")]
    UnknownScope(String),
    /// Signing a token failed (minting only).
    #[error("cannot sign token: {0}")]
    Signing(String),
}

impl AuthError {
    /// A stable, machine-readable code (used in close reasons, REST error
    /// bodies and metrics labels). Never changes once released.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::Revoked => "revoked",
            Self::UserErased => "user_erased",
            Self::MalformedToken(_) => "malformed_token",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongAudience => "wrong_audience",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAlgorithm { .. } => "wrong_algorithm",
            Self::UnknownKey { .. } => "unknown_key",
            Self::MissingClaim(_) => "missing_claim",
            Self::InvalidIdentity { .. } => "invalid_identity",
            Self::InvalidKey { .. } => "invalid_key",
            Self::KeyFile { .. } => "key_file_unreadable",
            Self::JwksFetch { .. } => "jwks_unavailable",
            Self::UnknownScope(_) => "unknown_scope",
            Self::Signing(_) => "signing_failed",
        }
    }

    /// True when the presented token was refused (the client's fault: answer
    /// 401); false for key-loading and signing failures (this node's fault).
    pub fn is_token_error(&self) -> bool {
        !matches!(
            self,
            Self::InvalidKey { .. }
                | Self::KeyFile { .. }
                | Self::JwksFetch { .. }
                | Self::UnknownScope(_)
                | Self::Signing(_)
        )
    }
}
