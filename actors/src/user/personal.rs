//! The user's personalization adapter inside the user actor: interactions are
//! checked against the catalog (off the actor, in a task), buffered with their
//! embeddings, and every [`TRAIN_EVERY`] of them train the adapter in
//! `spawn_blocking`. The trained adapter is persisted (`save_adapter`) and its
//! preference vector upserted to `user_preferences` before the actor adopts it,
//! so at most one step is in flight and none is lost to a race.
//!
//! Measured: one step (10 interactions, D = 160) takes well under a
//! millisecond, but it runs off the actor thread anyway so a larger catalog
//! dimension cannot stall the user's sync traffic.

use std::sync::Arc;
use std::time::Instant;

use baton_personalization::{
    fnv1a, Adapter, Interaction, InteractionKind, PersonalizationError, VectorItem, VectorStore,
    CONTENT, USER_PREFERENCES,
};
use baton_store::Store;
use ractor::ActorRef;

use super::actor::{UserActor, UserState};
use super::msg::{PersonalMsg, UserMsg};
use crate::device::count_error;
use crate::protocol::{ErrorFrame, ServerFrame};
use baton_sync::{SyncConfig, TokenBucket};

/// Interactions per training step.
pub(crate) const TRAIN_EVERY: usize = 10;
/// Buffered interactions kept at most (oldest dropped) while a step is in flight.
const MAX_BUFFER: usize = 1000;

/// Personalization state of one live user.
pub(crate) struct Personal {
    pub(crate) adapter: Option<Adapter>,
    buffer: Vec<(Interaction, Vec<f32>)>,
    training: bool,
    bucket: TokenBucket,
}

/// What a recommendation request needs from the user actor.
#[derive(Debug, Clone)]
pub struct PersonalView {
    /// Training steps taken (0: none yet).
    pub adapter_version: u64,
    /// The adapted preference vector; `None` before the first training step.
    pub preference: Option<Vec<f32>>,
    /// Content ids on the watchlist.
    pub watchlist: Vec<String>,
    /// Interactions buffered for the next step.
    pub pending_interactions: usize,
}

impl Personal {
    /// Load the stored adapter (a corrupt one is logged and replaced by a fresh one later).
    /// `cfg`'s per-user rate limit also bounds interactions (as of `now_ms`).
    pub(crate) async fn load(
        store: &Store,
        user: &str,
        cfg: &SyncConfig,
        now_ms: u64,
    ) -> Result<Self, baton_store::StoreError> {
        let window = u64::try_from(cfg.rate_limit_window.as_millis()).unwrap_or(u64::MAX);
        let bucket = TokenBucket::new(cfg.rate_limit_events, window, now_ms);
        let adapter = match store.load_adapter(user).await? {
            Some(row) => match Adapter::from_bytes(&row.bytes) {
                Ok(adapter) => Some(adapter),
                Err(err) => {
                    tracing::warn!(user, error = %err, "stored adapter unreadable; starting fresh");
                    None
                }
            },
            None => None,
        };
        Ok(Self {
            adapter,
            buffer: Vec::new(),
            training: false,
            bucket,
        })
    }
}

impl UserActor {
    /// An interaction arrived: rate-limit, then look up its embedding off the actor.
    pub(crate) fn on_interaction(
        &self,
        myself: &ActorRef<UserMsg>,
        state: &mut UserState,
        device: &str,
        content: String,
        kind: InteractionKind,
        at_ms: u64,
    ) {
        let link = state
            .sync
            .connected()
            .find(|(d, _)| *d == device)
            .and_then(|(_, conn)| state.io.links.get(&conn).cloned());
        let refuse = move |err: ErrorFrame| {
            count_error(&err.code);
            if let Some(link) = &link {
                let _ = link.push_frame(&ServerFrame::Error(err));
            }
        };
        if let Err(wait_ms) = state.personal.bucket.take(self.clock.now().ms) {
            let mut err = ErrorFrame::new("rate_limited", "too many interactions for this user");
            err.retry_after_ms = Some(wait_ms);
            refuse(err);
            return;
        }
        metrics::counter!("baton_interactions_total").increment(1);
        let vectors = Arc::clone(&self.vectors);
        let me = myself.clone();
        tokio::spawn(async move {
            let ids = [content.clone()];
            match vectors.get(CONTENT, &ids).await {
                Ok(mut found) if !found.is_empty() => {
                    let item = found.swap_remove(0);
                    let interaction = Interaction {
                        content,
                        kind,
                        at_ms,
                    };
                    let _ = me.cast(UserMsg::Personal(PersonalMsg::InteractionKnown(
                        interaction,
                        item.vector,
                    )));
                }
                Ok(_) | Err(PersonalizationError::UnknownCollection(_)) => {
                    refuse(ErrorFrame::new(
                        "unknown_content",
                        format!("content {content} is not in the catalog"),
                    ));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "interaction dropped: vector store failed");
                    let mut frame = ErrorFrame::new("unavailable", err.to_string());
                    frame.retry_after_ms = Some(1000);
                    refuse(frame);
                }
            }
        });
    }

    /// Buffer a known interaction; train when enough are buffered.
    pub(crate) fn on_interaction_known(
        &self,
        myself: &ActorRef<UserMsg>,
        state: &mut UserState,
        interaction: Interaction,
        embedding: Vec<f32>,
    ) {
        let p = &mut state.personal;
        if p.buffer.len() >= MAX_BUFFER {
            p.buffer.remove(0);
        }
        p.buffer.push((interaction, embedding));
        self.maybe_train(myself, state);
    }

    /// A training step finished: adopt the adapter and maybe start the next.
    pub(crate) fn on_trained(
        &self,
        myself: &ActorRef<UserMsg>,
        state: &mut UserState,
        adapter: Option<Box<Adapter>>,
    ) {
        state.personal.training = false;
        if let Some(adapter) = adapter {
            state.personal.adapter = Some(*adapter);
        }
        self.maybe_train(myself, state);
    }

    /// What recommendations need.
    pub(crate) fn personal_view(&self, state: &UserState) -> PersonalView {
        let adapter = state.personal.adapter.as_ref();
        PersonalView {
            adapter_version: adapter.map_or(0, Adapter::version),
            preference: adapter.map(Adapter::preference),
            watchlist: state
                .sync
                .doc()
                .watchlist()
                .into_iter()
                .map(|w| w.content.as_str().to_owned())
                .collect(),
            pending_interactions: state.personal.buffer.len(),
        }
    }

    fn maybe_train(&self, myself: &ActorRef<UserMsg>, state: &mut UserState) {
        let p = &mut state.personal;
        if p.training || p.buffer.len() < TRAIN_EVERY {
            return;
        }
        let dim = p.buffer[0].1.len();
        let mut adapter = match &p.adapter {
            Some(a) if a.dim() == dim => a.clone(),
            // First step, or the catalog's dimension changed: start over.
            _ => Adapter::new(dim, fnv1a(&state.io.user)),
        };
        // Items of another dimension than the adapter's cannot train it.
        p.buffer.retain(|(_, e)| e.len() == dim);
        if p.buffer.len() < TRAIN_EVERY {
            return;
        }
        let batch: Vec<_> = p.buffer.drain(..TRAIN_EVERY).collect();
        p.training = true;
        let user = state.io.user.clone();
        let store = self.store.clone();
        let vectors = Arc::clone(&self.vectors);
        let me = myself.clone();
        tokio::spawn(async move {
            let trained = tokio::task::spawn_blocking(move || {
                let started = Instant::now();
                let report = adapter.train_step(&batch);
                metrics::histogram!("baton_adapter_train_seconds")
                    .record(started.elapsed().as_secs_f64());
                report.map(|_| adapter)
            })
            .await;
            let adapter = match trained {
                Ok(Ok(adapter)) => adapter,
                Ok(Err(err)) => {
                    tracing::warn!(user, error = %err, "training step failed");
                    let _ = me.cast(UserMsg::Personal(PersonalMsg::AdapterTrained(None)));
                    return;
                }
                Err(join) => {
                    tracing::error!(user, error = %join, "training step panicked");
                    let _ = me.cast(UserMsg::Personal(PersonalMsg::AdapterTrained(None)));
                    return;
                }
            };
            persist(&store, vectors.as_ref(), &user, &adapter).await;
            let _ = me.cast(UserMsg::Personal(PersonalMsg::AdapterTrained(Some(
                Box::new(adapter),
            ))));
        });
    }
}

/// Save the adapter bytes and upsert the preference vector; failures are logged
/// (the next step writes a newer version).
async fn persist(store: &Store, vectors: &dyn VectorStore, user: &str, adapter: &Adapter) {
    if let Err(err) = store
        .save_adapter(user, adapter.version(), &adapter.to_bytes())
        .await
    {
        metrics::counter!("baton_adapter_save_failures_total").increment(1);
        tracing::warn!(user, error = %err, "saving the adapter failed");
    }
    let item = VectorItem {
        id: user.to_owned(),
        vector: adapter.preference(),
        title: String::new(),
        genres: Vec::new(),
    };
    let upsert = async {
        vectors
            .ensure_collection(USER_PREFERENCES, adapter.dim())
            .await?;
        vectors.upsert(USER_PREFERENCES, vec![item]).await
    };
    if let Err(err) = upsert.await {
        tracing::warn!(user, error = %err, "upserting the preference vector failed");
    }
}
