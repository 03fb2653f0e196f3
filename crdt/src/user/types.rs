//! Plain data exchanged with [`super::UserDoc`]: rules, lease, device info,
//! outcomes, log entries and read views.

use crate::{ContentId, Hlc, Op, PlayState};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Acceptance rules for live ops (configuration, not state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// How far a playback timestamp may lie ahead of the server's `now`.
    /// Default 5 s: generous for phones with drifting clocks, small enough
    /// that a broken clock cannot pin a register for long.
    pub max_clock_skew: Duration,
}

impl Rules {
    /// The default skew bound.
    pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(5);
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            max_clock_skew: Self::DEFAULT_MAX_CLOCK_SKEW,
        }
    }
}

/// The playback lease: which device is "the one playing". Tokens only grow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Holder.
    pub device: String,
    /// Fencing token; a playback op presenting an older one is refused.
    pub token: u64,
}

/// Registry entry of a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Device type: "tv", "mobile", "web", ...
    pub kind: String,
    /// Human-readable name.
    pub name: String,
    /// Declared capabilities ("playback", "cast", ...).
    pub capabilities: Vec<String>,
    /// First registration (ms since epoch); kept across re-registrations.
    pub first_seen_ms: u64,
    /// Last sign of life (ms since epoch).
    pub last_seen_ms: u64,
}

/// One accepted op: the delta fanned out to other devices and written to
/// the log. `version` is its log position (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedOp {
    /// Sending device.
    pub device: String,
    /// The device's seq for this op.
    pub seq: u64,
    /// Document version after this op.
    pub version: u64,
    /// Server time of acceptance (ms since epoch).
    pub at_ms: u64,
    /// The op itself.
    pub op: Op,
}

/// Result of [`super::UserDoc::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `(device, seq)` was already applied: ack again, fan out nothing.
    Duplicate {
        /// Current document version.
        version: u64,
    },
    /// Applied. The lease is `Some` when this op granted or moved the lease
    /// (a release by `Ended` shows as `None` here and in `UserDoc::lease()`).
    Applied(LoggedOp, Option<Lease>),
}

/// A watchlist item as read by clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchlistItem {
    /// The item.
    pub content: ContentId,
    /// Time of its most recent live add.
    pub added_at_ms: u64,
    /// Device of that add (`"~retired"` once that device was retired).
    pub added_from: String,
}

/// A playback register as read by clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybackEntry {
    /// The item.
    pub content: ContentId,
    /// Position.
    pub position_ms: u64,
    /// Length.
    pub duration_ms: u64,
    /// Playing / paused / ended.
    pub state: PlayState,
    /// Writing device.
    pub device: String,
    /// Winning timestamp.
    pub ts: Hlc,
}

/// Sizes, for metrics and cold reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocStats {
    /// Items in the watchlist.
    pub watchlist_len: usize,
    /// Content ids with a playback register.
    pub playback_len: usize,
    /// Entries in the version vector.
    pub vv_width: usize,
    /// Registered devices.
    pub devices: usize,
    /// Size of the saved preferences document.
    pub prefs_bytes: usize,
}

/// Value of a playback register (the timestamp lives in the register).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct PlaybackValue {
    pub position_ms: u64,
    pub duration_ms: u64,
    pub state: PlayState,
    pub device: String,
}
