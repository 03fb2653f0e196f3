//! Read views of the replica, shaped exactly like the matching keys of the
//! server's `GET /v1/users/{user}/state` (field order included), so a
//! replica and the server can be compared as JSON text.

use baton_crdt::{UserDoc, VersionVector};
use baton_protocol::LeaseView;
use serde::{Deserialize, Serialize};

/// The user's state as this device knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateView {
    /// The user's server version this state is at.
    pub version: u64,
    /// Per device, the highest seq contained.
    pub vv: VersionVector,
    /// The watchlist, sorted by content id.
    pub watchlist: Vec<WatchlistEntry>,
    /// Playback positions, sorted by content id.
    pub playback: Vec<PlaybackEntry>,
    /// The preferences document as JSON.
    pub preferences: serde_json::Value,
    /// The active-player lease.
    pub lease: LeaseView,
}

/// One watchlist entry: the server's own view type (one shape for both).
pub use baton_sync::WatchlistView as WatchlistEntry;

/// One playback register: the server's own view type.
pub use baton_sync::PlaybackView as PlaybackEntry;

impl StateView {
    /// The view of `doc` at `version` with `lease`.
    pub fn of(doc: &UserDoc, version: u64, lease: &LeaseView) -> Self {
        StateView {
            version,
            vv: doc.vv().clone(),
            watchlist: WatchlistEntry::list(doc),
            playback: PlaybackEntry::list(doc),
            preferences: doc.preferences_json(),
            lease: lease.clone(),
        }
    }

    /// Is `content` on the watchlist?
    pub fn contains(&self, content: &str) -> bool {
        self.watchlist.iter().any(|w| w.content == content)
    }

    /// The playback register of `content`.
    pub fn playback_of(&self, content: &str) -> Option<&PlaybackEntry> {
        self.playback.iter().find(|p| p.content == content)
    }
}
