//! Device ops: rate limit, merge into the document, queue for commit.

use baton_crdt::{CrdtError, Op, Outcome};
use baton_protocol::{ErrorFrame, LeaseView, ServerFrame};
use bytes::Bytes;

use crate::effect::{Effect, Lane};
use crate::machine::UserSync;
use crate::pipeline::{Staged, StagedOp};
use crate::record::Record;

impl UserSync {
    /// Apply one op. A duplicate of a durable op is acknowledged at once, a
    /// duplicate of one in flight when its commit lands; refused ops get an
    /// error frame and do not consume their seq; applied ops wait for commit.
    pub(crate) fn on_op(&mut self, device: &str, conn: u64, seq: u64, op: Op, mark: u64) {
        let live = self.conn_of(device) == Some(conn);
        if let Err(wait_ms) = self.bucket.take(self.now.ms) {
            let mut err = ErrorFrame::new(
                "rate_limited",
                format!(
                    "more than {} ops in {:?} for this user",
                    self.cfg.rate_limit_events, self.cfg.rate_limit_window
                ),
            )
            .for_seq(seq);
            err.retry_after_ms = Some(wait_ms);
            self.refuse(live, conn, err);
            return;
        }
        let lease_before = self.doc.lease().cloned();
        let rules = self.cfg.rules();
        match self.doc.apply(device, seq, op, self.now.hlc.time(), &rules) {
            Ok(Outcome::Duplicate { .. }) => {
                metrics::counter!("baton_ops_duplicate_total").increment(1);
                // A resend of an op that is applied but not yet durable: its
                // ack waits for the commit, on the connection asking now.
                if let Some(pending) = self.commits.uncommitted_op_mut(device, seq) {
                    pending.conn = conn;
                    return;
                }
                if live {
                    // The watermark is the durable version, not the document's
                    // (which may hold other devices' ops still in flight).
                    let ack = ServerFrame::Ack {
                        seq,
                        version: self.durable_version,
                        duplicate: true,
                    };
                    self.send(conn, &ack, Lane::Live);
                    self.emit(Effect::Resolved { conn });
                }
            }
            Ok(Outcome::Applied(logged, lease_after)) => {
                // Grants and takes come back from `apply`; a release (an
                // `ended` from the holder) shows as the lease gone.
                let lease = (self.doc.lease() != lease_before.as_ref()).then(|| LeaseView {
                    holder: lease_after.as_ref().map(|l| l.device.clone()),
                    token: lease_after.map_or_else(|| self.doc.lease_token(), |l| l.token),
                });
                let payload = match serde_json::to_vec(&logged.op) {
                    Ok(p) => p,
                    Err(e) => {
                        let err = ErrorFrame::new("internal", e.to_string()).for_seq(seq);
                        self.refuse(live, conn, err);
                        return;
                    }
                };
                let delta = Bytes::from(ServerFrame::Delta(logged.clone()).to_text());
                let record = Record::of_op(&logged, payload);
                let staged = StagedOp {
                    op: logged,
                    delta,
                    conn,
                    mark,
                    lease,
                };
                self.commits.push(record, Staged::Op(staged));
            }
            Err(err) => {
                let mut frame = ErrorFrame::new(err.code(), err.to_string()).for_seq(seq);
                if let CrdtError::SeqGap { expected, .. } = err {
                    frame.expected_seq = Some(expected);
                }
                self.refuse(live, conn, frame);
            }
        }
    }

    fn refuse(&mut self, live: bool, conn: u64, err: ErrorFrame) {
        metrics::counter!("baton_protocol_errors_total", "code" => err.code.clone()).increment(1);
        if live {
            self.send(conn, &ServerFrame::Error(err), Lane::Live);
            self.emit(Effect::Resolved { conn });
        }
    }
}
