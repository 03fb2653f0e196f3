//! Rows as the database returns them (i64 columns), and their checked conversion.

use crate::{LogEntry, StoreError};

/// A `store_log` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LogRow {
    user_id: String,
    version: i64,
    device: String,
    seq: i64,
    at_ms: i64,
    payload: Vec<u8>,
}

impl LogRow {
    pub(crate) fn into_entry(self) -> Result<LogEntry, StoreError> {
        Ok(LogEntry {
            version: stored_u64("version", self.version)?,
            seq: stored_u64("seq", self.seq)?,
            user: self.user_id,
            device: self.device,
            at_ms: self.at_ms,
            payload: self.payload,
        })
    }
}

/// A `store_snapshots` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SnapshotRow {
    pub(crate) version: i64,
    pub(crate) bytes: Vec<u8>,
}

/// `MIN`, `MAX` and `COUNT` of one user's log.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct BoundsRow {
    pub(crate) first: Option<i64>,
    pub(crate) last: Option<i64>,
    pub(crate) len: i64,
}

/// A stored BIGINT back to u64; the schema's CHECKs make negatives impossible.
pub(crate) fn stored_u64(field: &str, v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative {field} {v}")))
}
