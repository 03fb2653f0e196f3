//! What the client tells the application.

use baton_protocol::{HandoffOutcome, LeaseView, PresenceEntry};

use crate::error::ServerError;

/// The connection's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Opening the socket (attempt number, from 1).
    Connecting(u32),
    /// `welcome` received; catching up (deltas or a snapshot).
    CatchingUp,
    /// `synced`: live; local edits are sent at once.
    Live,
    /// Disconnected; the client reconnects after `retry_in_ms`.
    Offline {
        /// Why (a close code, an HTTP refusal, a network error).
        reason: String,
        /// When the next attempt starts.
        retry_in_ms: u64,
    },
    /// Closed for good (by the application, or replaced: close 4001).
    Closed(String),
}

/// A typed event of the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The connection changed state.
    Connection(ConnectionState),
    /// The visible state (confirmed + pending) changed.
    StateChanged,
    /// Another device's op (or an own op seen in catch-up) was applied.
    DeltaApplied {
        /// The op's device.
        device: String,
        /// Its seq.
        seq: u64,
        /// The user's version after it.
        version: u64,
    },
    /// An own op is durable on the server.
    Acked {
        /// Its seq.
        seq: u64,
        /// The user's version after it.
        version: u64,
    },
    /// A snapshot replaced the replica.
    SnapshotAdopted {
        /// The snapshot's version.
        version: u64,
    },
    /// Catch-up ended.
    Synced {
        /// The user's version.
        version: u64,
    },
    /// The active-player lease moved.
    LeaseChanged(LeaseView),
    /// Another device handed playback to this one: start playing.
    PlaybackControl {
        /// The handoff's id.
        request_id: String,
        /// The device that handed off.
        from: String,
        /// What to play.
        content: String,
        /// Where to start.
        position_ms: u64,
        /// The lease token this device now holds.
        lease: u64,
    },
    /// The answer to a handoff this device sent.
    HandoffResult {
        /// The handoff's id.
        request_id: String,
        /// What happened.
        outcome: HandoffOutcome,
    },
    /// The user's devices and their presence.
    Presence(Vec<PresenceEntry>),
    /// An own op was refused and dropped (not retryable).
    OpRefused(ServerError),
    /// Any other error frame (limits, rate limits, protocol errors).
    ServerError(ServerError),
}
