//! [`Core`]: the client's sans-IO state machine. It turns server frames and
//! local edits into frames to send and [`Event`]s; the socket loop in
//! [`crate::Client`] feeds it, and the conformance vectors drive it directly.

use std::time::Duration;

use baton_crdt::{Op, VersionVector};
use baton_protocol::{ClientFrame, DeviceHello, LeaseView, PresenceEntry, ServerFrame};

use crate::error::{ErrorCode, ServerError};
use crate::events::{ConnectionState, Event};
use crate::outbox::{Outbox, Refusal};
use crate::replica::Replica;
use crate::ClientError;

/// Where the current session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No socket.
    Offline,
    /// `hello` sent, waiting for `welcome`.
    Hello,
    /// Catching up until `synced`.
    CatchUp,
    /// Live.
    Live,
}

/// What the IO layer must do after a step of the core.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Close this session and reconnect at once (numbering out of step,
    /// or a replica the server must replace).
    Reconnect,
    /// Sending is paused; call [`Core::resume_sending`] after this wait.
    RetryAfter(Duration),
}

/// Frames to send, events to publish, and an optional action.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Output {
    /// Frames to send, in order.
    pub send: Vec<ClientFrame>,
    /// Events for the application.
    pub events: Vec<Event>,
    /// Something the IO layer must do.
    pub action: Option<Action>,
}

/// The state machine of one device.
#[derive(Debug, Clone)]
pub struct Core {
    pub(crate) me: String,
    pub(crate) hello: DeviceHello,
    pub(crate) replica: Replica,
    pub(crate) outbox: Outbox,
    phase: Phase,
    next_seq: u64,
    snapshot: String,
    limits: Option<baton_protocol::Limits>,
    pub(crate) presence: Vec<PresenceEntry>,
    pub(crate) clock: crate::local::Clock,
}

impl Core {
    /// A new device replica with nothing in it.
    pub fn new(device: &str, hello: DeviceHello) -> Self {
        Core::restore(device, hello, Replica::default(), Outbox::default())
    }

    pub(crate) fn restore(
        device: &str,
        hello: DeviceHello,
        replica: Replica,
        outbox: Outbox,
    ) -> Self {
        Core {
            me: device.to_owned(),
            hello,
            replica,
            outbox,
            phase: Phase::Offline,
            next_seq: 1,
            limits: None,
            snapshot: String::new(),
            presence: Vec::new(),
            clock: crate::local::Clock::new(device),
        }
    }

    /// This device's id.
    pub fn device(&self) -> &str {
        &self.me
    }

    /// The session phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The confirmed replica.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Seqs of the own ops not acknowledged yet.
    pub fn pending(&self) -> Vec<u64> {
        self.outbox.seqs()
    }

    /// Whether the in-flight window (`welcome.limits.max_inflight_ops`)
    /// has room for another op without queueing it.
    pub fn has_room(&self) -> bool {
        self.outbox.ops().len() < self.outbox.max_inflight()
    }

    /// The pending ops by seq.
    pub fn pending_ops(&self) -> &std::collections::BTreeMap<u64, Op> {
        self.outbox.ops()
    }

    /// The socket is open: the `hello` to send first.
    pub fn connected(&mut self) -> ClientFrame {
        self.phase = Phase::Hello;
        self.outbox.session_start();
        self.snapshot.clear();
        ClientFrame::Hello {
            protocol: 1,
            device: self.hello.clone(),
            vv: self.replica.doc().vv().clone(),
        }
    }

    /// The socket is gone.
    pub fn disconnected(&mut self) {
        self.phase = Phase::Offline;
        self.outbox.session_start();
        self.snapshot.clear();
    }

    /// Handles one text frame from the server; `now_ntp` is the local clock
    /// (NTP64) for the clock offset.
    pub fn handle_text(&mut self, text: &str, now_ntp: u64) -> Result<Output, ClientError> {
        let frame: ServerFrame =
            serde_json::from_str(text).map_err(|e| ClientError::Decode(e.to_string()))?;
        self.handle(frame, now_ntp)
    }

    /// Handles one server frame.
    pub fn handle(&mut self, frame: ServerFrame, now_ntp: u64) -> Result<Output, ClientError> {
        let mut out = Output::default();
        match frame {
            ServerFrame::Welcome(w) => {
                // A welcome starts a session, whatever came before it.
                self.outbox.session_start();
                self.snapshot.clear();
                if w.reset {
                    self.replica.reset();
                }
                self.replica.set_lease(w.lease);
                self.outbox.set_max_inflight(w.limits.max_inflight_ops);
                self.clock
                    .welcome(&w.hlc_id, w.server_time.time().0, now_ntp);
                self.next_seq = w.next_seq;
                self.limits = Some(w.limits.clone());
                self.phase = Phase::CatchUp;
                out.events
                    .push(Event::Connection(ConnectionState::CatchingUp));
            }
            ServerFrame::Delta(op) => match self.replica.apply_delta(&op) {
                Ok(true) => {
                    if op.device == self.me {
                        self.outbox.confirmed_upto(op.seq);
                    }
                    out.events.push(Event::DeltaApplied {
                        device: op.device.clone(),
                        seq: op.seq,
                        version: op.version,
                    });
                    out.events.push(Event::StateChanged);
                }
                Ok(false) => {}
                // A gap in what the server sent: let a new session repair it.
                Err(_) => out.action = Some(Action::Reconnect),
            },
            ServerFrame::Ack { seq, version, .. } => {
                if let Some(op) = self.outbox.acked(seq) {
                    if self.replica.apply_own(&self.me, seq, version, op).is_err() {
                        out.action = Some(Action::Reconnect);
                    }
                    out.events.push(Event::Acked { seq, version });
                }
            }
            ServerFrame::SnapshotChunk {
                version,
                index,
                total,
                data,
            } => {
                if index == 0 {
                    self.snapshot.clear();
                }
                self.snapshot.push_str(&data);
                if index + 1 >= total {
                    let text = std::mem::take(&mut self.snapshot);
                    self.replica.adopt_snapshot(&text, version)?;
                    self.outbox
                        .confirmed_upto(self.replica.doc().vv().get(&self.me));
                    out.events.push(Event::SnapshotAdopted { version });
                    out.events
                        .push(Event::LeaseChanged(self.replica.lease().clone()));
                    out.events.push(Event::StateChanged);
                }
            }
            ServerFrame::Synced { version } => {
                self.replica.reached(version);
                if self.phase == Phase::CatchUp {
                    self.outbox.synced(&self.me, self.next_seq);
                    self.phase = Phase::Live;
                    out.events.push(Event::Synced { version });
                    out.events.push(Event::Connection(ConnectionState::Live));
                }
            }
            ServerFrame::Lease(l) => self.on_lease(l, &mut out),
            ServerFrame::PlaybackControl {
                request_id,
                from,
                content,
                position_ms,
                lease,
            } => {
                self.on_lease(
                    LeaseView {
                        holder: Some(self.me.clone()),
                        token: lease,
                    },
                    &mut out,
                );
                out.events.push(Event::PlaybackControl {
                    request_id,
                    from,
                    content: content.as_str().to_owned(),
                    position_ms,
                    lease,
                });
            }
            ServerFrame::HandoffResult {
                request_id,
                outcome,
            } => out.events.push(Event::HandoffResult {
                request_id,
                outcome,
            }),
            ServerFrame::Presence { devices } => {
                self.presence = devices.clone();
                out.events.push(Event::Presence(devices));
            }
            ServerFrame::Error(e) => self.error(ServerError::from(&e), &mut out),
        }
        self.pump(&mut out);
        Ok(out)
    }

    fn on_lease(&mut self, l: LeaseView, out: &mut Output) {
        if self.replica.lease_moved(l) {
            out.events
                .push(Event::LeaseChanged(self.replica.lease().clone()));
        }
    }

    fn error(&mut self, e: ServerError, out: &mut Output) {
        let Some(seq) = e.seq else {
            out.events.push(Event::ServerError(e));
            return;
        };
        let retryable = e.code.is_retryable();
        let gap = e.code == ErrorCode::SeqGap;
        match self.outbox.refused(&self.me, seq, retryable, gap) {
            Refusal::Dropped(_) => {
                out.events.push(Event::OpRefused(e));
                out.events.push(Event::StateChanged);
            }
            Refusal::Kept => {
                let wait = e.retry_after.unwrap_or(Duration::from_millis(500));
                out.action = Some(Action::RetryAfter(wait));
                out.events.push(Event::ServerError(e));
            }
            Refusal::Resync => out.action = Some(Action::Reconnect),
            Refusal::Gap | Refusal::Unknown => {}
        }
    }

    /// After the wait of [`Action::RetryAfter`]: send again.
    pub fn resume_sending(&mut self) -> Output {
        self.outbox.resume();
        let mut out = Output::default();
        self.pump(&mut out);
        out
    }

    /// Queues a local op (already applied optimistically); returns its seq
    /// and what to send now.
    pub fn submit(&mut self, op: Op) -> (u64, Output) {
        let seq = self.outbox.push(self.replica.next_seq(&self.me), op);
        let mut out = Output::default();
        out.events.push(Event::StateChanged);
        self.pump(&mut out);
        (seq, out)
    }

    fn pump(&mut self, out: &mut Output) {
        if self.phase != Phase::Live {
            return;
        }
        for (seq, op) in self.outbox.to_send() {
            out.send.push(ClientFrame::Op { seq, op });
        }
    }

    /// The limits of the last `welcome` (`None` before the first one).
    pub fn limits(&self) -> Option<&baton_protocol::Limits> {
        self.limits.as_ref()
    }

    /// Refuses, before it is queued, an op whose frame the node would
    /// refuse for its size (`max_message_bytes`, 65,536 until a welcome
    /// says otherwise; a larger frame would close the socket with 1009).
    pub fn check_size(&self, op: &Op) -> Result<(), ClientError> {
        let max = self.limits.as_ref().map_or(65_536, |l| l.max_message_bytes);
        let frame = ClientFrame::Op {
            seq: baton_crdt::MAX_WIRE_INTEGER,
            op: op.clone(),
        };
        let len = serde_json::to_vec(&frame)
            .map_err(|e| ClientError::Invalid(e.to_string()))?
            .len();
        if len > max {
            return Err(ClientError::TooLarge { len, max });
        }
        Ok(())
    }

    /// The version vector a `hello` would carry.
    pub fn vv(&self) -> &VersionVector {
        self.replica.doc().vv()
    }
}
