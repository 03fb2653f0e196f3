//! # baton-cluster
//!
//! Makes several Baton nodes one service. It owns:
//!
//! - **membership** ([`membership`]): nodes find each other from seeds and
//!   detect failures with [`chitchat`] (scuttlebutt gossip over UDP with a
//!   phi-accrual failure detector). Each node publishes its HTTP address and
//!   whether it is draining;
//! - **placement** ([`placement`]): every user has one owner, the live,
//!   non-draining node with the highest rendezvous hash of (node, user). A
//!   change of membership moves only the users of the node that came or went;
//! - **rebalancing** ([`rebalance`]): when a user this node holds belongs to
//!   another node, it is handed over warm — its actor flushes, saves and stops,
//!   and its snapshot goes to the new owner in a batch ([`handoff`]), so the
//!   new owner reads only the log tail instead of the whole user;
//! - **drain** ([`Cluster::drain`]): a leaving node announces it is draining
//!   (no user is placed on it any more), hands all its users over, then stops.
//!
//! - **forwarding** ([`forward`]): a device socket or a REST call that
//!   reaches a node other than its user's owner is relayed to the owner
//!   (with the device's own token); ownership is the hub's one decision
//!   ([`Hub::route`], by this crate's placement);
//! - the **internal endpoint** ([`internal`]): warm handoffs from peers.
//!
//! The transport mounts the last two: its socket handler and per-user routes
//! ask [`Forwarding::at_owner`](forward::Forwarding::at_owner), and it serves
//! [`internal::router`]. Fencing is the store's: a node claims a user (a growing
//! epoch) before activating it, log appends are versioned writes and snapshots
//! are epoch-checked, so a node that lost a user cannot overwrite newer state.

mod config;
mod error;
pub mod forward;
pub mod handoff;
pub mod internal;
pub mod membership;
pub mod placement;
pub mod rebalance;

use std::sync::Arc;
use std::time::Duration;

use baton_actors::Hub;

pub use config::ClusterConfig;
pub use error::ClusterError;
pub use membership::{Member, Membership, View};
pub use placement::ClusterPlacement;

/// Gossip rounds a node gives its `ready` or `draining` flag to reach its
/// peers before it acts on it itself.
const SPREAD_ROUNDS: u32 = 6;

/// A running cluster node: membership, placement and the rebalancer.
pub struct Cluster {
    cfg: Arc<ClusterConfig>,
    membership: Membership,
    placement: Arc<ClusterPlacement>,
    hub: Hub,
    client: handoff::Client,
    rebalancer: tokio::task::JoinHandle<()>,
}

/// A node that joined the gossip and settled its view, before its hub
/// starts: hand its [`placement`](Joined::placement) to the hub's builder,
/// then [`start`](Joined::start) it with the hub.
pub struct Joined {
    cfg: Arc<ClusterConfig>,
    membership: Membership,
    placement: Arc<ClusterPlacement>,
}

impl Cluster {
    /// Join the cluster: start gossip and wait for this node's view to
    /// settle (so it never places users from a partial view). No user is
    /// placed on this node until [`Cluster::serve`].
    pub async fn join(cfg: ClusterConfig) -> Result<Joined, ClusterError> {
        let cfg = Arc::new(cfg);
        let membership = Membership::start(&cfg).await?;
        membership.settle(cfg.gossip_interval).await;
        let placement = Arc::new(ClusterPlacement::new(
            cfg.node_id.clone(),
            membership.watch(),
        ));
        Ok(Joined {
            cfg,
            membership,
            placement,
        })
    }

    /// The current view of the cluster.
    pub fn view(&self) -> Arc<View> {
        self.membership.view()
    }

    /// The placement this node routes by.
    pub fn placement(&self) -> Arc<ClusterPlacement> {
        Arc::clone(&self.placement)
    }

    /// Start serving (call once the HTTP listener is bound): announce
    /// `ready` (peers start placing users here), give the flag a few gossip
    /// rounds to spread, then place users on this node in its own view too.
    /// Until then this node forwards every user to the owners its peers also
    /// route to, so a join moves each user once, from its old owner to here.
    pub async fn serve(&self) {
        self.membership.set_ready().await;
        tokio::time::sleep(self.cfg.gossip_interval * SPREAD_ROUNDS).await;
        self.placement.start_serving();
        tracing::info!(node = %self.cfg.node_id, "serving: users are placed on this node");
    }

    /// Graceful leave: refuse new sockets, reads and activations at once
    /// (503), announce draining (peers stop placing users here), give the
    /// flag a few gossip rounds to spread, hand every live user over to its
    /// new owner (within `drain_timeout`), then leave the gossip.
    pub async fn drain(self) {
        let started = std::time::Instant::now();
        self.hub.begin_drain();
        self.membership.set_draining().await;
        let deadline = started + self.cfg.drain_timeout;
        // Peers route by their own view; gossip reaches every peer of a small
        // cluster within a few rounds (log(n) rounds in general).
        tokio::time::sleep(self.cfg.gossip_interval * SPREAD_ROUNDS).await;
        self.rebalancer.abort();
        let remaining = deadline.saturating_duration_since(std::time::Instant::now());
        let moved = tokio::time::timeout(
            remaining.max(Duration::from_secs(1)),
            rebalance::move_away(&self.hub, &self.cfg, &self.client),
        )
        .await
        .unwrap_or(0);
        tracing::info!(
            moved,
            secs = started.elapsed().as_secs_f64(),
            "drained: users handed over"
        );
        self.membership.leave().await;
    }
}

impl Joined {
    /// The placement the hub must route by.
    pub fn placement(&self) -> Arc<dyn baton_actors::Placement> {
        self.placement.clone()
    }

    /// Start the rebalancer on `hub` (built with [`Joined::placement`]).
    pub fn start(self, hub: Hub) -> Result<Cluster, ClusterError> {
        let Joined {
            cfg,
            membership,
            placement,
        } = self;
        let client = handoff::Client::new(&cfg)?;
        let rebalancer = tokio::spawn(rebalance::run(
            hub.clone(),
            Arc::clone(&cfg),
            membership.watch(),
            client.clone(),
        ));
        tracing::info!(node = %cfg.node_id, "joined the cluster");
        Ok(Cluster {
            cfg,
            membership,
            placement,
            hub,
            client,
            rebalancer,
        })
    }
}
