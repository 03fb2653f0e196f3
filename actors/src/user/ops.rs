//! Device ops: rate limit, merge into the document, queue for commit.

use std::time::Instant;

use baton_crdt::{Op, Outcome};
use bytes::Bytes;

use super::actor::{UserActor, UserState};
use super::commit::StagedOp;
use crate::device::count_error;
use crate::protocol::{ErrorFrame, ServerFrame};

impl UserActor {
    /// Apply one op. Duplicates are acknowledged at once; refused ops get an
    /// error frame and do not consume their seq; applied ops wait for commit.
    pub(crate) async fn on_op(
        &self,
        state: &mut UserState,
        device: &str,
        conn: u64,
        seq: u64,
        op: Op,
        received: Instant,
    ) {
        let link = state
            .devices
            .get(device)
            .filter(|d| d.conn == conn)
            .map(|d| d.link.clone());
        let refuse = |err: ErrorFrame| {
            count_error(&err.code);
            if let Some(link) = &link {
                let _ = link.push_frame(&ServerFrame::Error(err));
                link.op_done();
            }
        };
        let decision = match self
            .shared
            .rate_take(
                &state.user,
                self.cfg.rate_limit_events,
                self.cfg.rate_limit_window,
            )
            .await
        {
            Some(shared) => shared,
            None => state.bucket.take(received),
        };
        if let Err(wait) = decision {
            let mut err = ErrorFrame::new(
                "rate_limited",
                format!(
                    "more than {} ops in {:?} for this user",
                    self.cfg.rate_limit_events, self.cfg.rate_limit_window
                ),
            )
            .for_seq(seq);
            err.retry_after_ms = Some(wait.as_millis().try_into().unwrap_or(u64::MAX).max(1));
            refuse(err);
            return;
        }
        let now = self.clock.new_timestamp();
        let lease_before = state.doc.lease().cloned();
        match state
            .doc
            .apply(device, seq, op, *now.get_time(), &state.rules)
        {
            Ok(Outcome::Duplicate { .. }) => {
                metrics::counter!("baton_ops_duplicate_total").increment(1);
                // A resend of an op that is applied but not yet durable: its
                // ack must wait for the commit, on the connection asking now.
                if let Some(pending) = state.commits.uncommitted_op_mut(device, seq) {
                    pending.conn = conn;
                    return;
                }
                if let Some(link) = &link {
                    // The watermark is the durable version, not the document's
                    // (which may hold other devices' ops still in flight).
                    let _ = link.push_frame(&ServerFrame::Ack {
                        seq,
                        version: super::attach::committed_version(state),
                        duplicate: true,
                    });
                    link.op_done();
                }
            }
            Ok(Outcome::Applied(logged, _)) => {
                // Grants, takes and releases (an `ended` from the holder) all
                // show as a change of the lease.
                let lease = (state.doc.lease() != lease_before.as_ref())
                    .then(|| super::announce::lease_of(&state.doc));
                let payload = match serde_json::to_vec(&logged.op) {
                    Ok(p) => p,
                    Err(e) => {
                        refuse(ErrorFrame::new("internal", e.to_string()).for_seq(seq));
                        return;
                    }
                };
                let delta = Bytes::from(ServerFrame::Delta(logged.clone()).to_text());
                let user = state.user.clone();
                state.commits.push_op(
                    &user,
                    StagedOp {
                        op: logged,
                        delta,
                        conn,
                        received,
                        lease,
                    },
                    payload,
                );
            }
            Err(err) => {
                let mut frame = ErrorFrame::new(err.code(), err.to_string()).for_seq(seq);
                if let baton_crdt::CrdtError::SeqGap { expected, .. } = err {
                    frame.expected_seq = Some(expected);
                }
                refuse(frame);
            }
        }
    }
}
