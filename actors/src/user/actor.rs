//! The user actor's shell: configuration in the struct; state (the state
//! machine, the device handles, pending replies) built in `pre_start` from
//! the store; a `handle` that turns each message into one input of the
//! machine and carries out what it returns.

use std::collections::HashMap;
use std::sync::Arc;

use baton_store::Store;
use baton_sync::{CommitFailure, Input, SyncConfig, UserSync};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::msg::{DeviceMsg, LifecycleMsg, PersonalMsg, ReadMsg, StoreMsg, UserMsg};
use super::personal::Personal;
use crate::clock::Clock;
use crate::link::DeviceLink;
use crate::placement::WarmState;
use crate::protocol::{CloseCode, ErrorFrame, Limits};

/// The user actor (configuration only).
pub(crate) struct UserActor {
    pub(crate) sync: Arc<SyncConfig>,
    pub(crate) limits: Arc<Limits>,
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    pub(crate) shared: crate::shared::Shared,
    pub(crate) vectors: Arc<dyn baton_personalization::VectorStore>,
    pub(crate) observer: Option<Arc<dyn crate::observer::FanoutObserver>>,
}

/// Arguments to start one user actor.
pub(crate) struct UserArgs {
    pub(crate) user: String,
    /// State handed over by the previous owner, if the move was planned.
    pub(crate) warm: Option<WarmState>,
    /// The ownership claim the hub took before spawning (0 on a single node).
    pub(crate) epoch: u64,
}

/// Everything a live user actor holds.
pub(crate) struct UserState {
    pub(crate) sync: UserSync,
    pub(crate) io: Io,
    pub(crate) personal: Personal,
}

/// What the shell keeps to carry out effects: device handles by connection
/// and the replies the machine will answer by ticket.
pub(crate) struct Io {
    pub(crate) user: String,
    /// This activation's ownership claim (0 on a single node).
    pub(crate) epoch: u64,
    pub(crate) links: HashMap<u64, DeviceLink>,
    pub(crate) attaching: HashMap<u64, RpcReplyPort<Result<(), ErrorFrame>>>,
    pub(crate) reads: HashMap<u64, RpcReplyPort<super::UserView>>,
    pub(crate) shutdown: Option<RpcReplyPort<()>>,
    pub(crate) release: Option<RpcReplyPort<Option<WarmState>>>,
    pub(crate) erase: Option<RpcReplyPort<()>>,
    next_ticket: u64,
}

impl Io {
    fn ticket(&mut self) -> u64 {
        self.next_ticket += 1;
        self.next_ticket
    }
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
        let started = std::time::Instant::now();
        let retention = self.sync.log_retention_ops;
        // The hub claimed before spawning: a write of the previous owner that
        // commits after the claim is fenced, so the reads below see them all.
        let warmed = match &args.warm {
            Some(w) => super::load::load_warm(&self.store, w, retention).await?,
            None => None,
        };
        let recovered = match warmed {
            Some(recovered) => recovered,
            None => super::load::load(&self.store, &args.user, retention).await?,
        };
        let kind = if recovered.warm { "warm" } else { "cold" };
        metrics::counter!("baton_user_activations_total", "kind" => kind).increment(1);
        let now = self.clock.now();
        let personal = Personal::load(&self.store, &args.user, &self.sync, now.ms).await?;
        metrics::histogram!("baton_user_activation_seconds")
            .record(started.elapsed().as_secs_f64());
        metrics::gauge!("baton_user_actors").increment(1.0);
        let mut sync = UserSync::new(
            self.sync.clone(),
            self.limits.clone(),
            args.user.clone(),
            recovered,
            now,
        );
        sync.set_observed(self.observer.is_some());
        Ok(UserState {
            sync,
            io: Io {
                user: args.user,
                epoch: args.epoch,
                links: HashMap::new(),
                attaching: HashMap::new(),
                reads: HashMap::new(),
                shutdown: None,
                release: None,
                erase: None,
                next_ticket: 0,
            },
            personal,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<UserMsg>,
        state: &mut UserState,
    ) -> Result<(), ActorProcessingErr> {
        let UserState { sync, io, .. } = state;
        for effect in sync.start(self.clock.now()) {
            self.carry_out(&myself, io, effect).await;
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<UserMsg>,
        msg: UserMsg,
        state: &mut UserState,
    ) -> Result<(), ActorProcessingErr> {
        let Some(input) = self.input(&myself, state, msg) else {
            return Ok(());
        };
        let UserState { sync, io, .. } = state;
        for effect in sync.handle(self.clock.now(), input) {
            self.carry_out(&myself, io, effect).await;
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<UserMsg>,
        state: &mut UserState,
    ) -> Result<(), ActorProcessingErr> {
        metrics::gauge!("baton_user_actors").decrement(1.0);
        // A close already requested (1001, 4009, ...) wins over this one.
        for link in state.io.links.values() {
            link.close(CloseCode::InternalError);
        }
        Ok(())
    }
}

impl UserActor {
    /// The machine's input for a message; `None` for what the shell handles
    /// itself (personalization, the admin read).
    fn input(
        &self,
        myself: &ActorRef<UserMsg>,
        state: &mut UserState,
        msg: UserMsg,
    ) -> Option<Input> {
        let io = &mut state.io;
        Some(match msg {
            UserMsg::Device(DeviceMsg::Attach {
                device,
                conn,
                link,
                hello,
                vv,
                reply,
            }) => {
                io.links.insert(conn, link);
                let ticket = io.ticket();
                io.attaching.insert(ticket, reply);
                Input::Attach {
                    device,
                    conn,
                    hello,
                    vv,
                    ticket,
                }
            }
            UserMsg::Device(DeviceMsg::Detach { device, conn }) => {
                io.links.remove(&conn);
                Input::Detach { device, conn }
            }
            UserMsg::Device(DeviceMsg::Op {
                device,
                conn,
                seq,
                op,
                received,
            }) => Input::Op {
                device,
                conn,
                seq,
                op,
                mark: self.clock.mark_at(received),
            },
            UserMsg::Device(DeviceMsg::Heartbeat { device, activity }) => {
                Input::Heartbeat { device, activity }
            }
            UserMsg::Device(DeviceMsg::Handoff {
                device,
                request_id,
                target,
                content,
                position_ms,
            }) => Input::Handoff {
                device,
                request_id,
                target,
                content,
                position_ms,
            },
            UserMsg::Device(DeviceMsg::Resync { device, conn }) => Input::Resync { device, conn },
            UserMsg::Read(ReadMsg::State(reply)) => {
                let ticket = io.ticket();
                io.reads.insert(ticket, reply);
                Input::Read { ticket }
            }
            UserMsg::Store(StoreMsg::Committed(result)) => {
                Input::Committed(result.map_err(|e| CommitFailure {
                    stale_writer: e.is_stale_writer(),
                    detail: e.to_string(),
                }))
            }
            UserMsg::Store(StoreMsg::SnapshotSaved(version, ok)) => {
                Input::SnapshotSaved { version, ok }
            }
            UserMsg::Store(StoreMsg::Fenced) => Input::Fenced,
            UserMsg::Lifecycle(LifecycleMsg::Tick) => Input::Tick,
            UserMsg::Lifecycle(LifecycleMsg::Passivate) => Input::Passivate,
            UserMsg::Lifecycle(LifecycleMsg::Shutdown(reply)) => {
                io.shutdown = Some(reply);
                Input::Shutdown { ticket: 0 }
            }
            UserMsg::Lifecycle(LifecycleMsg::Release(reply)) => {
                io.release = Some(reply);
                Input::Release { ticket: 0 }
            }
            UserMsg::Lifecycle(LifecycleMsg::Erase(reply)) => {
                io.erase = Some(reply);
                Input::Erase { ticket: 0 }
            }
            UserMsg::Read(ReadMsg::Stats(reply)) => {
                let _ = reply.send(state.sync.stats());
                return None;
            }
            UserMsg::Personal(PersonalMsg::Interaction {
                device,
                content,
                kind,
                at_ms,
            }) => {
                self.on_interaction(myself, state, &device, content, kind, at_ms);
                return None;
            }
            UserMsg::Personal(PersonalMsg::InteractionKnown(interaction, embedding)) => {
                self.on_interaction_known(myself, state, interaction, embedding);
                return None;
            }
            UserMsg::Personal(PersonalMsg::AdapterTrained(adapter)) => {
                self.on_trained(myself, state, adapter);
                return None;
            }
            UserMsg::Read(ReadMsg::Personal(reply)) => {
                let _ = reply.send(self.personal_view(state));
                return None;
            }
        })
    }
}
