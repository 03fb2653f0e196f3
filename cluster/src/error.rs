//! The crate's one error type.

/// What can go wrong joining or talking to the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The gossip socket could not be opened or the gossip server failed.
    #[error("membership: {0}")]
    Membership(String),
    /// A peer could not be reached or refused a request.
    #[error("peer {peer}: {detail}")]
    Peer {
        /// The peer's HTTP address.
        peer: String,
        /// What happened.
        detail: String,
    },
    /// The configuration is unusable.
    #[error("cluster configuration: {0}")]
    Config(String),
}
