//! An immutable set of verification keys, selected by `kid`.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::AuthError;

/// Keys usable for the configured algorithm. Replaced whole on refresh, never mutated.
pub(super) struct KeySet {
    /// A single PEM key: used whatever the token's `kid`.
    any_kid: Option<DecodingKey>,
    by_kid: HashMap<String, DecodingKey>,
    /// JWKS entries without a `kid`.
    unnamed: Vec<DecodingKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("any_kid", &self.any_kid.is_some())
            .field("kids", &self.by_kid.keys().collect::<Vec<_>>())
            .field("unnamed", &self.unnamed.len())
            .finish()
    }
}

/// The shape of a JWKS; entries are parsed one by one so that one exotic key
/// does not make the whole set unusable.
#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Hmac,
    Rsa,
    Ec,
    Ed,
}

fn family_of(alg: Algorithm) -> Family {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Family::Hmac,
        Algorithm::ES256 | Algorithm::ES384 => Family::Ec,
        Algorithm::EdDSA => Family::Ed,
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => Family::Rsa,
    }
}

fn invalid(origin: &str, reason: impl ToString) -> AuthError {
    AuthError::InvalidKey {
        origin: origin.to_owned(),
        reason: reason.to_string(),
    }
}

impl KeySet {
    /// One public key in PEM form, for an asymmetric `alg`.
    pub(super) fn from_pem(pem: &str, alg: Algorithm) -> Result<KeySet, AuthError> {
        let bytes = pem.as_bytes();
        let key = match family_of(alg) {
            Family::Rsa => DecodingKey::from_rsa_pem(bytes),
            Family::Ec => DecodingKey::from_ec_pem(bytes),
            Family::Ed => DecodingKey::from_ed_pem(bytes),
            Family::Hmac => return Err(invalid("pem", "symmetric algorithms are not supported")),
        }
        .map_err(|e| invalid("pem", e))?;
        Ok(KeySet {
            any_kid: Some(key),
            by_kid: HashMap::new(),
            unnamed: Vec::new(),
        })
    }

    /// A JWKS document. Entries for encryption, for another algorithm or of
    /// another key type are skipped; an empty result is an error.
    pub(super) fn from_jwks(
        json: &[u8],
        alg: Algorithm,
        origin: &str,
    ) -> Result<KeySet, AuthError> {
        let raw: RawJwks = serde_json::from_slice(json).map_err(|e| invalid(origin, e))?;
        let mut set = KeySet {
            any_kid: None,
            by_kid: HashMap::new(),
            unnamed: Vec::new(),
        };
        for entry in raw.keys {
            match usable_key(entry, alg) {
                Ok((kid, key)) => match kid {
                    Some(kid) => {
                        set.by_kid.insert(kid, key);
                    }
                    None => set.unnamed.push(key),
                },
                Err(reason) => tracing::debug!(%origin, %reason, "skipping JWKS entry"),
            }
        }
        if set.len() == 0 {
            return Err(invalid(
                origin,
                format!("no usable {alg:?} key in the JWKS"),
            ));
        }
        Ok(set)
    }

    /// Reads a JWKS file.
    pub(super) fn from_jwks_file(path: &Path, alg: Algorithm) -> Result<KeySet, AuthError> {
        let bytes = std::fs::read(path).map_err(|source| AuthError::KeyFile {
            path: path.to_owned(),
            source,
        })?;
        Self::from_jwks(&bytes, alg, &path.display().to_string())
    }

    /// The key for a token's `kid`. Without a `kid`, only an unambiguous
    /// (single-key) set answers.
    pub(super) fn select(&self, kid: Option<&str>) -> Option<&DecodingKey> {
        if let Some(key) = &self.any_kid {
            return Some(key);
        }
        match kid {
            Some(kid) => self.by_kid.get(kid),
            None if self.len() == 1 => self.by_kid.values().chain(&self.unnamed).next(),
            None => None,
        }
    }

    fn len(&self) -> usize {
        usize::from(self.any_kid.is_some()) + self.by_kid.len() + self.unnamed.len()
    }
}

fn usable_key(
    entry: serde_json::Value,
    alg: Algorithm,
) -> Result<(Option<String>, DecodingKey), String> {
    let jwk: Jwk = serde_json::from_value(entry).map_err(|e| format!("unsupported JWK: {e}"))?;
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Err("key is for encryption".into());
    }
    if let Some(key_alg) = jwk.common.key_algorithm {
        if Algorithm::from_str(&key_alg.to_string()).ok() != Some(alg) {
            return Err(format!("key is for {key_alg}, not {alg:?}"));
        }
    }
    let kty = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Family::Rsa,
        AlgorithmParameters::EllipticCurve(_) => Family::Ec,
        AlgorithmParameters::OctetKeyPair(_) => Family::Ed,
        AlgorithmParameters::OctetKey(_) => Family::Hmac,
    };
    if kty != family_of(alg) || kty == Family::Hmac {
        return Err(format!("key type does not fit {alg:?}"));
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
    Ok((jwk.common.key_id, key))
}
