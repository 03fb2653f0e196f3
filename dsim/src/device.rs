//! A device as the simulation models it: a replica of the server's state
//! built only from what the server said (`welcome`, deltas, snapshots, acks
//! of its own ops), and an outbox of its own ops not yet acknowledged, sent
//! one at a time and renumbered after a refusal (what a real client does).

use std::collections::{BTreeMap, VecDeque};

use baton_crdt::{Dot, LoggedOp, Op, UserDoc};
use baton_protocol::{ResumeMode, ServerFrame};
use bytes::Bytes;

/// One simulated device.
pub struct Device {
    /// Its id.
    pub id: String,
    /// Its connection, when online.
    pub conn: Option<u64>,
    /// `welcome` arrived on the current connection.
    pub welcomed: bool,
    /// The confirmed replica: server state as this device knows it.
    pub replica: UserDoc,
    /// Own ops not acknowledged, oldest first, with their seqs.
    pub outbox: VecDeque<(u64, Op)>,
    /// The outbox head was sent on the current connection and is not answered.
    pub sent_head: bool,
    /// Ops forwarded and not resolved (the session's in-flight count).
    pub inflight: usize,
    /// Frames received and not yet read, each with whether it was live.
    pub inbox: VecDeque<(Bytes, bool)>,
    /// Bytes in the inbox (the outbound queue the server filled).
    pub queued_bytes: usize,
    /// Live frames and their bytes in the inbox (what the live caps count).
    pub live_frames: usize,
    /// Bytes of those.
    pub live_bytes: usize,
    /// A `resync` is forwarded and its snapshot not queued yet.
    pub resync_pending: bool,
    /// Snapshot chunks being collected.
    chunks: Vec<String>,
    /// Dots of each watchlist item this device has seen (for removes).
    pub dots: BTreeMap<String, Vec<Dot>>,
    /// Do not send before this time (a `rate_limited` answer).
    pub retry_at_ms: u64,
    /// A handoff was asked and its result has not arrived (a client waits).
    pub handoff_pending: bool,
}

/// What reading one frame told the world.
pub enum Read {
    /// Nothing to record.
    Nothing,
    /// An own op was acknowledged at `version`.
    Acked { seq: u64 },
    /// The op at the outbox head was refused for now; retry after this many ms.
    RateLimited(u64),
    /// The frame broke the protocol as this device understands it.
    Violation(String),
}

impl Device {
    /// A new, never connected device.
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            conn: None,
            welcomed: false,
            replica: UserDoc::new(),
            outbox: VecDeque::new(),
            sent_head: false,
            inflight: 0,
            inbox: VecDeque::new(),
            queued_bytes: 0,
            live_frames: 0,
            live_bytes: 0,
            resync_pending: false,
            chunks: Vec::new(),
            dots: BTreeMap::new(),
            retry_at_ms: 0,
            handoff_pending: false,
        }
    }

    /// The seq the next new op gets.
    pub fn next_seq(&self) -> u64 {
        match self.outbox.back() {
            Some((seq, _)) => seq + 1,
            None => self.replica.next_seq(&self.id),
        }
    }

    /// The connection dropped: what it had not read is gone with it.
    pub fn disconnect(&mut self) {
        self.inbox.clear();
        self.queued_bytes = 0;
        self.live_frames = 0;
        self.live_bytes = 0;
        self.conn = None;
        self.welcomed = false;
        self.sent_head = false;
        self.inflight = 0;
        self.resync_pending = false;
        self.handoff_pending = false;
        self.chunks.clear();
    }

    /// Read the oldest received frame.
    pub fn read(&mut self) -> Read {
        let Some((bytes, live)) = self.inbox.pop_front() else {
            return Read::Nothing;
        };
        self.queued_bytes -= bytes.len();
        if live {
            self.live_frames -= 1;
            self.live_bytes -= bytes.len();
        }
        let frame: ServerFrame = match serde_json::from_slice(&bytes) {
            Ok(frame) => frame,
            Err(e) => return Read::Violation(format!("frame does not parse: {e}")),
        };
        match frame {
            ServerFrame::Welcome(w) => {
                if w.reset {
                    self.replica = UserDoc::new();
                    self.dots.clear();
                }
                self.welcomed = true;
                if w.resume == ResumeMode::Snapshot {
                    self.chunks.clear();
                }
                // Own ops the server made durable without our hearing the ack
                // come back in the catch-up; the rest are resent.
                let durable = w.next_seq.saturating_sub(1);
                let first = self.outbox.front().map(|(s, _)| *s);
                if let Some(first) = first {
                    if w.next_seq < first {
                        return Read::Violation(format!(
                            "welcome next_seq {} below unacked seq {first}",
                            w.next_seq
                        ));
                    }
                }
                while self.outbox.front().is_some_and(|(s, _)| *s <= durable) {
                    self.outbox.pop_front();
                }
                if let Some((first, _)) = self.outbox.front() {
                    if *first != w.next_seq {
                        return Read::Violation(format!(
                            "welcome next_seq {} but unacked ops start at {first}",
                            w.next_seq
                        ));
                    }
                }
                Read::Nothing
            }
            ServerFrame::Delta(op) => self.follow(&op),
            ServerFrame::SnapshotChunk { index, data, .. } => {
                if index == 0 {
                    self.chunks.clear();
                }
                self.chunks.push(data);
                Read::Nothing
            }
            ServerFrame::Synced { .. } => {
                if !self.chunks.is_empty() {
                    let text: String = self.chunks.drain(..).collect();
                    match UserDoc::from_snapshot_bytes(text.as_bytes()) {
                        Ok(doc) => {
                            self.replica = doc;
                            self.dots.clear();
                        }
                        Err(e) => return Read::Violation(format!("snapshot: {e}")),
                    }
                }
                Read::Nothing
            }
            // A resend of a durable op is acked with the watermark as version.
            ServerFrame::Ack { seq, version, .. } => self.acked(seq, version),
            ServerFrame::Error(err) => {
                let head = self.outbox.front().map(|(s, _)| *s);
                if err.seq.is_some() && err.seq == head && self.sent_head {
                    self.sent_head = false;
                    if err.code == "rate_limited" {
                        return Read::RateLimited(err.retry_after_ms.unwrap_or(1));
                    } else {
                        // Refused: the seq is not consumed; later ops move down.
                        self.outbox.pop_front();
                        for (s, _) in self.outbox.iter_mut() {
                            *s -= 1;
                        }
                    }
                }
                Read::Nothing
            }
            ServerFrame::HandoffResult { .. } => {
                self.handoff_pending = false;
                Read::Nothing
            }
            _ => Read::Nothing,
        }
    }

    fn follow(&mut self, op: &LoggedOp) -> Read {
        if let Op::WatchlistAdd { content, .. } = &op.op {
            self.dots
                .entry(content.as_str().to_owned())
                .or_default()
                .push(Dot {
                    device: op.device.clone(),
                    seq: op.seq,
                });
        }
        match self.replica.replay(op) {
            Ok(()) => Read::Nothing,
            Err(e) => Read::Violation(format!(
                "delta ({}, {}) does not follow the replica: {e}",
                op.device, op.seq
            )),
        }
    }

    fn acked(&mut self, seq: u64, version: u64) -> Read {
        let Some((head, _)) = self.outbox.front() else {
            return Read::Nothing;
        };
        if *head != seq {
            return Read::Nothing;
        }
        let Some((seq, op)) = self.outbox.pop_front() else {
            return Read::Nothing;
        };
        self.sent_head = false;
        let logged = LoggedOp {
            device: self.id.clone(),
            seq,
            version,
            at_ms: 0,
            op,
        };
        if let Read::Violation(v) = self.follow(&logged) {
            return Read::Violation(v);
        }
        Read::Acked { seq }
    }
}
