//! The JWT claims Baton reads, and their checks against configuration and time.

use serde::{Deserialize, Deserializer, Serialize};

use super::identity::{self, DEVICE_RULE, JTI_RULE, USER_RULE};
use super::{AuthConfig, AuthError, Principal, Scopes};

/// Claims as they appear on the wire. Every field is optional here so that a
/// missing claim is reported as `missing_claim`, not as a JSON error.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub exp: Option<u64>,
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<u64>,
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(a) => a == audience,
            Audience::Many(all) => all.iter().any(|a| a == audience),
        }
    }
}

/// NumericDate: integer seconds, or a JSON float (fraction dropped).
fn numeric_date<'de, D: Deserializer<'de>>(de: D) -> Result<Option<u64>, D::Error> {
    let Some(n) = Option::<serde_json::Number>::deserialize(de)? else {
        return Ok(None);
    };
    if let Some(secs) = n.as_u64() {
        return Ok(Some(secs));
    }
    match n.as_f64() {
        Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f as u64)),
        _ => Err(serde::de::Error::custom(
            "NumericDate must be a non-negative number",
        )),
    }
}

fn non_empty(value: Option<String>, claim: &'static str) -> Result<String, AuthError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or(AuthError::MissingClaim(claim))
}

/// `Ok(value)` when `valid`, else `invalid_identity` naming the claim.
fn checked(
    value: String,
    valid: fn(&str) -> bool,
    claim: &'static str,
    rule: &'static str,
) -> Result<String, AuthError> {
    if valid(&value) {
        Ok(value)
    } else {
        Err(AuthError::InvalidIdentity { claim, rule })
    }
}

impl Claims {
    /// Checks presence, issuer, audience, time window and the identities
    /// (`sub`, `device`, `jti`), in that order, and builds the principal. `exp` passes while `now <= exp + leeway`; `nbf`
    /// passes once `now + leeway >= nbf`.
    pub(super) fn into_principal(self, cfg: &AuthConfig, now: u64) -> Result<Principal, AuthError> {
        let user = non_empty(self.sub, "sub")?;
        let exp = self.exp.ok_or(AuthError::MissingClaim("exp"))?;
        let aud = self.aud.ok_or(AuthError::MissingClaim("aud"))?;
        let iss = non_empty(self.iss, "iss")?;
        if iss != cfg.issuer {
            return Err(AuthError::WrongIssuer);
        }
        if !aud.contains(&cfg.audience) {
            return Err(AuthError::WrongAudience);
        }
        if now > exp.saturating_add(cfg.leeway_secs) {
            return Err(AuthError::Expired);
        }
        if let Some(nbf) = self.nbf {
            if now.saturating_add(cfg.leeway_secs) < nbf {
                return Err(AuthError::NotYetValid);
            }
        }
        let user = checked(user, identity::valid_user, "sub", USER_RULE)?;
        // An empty `device` is no device (a service token).
        let device = self
            .device
            .filter(|d| !d.is_empty())
            .map(|d| checked(d, identity::valid_device, "device", DEVICE_RULE))
            .transpose()?;
        let jti = self
            .jti
            .map(|j| checked(j, identity::valid_jti, "jti", JTI_RULE))
            .transpose()?;
        Ok(Principal {
            user,
            device,
            scopes: self.scope.as_deref().map(Scopes::parse).unwrap_or_default(),
            jti,
            expires_at: exp,
            issued_at: self.iat,
        })
    }
}
