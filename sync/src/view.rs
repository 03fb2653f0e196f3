//! Read models of a user's state for REST and the admin read.

use baton_crdt::{PlayState, UserDoc, VersionVector};
use serde::{Deserialize, Serialize};

use baton_protocol::{LeaseView, PresenceEntry};

use crate::machine::UserSync;

/// A user's whole durable state.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    /// User id.
    pub user: String,
    /// Server version (also the ETag).
    pub version: u64,
    /// What the server has seen per device.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, u64>))]
    pub vv: VersionVector,
    /// The watchlist, sorted by content id.
    pub watchlist: Vec<WatchlistView>,
    /// Playback positions, sorted by content id.
    pub playback: Vec<PlaybackView>,
    /// Registered devices with presence.
    pub devices: Vec<DeviceView>,
    /// The preferences document as JSON.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub preferences: serde_json::Value,
    /// The active-player lease.
    pub lease: LeaseView,
}

/// One watchlist entry (also the device clients' view: one shape for both,
/// so a replica and the server compare as JSON text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WatchlistView {
    /// Content id.
    pub content: String,
    /// When it was added (device clock, Unix ms).
    pub added_at_ms: u64,
    /// Device that added it.
    pub added_from: String,
}

/// One playback position (also the device clients' view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaybackView {
    /// Content id.
    pub content: String,
    /// Position in ms.
    pub position_ms: u64,
    /// Duration in ms.
    pub duration_ms: u64,
    /// Playing, paused or ended.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "playing"))]
    pub state: PlayState,
    /// Device that wrote it.
    pub device: String,
    /// HLC timestamp of the write.
    pub ts: String,
}

/// A device with presence.
pub type DeviceView = PresenceEntry;

/// Size figures of one user's state (admin read).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserStats {
    /// User id.
    pub user: String,
    /// Server version.
    pub version: u64,
    /// Bytes of the encoded snapshot.
    pub state_bytes: usize,
    /// Watchlist entries.
    pub watchlist_len: usize,
    /// Playback registers.
    pub playback_len: usize,
    /// Version-vector width.
    pub vv_width: usize,
    /// Registered devices.
    pub devices: usize,
    /// Connected devices.
    pub live_devices: usize,
    /// Ops held in memory for resuming devices.
    pub catch_up_window: usize,
    /// Ops applied and not yet durable.
    pub uncommitted: usize,
}

impl WatchlistView {
    /// The watchlist of `doc`, sorted by content id.
    pub fn list(doc: &UserDoc) -> Vec<WatchlistView> {
        doc.watchlist()
            .into_iter()
            .map(|w| WatchlistView {
                content: w.content.as_str().to_owned(),
                added_at_ms: w.added_at_ms,
                added_from: w.added_from,
            })
            .collect()
    }
}

impl PlaybackView {
    /// The playback registers of `doc`, sorted by content id.
    pub fn list(doc: &UserDoc) -> Vec<PlaybackView> {
        doc.playback()
            .into_iter()
            .map(|p| PlaybackView {
                content: p.content.as_str().to_owned(),
                position_ms: p.position_ms,
                duration_ms: p.duration_ms,
                state: p.state,
                device: p.device,
                ts: p.ts.to_string(),
            })
            .collect()
    }
}

impl UserSync {
    /// The durable state (call it only when no commit is in flight, as
    /// [`Input::Read`](crate::Input::Read) does).
    pub fn view(&self) -> UserView {
        UserView {
            user: self.user.clone(),
            version: self.doc.version(),
            vv: self.doc.vv().clone(),
            watchlist: WatchlistView::list(&self.doc),
            playback: PlaybackView::list(&self.doc),
            devices: self.presence(),
            preferences: self.doc.preferences_json(),
            lease: self.durable_lease.clone(),
        }
    }

    /// Size figures (admin read).
    pub fn stats(&self) -> UserStats {
        let s = self.doc.stats();
        UserStats {
            user: self.user.clone(),
            version: self.doc.version(),
            state_bytes: self.doc.to_snapshot_bytes().map_or(0, |b| b.len()),
            watchlist_len: s.watchlist_len,
            playback_len: s.playback_len,
            vv_width: s.vv_width,
            devices: s.devices,
            live_devices: self.devices.len(),
            catch_up_window: self.window.len(),
            uncommitted: self.commits.len(),
        }
    }
}
