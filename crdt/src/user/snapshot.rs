//! Snapshot form of `UserDoc`: one JSON document, the stored snapshot and
//! the text devices reassemble from `snapshot_chunk` frames. PROTOCOL.md
//! ("The snapshot") documents it field by field, and
//! `protocol/schema/baton-v1.schema.json#/$defs/snapshot` is its schema.
//!
//! The `format` field says how the rest is laid out. Format 2 is written,
//! sent and read; format 1 (the serde form of earlier releases, with HLC
//! timestamps as a 64-bit integer and a 16-number byte array) is only read,
//! because snapshots stored by those releases must still load.

mod v1;
mod v2;

use super::UserDoc;
use crate::CrdtError;
use serde::Deserialize;

/// The layout written today. Bumped when the layout changes; the decoder
/// of every earlier format stays.
pub(crate) const SNAPSHOT_FORMAT: u32 = 2;

/// Just the `format` field; serde skips the rest.
#[derive(Deserialize)]
struct Format {
    format: u32,
}

impl UserDoc {
    /// Encodes the whole document in format [`SNAPSHOT_FORMAT`] (JSON). The
    /// document is not touched.
    pub fn to_snapshot_bytes(&self) -> Result<Vec<u8>, CrdtError> {
        serde_json::to_vec(&v2::Snapshot::from(self)).map_err(bad)
    }

    /// Decodes a snapshot of format 1 or 2, whichever its `format` says.
    pub fn from_snapshot_bytes(bytes: &[u8]) -> Result<Self, CrdtError> {
        let format = serde_json::from_slice::<Format>(bytes).map_err(bad)?.format;
        match format {
            1 => serde_json::from_slice::<v1::Snapshot>(bytes)
                .map_err(bad)?
                .into_doc(),
            SNAPSHOT_FORMAT => serde_json::from_slice::<v2::Snapshot>(bytes)
                .map_err(bad)?
                .into_doc(),
            other => Err(CrdtError::BadSnapshot {
                reason: format!("format {other} (this release reads 1 and {SNAPSHOT_FORMAT})"),
            }),
        }
    }
}

fn bad(e: serde_json::Error) -> CrdtError {
    CrdtError::BadSnapshot {
        reason: e.to_string(),
    }
}
