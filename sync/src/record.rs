//! Log records as the state machine writes and reads them: device ops and the
//! server's own control records (device [`SERVER_REPLICA`], `seq` = version).
//! The node maps them to its store's rows one to one.

use baton_crdt::{Control, LoggedOp, SERVER_REPLICA};

use crate::error::SyncError;

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The user's version this record made.
    pub version: u64,
    /// The device whose op it is, or [`SERVER_REPLICA`] for a control record.
    pub device: String,
    /// The device's op number (a control record's is its version).
    pub seq: u64,
    /// When it was applied, ms since the Unix epoch.
    pub at_ms: u64,
    /// The op or the control change, as JSON.
    pub payload: Vec<u8>,
}

/// What a stored record holds once decoded.
pub(crate) enum Decoded {
    Op(LoggedOp),
    Control(Control),
}

impl Record {
    /// True for a control record (logged by the server, not a device).
    pub fn is_control(&self) -> bool {
        self.device == SERVER_REPLICA
    }

    /// The record of an applied op.
    pub(crate) fn of_op(op: &LoggedOp, payload: Vec<u8>) -> Self {
        Record {
            version: op.version,
            device: op.device.clone(),
            seq: op.seq,
            at_ms: op.at_ms,
            payload,
        }
    }

    pub(crate) fn decode(&self, user: &str) -> Result<Decoded, SyncError> {
        let corrupt = |e: serde_json::Error| SyncError::Corrupt {
            user: user.to_owned(),
            detail: format!("log record {}: {e}", self.version),
        };
        if self.is_control() {
            return serde_json::from_slice(&self.payload)
                .map(Decoded::Control)
                .map_err(corrupt);
        }
        let op = serde_json::from_slice(&self.payload).map_err(corrupt)?;
        Ok(Decoded::Op(LoggedOp {
            device: self.device.clone(),
            seq: self.seq,
            version: self.version,
            at_ms: self.at_ms,
            op,
        }))
    }

    /// True for a control record that retires devices.
    pub(crate) fn is_retirement(&self, user: &str) -> bool {
        self.is_control()
            && matches!(
                self.decode(user),
                Ok(Decoded::Control(Control::RetireDevices { .. }))
            )
    }
}
