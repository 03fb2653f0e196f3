//! Who a verified token speaks for.

use super::{Scope, Scopes};

/// The identity and rights proven by a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user (`sub`).
    pub user: String,
    /// The device (`device` claim); `None` for service tokens.
    pub device: Option<String>,
    /// Granted scopes (`scope` claim).
    pub scopes: Scopes,
    /// Token id (`jti`), the revocation handle, if the issuer set one.
    pub jti: Option<String>,
    /// `exp`, seconds since the Unix epoch.
    pub expires_at: u64,
}

impl Principal {
    /// A device reads only its own user's state; a `service:read` token reads anyone's.
    pub fn can_read_user(&self, user: &str) -> bool {
        self.user == user || self.scopes.contains(Scope::ServiceRead)
    }

    /// Whether `scope` was granted.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(scope)
    }
}
