//! The user actor's shell: configuration in the struct, state built in
//! `pre_start` from the store, and a `handle` that dispatches each message to
//! the module that owns that concern.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_crdt::{Rules, UserDoc};
use baton_store::Store;
use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::announce::{Announce, Joining};
use super::catch_up::CatchUpWindow;
use super::commit::CommitPipeline;
use super::msg::UserMsg;
use super::ratelimit::TokenBucket;
use crate::config::ActorConfig;
use crate::link::DeviceLink;
use crate::protocol::{Activity, CloseCode};

/// The user actor (configuration only).
pub(crate) struct UserActor {
    pub(crate) cfg: Arc<ActorConfig>,
    pub(crate) store: Store,
    pub(crate) clock: Arc<uhlc::HLC>,
    pub(crate) shared: crate::shared::Shared,
    pub(crate) vectors: Arc<dyn baton_personalization::VectorStore>,
    pub(crate) observer: Option<Arc<dyn crate::observer::FanoutObserver>>,
}

/// Arguments to start one user actor.
pub(crate) struct UserArgs {
    pub(crate) user: String,
    /// State handed over by the previous owner, if the move was planned.
    pub(crate) warm: Option<crate::placement::WarmState>,
    /// The ownership claim the hub took before spawning (0 on a single node).
    pub(crate) epoch: u64,
}

/// A connected device as the user actor sees it.
pub(crate) struct Attached {
    pub(crate) conn: u64,
    pub(crate) link: DeviceLink,
    pub(crate) activity: Option<Activity>,
}

/// Work that must wait until no commit is in flight (it must see only durable state).
pub(crate) enum Deferred {
    Snapshot { device: String, conn: u64 },
    Read(ractor::RpcReplyPort<super::view::UserView>),
}

/// Everything a live user actor holds.
pub(crate) struct UserState {
    pub(crate) user: String,
    pub(crate) doc: UserDoc,
    pub(crate) rules: Rules,
    pub(crate) window: CatchUpWindow,
    pub(crate) devices: HashMap<String, Attached>,
    pub(crate) commits: CommitPipeline,
    pub(crate) deferred: Vec<Deferred>,
    pub(crate) snapshot_version: u64,
    pub(crate) snapshot_due: bool,
    /// A background snapshot save is running (at most one per user).
    pub(crate) snapshot_saving: bool,
    /// The lease as of the last durable record: what devices are told.
    pub(crate) durable_lease: crate::protocol::LeaseView,
    pub(crate) bucket: TokenBucket,
    pub(crate) idle_since: Instant,
    pub(crate) shutdown: Option<ractor::RpcReplyPort<()>>,
    /// A pending release (the user is moving to another node).
    pub(crate) release: Option<ractor::RpcReplyPort<Option<crate::placement::WarmState>>>,
    /// This activation's ownership claim (0 on a single node).
    pub(crate) epoch: u64,
    pub(crate) personal: super::Personal,
}

impl Actor for UserActor {
    type Msg = UserMsg;
    type State = UserState;
    type Arguments = UserArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<UserMsg>,
        args: UserArgs,
    ) -> Result<UserState, ActorProcessingErr> {
        let started = Instant::now();
        // The hub claimed before spawning: a write of the previous owner that
        // commits after the claim is fenced, so the read below sees them all.
        let epoch = args.epoch;
        // A warm state is used only if the store proves it current.
        let warmed = match &args.warm {
            Some(w) => {
                super::catch_up::load_warm(&self.store, w, self.cfg.log_retention_ops).await?
            }
            None => None,
        };
        let warm = warmed.is_some();
        let (doc, window, snapshot_version) = match warmed {
            Some(loaded) => loaded,
            None => {
                super::catch_up::load(&self.store, &args.user, self.cfg.log_retention_ops).await?
            }
        };
        let kind = if warm { "warm" } else { "cold" };
        metrics::counter!("baton_user_activations_total", "kind" => kind).increment(1);
        let personal = super::Personal::load(
            &self.store,
            &args.user,
            TokenBucket::new(
                self.cfg.rate_limit_events,
                self.cfg.rate_limit_window,
                Instant::now(),
            ),
        )
        .await?;
        metrics::histogram!("baton_user_activation_seconds")
            .record(started.elapsed().as_secs_f64());
        metrics::gauge!("baton_user_actors").increment(1.0);
        let now = Instant::now();
        let durable_lease = super::announce::lease_of(&doc);
        let mut state = UserState {
            user: args.user,
            doc,
            rules: Rules {
                max_clock_skew: self.cfg.max_clock_skew,
            },
            window,
            devices: HashMap::new(),
            commits: CommitPipeline::default(),
            deferred: Vec::new(),
            snapshot_version,
            // A warm start's snapshot is not in the store under this claim yet.
            snapshot_due: warm,
            snapshot_saving: false,
            durable_lease,
            bucket: TokenBucket::new(self.cfg.rate_limit_events, self.cfg.rate_limit_window, now),
            idle_since: now,
            shutdown: None,
            release: None,
            epoch,
            personal,
        };
        self.release_offline_holder(&mut state);
        Ok(state)
    }

    async fn post_start(
        &self,
        myself: ActorRef<UserMsg>,
        state: &mut UserState,
    ) -> Result<(), ActorProcessingErr> {
        self.submit(&myself, state);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<UserMsg>,
        msg: UserMsg,
        state: &mut UserState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            UserMsg::Attach {
                device,
                conn,
                link,
                hello,
                vv,
                reply,
            } => {
                if state.release.is_some() {
                    // Moving away: the device reconnects and reaches the new owner.
                    link.close(CloseCode::Moved);
                    let _ = reply.send(Ok(()));
                } else {
                    let joining = Joining {
                        device,
                        conn,
                        link,
                        vv,
                        reply,
                    };
                    self.attach(state, joining, hello);
                }
            }
            UserMsg::Detach { device, conn } => self.detach(state, &device, conn),
            UserMsg::Op {
                device,
                conn,
                seq,
                op,
                received,
            } => {
                self.on_op(state, &device, conn, seq, op, received).await;
                self.submit(&myself, state);
            }
            UserMsg::Heartbeat { device, activity } => self.heartbeat(state, &device, activity),
            UserMsg::Handoff {
                device,
                request_id,
                target,
                content,
                position_ms,
            } => self.handoff(state, &device, request_id, &target, content, position_ms),
            UserMsg::Resync { device, conn } => {
                state.deferred.push(Deferred::Snapshot { device, conn });
            }
            UserMsg::Interaction {
                device,
                content,
                kind,
                at_ms,
            } => self.on_interaction(&myself, state, &device, content, kind, at_ms),
            UserMsg::InteractionKnown(interaction, embedding) => {
                self.on_interaction_known(&myself, state, interaction, embedding)
            }
            UserMsg::AdapterTrained(adapter) => self.on_trained(&myself, state, adapter),
            UserMsg::Personal(reply) => {
                let _ = reply.send(self.personal_view(state));
            }
            UserMsg::Read(reply) => state.deferred.push(Deferred::Read(reply)),
            UserMsg::Stats(reply) => {
                let _ = reply.send(super::view::stats(state));
            }
            UserMsg::Committed(result) => {
                if let Err(err) = result {
                    return self.fail(&myself, state, err);
                }
                self.committed(state);
                self.submit(&myself, state);
            }
            UserMsg::Fenced => {
                self.moved_away(&myself, state, "fenced by a newer owner");
                return Ok(());
            }
            UserMsg::Release(reply) => {
                for attached in state.devices.values() {
                    attached.link.close(CloseCode::Moved);
                }
                state.devices.clear();
                state.release = Some(reply);
            }
            UserMsg::SnapshotSaved(version, ok) => {
                state.snapshot_saving = false;
                if !ok && state.snapshot_version == version {
                    state.snapshot_version = 0;
                    state.snapshot_due = true;
                }
            }
            UserMsg::Tick => {
                if self.idle_expired(state) {
                    self.passivate(&myself, state).await;
                    return Ok(());
                }
            }
            UserMsg::Passivate => {
                if state.devices.is_empty() && state.commits.is_idle() {
                    self.passivate(&myself, state).await;
                    return Ok(());
                }
            }
            UserMsg::Erase(reply) => {
                for attached in state.devices.values() {
                    attached.link.close(CloseCode::UserErased);
                }
                state.devices.clear();
                if state.snapshot_saving {
                    // Ask again once the write in flight landed, so that the
                    // erasure deletes it rather than racing it.
                    myself.send_after(Duration::from_millis(5), move || UserMsg::Erase(reply));
                } else {
                    let _ = reply.send(());
                    myself.stop(Some("erased".into()));
                }
                return Ok(());
            }
            UserMsg::Shutdown(reply) => {
                for attached in state.devices.values() {
                    attached.link.close(CloseCode::GoingAway);
                }
                state.shutdown = Some(reply);
            }
        }
        // Records staged by any message (a registration, a lease move or
        // release) go to the store now.
        self.submit(&myself, state);
        self.when_idle(&myself, state).await;
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<UserMsg>,
        state: &mut UserState,
    ) -> Result<(), ActorProcessingErr> {
        metrics::gauge!("baton_user_actors").decrement(1.0);
        for attached in state.devices.values() {
            attached.link.close(CloseCode::InternalError);
        }
        Ok(())
    }
}

impl UserActor {
    /// The protocol's rule "the holder going offline releases the lease", at
    /// activation: no device is connected yet, so a lease recovered from the
    /// store (its holder was connected to the process that stopped) is released
    /// by a logged record. The holder takes it again with its next `playing`,
    /// under a new token.
    fn release_offline_holder(&self, state: &mut UserState) {
        let Some(holder) = state.doc.lease().map(|l| l.device.clone()) else {
            return;
        };
        if let Some(release) = state.doc.lease_release_by(&holder) {
            let released = Announce::Lease(crate::protocol::LeaseView {
                holder: None,
                token: state.doc.lease_token(),
            });
            let _ = self.stage_control(state, &release, released);
        }
    }

    fn idle_expired(&self, state: &UserState) -> bool {
        state.devices.is_empty()
            && state.commits.is_idle()
            && state.deferred.is_empty()
            && state.idle_since.elapsed() >= self.cfg.idle_passivate
    }

    /// Run what waited for a quiet pipeline: deferred reads and snapshots,
    /// a due snapshot save, and a pending graceful shutdown.
    async fn when_idle(&self, myself: &ActorRef<UserMsg>, state: &mut UserState) {
        if !state.commits.is_idle() {
            return;
        }
        for job in std::mem::take(&mut state.deferred) {
            match job {
                Deferred::Read(reply) => {
                    let _ = reply.send(super::view::view(state));
                }
                Deferred::Snapshot { device, conn } => self.send_snapshot(state, &device, conn),
            }
        }
        if let Some(reply) = state.release.take() {
            self.save_snapshot_now(state).await;
            let (window_base, window) = state.window.export();
            let warm =
                state
                    .doc
                    .to_snapshot_bytes()
                    .ok()
                    .map(|snapshot| crate::placement::WarmState {
                        user: state.user.clone(),
                        version: state.doc.version(),
                        snapshot,
                        window,
                        window_base,
                    });
            let _ = reply.send(warm);
            metrics::counter!("baton_user_releases_total").increment(1);
            myself.stop(Some("moved".into()));
            return;
        }
        if let Some(reply) = state.shutdown.take() {
            self.save_snapshot_now(state).await;
            let _ = reply.send(());
            myself.stop(Some("shutdown".into()));
            return;
        }
        self.maybe_snapshot(myself, state);
    }

    async fn passivate(&self, myself: &ActorRef<UserMsg>, state: &mut UserState) {
        self.save_snapshot_now(state).await;
        metrics::counter!("baton_user_passivations_total").increment(1);
        myself.stop(Some("passivated".into()));
    }

    /// A commit failed: nothing in flight was acknowledged. Close every device
    /// (they reconnect and resend) and stop; the next activation reloads the
    /// durable state from the store.
    fn fail(
        &self,
        myself: &ActorRef<UserMsg>,
        state: &mut UserState,
        err: baton_store::StoreError,
    ) -> Result<(), ActorProcessingErr> {
        if err.is_stale_writer() {
            // Another node owns the user now (or wrote it concurrently): nothing in
            // flight was acknowledged; the devices reconnect and reach the owner.
            self.moved_away(myself, state, &err.to_string());
            return Ok(());
        }
        tracing::error!(user = %state.user, error = %err, "commit failed; restarting user actor");
        metrics::counter!("baton_commit_failures_total").increment(1);
        for attached in state.devices.values() {
            attached.link.close(CloseCode::InternalError);
        }
        state.devices.clear();
        myself.stop(Some(format!("commit failed: {err}")));
        Ok(())
    }

    /// Another node owns the user: close every device with 4009 (they reconnect,
    /// resume and resend what was not acknowledged) and stop without writing.
    fn moved_away(&self, myself: &ActorRef<UserMsg>, state: &mut UserState, why: &str) {
        tracing::warn!(user = %state.user, why, "user moved away; stopping");
        metrics::counter!("baton_user_fenced_total").increment(1);
        for attached in state.devices.values() {
            attached.link.close(CloseCode::Moved);
        }
        state.devices.clear();
        myself.stop(Some(format!("moved: {why}")));
    }
}
