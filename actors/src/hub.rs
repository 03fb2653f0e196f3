//! The hub: this node's registry of live user actors. It activates a user's
//! actor on demand (one activation per user, even under concurrent first
//! requests), supervises them, passivates the least recently used idle ones
//! above the live-actor cap, admits or refuses connections, and drains on
//! shutdown.
//!
//! In a cluster it serves a user only while this node both owns it in the
//! placement and holds its current ownership claim in the store: activation
//! claims first, and every attach and read checks the claim before the actor
//! answers, so a node whose claim was superseded never sends a `welcome` or a
//! read from stale state (its appends are fenced by the store as well).

mod admission;
mod builder;
mod erase;
mod ownership;
mod recommend;
mod registry;
mod supervisor;
mod sweep;
mod tokens;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_crdt::VersionVector;
use baton_personalization::VectorStore;
use baton_store::Store;
use ractor::{Actor, ActorRef, ActorStatus};

pub use admission::ConnPermit;
pub use builder::HubBuilder;
pub use erase::ErasureReport;
pub use recommend::{RecommendationView, RecommendedItem};
use registry::{Live, Registry};
use supervisor::SupMsg;

use crate::clock::Clock;
use crate::config::ActorConfig;
use crate::error::ActorError;
use crate::link::DeviceLink;
use crate::observer::FanoutObserver;
use crate::placement::Route;
use crate::protocol::DeviceIdentity;
use crate::protocol::{DeviceHello, ErrorFrame};
use crate::shared::Shared;
use crate::user::{
    DeviceMsg, LifecycleMsg, ReadMsg, UserActor, UserArgs, UserMsg, UserStats, UserView,
};

/// Handle to this node's actor system. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

/// The hub's parts. Everything a user actor is started with (store, clock,
/// rules, vectors, observer, placement) is fixed when the hub starts
/// ([`HubBuilder`]), so every activation sees the same.
pub(crate) struct HubInner {
    cfg: Arc<ActorConfig>,
    store: Store,
    clock: Clock,
    /// The per-user rules and the limits `welcome` announces, shared by every user actor.
    sync: Arc<baton_sync::SyncConfig>,
    limits: Arc<crate::protocol::Limits>,
    shared: Shared,
    /// Content and preference vectors (personalization).
    vectors: Arc<dyn VectorStore>,
    /// Sees every fanned-out delta and control event (the PubNub bridge).
    observer: Option<Arc<dyn FanoutObserver>>,
    supervisor: ActorRef<SupMsg>,
    registry: Registry,
    admission: Arc<admission::Admission>,
    revocations: tokens::Revocations,
    ownership: ownership::Ownership,
    /// Users being erased right now: their activation is refused meanwhile.
    erasing: Mutex<HashSet<String>>,
}

impl Hub {
    /// A hub on `store` with `cfg`; set its other parts on the builder, then start it.
    pub fn builder(store: Store, cfg: ActorConfig) -> HubBuilder {
        HubBuilder::new(store, cfg)
    }

    /// Start a one-node hub with in-process shared state and nothing else set.
    pub async fn start(
        store: Store,
        cfg: ActorConfig,
        max_connections: usize,
    ) -> Result<Hub, ActorError> {
        Self::builder(store, cfg)
            .max_connections(max_connections)
            .start()
            .await
    }

    /// The vector store.
    pub fn vectors(&self) -> Arc<dyn VectorStore> {
        Arc::clone(&self.inner.vectors)
    }

    /// The state shared between nodes.
    pub fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The actor settings.
    pub fn config(&self) -> &ActorConfig {
        &self.inner.cfg
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The node's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Live user actors.
    pub fn live_users(&self) -> usize {
        self.inner.registry.len()
    }

    /// Whether the node is draining (refusing new work).
    pub fn is_draining(&self) -> bool {
        self.inner.admission.is_draining()
    }

    /// Take a connection slot, or say why not (`draining`, `overloaded`).
    pub fn try_admit(&self) -> Result<ConnPermit, ActorError> {
        self.inner.admission.admit()
    }

    /// Open device connections.
    pub fn connections(&self) -> usize {
        self.inner.admission.connections()
    }

    /// The user's actor, activating it from the store if needed. Refused
    /// while draining, and (in a cluster) for a user another node owns in
    /// this node's view; an actor whose claim was superseded is fenced and
    /// the user activated again under a new claim.
    pub async fn user(&self, user: &str) -> Result<ActorRef<UserMsg>, ActorError> {
        if self.is_draining() {
            return Err(ActorError::Refused("draining"));
        }
        if self.route(user) != Route::Local {
            // Views disagree for a moment (or the user just moved away): the
            // device retries and reaches the owner; this node never serves a
            // user it handed over unless the placement gives it back.
            metrics::counter!("baton_cluster_not_owner_total").increment(1);
            return Err(ActorError::Refused("moving"));
        }
        if self.is_erasing(user) {
            return Err(ActorError::Refused("erasing"));
        }
        for _ in 0..3 {
            let slot = self.inner.registry.slot(user, self.inner.clock.mark());
            let live = slot
                .cell
                .get_or_try_init(|| self.activate(user))
                .await?
                .clone();
            if matches!(
                live.actor.get_status(),
                ActorStatus::Stopping | ActorStatus::Stopped
            ) {
                self.inner.registry.forget(user, &slot.cell);
                continue;
            }
            if live.epoch > 0 && !self.holds_claim(user, live.epoch).await? {
                self.fence(user, &live);
                continue;
            }
            return Ok(live.actor);
        }
        Err(ActorError::Unavailable(format!(
            "user {user} kept stopping"
        )))
    }

    async fn activate(&self, user: &str) -> Result<Live, ActorError> {
        // Claim first, then read (in the actor's start): a write of the
        // previous owner either commits before the claim (and is read) or is
        // fenced by it.
        let inner = &self.inner;
        let epoch = if inner.cfg.ownership.claim_ownership {
            inner
                .store
                .claim(user, &inner.cfg.ownership.node_id)
                .await?
        } else {
            0
        };
        let actor = UserActor {
            store: inner.store.clone(),
            clock: inner.clock.clone(),
            sync: inner.sync.clone(),
            limits: inner.limits.clone(),
            shared: inner.shared.clone(),
            vectors: inner.vectors.clone(),
            observer: inner.observer.clone(),
        };
        let args = UserArgs {
            user: user.to_owned(),
            warm: self.take_warm(user),
            epoch,
        };
        let (actor_ref, _) = Actor::spawn_linked(None, actor, args, inner.supervisor.get_cell())
            .await
            .map_err(|e| ActorError::Unavailable(e.to_string()))?;
        let _ = inner
            .supervisor
            .cast(SupMsg::Track(actor_ref.get_id(), user.to_owned()));
        Ok(Live {
            actor: actor_ref,
            epoch,
        })
    }

    /// Attach a device that sent `hello` to its user's actor.
    pub(crate) async fn attach(
        &self,
        ident: &DeviceIdentity,
        conn: u64,
        link: DeviceLink,
        hello: DeviceHello,
        vv: VersionVector,
    ) -> Result<ActorRef<UserMsg>, ErrorFrame> {
        // An actor may stop (passivation) between lookup and delivery; its
        // queued messages are dropped then. Look it up again and retry.
        for _ in 0..3 {
            let actor = self.user(&ident.user).await.map_err(unavailable)?;
            let reply = actor
                .call(
                    |reply| {
                        UserMsg::Device(DeviceMsg::Attach {
                            device: ident.device.clone(),
                            conn,
                            link: link.clone(),
                            hello: hello.clone(),
                            vv: vv.clone(),
                            reply,
                        })
                    },
                    Some(self.inner.cfg.hub.call_timeout),
                )
                .await;
            match reply {
                Ok(ractor::rpc::CallResult::Success(Ok(()))) => return Ok(actor),
                Ok(ractor::rpc::CallResult::Success(Err(frame))) => return Err(frame),
                Ok(ractor::rpc::CallResult::Timeout) => {
                    return Err(unavailable(ActorError::Timeout))
                }
                Ok(ractor::rpc::CallResult::SenderError) | Err(_) => continue,
            }
        }
        Err(unavailable(ActorError::Unavailable(format!(
            "user {} kept stopping",
            ident.user
        ))))
    }

    /// The user's durable state (activates the user if needed).
    pub async fn read(&self, user: &str) -> Result<UserView, ActorError> {
        self.ask(user, |reply| UserMsg::Read(ReadMsg::State(reply)))
            .await
    }

    /// Size figures of one user's state.
    pub async fn stats(&self, user: &str) -> Result<UserStats, ActorError> {
        self.ask(user, |reply| UserMsg::Read(ReadMsg::Stats(reply)))
            .await
    }

    /// Ask the user's actor; if it stopped (passivation) before answering,
    /// activate it again and ask once more.
    async fn ask<T: Send + 'static>(
        &self,
        user: &str,
        msg: impl Fn(ractor::RpcReplyPort<T>) -> UserMsg,
    ) -> Result<T, ActorError> {
        let mut last = ActorError::Timeout;
        for _ in 0..2 {
            let actor = self.user(user).await?;
            match actor
                .call(&msg, Some(self.inner.cfg.hub.call_timeout))
                .await
            {
                Ok(ractor::rpc::CallResult::Success(v)) => return Ok(v),
                Ok(ractor::rpc::CallResult::Timeout) => return Err(ActorError::Timeout),
                Ok(ractor::rpc::CallResult::SenderError) => {
                    last = ActorError::Unavailable("user actor stopped before answering".into());
                }
                Err(e) => last = ActorError::Unavailable(e.to_string()),
            }
        }
        Err(last)
    }

    /// Graceful shutdown: refuse new work, close every device with 1001,
    /// let in-flight commits finish, snapshot, and stop every user actor.
    pub async fn shutdown(&self, timeout: Duration) {
        self.inner.admission.drain();
        let waits = self
            .inner
            .registry
            .all()
            .into_iter()
            .map(|(_, live)| async move {
                live.actor
                    .call(
                        |reply| UserMsg::Lifecycle(LifecycleMsg::Shutdown(reply)),
                        Some(timeout),
                    )
                    .await
            });
        futures_util::future::join_all(waits).await;
        self.inner.supervisor.stop(None);
    }
}

impl HubInner {
    /// Drop a user's slot if its actor is `id` (it stopped).
    pub(crate) fn forget_actor(&self, user: &str, id: ractor::ActorId) {
        self.registry.forget_actor(user, id);
    }
}

/// The frame a device gets; the detail goes to the log only.
fn unavailable(err: ActorError) -> ErrorFrame {
    tracing::warn!(error = %err, "user actor unavailable to a device");
    let mut frame = ErrorFrame::new("unavailable", err.client_message());
    frame.retry_after_ms = Some(1000);
    frame
}
