//! What happens to a user: the inputs of [`UserSync::handle`](crate::UserSync::handle).

use baton_crdt::{ContentId, Op, VersionVector};
use baton_protocol::{Activity, DeviceHello};

/// One event for a user's state machine.
#[derive(Debug)]
pub enum Input {
    /// A device finished its `hello` on connection `conn`. Answered by
    /// [`Effect::Attached`](crate::Effect::Attached) with `ticket`.
    Attach {
        /// Device id (from its token).
        device: String,
        /// Connection id, unique per connection (a newer one of the same
        /// device replaces an older one).
        conn: u64,
        /// The device's description.
        hello: DeviceHello,
        /// What the device has seen.
        vv: VersionVector,
        /// Echoed in the answer.
        ticket: u64,
    },
    /// A connection ended.
    Detach {
        /// Device id.
        device: String,
        /// Connection id.
        conn: u64,
    },
    /// An op from a device.
    Op {
        /// Device id.
        device: String,
        /// Connection the op arrived on.
        conn: u64,
        /// The op's seq.
        seq: u64,
        /// The op.
        op: Op,
        /// The caller's mark for this op (its arrival time), echoed in
        /// [`Effect::Acked`](crate::Effect::Acked) for latency figures.
        mark: u64,
    },
    /// A presence heartbeat.
    Heartbeat {
        /// Device id.
        device: String,
        /// What it is doing.
        activity: Option<Activity>,
    },
    /// Move playback from `device` to `target`.
    Handoff {
        /// The asking device.
        device: String,
        /// Echoed in the result.
        request_id: String,
        /// Target device id.
        target: String,
        /// Content to play.
        content: ContentId,
        /// Start position.
        position_ms: u64,
    },
    /// Send the device a full snapshot of the durable state.
    Resync {
        /// Device id.
        device: String,
        /// Connection id.
        conn: u64,
    },
    /// Read the durable state (REST). Answered by
    /// [`Effect::Read`](crate::Effect::Read) once no commit is in flight.
    Read {
        /// Echoed in the answer.
        ticket: u64,
    },
    /// The batch of the last [`Effect::Persist`](crate::Effect::Persist) is
    /// durable (`Ok`) or is not (`Err`: nothing of it may be told).
    Committed(Result<(), CommitFailure>),
    /// The save of the last [`Effect::SaveSnapshot`](crate::Effect::SaveSnapshot) ended.
    SnapshotSaved {
        /// The snapshot's version.
        version: u64,
        /// Whether it is stored.
        ok: bool,
    },
    /// The store refused a write: another node owns the user now.
    Fenced,
    /// Housekeeping (idle passivation).
    Tick,
    /// Stop if idle (the node's live-user cap).
    Passivate,
    /// Close every device with 1001, flush, snapshot, stop.
    Shutdown {
        /// Echoed in [`StopReason::Shutdown`](crate::StopReason::Shutdown).
        ticket: u64,
    },
    /// The user is being erased: close devices with 4010 (wipe your
    /// replica), let the append and the snapshot save in flight land (so the
    /// erasure deletes them rather than races them), then stop without
    /// writing anything more.
    Erase {
        /// Echoed in [`StopReason::Erased`](crate::StopReason::Erased).
        ticket: u64,
    },
    /// The user moves to another node: close devices with 4009, flush, stop
    /// with the live state for a warm handoff.
    Release {
        /// Echoed in [`StopReason::Released`](crate::StopReason::Released).
        ticket: u64,
    },
}

/// Why a commit failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitFailure {
    /// Another owner wrote the user (a conflict or a fenced claim).
    pub stale_writer: bool,
    /// What the store said.
    pub detail: String,
}
