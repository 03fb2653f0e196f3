//! Starting a hub: its parts are fixed here, before any user actor starts,
//! so every activation sees the same vectors, observer and placement.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use baton_personalization::{InProcessIndex, VectorStore};
use baton_store::Store;
use ractor::Actor;

use super::admission::Admission;
use super::ownership::Ownership;
use super::supervisor::{HubSupervisor, SupMsg};
use super::{sweep, tokens, Hub, HubInner, Registry};
use crate::clock::Clock;
use crate::config::ActorConfig;
use crate::error::ActorError;
use crate::observer::FanoutObserver;
use crate::placement::{Placement, SingleNode};
use crate::shared::Shared;

/// The parts of a hub before it starts. Defaults: in-process shared state,
/// an empty in-process vector index, no observer, one node owning every user,
/// 10,000 connections.
pub struct HubBuilder {
    store: Store,
    cfg: ActorConfig,
    max_connections: usize,
    shared: Option<Shared>,
    vectors: Option<Arc<dyn VectorStore>>,
    observer: Option<Arc<dyn FanoutObserver>>,
    placement: Arc<dyn Placement>,
}

impl HubBuilder {
    pub(super) fn new(store: Store, cfg: ActorConfig) -> Self {
        Self {
            store,
            cfg,
            max_connections: 10_000,
            shared: None,
            vectors: None,
            observer: None,
            placement: Arc::new(SingleNode),
        }
    }

    /// At most `n` device connections at once (more are refused, `overloaded`).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// The state shared between nodes (revocations, presence): Redis in a cluster.
    pub fn shared(mut self, shared: Shared) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Content and preference vectors for personalization.
    pub fn vectors(mut self, vectors: Arc<dyn VectorStore>) -> Self {
        self.vectors = Some(vectors);
        self
    }

    /// Report every fanned-out delta and control event to `observer` (the PubNub bridge).
    pub fn observer(mut self, observer: Arc<dyn FanoutObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Decide which users this node serves by `placement` (a cluster).
    pub fn placement(mut self, placement: Arc<dyn Placement>) -> Self {
        self.placement = placement;
        self
    }

    /// Start the hub: its supervisor, the housekeeping sweep and the
    /// revocation watcher.
    pub async fn start(self) -> Result<Hub, ActorError> {
        let (supervisor, _) = Actor::spawn(None, HubSupervisor, ())
            .await
            .map_err(|e| ActorError::Unavailable(e.to_string()))?;
        let cfg = self.cfg;
        let inner = Arc::new(HubInner {
            clock: Clock::new(cfg.sync.max_clock_skew),
            sync: Arc::new(cfg.sync.clone()),
            limits: Arc::new(cfg.limits()),
            cfg: Arc::new(cfg),
            store: self.store,
            shared: self.shared.unwrap_or_else(Shared::local),
            vectors: self
                .vectors
                .unwrap_or_else(|| Arc::new(InProcessIndex::new())),
            observer: self.observer,
            supervisor,
            registry: Registry::default(),
            admission: Admission::new(self.max_connections),
            revocations: tokens::Revocations::default(),
            ownership: Ownership::new(self.placement),
            erasing: Mutex::new(HashSet::new()),
        });
        let _ = inner
            .supervisor
            .cast(SupMsg::Attach(Arc::downgrade(&inner)));
        tokio::spawn(sweep::sweep(Arc::downgrade(&inner)));
        tokio::spawn(tokens::close_revoked(Arc::downgrade(&inner)));
        Ok(Hub { inner })
    }
}
