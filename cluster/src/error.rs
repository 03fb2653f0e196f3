//! The crate's one error type.

/// What can go wrong joining, talking to the cluster or forwarding to an owner.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The gossip socket could not be opened or the gossip server failed.
    #[error("membership: {0}")]
    Membership(String),
    /// A peer refused a request or answered something unusable.
    #[error("peer {peer}: {detail}")]
    Peer {
        /// The peer's HTTP address.
        peer: String,
        /// What happened.
        detail: String,
    },
    /// No connection could be made to a user's owner (refused, timed out):
    /// it may be gone, and another owner is tried.
    #[error("owner node {node} unreachable: {detail}")]
    Unreachable {
        /// The owner's node id.
        node: String,
        /// What happened.
        detail: String,
    },
    /// The owner refused the device's token.
    #[error("the owner node refused the token")]
    TokenRefused,
    /// A forwarded request reached a node that does not own its user (views
    /// disagree for a moment): the device retries.
    #[error("user not owned here")]
    NotOwner,
    /// The configuration is unusable.
    #[error("cluster configuration: {0}")]
    Config(String),
}
