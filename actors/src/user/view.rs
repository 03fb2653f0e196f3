//! Read models of a user's state for REST and the admin read.

use baton_crdt::{PlayState, VersionVector};
use serde::Serialize;
use utoipa::ToSchema;

use super::actor::UserState;
use super::presence::presence;
use crate::protocol::{LeaseView, PresenceEntry};

/// A user's whole durable state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    /// User id.
    pub user: String,
    /// Server version (also the ETag).
    pub version: u64,
    /// What the server has seen per device.
    #[schema(value_type = std::collections::BTreeMap<String, u64>)]
    pub vv: VersionVector,
    /// The watchlist, sorted by content id.
    pub watchlist: Vec<WatchlistView>,
    /// Playback positions, sorted by content id.
    pub playback: Vec<PlaybackView>,
    /// Registered devices with presence.
    pub devices: Vec<DeviceView>,
    /// The preferences document as JSON.
    #[schema(value_type = Object)]
    pub preferences: serde_json::Value,
    /// The active-player lease.
    pub lease: LeaseView,
}

/// One watchlist entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WatchlistView {
    /// Content id.
    pub content: String,
    /// When it was added (device clock, Unix ms).
    pub added_at_ms: u64,
    /// Device that added it.
    pub added_from: String,
}

/// One playback position.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaybackView {
    /// Content id.
    pub content: String,
    /// Position in ms.
    pub position_ms: u64,
    /// Duration in ms.
    pub duration_ms: u64,
    /// Playing, paused or ended.
    #[schema(value_type = String, example = "playing")]
    pub state: PlayState,
    /// Device that wrote it.
    pub device: String,
    /// HLC timestamp of the write.
    pub ts: String,
}

/// A device with presence.
pub type DeviceView = PresenceEntry;

/// Size figures of one user's state (admin read).
#[derive(Debug, Clone, Serialize, ToSchema)]
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

pub(crate) fn view(state: &UserState) -> UserView {
    UserView {
        user: state.user.clone(),
        version: state.doc.version(),
        vv: state.doc.vv().clone(),
        watchlist: state
            .doc
            .watchlist()
            .into_iter()
            .map(|w| WatchlistView {
                content: w.content.as_str().to_owned(),
                added_at_ms: w.added_at_ms,
                added_from: w.added_from,
            })
            .collect(),
        playback: state
            .doc
            .playback()
            .into_iter()
            .map(|p| PlaybackView {
                content: p.content.as_str().to_owned(),
                position_ms: p.position_ms,
                duration_ms: p.duration_ms,
                state: p.state,
                device: p.device,
                ts: p.ts.to_string(),
            })
            .collect(),
        devices: presence(state),
        preferences: state.doc.preferences_json(),
        lease: state.durable_lease.clone(),
    }
}

pub(crate) fn stats(state: &UserState) -> UserStats {
    let s = state.doc.stats();
    UserStats {
        user: state.user.clone(),
        version: state.doc.version(),
        state_bytes: state.doc.to_snapshot_bytes().map_or(0, |b| b.len()),
        watchlist_len: s.watchlist_len,
        playback_len: s.playback_len,
        vv_width: s.vv_width,
        devices: s.devices,
        live_devices: state.devices.len(),
        catch_up_window: state.window.len(),
        uncommitted: state.commits.uncommitted().count(),
    }
}
