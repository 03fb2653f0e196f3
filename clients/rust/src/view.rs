//! Read views of the replica, shaped exactly like the matching keys of the
//! server's `GET /v1/users/{user}/state` (field order included), so a
//! replica and the server can be compared as JSON text.

use baton_crdt::{PlayState, UserDoc, VersionVector};
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

/// One watchlist entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchlistEntry {
    /// Content id.
    pub content: String,
    /// When it was added (device clock of the latest live add, Unix ms).
    pub added_at_ms: u64,
    /// The device of that add.
    pub added_from: String,
}

/// One playback register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybackEntry {
    /// Content id.
    pub content: String,
    /// Position in ms.
    pub position_ms: u64,
    /// Duration in ms.
    pub duration_ms: u64,
    /// Playing, paused or ended.
    pub state: PlayState,
    /// The device that wrote it.
    pub device: String,
    /// Its HLC timestamp, `"<time>/<hlc_id>"`.
    pub ts: String,
}

impl StateView {
    /// The view of `doc` at `version` with `lease`.
    pub fn of(doc: &UserDoc, version: u64, lease: &LeaseView) -> Self {
        StateView {
            version,
            vv: doc.vv().clone(),
            watchlist: doc
                .watchlist()
                .into_iter()
                .map(|w| WatchlistEntry {
                    content: w.content.as_str().to_owned(),
                    added_at_ms: w.added_at_ms,
                    added_from: w.added_from,
                })
                .collect(),
            playback: doc
                .playback()
                .into_iter()
                .map(|p| PlaybackEntry {
                    content: p.content.as_str().to_owned(),
                    position_ms: p.position_ms,
                    duration_ms: p.duration_ms,
                    state: p.state,
                    device: p.device,
                    ts: p.ts.to_string(),
                })
                .collect(),
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
