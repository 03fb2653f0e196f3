//! Read views of `UserDoc` for fan-out, cold reads and metrics.

use super::{DocStats, PlaybackEntry, PlaybackValue, UserDoc, WatchlistItem};
use crate::{ContentId, Hlc, Register};

impl UserDoc {
    /// Watchlist items in content-id order, each with its latest live add.
    pub fn watchlist(&self) -> Vec<WatchlistItem> {
        self.watchlist
            .items()
            .map(|(content, dot, meta)| WatchlistItem {
                content: content.clone(),
                added_at_ms: meta.added_at_ms,
                added_from: dot.device.clone(),
            })
            .collect()
    }

    /// Every playback register, sorted by content id.
    pub fn playback(&self) -> Vec<PlaybackEntry> {
        self.playback.iter().map(|(c, r)| entry(c, r)).collect()
    }

    /// The playback register of one content id.
    pub fn playback_of(&self, content: &str) -> Option<PlaybackEntry> {
        self.playback
            .get_key_value(content)
            .map(|(c, r)| entry(c, r))
    }

    /// The preferences document as JSON.
    pub fn preferences_json(&self) -> serde_json::Value {
        self.prefs.to_json()
    }

    /// The preferences document itself (a device builds its own edits on
    /// top of a copy of it).
    pub fn preferences(&self) -> &crate::Preferences {
        &self.prefs
    }

    /// Sizes.
    pub fn stats(&self) -> DocStats {
        DocStats {
            watchlist_len: self.watchlist.len(),
            playback_len: self.playback.len(),
            vv_width: self.vv.len(),
            devices: self.devices.len(),
            prefs_bytes: self.prefs.save().len(),
        }
    }
}

fn entry(content: &ContentId, r: &Register<PlaybackValue>) -> PlaybackEntry {
    PlaybackEntry {
        content: content.clone(),
        position_ms: r.value.position_ms,
        duration_ms: r.value.duration_ms,
        state: r.value.state,
        device: r.value.device.clone(),
        ts: Hlc(r.ts),
    }
}
