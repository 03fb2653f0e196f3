//! The per-user commit pipeline: records (device ops and the server's control
//! records) wait in `pending`; one batch at a time is in flight to the store.
//! What a record means for devices is kept beside it ([`Staged`]) and told
//! only once its batch is durable.

use baton_crdt::LoggedOp;
use baton_protocol::LeaseView;
use bytes::Bytes;

use crate::announce::Announce;
use crate::record::Record;

/// A log record applied in memory and not yet durable.
pub(crate) struct Pending {
    /// The record until it is handed to the store.
    record: Option<Record>,
    pub(crate) staged: Staged,
}

/// What a pending record is, and what to tell devices once it is durable.
pub(crate) enum Staged {
    /// A device op: ack its sender, fan the delta out.
    Op(StagedOp),
    /// A control record: make its announcement.
    Control(Announce),
}

/// A device op waiting for its commit.
pub(crate) struct StagedOp {
    pub(crate) op: LoggedOp,
    /// The `delta` frame, encoded once for every receiver.
    pub(crate) delta: Bytes,
    /// The connection to acknowledge on (a resend on a newer connection moves it).
    pub(crate) conn: u64,
    pub(crate) mark: u64,
    /// The lease after this op, when the op changed it.
    pub(crate) lease: Option<LeaseView>,
}

/// Records waiting for, and in, the store.
#[derive(Default)]
pub(crate) struct Pipeline {
    pending: Vec<Pending>,
    inflight: Vec<Pending>,
}

impl Pipeline {
    /// No record is waiting or in flight: the document equals the durable state.
    pub(crate) fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.inflight.is_empty()
    }

    /// Records applied but not durable.
    pub(crate) fn len(&self) -> usize {
        self.pending.len() + self.inflight.len()
    }

    /// Records applied but not durable, oldest first.
    pub(crate) fn uncommitted(&self) -> impl Iterator<Item = &Pending> {
        self.inflight.iter().chain(self.pending.iter())
    }

    /// Device ops applied but not durable, oldest first.
    pub(crate) fn uncommitted_ops(&self) -> impl Iterator<Item = &StagedOp> {
        self.uncommitted().filter_map(|p| match &p.staged {
            Staged::Op(op) => Some(op),
            Staged::Control(_) => None,
        })
    }

    /// True while `device`'s registration record waits for its commit.
    pub(crate) fn registering(&self, device: &str) -> bool {
        self.uncommitted().any(
            |p| matches!(&p.staged, Staged::Control(Announce::Welcome(j)) if j.device == device),
        )
    }

    /// The not yet durable op `(device, seq)`, if it is one.
    pub(crate) fn uncommitted_op_mut(&mut self, device: &str, seq: u64) -> Option<&mut StagedOp> {
        self.inflight
            .iter_mut()
            .chain(self.pending.iter_mut())
            .find_map(|p| match &mut p.staged {
                Staged::Op(op) if op.op.device == device && op.op.seq == seq => Some(op),
                _ => None,
            })
    }

    /// Queue an applied record with what it means.
    pub(crate) fn push(&mut self, record: Record, staged: Staged) {
        self.pending.push(Pending {
            record: Some(record),
            staged,
        });
    }

    /// The next batch for the store, if none is in flight and any waits.
    pub(crate) fn take_batch(&mut self) -> Option<Vec<Record>> {
        if !self.inflight.is_empty() || self.pending.is_empty() {
            return None;
        }
        self.inflight = std::mem::take(&mut self.pending);
        Some(
            self.inflight
                .iter_mut()
                .filter_map(|p| p.record.take())
                .collect(),
        )
    }

    /// The batch in flight is durable: what it means, oldest first.
    pub(crate) fn committed(&mut self) -> Vec<Staged> {
        std::mem::take(&mut self.inflight)
            .into_iter()
            .map(|p| p.staged)
            .collect()
    }
}
