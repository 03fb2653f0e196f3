//! Frames the server sends.

use baton_crdt::{ContentId, Hlc, LoggedOp, VersionVector};
use serde::{Deserialize, Serialize};

use super::client::Activity;

/// One frame to a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Answer to `hello`.
    Welcome(Box<Welcome>),
    /// An op is durable: it was committed to the store before this frame was sent.
    Ack {
        /// The op's `seq`.
        seq: u64,
        /// The user's server version after the op (the watermark).
        version: u64,
        /// `true` when the op had been applied before (a resend); nothing was applied again.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        duplicate: bool,
    },
    /// An op from a device of this user (also used for catch-up after `welcome`).
    Delta(LoggedOp),
    /// One piece of a snapshot; concatenate `data` of chunks 0..total and parse it as JSON.
    SnapshotChunk {
        /// Version the snapshot is at.
        version: u64,
        /// Chunk index, from 0.
        index: u32,
        /// Number of chunks.
        total: u32,
        /// A piece of the snapshot's JSON text.
        data: String,
    },
    /// Catch-up is complete: the device is now at `version`.
    Synced {
        /// The version the device has caught up to.
        version: u64,
    },
    /// Presence of every known device of the user.
    Presence {
        /// One entry per device.
        devices: Vec<PresenceEntry>,
    },
    /// The active-player lease changed.
    Lease(LeaseView),
    /// Start playback here (the target side of a handoff).
    PlaybackControl {
        /// The handoff's request id.
        request_id: String,
        /// The device that asked.
        from: String,
        /// What to play.
        content: ContentId,
        /// Where to start.
        position_ms: u64,
        /// The fencing token of the lease this device now holds.
        lease: u64,
    },
    /// Outcome of a handoff, to the device that asked.
    HandoffResult {
        /// The handoff's request id.
        request_id: String,
        /// What happened.
        outcome: HandoffOutcome,
    },
    /// Something the device sent was refused.
    Error(ErrorFrame),
}

/// The `welcome` frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// Protocol version (1).
    pub protocol: u32,
    /// Connection id, for support and logs.
    pub session: String,
    /// The user.
    pub user: String,
    /// This device.
    pub device: String,
    /// The user's server version now.
    pub version: u64,
    /// What the server has seen, per device.
    pub vv: VersionVector,
    /// The `seq` this device must use for its next new op.
    pub next_seq: u64,
    /// This device's HLC id (hex): the suffix of its playback timestamps.
    pub hlc_id: String,
    /// The server's HLC time now, so the device can correct its clock.
    pub server_time: Hlc,
    /// How catch-up follows: deltas or a snapshot.
    pub resume: ResumeMode,
    /// When `true`, the device must drop its local replica and adopt the snapshot.
    pub reset: bool,
    /// The active-player lease.
    pub lease: LeaseView,
    /// Limits the device must respect.
    pub limits: Limits,
}

/// How the server brings a device up to date after `welcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResumeMode {
    /// `delta` frames follow, then `synced`.
    Deltas,
    /// `snapshot_chunk` frames follow, then `synced`.
    Snapshot,
}

/// The active-player lease as seen by devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeaseView {
    /// Device holding the lease, if any.
    pub holder: Option<String>,
    /// Fencing token (grows with every move).
    pub token: u64,
}

/// Limits announced in `welcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest frame the server accepts, in bytes.
    pub max_message_bytes: usize,
    /// Ops per user per window.
    pub rate_limit_events: u32,
    /// The rate-limit window in seconds.
    pub rate_limit_window_secs: u64,
    /// Ops a device may have unacknowledged at once.
    pub max_inflight_ops: usize,
    /// How often to send `heartbeat`, in seconds.
    pub heartbeat_interval_secs: u64,
    /// Offline after this long without a heartbeat, in seconds.
    pub heartbeat_timeout_secs: u64,
    /// Longest `hello.device.name`, in bytes.
    pub max_name_bytes: usize,
    /// Longest `hello.device.kind`, in bytes.
    pub max_kind_bytes: usize,
    /// Most `hello.device.capabilities`.
    pub max_capabilities: usize,
    /// Longest capability, in bytes.
    pub max_capability_bytes: usize,
    /// Longest `handoff.request_id`, in bytes.
    pub max_request_id_bytes: usize,
    /// `handoff` frames per device per minute.
    pub handoffs_per_minute: u32,
    /// `resync` frames per device per minute.
    pub resyncs_per_minute: u32,
    /// `heartbeat` frames per device per minute.
    pub heartbeats_per_minute: u32,
    /// `interaction` frames per device per minute.
    pub interactions_per_minute: u32,
}

impl Default for Limits {
    /// What a node on its default configuration announces (PROTOCOL.md,
    /// `welcome`); `baton-actors` tests that `ActorConfig::default().limits()`
    /// equals it, so the two cannot drift.
    fn default() -> Self {
        Self {
            max_message_bytes: 65_536,
            rate_limit_events: 100,
            rate_limit_window_secs: 60,
            max_inflight_ops: 64,
            heartbeat_interval_secs: 10,
            heartbeat_timeout_secs: 300,
            max_name_bytes: 64,
            max_kind_bytes: 32,
            max_capabilities: 16,
            max_capability_bytes: 32,
            max_request_id_bytes: 64,
            handoffs_per_minute: 30,
            resyncs_per_minute: 6,
            heartbeats_per_minute: 30,
            interactions_per_minute: 60,
        }
    }
}

/// One device in a `presence` frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresenceEntry {
    /// Device id.
    pub device: String,
    /// Kind (`tv`, `mobile`, ...).
    pub kind: String,
    /// Name.
    pub name: String,
    /// Whether it has a live connection.
    pub online: bool,
    /// What it is doing.
    pub activity: Option<Activity>,
    /// Last time it was seen, Unix ms.
    pub last_seen_ms: u64,
}

/// Outcome of a handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffOutcome {
    /// The target received `playback_control` and now holds the lease.
    Delivered,
    /// The target is known but not connected.
    TargetOffline,
    /// No device of this user has that id.
    UnknownDevice,
    /// The target is the device that asked.
    SameDevice,
}

/// An `error` frame. `code` is stable; `message` is for humans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFrame {
    /// Stable error code (see PROTOCOL.md).
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The `seq` of the op this error is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// For `seq_gap`: the seq the server expects next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_seq: Option<u64>,
    /// For `rate_limited` and `overloaded`: when to retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ErrorFrame {
    /// An error with a code and message only.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            seq: None,
            expected_seq: None,
            retry_after_ms: None,
        }
    }

    /// Attach the op seq this error refers to.
    pub fn for_seq(mut self, seq: u64) -> Self {
        self.seq = Some(seq);
        self
    }
}

impl ServerFrame {
    /// Serialize to the JSON text sent on the socket.
    pub fn to_text(&self) -> String {
        // Serializing these types cannot fail: every map key is a string and no
        // type has a fallible Serialize impl. Fall back to an error frame anyway.
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"type":"error","code":"internal","message":"encode failed: {e}"}}"#)
        })
    }
}
