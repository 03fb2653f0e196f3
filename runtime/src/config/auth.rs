//! `[auth]`: which tokens the node trusts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use baton_transport::auth::{Algorithm, AuthConfig, KeySource};
use serde::{Deserialize, Serialize};

use super::check::Checker;
use crate::devkey::DevKey;

/// Token verification settings. With none of `jwks-url`, `jwks-file` and
/// `public-key-file` set, the node trusts its embedded development key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct AuthSection {
    /// Required `iss`.
    pub issuer: String,
    /// Required `aud`.
    pub audience: String,
    /// The one accepted signing algorithm.
    pub algorithm: Algorithm,
    /// JWKS of the production issuer, refreshed periodically.
    pub jwks_url: Option<String>,
    /// JWKS on disk.
    pub jwks_file: Option<PathBuf>,
    /// A single PEM public key on disk.
    pub public_key_file: Option<PathBuf>,
    /// Clock skew tolerated on `exp`/`nbf`, in seconds.
    pub leeway_secs: u64,
    /// Period of the JWKS refresh, in seconds.
    pub jwks_refresh_secs: u64,
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            issuer: "baton-dev".to_owned(),
            audience: "baton".to_owned(),
            algorithm: Algorithm::RS256,
            jwks_url: None,
            jwks_file: None,
            public_key_file: None,
            leeway_secs: 30,
            jwks_refresh_secs: 300,
        }
    }
}

impl AuthSection {
    /// The key of the external key source in use (`"auth.jwks-url"`, ...),
    /// or `None` when the embedded development key is used.
    pub fn external_key_setting(&self) -> Option<&'static str> {
        if self.jwks_url.is_some() {
            Some("auth.jwks-url")
        } else if self.jwks_file.is_some() {
            Some("auth.jwks-file")
        } else if self.public_key_file.is_some() {
            Some("auth.public-key-file")
        } else {
            None
        }
    }

    /// The verifier configuration. Reads `public-key-file`, or loads (creating
    /// it if needed) the development key in `data_dir`.
    pub fn to_auth_config(&self, data_dir: &Path) -> anyhow::Result<AuthConfig> {
        let keys = if let Some(url) = &self.jwks_url {
            KeySource::JwksUrl {
                url: url.clone(),
                refresh: Duration::from_secs(self.jwks_refresh_secs),
            }
        } else if let Some(path) = &self.jwks_file {
            KeySource::JwksFile(path.clone())
        } else if let Some(path) = &self.public_key_file {
            let public_pem = std::fs::read_to_string(path)
                .with_context(|| format!("auth.public-key-file: cannot read {}", path.display()))?;
            KeySource::Pem { public_pem }
        } else {
            KeySource::Pem {
                public_pem: DevKey::load_or_create(data_dir)?.public_pem,
            }
        };
        Ok(AuthConfig {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            algorithm: self.algorithm,
            leeway_secs: self.leeway_secs,
            keys,
        })
    }

    pub(super) fn check(&self, c: &mut Checker) {
        c.ensure(!self.issuer.is_empty(), "auth.issuer", "must not be empty");
        c.ensure(
            !self.audience.is_empty(),
            "auth.audience",
            "must not be empty",
        );
        let sources = [
            self.jwks_url.is_some(),
            self.jwks_file.is_some(),
            self.public_key_file.is_some(),
        ];
        c.ensure(
            sources.iter().filter(|set| **set).count() <= 1,
            "auth.jwks-url",
            "conflicts: set at most one of auth.jwks-url, auth.jwks-file, auth.public-key-file",
        );
        if let Some(url) = &self.jwks_url {
            c.ensure(
                url.starts_with("https://") || url.starts_with("http://"),
                "auth.jwks-url",
                "must be an http(s):// URL",
            );
        }
        let symmetric = matches!(
            self.algorithm,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        );
        c.ensure(
            !symmetric,
            "auth.algorithm",
            "must be an asymmetric algorithm (e.g. RS256)",
        );
        if self.external_key_setting().is_none() {
            c.ensure(
                self.algorithm == Algorithm::RS256,
                "auth.algorithm",
                "must be RS256 with the embedded development key",
            );
        }
        c.at_most("auth.leeway-secs", self.leeway_secs, 300);
        c.at_least("auth.jwks-refresh-secs", self.jwks_refresh_secs, 10);
    }
}
