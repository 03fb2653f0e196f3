//! What the scripted server saw, in order: the events a real node must see
//! to reach the same state (`runtime/tests/client/` replays them through
//! real device sockets and compares `GET /v1/users/{user}/state`).

use baton_crdt::Op;
use serde::{Deserialize, Serialize};

/// One event at the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ScriptEvent {
    /// `device` connects and says hello (kind and name as given).
    Hello {
        /// Device id.
        device: String,
        /// Its kind.
        kind: String,
    },
    /// `device` sends op `seq`; `error` is the code the server answers with
    /// (`None`: acknowledged).
    Op {
        /// Device id.
        device: String,
        /// The seq as sent.
        seq: u64,
        /// The op.
        op: Op,
        /// The expected refusal, if any.
        error: Option<String>,
    },
    /// `from` hands playback of `content` to `to`.
    Handoff {
        /// Sender.
        from: String,
        /// Target.
        to: String,
        /// Content id.
        content: String,
        /// Position.
        position_ms: u64,
    },
    /// `device` closes its socket.
    Close {
        /// Device id.
        device: String,
    },
}

/// A script step with the user's version once the server has handled it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scripted {
    /// The event.
    #[serde(flatten)]
    pub event: ScriptEvent,
    /// The user's server version after it.
    pub version: u64,
}
