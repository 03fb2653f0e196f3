//! Where a user lives: this node or another one. The hub asks a [`Placement`]
//! (the cluster's membership and hashing, or [`SingleNode`]) before it serves
//! a user; the transport forwards what belongs elsewhere.

use std::sync::Arc;

/// Another node, as a forwarding target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteNode {
    /// Its node id.
    pub id: Arc<str>,
    /// Its HTTP address (`host:port`), for forwarded sockets, reads and handoffs.
    pub api: Arc<str>,
}

/// The answer to "who owns this user?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// This node.
    Local,
    /// Another node.
    Remote(RemoteNode),
}

/// Decides which node owns a user. Must be cheap: it is asked on every
/// connection and read.
pub trait Placement: Send + Sync + 'static {
    /// The owner of `user` in the current view of the cluster.
    fn route(&self, user: &str) -> Route;

    /// This node just failed to reach `node` (connection refused or timed
    /// out). A placement may route around it until its membership catches
    /// up; the default ignores the report.
    fn unreachable(&self, _node: &RemoteNode) {}

    /// The nodes this placement routes around right now (reported
    /// unreachable); a forwarded request names them, so the receiver routes
    /// around them too instead of refusing a user it would own without them.
    fn suspects(&self) -> Vec<Arc<str>> {
        Vec::new()
    }
}

/// One node owns everyone.
#[derive(Debug, Default, Clone, Copy)]
pub struct SingleNode;

impl Placement for SingleNode {
    fn route(&self, _user: &str) -> Route {
        Route::Local
    }
}

/// A user's live state handed over from its previous owner: the snapshot
/// bytes ([`baton_crdt::UserDoc::to_snapshot_bytes`]) at log `version`, and
/// the delta tail its devices resume from (the catch-up window), so that a
/// device reconnecting to the new owner still resumes with deltas.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WarmState {
    /// The user.
    pub user: String,
    /// The last log version folded into `snapshot`.
    pub version: u64,
    /// The document snapshot.
    #[serde(skip)]
    pub snapshot: Vec<u8>,
    /// The recent committed ops, oldest first (at most `log-retention-ops`).
    pub window: Vec<baton_crdt::LoggedOp>,
    /// The version vector just before the first op of `window`.
    pub window_base: baton_crdt::VersionVector,
}
