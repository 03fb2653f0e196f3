//! `[cluster]`: membership, placement and handoff between nodes.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use serde::{Deserialize, Serialize};

use super::check::Checker;

/// Cluster settings. Off by default (one node owns every user).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ClusterSection {
    /// Join a cluster.
    pub enabled: bool,
    /// Nodes of another cluster id are ignored.
    pub cluster_id: String,
    /// UDP address the gossip binds.
    pub gossip_listen: SocketAddr,
    /// Gossip address peers use (default: `gossip-listen`).
    pub gossip_advertise: Option<SocketAddr>,
    /// HTTP address peers use (default: `listen`).
    pub api_advertise: Option<String>,
    /// Gossip addresses to join through (`host:port`; DNS names re-resolved).
    pub seeds: Vec<String>,
    /// Milliseconds between gossip rounds.
    pub gossip_interval_ms: u64,
    /// Phi-accrual threshold for declaring a silent peer dead.
    pub phi_threshold: f64,
    /// Shared secret of the internal endpoints (required when enabled).
    pub secret: Option<String>,
    /// Most users per warm-handoff request.
    pub handoff_batch: usize,
    /// Seconds between checks that this node holds only users it owns.
    pub rebalance_interval_secs: u64,
    /// Longest graceful leave, in seconds.
    pub drain_timeout_secs: u64,
    /// Milliseconds a connection for a user being handed over waits.
    pub move_wait_ms: u64,
}

impl ClusterSection {
    /// The defaults.
    pub fn new() -> Self {
        ClusterSection {
            enabled: false,
            cluster_id: "baton".to_owned(),
            gossip_listen: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7946)),
            gossip_advertise: None,
            api_advertise: None,
            seeds: Vec::new(),
            gossip_interval_ms: 100,
            phi_threshold: 8.0,
            secret: None,
            handoff_batch: 256,
            rebalance_interval_secs: 5,
            drain_timeout_secs: 30,
            move_wait_ms: 2000,
        }
    }

    pub(super) fn check(&self, c: &mut Checker, has_database_url: bool) {
        if !self.enabled {
            return;
        }
        c.ensure(
            has_database_url,
            "store.database-url",
            "is required when cluster.enabled (every node must share one Postgres)",
        );
        c.ensure(
            self.secret.as_ref().is_some_and(|s| s.len() >= 16),
            "cluster.secret",
            "is required when cluster.enabled and must be at least 16 characters",
        );
        c.ensure(
            !self.cluster_id.is_empty(),
            "cluster.cluster-id",
            "must not be empty",
        );
        c.at_least("cluster.gossip-interval-ms", self.gossip_interval_ms, 10);
        c.at_most(
            "cluster.gossip-interval-ms",
            self.gossip_interval_ms,
            10_000,
        );
        c.ensure(
            self.phi_threshold.is_finite() && self.phi_threshold >= 1.0,
            "cluster.phi-threshold",
            format!("must be a number >= 1 (got {})", self.phi_threshold),
        );
        c.at_least("cluster.handoff-batch", self.handoff_batch, 1);
        c.at_least(
            "cluster.rebalance-interval-secs",
            self.rebalance_interval_secs,
            1,
        );
        c.at_least("cluster.drain-timeout-secs", self.drain_timeout_secs, 1);
        for seed in &self.seeds {
            c.ensure(
                seed.rsplit_once(':')
                    .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok()),
                "cluster.seeds",
                format!("entries must be host:port (got {seed:?})"),
            );
        }
        if let Some(api) = &self.api_advertise {
            c.ensure(
                api.rsplit_once(':')
                    .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok()),
                "cluster.api-advertise",
                format!("must be host:port (got {api:?})"),
            );
        }
    }
}

impl Default for ClusterSection {
    fn default() -> Self {
        Self::new()
    }
}
