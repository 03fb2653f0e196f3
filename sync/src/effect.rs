//! What the state machine asks its caller to do: the outputs of
//! [`UserSync::handle`](crate::UserSync::handle), carried out in order.

use baton_crdt::LoggedOp;
use baton_protocol::{CloseCode, ErrorFrame, LeaseView, PresenceEntry, ServerFrame};
use bytes::Bytes;

use crate::record::Record;
use crate::view::UserView;
use crate::warm::WarmState;

/// Which budget of a device's outbound queue a frame counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Live traffic (acks, deltas, presence, leases, errors): the live budget.
    Live,
    /// Catch-up after `welcome` or a `resync` (welcome, deltas, snapshot
    /// chunks, `synced`): the live budget plus the catch-up allowance.
    CatchUp,
}

/// One thing to do.
#[derive(Debug)]
pub enum Effect {
    /// Queue an encoded frame to a connection.
    Send {
        /// Connection id.
        conn: u64,
        /// The frame's JSON text.
        frame: Bytes,
        /// Its budget.
        lane: Lane,
    },
    /// An op that arrived on `conn` is answered (acknowledged or refused):
    /// the connection's count of ops in flight drops by one.
    Resolved {
        /// Connection id.
        conn: u64,
    },
    /// A device op became durable and was acknowledged (for latency figures).
    Acked {
        /// The op's [`Input::Op::mark`](crate::Input::Op).
        mark: u64,
        /// Whether a delta went to another device.
        fanned_out: bool,
    },
    /// Close a connection (after the frames already queued).
    Close {
        /// Connection id.
        conn: u64,
        /// The close code.
        code: CloseCode,
    },
    /// Append these records to the log in one batch, fenced by the node's
    /// ownership claim, then answer with [`Input::Committed`](crate::Input::Committed).
    /// At most one batch is in flight.
    Persist(Vec<Record>),
    /// Save a snapshot in the background, then answer with
    /// [`Input::SnapshotSaved`](crate::Input::SnapshotSaved) (or
    /// [`Input::Fenced`](crate::Input::Fenced)). At most one is in flight.
    SaveSnapshot(SnapshotSave),
    /// The snapshot a `resync` asked for is queued: the next `resync` of the
    /// connection asks for a new one.
    ResyncServed {
        /// Connection id.
        conn: u64,
    },
    /// Tell the fan-out observer (the PubNub bridge).
    Observe(Observed),
    /// Publish the user's presence to the other nodes.
    PublishPresence(Vec<PresenceEntry>),
    /// Answer an [`Input::Attach`](crate::Input::Attach).
    Attached {
        /// The attach's ticket.
        ticket: u64,
        /// The connection that asked (on a refusal it is not attached and
        /// its handle may be dropped).
        conn: u64,
        /// `Ok` once `welcome` is queued; the refusal otherwise (the
        /// connection is not attached).
        result: Result<(), ErrorFrame>,
    },
    /// Answer an [`Input::Read`](crate::Input::Read) with the durable state.
    Read {
        /// The read's ticket.
        ticket: u64,
        /// The state.
        view: Box<UserView>,
    },
    /// The user's activation ends: save `save` first when given, then stop.
    /// Nothing else follows.
    Stop(Stop),
}

/// A snapshot to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSave {
    /// Its version.
    pub version: u64,
    /// The encoded document.
    pub bytes: Vec<u8>,
    /// Once stored, log records up to this version may be dropped (0: none).
    pub compact_through: u64,
}

/// The end of an activation.
#[derive(Debug)]
pub struct Stop {
    /// Save this snapshot (awaited) before stopping.
    pub save: Option<SnapshotSave>,
    /// Why, and whom to answer.
    pub reason: StopReason,
}

/// Why an activation ends.
#[derive(Debug)]
pub enum StopReason {
    /// Idle.
    Passivated,
    /// Graceful shutdown; answer the ticket after the save.
    Shutdown {
        /// The shutdown's ticket.
        ticket: u64,
    },
    /// Moved away on request; answer the ticket with the live state.
    Released {
        /// The release's ticket.
        ticket: u64,
        /// The state for the next owner (`None` if it does not encode).
        warm: Option<Box<WarmState>>,
    },
    /// Erased: nothing is in flight any more; answer the ticket (the caller
    /// deletes the user's data).
    Erased {
        /// The erasure's ticket.
        ticket: u64,
    },
    /// Another node owns the user; nothing in flight was acknowledged.
    Moved(String),
    /// A commit failed; nothing in flight was acknowledged; the next
    /// activation reloads the durable state.
    Failed(String),
}

/// What the fan-out observer hears.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    /// A device op is durable.
    Delta(LoggedOp),
    /// A server-side change is durable.
    Control(ControlEvent),
}

/// A server-side change a user's observers hear about.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlEvent {
    /// The active-player lease changed.
    Lease(LeaseView),
    /// A handoff targets `target` with this `playback_control` frame.
    Handoff {
        /// Target device id.
        target: String,
        /// The frame the target gets.
        frame: ServerFrame,
    },
    /// Presence changed.
    Presence(Vec<PresenceEntry>),
}
