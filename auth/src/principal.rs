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
    /// `iat`, seconds since the Unix epoch, if the issuer set it (a user's
    /// erasure refuses tokens issued before it, and tokens without `iat`).
    pub issued_at: Option<u64>,
}

impl Principal {
    /// A device reads only its own user's state; a `service:read` token reads anyone's.
    pub fn can_read_user(&self, user: &str) -> bool {
        self.user == user || self.scopes.contains(Scope::ServiceRead)
    }

    /// The session identity of this token's `device` (which the caller has
    /// checked is this token's device claim): what a device session may do.
    pub fn device_identity(&self, device: String) -> baton_protocol::DeviceIdentity {
        baton_protocol::DeviceIdentity {
            user: self.user.clone(),
            device,
            write_watchlist: self.has(Scope::WriteWatchlist),
            write_preferences: self.has(Scope::WritePreferences),
            playback_control: self.has(Scope::PlaybackControl),
            jti: self.jti.clone(),
            expires_at: Some(self.expires_at),
        }
    }

    /// Whether `scope` was granted.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(scope)
    }
}
