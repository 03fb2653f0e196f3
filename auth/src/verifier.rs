//! Checking a token: header, key, signature, claims.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use tokio::sync::watch;

use super::claims::Claims;
use super::keys::KeySet;
use super::refresh::{self, JwksEndpoint, RefetchTrigger};
use super::{AuthConfig, AuthError, KeySource, Principal};

/// Verifies bearer tokens. Cheap to clone (one `Arc`); `verify` is synchronous
/// and does no I/O.
#[derive(Debug, Clone)]
pub struct Verifier {
    pub(super) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    cfg: AuthConfig,
    /// Signature-only validation: claims are checked by [`Claims::into_principal`].
    validation: Validation,
    pub(super) keys: watch::Receiver<Arc<KeySet>>,
    refetch: Option<RefetchTrigger>,
}

/// The header fields read before any key is chosen; `alg` stays a string so
/// that `none` or an unknown name is reported as `wrong_algorithm`.
#[derive(Deserialize)]
struct PeekHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

impl Verifier {
    /// Loads the keys (fetching the JWKS for [`KeySource::JwksUrl`] and then
    /// starting its refresh task, which needs a Tokio runtime).
    pub async fn new(cfg: AuthConfig) -> Result<Verifier, AuthError> {
        let alg = cfg.algorithm;
        let (keys, refetch) = match &cfg.keys {
            KeySource::Pem { public_pem } => (KeySet::from_pem(public_pem, alg)?, None),
            KeySource::JwksFile(path) => (KeySet::from_jwks_file(path, alg)?, None),
            KeySource::JwksUrl { url, refresh } => {
                let endpoint = JwksEndpoint::new(url, alg)?;
                let keys = endpoint.fetch().await?;
                (keys, Some((endpoint, *refresh)))
            }
        };
        let (tx, rx) = watch::channel(Arc::new(keys));
        let refetch = refetch.map(|(endpoint, period)| refresh::spawn(endpoint, period, tx));
        let mut validation = Validation::new(alg);
        validation.required_spec_claims = HashSet::new();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        Ok(Verifier {
            inner: Arc::new(Inner {
                cfg,
                validation,
                keys: rx,
                refetch,
            }),
        })
    }

    /// Verifies `token` against the system clock.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.verify_at(token, now)
    }

    /// Verifies `token` as of `now_unix` (seconds since the epoch).
    pub fn verify_at(&self, token: &str, now_unix: u64) -> Result<Principal, AuthError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::MissingToken);
        }
        let header = peek_header(token)?;
        match Algorithm::from_str(&header.alg) {
            Ok(alg) if alg == self.inner.cfg.algorithm => {}
            _ => return Err(AuthError::WrongAlgorithm { found: header.alg }),
        }
        let keys = Arc::clone(&*self.inner.keys.borrow());
        let Some(key) = keys.select(header.kid.as_deref()) else {
            if let Some(refetch) = &self.inner.refetch {
                refetch.request();
            }
            return Err(AuthError::UnknownKey { kid: header.kid });
        };
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.inner.validation)
            .map_err(|e| from_jwt(e, header.alg))?;
        data.claims.into_principal(&self.inner.cfg, now_unix)
    }

    /// The configuration this verifier enforces.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.cfg
    }
}

fn peek_header(token: &str) -> Result<PeekHeader, AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::MalformedToken(
            "expected three dot-separated segments".into(),
        ));
    };
    let json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|e| AuthError::MalformedToken(format!("header: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| AuthError::MalformedToken(format!("header: {e}")))
}

fn from_jwt(e: jsonwebtoken::errors::Error, alg: String) -> AuthError {
    match e.kind() {
        ErrorKind::InvalidSignature | ErrorKind::Crypto(_) => AuthError::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::MissingAlgorithm => AuthError::WrongAlgorithm { found: alg },
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        // Shape, base64, UTF-8 and JSON errors, and any kind added later.
        _ => AuthError::MalformedToken(e.to_string()),
    }
}
