//! A batch became durable, or did not: only here are ops acknowledged and
//! fanned out and control records announced, in version order.

use baton_protocol::{CloseCode, ServerFrame};

use crate::effect::{Effect, Lane, Observed, Stop, StopReason};
use crate::input::CommitFailure;
use crate::machine::UserSync;
use crate::pipeline::{Staged, StagedOp};

impl UserSync {
    /// The batch in flight is durable: acknowledge, fan out, announce, remember.
    pub(crate) fn committed(&mut self) {
        let batch = self.commits.committed();
        // Records take consecutive versions: everything not still waiting is durable.
        self.durable_version = self.doc.version() - self.commits.len() as u64;
        for staged in batch {
            match staged {
                Staged::Op(op) => self.op_committed(op),
                Staged::Control(announce) => self.announce(announce),
            }
        }
    }

    fn op_committed(&mut self, p: StagedOp) {
        let origin = p.op.device.clone();
        // The ack, and the end of the op's count in flight, belong to the
        // connection it arrived on (a resend moves it), if that one is still
        // the device's. (Resolving on a newer connection that never counted
        // the op let that one exceed its in-flight bound: found by the
        // simulation.)
        if self.conn_of(&origin) == Some(p.conn) {
            let ack = ServerFrame::Ack {
                seq: p.op.seq,
                version: p.op.version,
                duplicate: false,
            };
            self.send(p.conn, &ack, Lane::Live);
            self.emit(Effect::Resolved { conn: p.conn });
        }
        let others: Vec<u64> = self
            .devices
            .iter()
            .filter(|(id, _)| **id != origin)
            .map(|(_, d)| d.conn)
            .collect();
        let fanned_out = !others.is_empty();
        if fanned_out {
            debug_assert!(p.op.version <= self.durable_version);
        }
        for conn in others {
            self.send_text(conn, p.delta.clone(), Lane::Live);
        }
        self.emit(Effect::Acked {
            mark: p.mark,
            fanned_out,
        });
        self.observe(|| Observed::Delta(p.op.clone()));
        if let Some(lease) = p.lease {
            self.lease_changed(lease);
        }
        metrics::counter!("baton_ops_committed_total").increment(1);
        self.window.push(p.op);
    }

    /// A commit failed: nothing in flight was acknowledged. Close every
    /// device (they reconnect and resend) and stop; the next activation
    /// reloads the durable state.
    pub(crate) fn commit_failed(&mut self, failure: CommitFailure) {
        if failure.stale_writer {
            // Another node owns the user now (or wrote it concurrently).
            self.moved_away(&failure.detail);
            return;
        }
        tracing::error!(user = %self.user, error = %failure.detail, "commit failed; stopping the user");
        metrics::counter!("baton_commit_failures_total").increment(1);
        self.close_all(CloseCode::InternalError);
        self.stop(None, StopReason::Failed(failure.detail));
    }

    /// Another node owns the user: close every device with 4009 (they
    /// reconnect, resume and resend what was not acknowledged) and stop
    /// without writing.
    pub(crate) fn moved_away(&mut self, why: &str) {
        tracing::warn!(user = %self.user, why, "user moved away; stopping");
        metrics::counter!("baton_user_fenced_total").increment(1);
        self.close_all(CloseCode::Moved);
        self.stop(None, StopReason::Moved(why.to_owned()));
    }

    pub(crate) fn stop(&mut self, save: Option<crate::effect::SnapshotSave>, reason: StopReason) {
        self.stopped = true;
        self.emit(Effect::Stop(Stop { save, reason }));
    }
}
