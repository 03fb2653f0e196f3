//! The replica's side of the wire: local edits, and the server reading,
//! answering, holding or refusing the op frames the replica sent.

use baton_crdt::{CrdtError, Op, Outcome, Rules};
use baton_protocol::{ErrorFrame, ServerFrame};

use super::{error_frame, lease_of, Sim};
use crate::script::ScriptEvent;
use crate::vector::Step;
use crate::GenError;

impl Sim {
    /// The app edits locally; the replica queues (and, when live, sends) it.
    pub fn local(&mut self, op: Op) -> Result<u64, GenError> {
        let (seq, out) = self.core.submit(op.clone());
        self.steps.push(Step::Local(seq, op));
        self.made += 1;
        self.take_sent(out.send);
        Ok(seq)
    }

    /// The server reads the next op frame of the replica and answers it.
    pub fn deliver(&mut self) -> Result<(), GenError> {
        self.deliver_inner(true)
    }

    /// The server applies the next op frame but the answer is lost (the
    /// replica then goes offline).
    pub fn deliver_unanswered(&mut self) -> Result<(), GenError> {
        self.deliver_inner(false)?;
        let me = self.me.clone();
        self.disconnect(&me)
    }

    /// Delivers every op frame on the wire.
    pub fn deliver_all(&mut self) -> Result<(), GenError> {
        while !self.wire.is_empty() {
            self.deliver()?;
        }
        Ok(())
    }

    /// The network duplicates the next op frame: the server reads it twice.
    pub fn deliver_twice(&mut self) -> Result<(), GenError> {
        let front = self
            .wire
            .front()
            .cloned()
            .ok_or_else(|| self.fail("nothing on the wire"))?;
        self.deliver()?;
        self.wire.push_front(front);
        self.deliver()
    }

    /// The server applies the next op frame; its ack waits for the commit
    /// (a real node answers refusals at once, acks only once durable), until
    /// [`Sim::release_held`].
    pub fn deliver_held(&mut self) -> Result<(), GenError> {
        let before = lease_of(&self.doc);
        let n = self.steps.len();
        self.deliver_inner(false)?;
        if self.steps.len() != n {
            return Err(self.fail("a held delivery answered"));
        }
        let Some(ScriptEvent::Op {
            seq, error: None, ..
        }) = self.script.last().map(|s| &s.event)
        else {
            return Err(self.fail("a held delivery must be applied"));
        };
        let seq = *seq;
        self.held.push(ServerFrame::Ack {
            seq,
            version: self.doc.version(),
            duplicate: false,
        });
        let after = lease_of(&self.doc);
        if after != before {
            self.held.push(ServerFrame::Lease(after));
        }
        Ok(())
    }

    /// The held answers arrive (the commit landed).
    pub fn release_held(&mut self) -> Result<(), GenError> {
        for frame in std::mem::take(&mut self.held) {
            self.recv(frame)?;
        }
        Ok(())
    }

    fn deliver_inner(&mut self, answer: bool) -> Result<(), GenError> {
        self.tick();
        let (seq, op) = self
            .wire
            .pop_front()
            .ok_or_else(|| self.fail("nothing on the wire"))?;
        let me = self.me.clone();
        let before = lease_of(&self.doc);
        let res = self
            .doc
            .apply(&me, seq, op.clone(), self.now_ntp(), &Rules::default());
        let (frame, error) = match res {
            Ok(Outcome::Applied(logged, _)) => {
                let version = logged.version;
                self.log.push(logged);
                (
                    ServerFrame::Ack {
                        seq,
                        version,
                        duplicate: false,
                    },
                    None,
                )
            }
            Ok(Outcome::Duplicate { version }) => (
                ServerFrame::Ack {
                    seq,
                    version,
                    duplicate: true,
                },
                None,
            ),
            Err(e) => {
                if !matches!(e, CrdtError::SeqGap { .. }) && !e.is_retryable() {
                    self.dropped += 1;
                }
                (
                    ServerFrame::Error(error_frame(&e, seq)),
                    Some(e.code().to_owned()),
                )
            }
        };
        self.scripted(ScriptEvent::Op {
            device: me,
            seq,
            op,
            error,
        });
        if answer {
            self.recv(frame)?;
            self.lease_changed(&before)?;
        }
        Ok(())
    }

    /// The server refuses the next op frame with `code` before looking at it
    /// (`too_many_inflight`, `rate_limited`: retryable; nothing applied).
    pub fn refuse(&mut self, code: &str, retry_after_ms: u64) -> Result<(), GenError> {
        if !baton_client::ErrorCode::from_wire(code).is_retryable() {
            return Err(self.fail(format!("{code} is not a retryable refusal")));
        }
        let (seq, _) = self
            .wire
            .pop_front()
            .ok_or_else(|| self.fail("nothing on the wire"))?;
        let mut e = ErrorFrame::new(code, format!("refused: {code}")).for_seq(seq);
        e.retry_after_ms = Some(retry_after_ms);
        self.recv(ServerFrame::Error(e))
    }

    /// The last delta frame arrives again (at-least-once delivery).
    pub fn repeat_last_delta(&mut self) -> Result<(), GenError> {
        let frame = self
            .last_delta
            .clone()
            .ok_or_else(|| self.fail("no delta yet"))?;
        self.recv(frame)
    }
}
