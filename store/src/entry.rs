//! The values the store keeps: log entries, snapshots and what `load` returns.
//!
//! Payloads and snapshots are opaque bytes; the store does not know the CRDT types.

/// One entry of a user's delta log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The user whose log this is. Non-empty.
    pub user: String,
    /// The user's server log position: 1, 2, 3, ... (at most `i64::MAX`).
    pub version: u64,
    /// The device that produced the op.
    pub device: String,
    /// The device's own sequence number for the op (at most `i64::MAX`).
    pub seq: u64,
    /// Server receive time, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The op, serialized (JSON).
    pub payload: Vec<u8>,
}

/// A user's folded state as of log `version` (inclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The last log version folded into `bytes`.
    pub version: u64,
    /// The serialized state.
    pub bytes: Vec<u8>,
}

/// Everything needed to rebuild a user: the snapshot and the log entries after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserRecord {
    /// The latest snapshot, if one was ever saved.
    pub snapshot: Option<Snapshot>,
    /// Log entries with `version` greater than the snapshot's, in version order.
    pub log: Vec<LogEntry>,
}

/// Shape of a user's stored log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogBounds {
    /// Lowest version still in the log (`None` if the log is empty).
    pub first: Option<u64>,
    /// Highest version in the log (`None` if the log is empty).
    pub last: Option<u64>,
    /// Version of the stored snapshot, if any.
    pub snapshot_version: Option<u64>,
    /// Number of entries in the log.
    pub len: u64,
}
