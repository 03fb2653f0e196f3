//! Frames a device sends.

use baton_crdt::{ContentId, Op, PlayState, VersionVector};
use serde::{Deserialize, Serialize};

/// One frame from a device. Unknown `type`s and unknown fields are rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// First frame of every connection.
    Hello {
        /// Protocol version the device speaks (must be 1).
        protocol: u32,
        /// What the device is.
        device: DeviceHello,
        /// What the device has seen: per device, the highest `seq` it received or had acknowledged.
        #[serde(default)]
        vv: VersionVector,
    },
    /// One CRDT operation, identified by the device's own `seq`.
    Op {
        /// Per-device sequence number (1, 2, 3, ...): the op's idempotency key.
        seq: u64,
        /// The operation.
        op: Op,
    },
    /// Presence heartbeat, every 10 s, with what the device is doing.
    Heartbeat {
        /// Current activity; `null` when idle.
        #[serde(default)]
        activity: Option<Activity>,
    },
    /// Ask another device of the same user to take over playback.
    Handoff {
        /// Client-chosen id echoed in the `handoff_result`.
        request_id: String,
        /// Target device id.
        target: String,
        /// Content to play.
        content: ContentId,
        /// Where to start.
        position_ms: u64,
    },
    /// Ask for a full snapshot (for example after local data loss).
    Resync {},
    /// An interaction event for personalization (fire-and-forget, no ack).
    Interaction {
        /// The content interacted with.
        content: ContentId,
        /// `play`, `complete`, `like`, `dislike` or `skip`.
        kind: crate::InteractionKind,
    },
}

/// Device description sent in `hello`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceHello {
    /// Device kind: `tv`, `mobile`, `web`, `tablet`, `console`, `other`.
    pub kind: String,
    /// Human name ("Living room TV").
    #[serde(default)]
    pub name: String,
    /// Capabilities such as `playback`, `4k`.
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// What a device is currently doing, carried by heartbeats and shown in presence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Activity {
    /// Content being played.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub content: ContentId,
    /// Playing, paused or ended.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "playing"))]
    pub state: PlayState,
    /// Position in milliseconds.
    #[serde(default)]
    pub position_ms: u64,
}
