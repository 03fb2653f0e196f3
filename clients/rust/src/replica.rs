//! The confirmed replica: the user's state as the server has acknowledged it
//! to this device (deltas received, own acknowledged ops, adopted
//! snapshots), with the version watermark and the lease. Own unacknowledged
//! ops are not in it; [`crate::Core::state`] lays them on top.

use baton_crdt::{LoggedOp, Op, UserDoc};
use baton_protocol::LeaseView;

use crate::view::StateView;
use crate::ClientError;

/// Confirmed state of one device's replica.
#[derive(Debug, Clone)]
pub struct Replica {
    doc: UserDoc,
    version: u64,
    lease: LeaseView,
}

impl Default for Replica {
    fn default() -> Self {
        Replica {
            doc: UserDoc::new(),
            version: 0,
            lease: LeaseView {
                holder: None,
                token: 0,
            },
        }
    }
}

impl Replica {
    /// A replica restored from its parts.
    pub fn restore(doc: UserDoc, version: u64, lease: LeaseView) -> Self {
        Replica {
            doc,
            version,
            lease,
        }
    }

    /// The document.
    pub fn doc(&self) -> &UserDoc {
        &self.doc
    }

    /// The version watermark: every server log record up to it is reflected.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The lease as last told.
    pub fn lease(&self) -> &LeaseView {
        &self.lease
    }

    /// The next seq of `device` this replica expects.
    pub fn next_seq(&self, device: &str) -> u64 {
        self.doc.next_seq(device)
    }

    /// Applies a delta. `Ok(false)`: the replica already held it (skipped).
    pub fn apply_delta(&mut self, op: &LoggedOp) -> Result<bool, ClientError> {
        if op.seq <= self.doc.vv().get(&op.device) {
            return Ok(false);
        }
        self.doc.replay(op)?;
        self.version = self.version.max(op.version);
        Ok(true)
    }

    /// Applies this device's own op, acknowledged at `version`.
    pub fn apply_own(
        &mut self,
        me: &str,
        seq: u64,
        version: u64,
        op: Op,
    ) -> Result<bool, ClientError> {
        let entry = LoggedOp {
            device: me.to_owned(),
            seq,
            version,
            at_ms: 0,
            op,
        };
        self.apply_delta(&entry)
    }

    /// Raises the watermark (`synced`).
    pub fn reached(&mut self, version: u64) {
        self.version = self.version.max(version);
    }

    /// Replaces everything with a snapshot (format 2 JSON text).
    pub fn adopt_snapshot(&mut self, text: &str, version: u64) -> Result<(), ClientError> {
        let doc = UserDoc::from_snapshot_bytes(text.as_bytes())?;
        self.lease = LeaseView {
            holder: doc.lease().map(|l| l.device.clone()),
            token: doc.lease_token(),
        };
        self.doc = doc;
        self.version = version;
        Ok(())
    }

    /// Sets the lease from the welcome (authoritative).
    pub fn set_lease(&mut self, lease: LeaseView) {
        self.lease = lease;
    }

    /// A live lease change; one with a token older than the known one is
    /// stale and ignored. Returns whether the lease changed.
    pub fn lease_moved(&mut self, lease: LeaseView) -> bool {
        if lease.token < self.lease.token || lease == self.lease {
            return false;
        }
        self.lease = lease;
        true
    }

    /// Forgets everything (`welcome.reset`).
    pub fn reset(&mut self) {
        *self = Replica::default();
    }

    /// The confirmed view.
    pub fn view(&self) -> StateView {
        StateView::of(&self.doc, self.version, &self.lease)
    }
}
