//! The store as the simulation models it: what is durable. Appends are
//! all-or-nothing batches fenced by an ownership epoch; every append keeps a
//! replayed document of the durable state so invariants can ask what a crash
//! cannot take back.

use std::collections::BTreeSet;

use baton_crdt::{Control, LoggedOp, UserDoc};
use baton_sync::{Record, SnapshotSave};

/// The durable state of one user.
pub struct ModelStore {
    /// Every record appended, in version order (compaction is not modelled:
    /// the simulation keeps the whole log to check it).
    pub log: Vec<Record>,
    /// The stored snapshot.
    pub snapshot: Option<(u64, Vec<u8>)>,
    /// The latest ownership claim.
    pub epoch: u64,
    /// The log replayed: the durable state.
    pub durable: UserDoc,
    /// Every `(device, seq)` in the log.
    ops: BTreeSet<(String, u64)>,
    /// The largest lease token a durable lease move handed out.
    pub max_moved_token: u64,
}

/// Why an append or a save was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// A newer claim exists.
    Fenced,
}

impl ModelStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            log: Vec::new(),
            snapshot: None,
            epoch: 0,
            durable: UserDoc::new(),
            ops: BTreeSet::new(),
            max_moved_token: 0,
        }
    }

    /// The last durable version.
    pub fn version(&self) -> u64 {
        self.durable.version()
    }

    /// Take a new ownership claim.
    pub fn claim(&mut self) -> u64 {
        self.epoch += 1;
        self.epoch
    }

    /// Append a batch under `epoch`. Checks the log's own invariants: versions
    /// contiguous, every device op stored once, lease tokens of moves growing.
    pub fn append(&mut self, records: &[Record], epoch: u64) -> Result<(), String> {
        if epoch < self.epoch {
            return Err("fenced".into());
        }
        for record in records {
            if record.version != self.durable.version() + 1 {
                return Err(format!(
                    "log gap: version {} after {}",
                    record.version,
                    self.durable.version()
                ));
            }
            if record.is_control() {
                let change: Control = serde_json::from_slice(&record.payload)
                    .map_err(|e| format!("control record does not decode: {e}"))?;
                if let Control::LeaseMove { token, .. } = &change {
                    if *token <= self.max_moved_token.max(self.durable.lease_token()) {
                        return Err(format!("lease token {token} does not grow"));
                    }
                    self.max_moved_token = *token;
                }
                self.durable
                    .apply_control(&change, record.at_ms)
                    .map_err(|e| format!("control record {} refused: {e}", record.version))?;
            } else {
                if !self.ops.insert((record.device.clone(), record.seq)) {
                    return Err(format!(
                        "op ({}, {}) stored twice",
                        record.device, record.seq
                    ));
                }
                let op = LoggedOp {
                    device: record.device.clone(),
                    seq: record.seq,
                    version: record.version,
                    at_ms: record.at_ms,
                    op: serde_json::from_slice(&record.payload)
                        .map_err(|e| format!("op record does not decode: {e}"))?,
                };
                self.durable
                    .replay(&op)
                    .map_err(|e| format!("op record {} does not replay: {e}", record.version))?;
            }
            self.log.push(record.clone());
        }
        Ok(())
    }

    /// Store a snapshot under `epoch`.
    pub fn save_snapshot(&mut self, save: &SnapshotSave, epoch: u64) -> Result<(), Refused> {
        if epoch < self.epoch {
            return Err(Refused::Fenced);
        }
        if self
            .snapshot
            .as_ref()
            .is_none_or(|(v, _)| *v <= save.version)
        {
            self.snapshot = Some((save.version, save.bytes.clone()));
        }
        Ok(())
    }

    /// What a node reads to recover: the snapshot, the records before it
    /// (up to `retention`) and every record after it.
    pub fn stored(&self, retention: u64) -> baton_sync::Stored {
        let snapshot_version = self.snapshot.as_ref().map_or(0, |(v, _)| *v);
        let from = snapshot_version.saturating_sub(retention);
        baton_sync::Stored {
            snapshot: self.snapshot.clone(),
            before_snapshot: self
                .log
                .iter()
                .filter(|r| r.version > from && r.version <= snapshot_version)
                .cloned()
                .collect(),
            tail: self
                .log
                .iter()
                .filter(|r| r.version > snapshot_version)
                .cloned()
                .collect(),
        }
    }

    /// Records after `version`.
    pub fn tail_after(&self, version: u64) -> Vec<Record> {
        self.log
            .iter()
            .filter(|r| r.version > version)
            .cloned()
            .collect()
    }
}

impl Default for ModelStore {
    fn default() -> Self {
        Self::new()
    }
}
