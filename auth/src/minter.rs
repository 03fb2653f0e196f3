//! Signing development tokens.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::claims::{Audience, Claims};
use super::{AuthError, Scope, Scopes};

/// Signs RS256 tokens with a private key (the node's development key).
/// Production tokens come from the real issuer, never from here.
pub struct Minter {
    key: EncodingKey,
    header: Header,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minter")
            .field("kid", &self.header.kid)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl Minter {
    /// The `kid` put in every minted token's header.
    pub const KID: &'static str = "dev";

    /// From an RSA private key in PEM (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
    pub fn from_private_pem(pem: &str, issuer: &str, audience: &str) -> Result<Minter, AuthError> {
        let invalid = |e: jsonwebtoken::errors::Error| AuthError::InvalidKey {
            origin: "private pem".into(),
            reason: e.to_string(),
        };
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(invalid)?;
        // The PEM parser also accepts public keys; one probe signature proves
        // it is a usable private key now rather than at the first mint.
        jsonwebtoken::crypto::sign(b"probe", &key, Algorithm::RS256).map_err(invalid)?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(Self::KID.to_owned());
        Ok(Minter {
            key,
            header,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// A token for `user` (and `device`, if any) granting `scopes`, issued at
    /// `now_unix` and valid for `ttl`, with a fresh random `jti`.
    pub fn mint(
        &self,
        user: &str,
        device: Option<&str>,
        scopes: &[Scope],
        ttl: Duration,
        now_unix: u64,
    ) -> Result<String, AuthError> {
        if user.is_empty() {
            return Err(AuthError::MissingClaim("sub"));
        }
        let scopes = Scopes::from(scopes);
        let claims = Claims {
            sub: Some(user.to_owned()),
            exp: Some(now_unix.saturating_add(ttl.as_secs())),
            nbf: None,
            iat: Some(now_unix),
            aud: Some(Audience::One(self.audience.clone())),
            iss: Some(self.issuer.clone()),
            device: device.map(str::to_owned),
            scope: (!scopes.is_empty()).then(|| scopes.to_string()),
            jti: Some(uuid::Uuid::new_v4().to_string()),
        };
        jsonwebtoken::encode(&self.header, &claims, &self.key)
            .map_err(|e| AuthError::Signing(e.to_string()))
    }
}
