//! `Op`: what a device sends, as it appears in op frames and the delta log.

use crate::{ContentId, Dot, Hlc};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest integer allowed anywhere on the wire: 2^53 - 1, the largest
/// integer that every JSON reader holds exactly (JavaScript's
/// `Number.MAX_SAFE_INTEGER`; readers that parse numbers as doubles round
/// anything larger). Timestamps, whose time part is larger, travel as text.
pub const MAX_WIRE_INTEGER: u64 = (1 << 53) - 1;

/// Playback state of one content item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlayState {
    /// Playing now.
    Playing,
    /// Paused at `position_ms`.
    Paused,
    /// Watched to the end.
    Ended,
}

/// Bytes carried as standard-alphabet base64 text in JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct B64(pub Vec<u8>);

impl AsRef<[u8]> for B64 {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for B64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for B64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(s.as_bytes())
            .map(B64)
            .map_err(serde::de::Error::custom)
    }
}

/// A device operation. Its identity is `(device, seq)`, carried beside it
/// (op frame, [`crate::LoggedOp`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// Add `content` to the watchlist. `observed` lists the dots of this item
    /// the device had seen; the add supersedes them.
    WatchlistAdd {
        /// The item.
        content: ContentId,
        /// Device-side wall time of the add.
        added_at_ms: u64,
        /// Dots of this item the device had seen.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        observed: Vec<Dot>,
    },
    /// Observed-remove: removes only the listed dots of `content`; a
    /// concurrent add (a dot not listed) survives.
    WatchlistRemove {
        /// The item.
        content: ContentId,
        /// Dots of this item the device had seen.
        observed: Vec<Dot>,
    },
    /// Playback position report (last-writer-wins per content).
    Playback {
        /// The item.
        content: ContentId,
        /// Position in the item.
        position_ms: u64,
        /// Length of the item.
        duration_ms: u64,
        /// Playing / paused / ended.
        state: PlayState,
        /// The device's HLC timestamp (id must be `hlc_id_for(device)`).
        ts: Hlc,
        /// The lease token the device believes current, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lease: Option<u64>,
        /// Take the playback lease (handoff "play here").
        #[serde(default, skip_serializing_if = "is_false")]
        take_lease: bool,
    },
    /// Automerge changes to the preferences document.
    Preferences {
        /// Raw automerge change bytes.
        changes: Vec<B64>,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Op {
    /// The largest integer the op carries (0 if none), to check against
    /// [`MAX_WIRE_INTEGER`] before accepting it from a device.
    pub fn largest_integer(&self) -> u64 {
        let dots = |observed: &[Dot]| observed.iter().map(|d| d.seq).max().unwrap_or(0);
        match self {
            Op::WatchlistAdd {
                added_at_ms,
                observed,
                ..
            } => (*added_at_ms).max(dots(observed)),
            Op::WatchlistRemove { observed, .. } => dots(observed),
            Op::Playback {
                position_ms,
                duration_ms,
                lease,
                ..
            } => (*position_ms).max(*duration_ms).max(lease.unwrap_or(0)),
            Op::Preferences { .. } => 0,
        }
    }

    /// The `kind` tag as it appears on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::WatchlistAdd { .. } => "watchlist_add",
            Op::WatchlistRemove { .. } => "watchlist_remove",
            Op::Playback { .. } => "playback",
            Op::Preferences { .. } => "preferences",
        }
    }
}
