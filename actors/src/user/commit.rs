//! The per-user commit pipeline: log records (device ops, and the server's own
//! control records) wait in `pending`; one batch at a time is in flight to the
//! store (whose group committer batches across users). Only when a batch is
//! durable is anything about it told to a device: ops are acknowledged and fanned
//! out, control records announced (a `welcome`, a handoff's `playback_control`, a
//! `lease` or `presence` frame), in version order.

use std::time::Instant;

use baton_crdt::{Control, LoggedControl, LoggedOp, SERVER_REPLICA};
use baton_store::LogEntry;
use bytes::Bytes;
use ractor::ActorRef;

use super::actor::{UserActor, UserState};
use super::announce::Announce;
use super::attach::now_ms;
use super::msg::UserMsg;
use crate::protocol::LeaseView;

/// A log record applied in memory and not yet durable.
pub(crate) struct Pending {
    pub(crate) entry: LogEntry,
    pub(crate) staged: Staged,
}

/// What a pending record is, and what to tell devices once it is durable.
pub(crate) enum Staged {
    /// A device op: ack its sender, fan the delta out.
    Op(StagedOp),
    /// A control record: make its announcement.
    Control(Announce),
}

/// A device op waiting for its commit.
pub(crate) struct StagedOp {
    pub(crate) op: LoggedOp,
    pub(crate) delta: Bytes,
    pub(crate) conn: u64,
    pub(crate) received: Instant,
    /// The lease after this op, when the op changed it.
    pub(crate) lease: Option<LeaseView>,
}

/// Records waiting for, and in, the store.
#[derive(Default)]
pub(crate) struct CommitPipeline {
    pending: Vec<Pending>,
    inflight: Vec<Pending>,
}

impl CommitPipeline {
    /// No record is waiting or in flight: the document equals the durable state.
    pub(crate) fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.inflight.is_empty()
    }

    /// Records applied but not durable, oldest first.
    pub(crate) fn uncommitted(&self) -> impl Iterator<Item = &Pending> {
        self.inflight.iter().chain(self.pending.iter())
    }

    /// Device ops applied but not durable, oldest first.
    pub(crate) fn uncommitted_ops(&self) -> impl Iterator<Item = &StagedOp> {
        self.uncommitted().filter_map(|p| match &p.staged {
            Staged::Op(op) => Some(op),
            Staged::Control(_) => None,
        })
    }

    /// True while `device`'s registration record waits for its commit.
    pub(crate) fn registering(&self, device: &str) -> bool {
        self.uncommitted().any(
            |p| matches!(&p.staged, Staged::Control(Announce::Welcome(j)) if j.device == device),
        )
    }

    /// The not yet durable op `(device, seq)`, if it is one.
    pub(crate) fn uncommitted_op_mut(&mut self, device: &str, seq: u64) -> Option<&mut StagedOp> {
        self.inflight
            .iter_mut()
            .chain(self.pending.iter_mut())
            .find_map(|p| match &mut p.staged {
                Staged::Op(op) if op.op.device == device && op.op.seq == seq => Some(op),
                _ => None,
            })
    }

    /// Queue an applied op.
    pub(crate) fn push_op(&mut self, user: &str, staged: StagedOp, payload: Vec<u8>) {
        let entry = LogEntry {
            user: user.to_owned(),
            version: staged.op.version,
            device: staged.op.device.clone(),
            seq: staged.op.seq,
            at_ms: i64::try_from(staged.op.at_ms).unwrap_or(i64::MAX),
            payload,
        };
        self.pending.push(Pending {
            entry,
            staged: Staged::Op(staged),
        });
    }

    /// Queue an applied control record (`payload`: its encoded change) and what
    /// to announce once it is durable. The record is logged under
    /// [`SERVER_REPLICA`] with its version as `seq`.
    fn push_control(
        &mut self,
        user: &str,
        logged: &LoggedControl,
        payload: Vec<u8>,
        announce: Announce,
    ) {
        self.pending.push(Pending {
            entry: LogEntry {
                user: user.to_owned(),
                version: logged.version,
                device: SERVER_REPLICA.to_owned(),
                seq: logged.version,
                at_ms: i64::try_from(logged.at_ms).unwrap_or(i64::MAX),
                payload,
            },
            staged: Staged::Control(announce),
        });
    }
}

impl UserActor {
    /// Apply a server change to the document and queue its log record, with
    /// what to announce once the record is durable. A change the document
    /// refuses is logged as a bug and handed back with its announcement.
    pub(crate) fn stage_control(
        &self,
        state: &mut UserState,
        change: &Control,
        announce: Announce,
    ) -> Result<(), Announce> {
        let payload = match serde_json::to_vec(change) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::error!(user = %state.user, error = %e, "control record does not encode");
                return Err(announce);
            }
        };
        match state.doc.apply_control(change, now_ms()) {
            Ok(logged) => {
                let user = state.user.clone();
                state
                    .commits
                    .push_control(&user, &logged, payload, announce);
                Ok(())
            }
            Err(e) => {
                tracing::error!(user = %state.user, error = %e, "control record refused");
                Err(announce)
            }
        }
    }

    /// Send the pending records to the store if no batch is in flight.
    pub(crate) fn submit(&self, myself: &ActorRef<UserMsg>, state: &mut UserState) {
        let pipe = &mut state.commits;
        if !pipe.inflight.is_empty() || pipe.pending.is_empty() {
            return;
        }
        pipe.inflight = std::mem::take(&mut pipe.pending);
        let entries: Vec<LogEntry> = pipe.inflight.iter().map(|p| p.entry.clone()).collect();
        let store = self.store.clone();
        let me = myself.clone();
        let epoch = state.epoch;
        tokio::spawn(async move {
            // Under a claim, an append of a superseded owner is fenced (nothing acked).
            let result = store.append_claimed(entries, epoch).await;
            let _ = me.cast(UserMsg::Committed(result));
        });
    }

    /// The batch in flight is durable: acknowledge, fan out, announce, remember.
    pub(crate) fn committed(&self, state: &mut UserState) {
        let batch = std::mem::take(&mut state.commits.inflight);
        for p in batch {
            match p.staged {
                Staged::Op(op) => self.op_committed(state, op),
                Staged::Control(announce) => self.announce(state, announce),
            }
        }
    }

    fn op_committed(&self, state: &mut UserState, p: StagedOp) {
        let origin = p.op.device.clone();
        if let Some(dev) = state.devices.get(&origin) {
            if dev.conn == p.conn {
                let ack = crate::protocol::ServerFrame::Ack {
                    seq: p.op.seq,
                    version: p.op.version,
                    duplicate: false,
                };
                let _ = dev.link.push_frame(&ack);
            }
            dev.link.op_done();
        }
        let mut fanned_out = false;
        for (id, dev) in &state.devices {
            if *id != origin {
                let _ = dev.link.push(p.delta.clone());
                fanned_out = true;
            }
        }
        if let Some(obs) = &self.observer {
            obs.delta(&state.user, &p.op);
        }
        if let Some(lease) = p.lease {
            self.lease_changed(state, lease);
        }
        let elapsed = p.received.elapsed().as_secs_f64();
        metrics::histogram!("baton_ack_latency_seconds").record(elapsed);
        if fanned_out {
            metrics::histogram!("baton_fanout_latency_seconds").record(elapsed);
        }
        metrics::counter!("baton_ops_committed_total").increment(1);
        state.window.push(p.op);
    }
}
