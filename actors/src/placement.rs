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

pub use baton_sync::WarmState;
