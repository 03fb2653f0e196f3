//! Messages a user actor handles.

use std::time::Instant;

use baton_crdt::{ContentId, Op, VersionVector};
use baton_store::StoreError;
use ractor::RpcReplyPort;

use crate::link::DeviceLink;
use crate::protocol::{Activity, DeviceHello, ErrorFrame};
use baton_sync::{UserStats, UserView};

/// Messages to a user actor, grouped by who sends them.
pub enum UserMsg {
    /// From the user's device sessions.
    Device(DeviceMsg),
    /// Reads for REST, recommendations and the admin API.
    Read(ReadMsg),
    /// Personalization: interactions and the adapter's training.
    Personal(PersonalMsg),
    /// Results of the store work the actor started.
    Store(StoreMsg),
    /// The activation's lifecycle, from the hub and the cluster.
    Lifecycle(LifecycleMsg),
}

/// Traffic of a device session.
pub enum DeviceMsg {
    /// A device finished its `hello`: register it, send `welcome` and catch-up.
    Attach {
        /// Device id.
        device: String,
        /// Connection id (a newer connection of the same device replaces an older one).
        conn: u64,
        /// Where to send frames.
        link: DeviceLink,
        /// The device's description.
        hello: DeviceHello,
        /// What the device has seen.
        vv: VersionVector,
        /// `Ok` once `welcome` is queued.
        reply: RpcReplyPort<Result<(), ErrorFrame>>,
    },
    /// A device connection ended.
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
        /// Connection id the op arrived on.
        conn: u64,
        /// The op's seq.
        seq: u64,
        /// The op.
        op: Op,
        /// When the frame was read (for latency metrics).
        received: Instant,
    },
    /// A presence heartbeat.
    Heartbeat {
        /// Device id.
        device: String,
        /// What it is doing.
        activity: Option<Activity>,
    },
    /// Move playback to another device.
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
    /// Send the device a full snapshot.
    Resync {
        /// Device id.
        device: String,
        /// Connection id.
        conn: u64,
    },
}

/// Reads of the user's state.
pub enum ReadMsg {
    /// Read the user's committed state (REST).
    State(RpcReplyPort<UserView>),
    /// Read size figures (admin).
    Stats(RpcReplyPort<UserStats>),
    /// Read what recommendations need (REST).
    Personal(RpcReplyPort<super::personal::PersonalView>),
}

/// Personalization work.
pub enum PersonalMsg {
    /// An interaction event from a device (personalization).
    Interaction {
        /// Device id.
        device: String,
        /// Content id.
        content: String,
        /// What happened.
        kind: baton_personalization::InteractionKind,
        /// Server receive time, ms since the Unix epoch.
        at_ms: u64,
    },
    /// The embedding of an interacted item was found: buffer it for training.
    InteractionKnown(baton_personalization::Interaction, Vec<f32>),
    /// A training step finished (`None`: it failed; the old adapter stays).
    AdapterTrained(Option<Box<baton_personalization::Adapter>>),
}

/// What the store said about work the actor started.
pub enum StoreMsg {
    /// The commit of the batch in flight finished.
    Committed(Result<(), StoreError>),
    /// A snapshot save finished (version, success).
    SnapshotSaved(u64, bool),
    /// A store write found a newer owner: close devices with 4009 and stop.
    Fenced,
}

/// The activation's lifecycle.
pub enum LifecycleMsg {
    /// Periodic housekeeping: idle passivation.
    Tick,
    /// The hub asks an idle actor to stop (live-actor cap).
    Passivate,
    /// Graceful shutdown: close devices with 1001, flush, snapshot, stop.
    Shutdown(RpcReplyPort<()>),
    /// snapshot, answer with the live state (for a warm handoff) and stop.
    Release(RpcReplyPort<Option<crate::placement::WarmState>>),
    /// write in flight, answer, and stop without writing anything.
    Erase(RpcReplyPort<()>),
}
