//! Messages a user actor handles.

use std::time::Instant;

use baton_crdt::{ContentId, Op, VersionVector};
use baton_store::StoreError;
use ractor::RpcReplyPort;

use crate::link::DeviceLink;
use crate::protocol::{Activity, DeviceHello, ErrorFrame};
use baton_sync::{UserStats, UserView};

/// Messages to a user actor.
pub enum UserMsg {
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
    /// Read what recommendations need (REST).
    Personal(RpcReplyPort<super::personal::PersonalView>),
    /// Read the user's committed state (REST).
    Read(RpcReplyPort<UserView>),
    /// Read size figures (admin).
    Stats(RpcReplyPort<UserStats>),
    /// The commit of the batch in flight finished.
    Committed(Result<(), StoreError>),
    /// A snapshot save finished (version, success).
    SnapshotSaved(u64, bool),
    /// Periodic housekeeping: idle passivation.
    Tick,
    /// The hub asks an idle actor to stop (live-actor cap).
    Passivate,
    /// Graceful shutdown: close devices with 1001, flush, snapshot, stop.
    Shutdown(RpcReplyPort<()>),
    /// The user moves to another node: close devices with 4009, flush, save a
    /// snapshot, answer with the live state (for a warm handoff) and stop.
    Release(RpcReplyPort<Option<crate::placement::WarmState>>),
    /// A store write found a newer owner: close devices with 4009 and stop.
    Fenced,
    /// The user is being erased: close devices with 4010, wait for a snapshot
    /// write in flight, answer, and stop without writing anything.
    Erase(RpcReplyPort<()>),
}
