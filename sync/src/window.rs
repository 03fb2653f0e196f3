//! The in-memory window of recent committed ops from which reconnecting
//! devices are served deltas.

use std::collections::{BTreeMap, VecDeque};

use baton_crdt::{LoggedOp, VersionVector};

use crate::record::Record;

/// The last committed ops, oldest first, and the version vector just before
/// the oldest of them. A device whose version vector dominates `base_vv` can
/// resume with deltas; any other gets a snapshot.
#[derive(Debug, Clone)]
pub struct CatchUpWindow {
    ops: VecDeque<LoggedOp>,
    base_vv: VersionVector,
    cap: usize,
}

impl CatchUpWindow {
    /// An empty window starting at `base_vv`, holding at most `cap` ops.
    pub fn new(base_vv: VersionVector, cap: usize) -> Self {
        Self {
            ops: VecDeque::new(),
            base_vv,
            cap: cap.max(1),
        }
    }

    /// Append a committed op, dropping the oldest beyond the cap.
    pub fn push(&mut self, op: LoggedOp) {
        self.ops.push_back(op);
        while self.ops.len() > self.cap {
            if let Some(old) = self.ops.pop_front() {
                self.base_vv.observe(&old.device, old.seq);
            }
        }
    }

    /// The ops a device with `vv` has not seen, or `None` if some of them are
    /// no longer in the window (the device needs a snapshot).
    pub fn missing_for(&self, vv: &VersionVector) -> Option<Vec<&LoggedOp>> {
        if !vv.dominates(&self.base_vv) {
            return None;
        }
        Some(
            self.ops
                .iter()
                .filter(|op| op.seq > vv.get(&op.device))
                .collect(),
        )
    }

    /// The ops held and the version vector before the first of them.
    pub fn export(&self) -> (VersionVector, Vec<LoggedOp>) {
        (self.base_vv.clone(), self.ops.iter().cloned().collect())
    }

    /// Number of ops held.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when no op is held.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The most ops held.
    pub fn cap(&self) -> usize {
        self.cap
    }
}

/// The version vector before `records` (which end at `vv`) were applied:
/// each device's seqs are contiguous, so undoing an op sets its device back
/// to `seq - 1`. Control records are skipped.
pub fn vv_before(vv: &VersionVector, records: &[Record]) -> VersionVector {
    let mut map: BTreeMap<String, u64> = vv.iter().map(|(d, s)| (d.to_owned(), s)).collect();
    for record in records.iter().rev().filter(|r| !r.is_control()) {
        map.insert(record.device.clone(), record.seq.saturating_sub(1));
    }
    let mut out = VersionVector::new();
    for (device, seq) in map {
        if seq > 0 {
            out.observe(&device, seq);
        }
    }
    out
}
