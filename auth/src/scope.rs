//! OAuth-style scopes carried in the space-separated `scope` claim.

use std::fmt;
use std::str::FromStr;

use super::AuthError;

/// One permission a token can grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `read:watchlist`
    ReadWatchlist,
    /// `write:watchlist`
    WriteWatchlist,
    /// `read:preferences`
    ReadPreferences,
    /// `write:preferences`
    WritePreferences,
    /// `playback:control`
    PlaybackControl,
    /// `service:read`: a backend service may read any user's state.
    ServiceRead,
    /// `admin:revoke`: an operator may revoke tokens.
    AdminRevoke,
    /// `admin:erase`: an operator may erase a user's data (and export it).
    AdminErase,
}

impl Scope {
    /// Every scope, in wire order.
    pub const ALL: [Scope; 8] = [
        Scope::ReadWatchlist,
        Scope::WriteWatchlist,
        Scope::ReadPreferences,
        Scope::WritePreferences,
        Scope::PlaybackControl,
        Scope::ServiceRead,
        Scope::AdminRevoke,
        Scope::AdminErase,
    ];

    /// The five scopes a device token carries by default.
    pub const DEVICE: [Scope; 5] = [
        Scope::ReadWatchlist,
        Scope::WriteWatchlist,
        Scope::ReadPreferences,
        Scope::WritePreferences,
        Scope::PlaybackControl,
    ];

    /// The wire name, e.g. `"read:watchlist"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::ReadWatchlist => "read:watchlist",
            Scope::WriteWatchlist => "write:watchlist",
            Scope::ReadPreferences => "read:preferences",
            Scope::WritePreferences => "write:preferences",
            Scope::PlaybackControl => "playback:control",
            Scope::ServiceRead => "service:read",
            Scope::AdminRevoke => "admin:revoke",
            Scope::AdminErase => "admin:erase",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| AuthError::UnknownScope(s.to_owned()))
    }
}

/// A small set of [`Scope`]s (a bit set; `Copy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Scopes(u8);

impl Scopes {
    /// No scope at all.
    pub const fn empty() -> Self {
        Scopes(0)
    }

    /// Parses the space-separated `scope` claim; unknown names are ignored.
    pub fn parse(claim: &str) -> Self {
        claim
            .split_ascii_whitespace()
            .filter_map(|name| name.parse::<Scope>().ok())
            .collect()
    }

    /// Whether `scope` is granted.
    pub const fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Adds `scope`.
    pub fn insert(&mut self, scope: Scope) {
        self.0 |= scope.bit();
    }

    /// Whether no scope is granted.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The granted scopes, in wire order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut scopes = Scopes::empty();
        for scope in iter {
            scopes.insert(scope);
        }
        scopes
    }
}

impl From<&[Scope]> for Scopes {
    fn from(scopes: &[Scope]) -> Self {
        scopes.iter().copied().collect()
    }
}

/// Formats as the `scope` claim: wire names separated by single spaces.
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}
