//! The crate's single error type.
//!
//! Every fallible operation of this crate validates before it mutates: when a
//! function returns `Err(CrdtError)`, the value it was called on is exactly as
//! it was before the call. Each variant repeats that promise, so callers (the
//! user actor) can reply with the error and carry on with the same state.

use thiserror::Error;

/// Everything that can go wrong in `baton-crdt`.
///
/// `code()` gives a stable, machine-readable name used in protocol error
/// frames; the `Display` text is for humans and may change.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CrdtError {
    /// The op's `seq` skips ahead of what the server has seen from the device.
    /// The device must resend from `expected`. State was NOT touched and the
    /// seq was not consumed.
    #[error("sequence gap: expected seq {expected}, got {got}")]
    SeqGap {
        /// The only seq the server accepts next from this device.
        expected: u64,
        /// The seq the op carried.
        got: u64,
    },
    /// A playback timestamp lies further in the future than the skew bound
    /// allows. State was NOT touched and the seq was not consumed.
    #[error("clock skew: timestamp {ts} is beyond the allowed bound {limit}")]
    ClockSkew {
        /// The op's HLC time (NTP64 units).
        ts: u64,
        /// `now + max_clock_skew` (NTP64 units).
        limit: u64,
    },
    /// A timestamp is malformed or was not issued by the sending device's HLC
    /// id (see [`crate::hlc_id_for`]). State was NOT touched.
    #[error("bad timestamp: {reason}")]
    BadTimestamp {
        /// What is wrong with it.
        reason: String,
    },
    /// Another device holds the playback lease and the op did not ask to take
    /// it. State was NOT touched and the seq was not consumed.
    #[error("playback lease held by {holder}")]
    LeaseHeld {
        /// The device currently holding the lease.
        holder: String,
    },
    /// The op presented a lease token older than the current one. State was
    /// NOT touched and the seq was not consumed.
    #[error("stale lease token; current token is {current}")]
    StaleLease {
        /// The current lease token.
        current: u64,
    },
    /// A content id is empty, longer than 128 bytes or uses characters outside
    /// `[A-Za-z0-9:._-]`. Nothing was created or touched.
    #[error("invalid content id: {reason}")]
    InvalidContentId {
        /// What is wrong with it.
        reason: String,
    },
    /// A preferences change batch exceeds the size cap. State was NOT touched.
    #[error("change batch of {size} bytes exceeds the cap of {max} bytes")]
    TooLarge {
        /// Total bytes of the batch.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// Automerge change bytes could not be decoded or applied (including
    /// changes whose dependencies are unknown). State was NOT touched.
    #[error("bad automerge change: {reason}")]
    BadChange {
        /// What automerge reported.
        reason: String,
    },
    /// The op is structurally invalid (seq 0, bad device id, ...). State was
    /// NOT touched.
    #[error("invalid op: {reason}")]
    InvalidOp {
        /// What is wrong with it.
        reason: String,
    },
    /// A snapshot could not be encoded or decoded. The document (when
    /// encoding) was NOT touched; when decoding, nothing was created.
    #[error("bad snapshot: {reason}")]
    BadSnapshot {
        /// What went wrong.
        reason: String,
    },
}

impl CrdtError {
    /// Stable machine-readable code, used in protocol error frames.
    pub fn code(&self) -> &'static str {
        match self {
            CrdtError::SeqGap { .. } => "seq_gap",
            CrdtError::ClockSkew { .. } => "clock_skew",
            CrdtError::BadTimestamp { .. } => "bad_timestamp",
            CrdtError::LeaseHeld { .. } => "lease_held",
            CrdtError::StaleLease { .. } => "stale_lease",
            CrdtError::InvalidContentId { .. } => "invalid_content_id",
            CrdtError::TooLarge { .. } => "too_large",
            CrdtError::BadChange { .. } => "bad_change",
            CrdtError::InvalidOp { .. } => "invalid_op",
            CrdtError::BadSnapshot { .. } => "bad_snapshot",
        }
    }

    /// True when the device can fix the problem by resending (a seq gap):
    /// the op itself is fine, it arrived too early.
    pub fn is_retryable(&self) -> bool {
        matches!(self, CrdtError::SeqGap { .. })
    }
}
