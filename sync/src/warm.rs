//! The live state one node hands the next owner of a user.

use baton_crdt::{LoggedOp, VersionVector};

/// A user's state as handed over on a planned move: the document (snapshot
/// bytes, sent separately) at `version` and the catch-up window, so devices
/// of a moved user still resume with deltas.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WarmState {
    /// The user.
    pub user: String,
    /// The document's version.
    pub version: u64,
    /// The encoded document (carried beside the JSON body).
    #[serde(skip)]
    pub snapshot: Vec<u8>,
    /// The catch-up window's ops, oldest first.
    pub window: Vec<LoggedOp>,
    /// The version vector before the window's first op.
    pub window_base: VersionVector,
}
