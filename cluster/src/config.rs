//! The cluster settings of one node.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How this node joins and behaves in the cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// This node's unique name.
    pub node_id: String,
    /// Name of the cluster; nodes of another cluster are ignored.
    pub cluster_id: String,
    /// UDP address the gossip binds.
    pub gossip_listen: SocketAddr,
    /// Gossip address peers use for this node.
    pub gossip_advertise: SocketAddr,
    /// HTTP address (`host:port`) peers use for this node.
    pub api_advertise: String,
    /// Gossip addresses (`host:port`, DNS names re-resolved) to join through.
    pub seeds: Vec<String>,
    /// Interval between gossip rounds.
    pub gossip_interval: Duration,
    /// Phi-accrual threshold above which a silent peer counts as dead.
    pub phi_threshold: f64,
    /// Shared secret of the cluster's internal endpoints (warm handoff).
    pub secret: String,
    /// Most users handed over in one request.
    pub handoff_batch: usize,
    /// How often a node checks that it holds only users it owns.
    pub rebalance_interval: Duration,
    /// Longest graceful leave.
    pub drain_timeout: Duration,
    /// Timeout of one handoff request.
    pub peer_timeout: Duration,
}

impl ClusterConfig {
    /// The local address outgoing cluster connections bind to: the gossip IP
    /// unless it is a wildcard (so peers, and fault-injecting proxies in
    /// tests, can tell nodes apart by source address).
    pub fn local_ip(&self) -> Option<IpAddr> {
        let ip = self.gossip_listen.ip();
        (!ip.is_unspecified()).then_some(ip)
    }
}
