//! The per-user commit pipeline: applied ops wait in `pending`; one batch at a
//! time is in flight to the store (whose group committer batches across
//! users). Only when a batch is durable are its ops acknowledged and fanned
//! out, in version order.

use std::time::Instant;

use baton_crdt::LoggedOp;
use baton_store::LogEntry;
use bytes::Bytes;
use ractor::ActorRef;

use super::actor::{UserActor, UserState};
use super::msg::UserMsg;
use crate::observer::ControlEvent;
use crate::protocol::{LeaseView, ServerFrame};

/// An op applied in memory and not yet durable.
pub(crate) struct Pending {
    pub(crate) entry: LogEntry,
    pub(crate) op: LoggedOp,
    pub(crate) delta: Bytes,
    pub(crate) conn: u64,
    pub(crate) received: Instant,
    /// The lease after this op, when the op changed it.
    pub(crate) lease: Option<LeaseView>,
}

/// Ops waiting for, and in, the store.
#[derive(Default)]
pub(crate) struct CommitPipeline {
    pub(crate) pending: Vec<Pending>,
    pub(crate) inflight: Vec<Pending>,
}

impl CommitPipeline {
    /// No op is waiting or in flight: the document equals the durable state.
    pub(crate) fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.inflight.is_empty()
    }

    /// Ops applied but not durable, oldest first.
    pub(crate) fn uncommitted(&self) -> impl Iterator<Item = &Pending> {
        self.inflight.iter().chain(self.pending.iter())
    }
}

impl UserActor {
    /// Send the pending ops to the store if no batch is in flight.
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

    /// The batch in flight is durable: acknowledge, fan out, remember.
    pub(crate) fn committed(&self, state: &mut UserState) {
        let batch = std::mem::take(&mut state.commits.inflight);
        for p in batch {
            let origin = p.op.device.clone();
            if let Some(dev) = state.devices.get(&origin) {
                if dev.conn == p.conn {
                    let ack = ServerFrame::Ack {
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
                if let Some(obs) = &self.observer {
                    obs.control(&state.user, ControlEvent::Lease(lease.clone()));
                }
                let frame = ServerFrame::Lease(lease).to_text();
                let frame = Bytes::from(frame);
                for dev in state.devices.values() {
                    let _ = dev.link.push(frame.clone());
                }
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
}
