//! Ownership: which node serves a user, decided in one place
//! ([`Hub::route`], asked by the sockets and REST calls that arrive here, the
//! forwarding of those that belong elsewhere, the PubNub bridge's ingest and
//! the rebalancer), and the hub's part in moving users between nodes: warm
//! states handed over by the previous owner, releasing a user to its new
//! owner (and waiting on a move), fencing actors whose ownership claim was
//! superseded.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::watch;

use super::registry::Live;
use super::Hub;
use crate::error::ActorError;
use crate::lock::lock;
use crate::placement::{Placement, Route, WarmState};
use crate::user::{LifecycleMsg, StoreMsg, UserMsg};

/// Who owns which user, and the users moving to or from this node.
pub(super) struct Ownership {
    /// Which node owns which user ([`SingleNode`](crate::SingleNode) unless a cluster sets it).
    placement: Arc<dyn Placement>,
    /// Users handed over warm by their previous owner, waiting for activation.
    warm: Mutex<HashMap<String, (Instant, WarmState)>>,
    /// Users this node is handing over right now (waiters watch it).
    moving: watch::Sender<HashSet<String>>,
}

impl Ownership {
    pub(super) fn new(placement: Arc<dyn Placement>) -> Self {
        Self {
            placement,
            warm: Mutex::default(),
            moving: watch::channel(HashSet::new()).0,
        }
    }
}

impl Hub {
    /// The owner of `user` in this node's view: the one decision of
    /// ownership on a node.
    pub fn route(&self, user: &str) -> Route {
        self.inner.ownership.placement.route(user)
    }

    /// Report that `node` could not be reached from here (see
    /// [`Placement::unreachable`]).
    pub fn report_unreachable(&self, node: &crate::placement::RemoteNode) {
        metrics::counter!("baton_cluster_unreachable_total").increment(1);
        self.inner.ownership.placement.unreachable(node);
    }

    /// The nodes this node's placement routes around (see
    /// [`Placement::suspects`]).
    pub fn suspects(&self) -> Vec<Arc<str>> {
        self.inner.ownership.placement.suspects()
    }

    /// The users with a live actor on this node.
    pub fn live_user_ids(&self) -> Vec<String> {
        self.inner.registry.ids()
    }

    /// Keep state handed over by a user's previous owner for the next
    /// activation of that user (for `warm_state_ttl`). A user already live
    /// here keeps its state.
    pub fn accept_warm(&self, states: Vec<WarmState>) {
        let now = Instant::now();
        let ttl = self.inner.cfg.ownership.warm_state_ttl;
        let mut warm = lock(&self.inner.ownership.warm);
        warm.retain(|_, (at, _)| now.duration_since(*at) < ttl);
        for state in states {
            warm.insert(state.user.clone(), (now, state));
        }
        metrics::gauge!("baton_warm_states").set(warm.len() as f64);
    }

    pub(super) fn take_warm(&self, user: &str) -> Option<WarmState> {
        let (at, state) = lock(&self.inner.ownership.warm).remove(user)?;
        (at.elapsed() < self.inner.cfg.ownership.warm_state_ttl).then_some(state)
    }

    /// Hand `user` over: mark it moving (new connections and reads wait, up to
    /// `move_wait`), close its devices with 4009, flush its commits, save its
    /// snapshot and stop its actor. Returns its live state for the new owner
    /// (`None` when it was not live here). Call [`Hub::moved`] when the new
    /// owner has it.
    pub async fn release(&self, user: &str) -> Option<WarmState> {
        self.inner.ownership.moving.send_modify(|m| {
            m.insert(user.to_owned());
        });
        let (live, _) = self.inner.registry.live(user)?;
        let actor = live.actor;
        match actor
            .call(
                |reply| UserMsg::Lifecycle(LifecycleMsg::Release(reply)),
                Some(self.inner.cfg.hub.call_timeout),
            )
            .await
        {
            Ok(ractor::rpc::CallResult::Success(state)) => state,
            _ => None,
        }
    }

    /// The move of `user` is over: connections and reads for it proceed.
    pub fn moved(&self, user: &str) {
        self.inner
            .ownership
            .moving
            .send_if_modified(|m| m.remove(user));
    }

    /// Wait while `user` is being handed over by this node, at most
    /// `move_wait`: woken by [`Hub::moved`], no polling.
    pub async fn wait_if_moving(&self, user: &str) {
        let mut moving = self.inner.ownership.moving.subscribe();
        let _ = tokio::time::timeout(
            self.inner.cfg.ownership.move_wait,
            moving.wait_for(|m| !m.contains(user)),
        )
        .await;
    }

    /// The ownership claims this node's actors hold: any superseded by
    /// another node's claim is fenced now (its devices closed with 4009), so
    /// devices attached to it reconnect to the owner instead of idling on
    /// stale state. Returns how many were fenced. Cheap without a cluster.
    pub async fn fence_superseded(&self) -> usize {
        if !self.inner.cfg.ownership.claim_ownership {
            return 0;
        }
        let mut fenced = 0;
        for (user, live) in self.inner.registry.all() {
            if let Ok(false) = self.holds_claim(&user, live.epoch).await {
                self.fence(&user, &live);
                fenced += 1;
            }
        }
        fenced
    }

    /// Whether `epoch` is still this node's current claim of `user`.
    pub(super) async fn holds_claim(&self, user: &str, epoch: u64) -> Result<bool, ActorError> {
        let owner = self.inner.store.owner(user).await?;
        Ok(owner.is_some_and(|(e, node)| e == epoch && node == self.inner.cfg.ownership.node_id))
    }

    /// Stop a superseded actor and drop its slot.
    pub(super) fn fence(&self, user: &str, live: &Live) {
        tracing::info!(
            user,
            epoch = live.epoch,
            "claim superseded; fencing the local actor"
        );
        let _ = live.actor.cast(UserMsg::Store(StoreMsg::Fenced));
        self.inner.registry.forget_actor(user, live.actor.get_id());
    }

    /// Refuse new sockets, reads and activations from now on (a drain has
    /// begun); actors already live keep running until released or shut down.
    pub fn begin_drain(&self) {
        self.inner.admission.drain();
    }
}
