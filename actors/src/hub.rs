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
mod erase;
mod moves;
mod recommend;
mod supervisor;
mod sweep;
mod tokens;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton_crdt::VersionVector;
use baton_store::Store;
use ractor::{Actor, ActorRef, ActorStatus};
use tokio::sync::{watch, OnceCell};

pub use admission::ConnPermit;
pub use erase::ErasureReport;
pub use recommend::{RecommendationView, RecommendedItem};
use supervisor::{HubSupervisor, SupMsg};

use crate::clock::Clock;
use crate::config::ActorConfig;
use crate::error::ActorError;
use crate::link::DeviceLink;
use crate::placement::{Placement, Route, SingleNode, WarmState};
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

pub(crate) struct HubInner {
    cfg: Arc<ActorConfig>,
    store: Store,
    clock: Clock,
    /// The per-user rules and the limits `welcome` announces, shared by every user actor.
    sync: Arc<baton_sync::SyncConfig>,
    limits: Arc<crate::protocol::Limits>,
    users: Mutex<HashMap<String, Slot>>,
    supervisor: ActorRef<SupMsg>,
    draining: AtomicBool,
    connections: AtomicUsize,
    max_connections: usize,
    next_conn: AtomicU64,
    epoch: Instant,
    shared: Shared,
    /// Open connections by token id, to close them when the token is revoked.
    tokens: Mutex<HashMap<String, Vec<(u64, DeviceLink)>>>,
    /// Content and preference vectors (personalization); an empty in-process index by default.
    vectors: std::sync::RwLock<Arc<dyn baton_personalization::VectorStore>>,
    /// Which node owns which user ([`SingleNode`] unless a cluster sets it).
    placement: std::sync::RwLock<Arc<dyn Placement>>,
    /// Users handed over warm by their previous owner, waiting for activation.
    warm: Mutex<HashMap<String, (Instant, WarmState)>>,
    /// Users this node is handing over right now (waiters watch it).
    moving: watch::Sender<std::collections::HashSet<String>>,
    /// Users being erased right now: their activation is refused meanwhile.
    erasing: Mutex<std::collections::HashSet<String>>,
    /// Sees every fanned-out delta and control event (the PubNub bridge); none by default.
    observer: std::sync::RwLock<Option<Arc<dyn crate::observer::FanoutObserver>>>,
}

#[derive(Clone)]
struct Slot {
    cell: Arc<OnceCell<Live>>,
    last_used_ms: Arc<AtomicU64>,
}

/// A user's actor and the ownership claim it was activated under (0: none).
#[derive(Clone)]
struct Live {
    actor: ActorRef<UserMsg>,
    epoch: u64,
}

impl Hub {
    /// Start the hub with in-process shared state (one node).
    pub async fn start(
        store: Store,
        cfg: ActorConfig,
        max_connections: usize,
    ) -> Result<Hub, ActorError> {
        Self::start_with(store, cfg, max_connections, Shared::local()).await
    }

    /// Start the hub (its supervisor, the live-actor cap sweeper and the
    /// revocation watcher) with the given shared state.
    pub async fn start_with(
        store: Store,
        cfg: ActorConfig,
        max_connections: usize,
        shared: Shared,
    ) -> Result<Hub, ActorError> {
        let (supervisor, _) = Actor::spawn(None, HubSupervisor, ())
            .await
            .map_err(|e| ActorError::Unavailable(e.to_string()))?;
        let clock = Clock::new(cfg.sync.max_clock_skew);
        let inner = Arc::new(HubInner {
            sync: Arc::new(cfg.sync.clone()),
            limits: Arc::new(cfg.limits()),
            cfg: Arc::new(cfg),
            store,
            clock,
            users: Mutex::new(HashMap::new()),
            supervisor,
            draining: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
            max_connections,
            next_conn: AtomicU64::new(1),
            epoch: Instant::now(),
            shared,
            tokens: Mutex::new(HashMap::new()),
            vectors: std::sync::RwLock::new(Arc::new(baton_personalization::InProcessIndex::new())),
            placement: std::sync::RwLock::new(Arc::new(SingleNode)),
            warm: Mutex::new(HashMap::new()),
            moving: watch::channel(std::collections::HashSet::new()).0,
            erasing: Mutex::new(std::collections::HashSet::new()),
            observer: std::sync::RwLock::new(None),
        });
        let _ = inner
            .supervisor
            .cast(SupMsg::Attach(Arc::downgrade(&inner)));
        tokio::spawn(sweep::sweep(Arc::downgrade(&inner)));
        tokio::spawn(tokens::close_revoked(Arc::downgrade(&inner)));
        Ok(Hub { inner })
    }

    /// Use `vectors` for personalization (catalog embeddings and user
    /// preference vectors). User actors activated from now on use it; call it
    /// right after start. Without it the hub uses an empty in-process index.
    pub fn with_vectors(self, vectors: Arc<dyn baton_personalization::VectorStore>) -> Self {
        *self
            .inner
            .vectors
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = vectors;
        self
    }

    /// Use `placement` to decide which users this node serves (a cluster).
    pub fn with_placement(self, placement: Arc<dyn Placement>) -> Self {
        *self
            .inner
            .placement
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = placement;
        self
    }

    /// Report every fanned-out delta and control event to `observer`. User
    /// actors activated from now on use it; call it right after start.
    pub fn with_observer(self, observer: Arc<dyn crate::observer::FanoutObserver>) -> Self {
        *self
            .inner
            .observer
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(observer);
        self
    }

    /// The vector store.
    pub fn vectors(&self) -> Arc<dyn baton_personalization::VectorStore> {
        Arc::clone(
            &self
                .inner
                .vectors
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
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

    /// Live user actors.
    pub fn live_users(&self) -> usize {
        self.inner.users.lock().map_or(0, |u| u.len())
    }

    /// Whether the node is draining (refusing new work).
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::Acquire)
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
            let slot = self.slot(user);
            slot.last_used_ms.store(
                self.inner.epoch.elapsed().as_millis() as u64,
                Ordering::Relaxed,
            );
            let live = slot
                .cell
                .get_or_try_init(|| self.activate(user))
                .await?
                .clone();
            if matches!(
                live.actor.get_status(),
                ActorStatus::Stopping | ActorStatus::Stopped
            ) {
                self.inner.forget(user, &slot.cell);
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

    fn slot(&self, user: &str) -> Slot {
        let mut users = self
            .inner
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        users
            .entry(user.to_owned())
            .or_insert_with(|| Slot {
                cell: Arc::new(OnceCell::new()),
                last_used_ms: Arc::new(AtomicU64::new(0)),
            })
            .clone()
    }

    async fn activate(&self, user: &str) -> Result<Live, ActorError> {
        // Claim first, then read (in the actor's start): a write of the
        // previous owner either commits before the claim (and is read) or is
        // fenced by it.
        let epoch = if self.inner.cfg.claim_ownership {
            self.inner
                .store
                .claim(user, &self.inner.cfg.node_id)
                .await?
        } else {
            0
        };
        let actor = UserActor {
            store: self.inner.store.clone(),
            clock: self.inner.clock.clone(),
            sync: self.inner.sync.clone(),
            limits: self.inner.limits.clone(),
            shared: self.inner.shared.clone(),
            vectors: self.vectors(),
            observer: self
                .inner
                .observer
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        };
        let args = UserArgs {
            user: user.to_owned(),
            warm: self.take_warm(user),
            epoch,
        };
        let (actor_ref, _) =
            Actor::spawn_linked(None, actor, args, self.inner.supervisor.get_cell())
                .await
                .map_err(|e| ActorError::Unavailable(e.to_string()))?;
        let _ = self
            .inner
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
                    Some(self.inner.cfg.call_timeout),
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
            match actor.call(&msg, Some(self.inner.cfg.call_timeout)).await {
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
        self.inner.draining.store(true, Ordering::Release);
        let actors: Vec<ActorRef<UserMsg>> = {
            let users = self
                .inner
                .users
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            users
                .values()
                .filter_map(|s| s.cell.get().map(|l| l.actor.clone()))
                .collect()
        };
        let waits = actors.iter().map(|a| {
            a.call(
                |reply| UserMsg::Lifecycle(LifecycleMsg::Shutdown(reply)),
                Some(timeout),
            )
        });
        futures_util::future::join_all(waits).await;
        self.inner.supervisor.stop(None);
    }
}

impl HubInner {
    /// Drop a user's slot if it still holds `cell` (a stopped activation).
    fn forget(&self, user: &str, cell: &Arc<OnceCell<Live>>) {
        let mut users = self
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if users.get(user).is_some_and(|s| Arc::ptr_eq(&s.cell, cell)) {
            users.remove(user);
        }
    }

    /// Drop a user's slot if its actor is `id`.
    pub(crate) fn forget_actor(&self, user: &str, id: ractor::ActorId) {
        let mut users = self
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let matches = users
            .get(user)
            .and_then(|s| s.cell.get())
            .is_some_and(|l| l.actor.get_id() == id);
        if matches {
            users.remove(user);
        }
    }
}

/// The frame a device gets; the detail goes to the log only.
fn unavailable(err: ActorError) -> ErrorFrame {
    tracing::warn!(error = %err, "user actor unavailable to a device");
    let mut frame = ErrorFrame::new("unavailable", err.client_message());
    frame.retry_after_ms = Some(1000);
    frame
}
