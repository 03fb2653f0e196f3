//! Carrying out what the state machine asks, in order: frames into device
//! queues, appends and snapshot saves to the store (their results come back
//! as messages), observer and presence calls, replies, the end.

use baton_sync::{Effect, Lane, Observed, SnapshotSave, StopReason};
use ractor::ActorRef;

use super::actor::{Io, UserActor};
use super::load::entry_of;
use super::msg::{StoreMsg, UserMsg};

impl UserActor {
    pub(crate) async fn carry_out(&self, myself: &ActorRef<UserMsg>, io: &mut Io, effect: Effect) {
        match effect {
            Effect::Send { conn, frame, lane } => {
                if let Some(link) = io.links.get(&conn) {
                    match lane {
                        // A full queue closes the device (4008); it resumes later.
                        Lane::Live => {
                            let _ = link.push(frame);
                        }
                        Lane::CatchUp => link.push_catch_up(frame),
                    }
                }
            }
            Effect::Resolved { conn } => {
                if let Some(link) = io.links.get(&conn) {
                    link.op_done();
                }
            }
            Effect::Acked { mark, fanned_out } => {
                let elapsed = self.clock.secs_since(mark);
                metrics::histogram!("baton_ack_latency_seconds").record(elapsed);
                if fanned_out {
                    metrics::histogram!("baton_fanout_latency_seconds").record(elapsed);
                }
            }
            Effect::Close { conn, code } => {
                if let Some(link) = io.links.remove(&conn) {
                    link.close(code);
                }
            }
            Effect::Persist(records) => {
                let entries = records.into_iter().map(|r| entry_of(&io.user, r)).collect();
                let me = myself.clone();
                // Under a claim, an append of a superseded owner is fenced. The outcome
                // comes back as a message, cast by the committer itself (no task waits);
                // the actor waits only for room in the committer's bounded queue.
                self.store
                    .append_claimed_then(entries, io.epoch, move |result| {
                        let _ = me.cast(UserMsg::Store(StoreMsg::Committed(result)));
                    })
                    .await;
            }
            Effect::SaveSnapshot(save) => self.save_in_background(myself, io, save),
            Effect::ResyncServed { conn } => {
                if let Some(link) = io.links.get(&conn) {
                    link.snapshot_queued();
                }
            }
            Effect::Observe(observed) => {
                if let Some(obs) = &self.observer {
                    match observed {
                        Observed::Delta(op) => obs.delta(&io.user, &op),
                        Observed::Control(event) => obs.control(&io.user, event),
                    }
                }
            }
            Effect::PublishPresence(devices) => self.shared.publish_presence(&io.user, devices),
            Effect::Attached {
                ticket,
                conn,
                result,
            } => {
                if result.is_err() {
                    io.links.remove(&conn);
                }
                if let Some(reply) = io.attaching.remove(&ticket) {
                    let _ = reply.send(result);
                }
            }
            Effect::Read { ticket, view } => {
                if let Some(reply) = io.reads.remove(&ticket) {
                    let _ = reply.send(*view);
                }
            }
            Effect::Stop(stop) => {
                if let Some(save) = stop.save {
                    // Boxed: inline, the store call's state would size the
                    // actor's message loop (allocated once per live user)
                    // for an effect that comes once per activation.
                    Box::pin(self.save_now(io, save)).await;
                }
                let why = match stop.reason {
                    StopReason::Passivated => "passivated".to_owned(),
                    StopReason::Shutdown { .. } => {
                        if let Some(reply) = io.shutdown.take() {
                            let _ = reply.send(());
                        }
                        "shutdown".to_owned()
                    }
                    StopReason::Released { warm, .. } => {
                        if let Some(reply) = io.release.take() {
                            let _ = reply.send(warm.map(|w| *w));
                        }
                        "moved".to_owned()
                    }
                    StopReason::Erased { .. } => {
                        if let Some(reply) = io.erase.take() {
                            let _ = reply.send(());
                        }
                        "erased".to_owned()
                    }
                    StopReason::Moved(why) => format!("moved: {why}"),
                    StopReason::Failed(why) => format!("commit failed: {why}"),
                };
                myself.stop(Some(why));
            }
        }
    }

    fn save_in_background(&self, myself: &ActorRef<UserMsg>, io: &Io, save: SnapshotSave) {
        let store = self.store.clone();
        let user = io.user.clone();
        let me = myself.clone();
        let epoch = io.epoch;
        tokio::spawn(async move {
            let version = save.version;
            let ok = match store
                .save_snapshot(&user, version, epoch, &save.bytes)
                .await
            {
                Ok(()) => {
                    if save.compact_through > 0 {
                        let _ = store.compact(&user, save.compact_through).await;
                    }
                    true
                }
                Err(e) if e.is_stale_writer() => {
                    let _ = me.cast(UserMsg::Store(StoreMsg::Fenced));
                    false
                }
                Err(e) => {
                    tracing::warn!(user, error = %e, "snapshot save failed");
                    false
                }
            };
            let _ = me.cast(UserMsg::Store(StoreMsg::SnapshotSaved(version, ok)));
        });
    }

    /// Save the last snapshot before the activation ends (awaited).
    async fn save_now(&self, io: &Io, save: SnapshotSave) {
        if let Err(e) = self
            .store
            .save_snapshot(&io.user, save.version, io.epoch, &save.bytes)
            .await
        {
            tracing::warn!(user = %io.user, error = %e, "snapshot save failed");
        }
    }
}
