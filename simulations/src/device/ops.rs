//! The device's op window: ops waiting to be sent (the outbox), ops sent and
//! not yet acknowledged (at most `max_inflight_ops`), and the rules of
//! PROTOCOL.md §3 for seq numbers: contiguous, a refused op does not consume
//! its seq, and after a reconnect the unacknowledged ops are renumbered from
//! `welcome.next_seq` and resent in order.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use baton_actors::protocol::ClientFrame;
use baton_crdt::{ContentId, Dot, Hlc, LoggedOp, Op, PlayState};
use rand::Rng;

use super::Device;
use crate::metrics::{Lat, Recorder};

/// What the workload asks a device to do (the op is built at send time from
/// the replica, so a remove lists the dots the device holds then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// Add a content id to the watchlist.
    Add,
    /// Remove an item the replica holds (an add when it holds none).
    Remove,
    /// Playback progress, from the lease holder only.
    Play,
}

#[derive(Debug)]
pub(super) struct Pending {
    pub op: Op,
    pub intended: Option<Instant>,
}

/// Outbox + unacknowledged window.
#[derive(Debug)]
pub(super) struct Window {
    pub outbox: VecDeque<(OpKind, Option<Instant>)>,
    pub unacked: BTreeMap<u64, Pending>,
    pub next_seq: u64,
    pub max_inflight: usize,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            outbox: VecDeque::new(),
            unacked: BTreeMap::new(),
            next_seq: 1,
            max_inflight: 64,
        }
    }
}

impl Window {
    /// Queue an op (`intended = None`: not timed, e.g. made offline).
    pub fn queue(&mut self, kind: OpKind, intended: Option<Instant>) {
        self.outbox.push_back((kind, intended));
    }

    /// Nothing queued and nothing unacknowledged.
    pub fn is_idle(&self) -> bool {
        self.outbox.is_empty() && self.unacked.is_empty()
    }
}

fn op_frame(seq: u64, op: &Op) -> String {
    serde_json::to_string(&ClientFrame::Op {
        seq,
        op: op.clone(),
    })
    .unwrap_or_default()
}

impl Device {
    /// Build the op for `kind` from the replica; `None` when this device may
    /// not send it now (playback while another device holds the lease).
    fn build(&mut self, kind: OpKind) -> Option<Op> {
        let me = self.id().to_owned();
        let mut rng = rand::thread_rng();
        match kind {
            OpKind::Remove => {
                let items = self.doc.watchlist();
                if !items.is_empty() {
                    let item = &items[rng.gen_range(0..items.len())];
                    let observed: Vec<Dot> = self
                        .doc
                        .watchlist_set()
                        .dots_of(item.content.as_str())
                        .map(|(d, _)| d.clone())
                        .collect();
                    return Some(Op::WatchlistRemove {
                        content: item.content.clone(),
                        observed,
                    });
                }
                self.build(OpKind::Add)
            }
            OpKind::Add => {
                let content =
                    ContentId::parse(&format!("c:{}", rng.gen_range(0..self.env.catalog))).ok()?;
                Some(Op::WatchlistAdd {
                    content,
                    added_at_ms: crate::clock::unix_ms(),
                    observed: Vec::new(),
                })
            }
            OpKind::Play => {
                let holder = self.lease.holder.as_deref();
                if self.handing_off || holder.is_some_and(|h| h != me) {
                    Recorder::inc(&self.env.rec.counters.playback_skipped);
                    return None;
                }
                let ntp = crate::clock::ntp64_now().max(self.hlc_last + 1);
                self.hlc_last = ntp;
                let ts = Hlc::for_device(&me, baton_crdt::uhlc::NTP64(ntp));
                let position_ms = 60_000 + rng.gen_range(0..3_600_000);
                Some(Op::Playback {
                    content: ContentId::parse(&format!("c:{}", self.idx)).ok()?,
                    position_ms,
                    duration_ms: 7_200_000,
                    state: PlayState::Playing,
                    ts,
                    lease: (holder == Some(me.as_str()) && self.lease.token > 0)
                        .then_some(self.lease.token),
                    take_lease: false,
                })
            }
        }
    }

    /// Send queued ops while the in-flight window has room. Returns frames to write.
    pub(super) fn pump(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while self.q.unacked.len() < self.q.max_inflight {
            let Some((kind, intended)) = self.q.outbox.pop_front() else {
                break;
            };
            let Some(op) = self.build(kind) else {
                continue;
            };
            let seq = self.q.next_seq;
            self.q.next_seq += 1;
            if let Some(t) = intended {
                self.user.sent(self.idx, seq, t);
            }
            out.push(op_frame(seq, &op));
            self.q.unacked.insert(seq, Pending { op, intended });
        }
        out
    }

    /// After `synced`: drop what the catch-up showed applied, renumber the
    /// rest from `next_seq` and return them for resending, in order.
    pub(super) fn resume(&mut self, next_seq: u64) -> Vec<String> {
        let old = std::mem::take(&mut self.q.unacked);
        self.q.next_seq = next_seq;
        let mut out = Vec::new();
        for (seq, p) in old {
            let t = self.user.forget(self.idx, seq);
            if seq < next_seq {
                continue; // applied before the connection was lost
            }
            let new_seq = self.q.next_seq;
            self.q.next_seq += 1;
            if let (Some(t), Some(_)) = (t, p.intended) {
                self.user.sent(self.idx, new_seq, t);
            }
            out.push(op_frame(new_seq, &p.op));
            self.q.unacked.insert(new_seq, p);
        }
        out
    }

    /// An `ack`: apply the op to the replica at the server's version.
    pub(super) fn acked(&mut self, seq: u64, version: u64) {
        Recorder::inc(&self.env.rec.counters.acks);
        if let (Some(kill), Some(synced)) = (self.env.rec.kill_at.get(), self.synced_at) {
            self.user.note_ack_after_kill(*kill, synced, Instant::now());
        }
        let Some(p) = self.q.unacked.remove(&seq) else {
            return;
        };
        if let Some(t) = p.intended {
            self.env.rec.record(Lat::Ack, t.elapsed());
        }
        let entry = LoggedOp {
            device: self.id().to_owned(),
            seq,
            version,
            at_ms: 0,
            op: p.op,
        };
        if self.doc.replay(&entry).is_err() {
            self.env.rec.error("replica_apply_own");
        }
        self.user.devices[self.idx]
            .max_acked
            .fetch_max(seq, std::sync::atomic::Ordering::Relaxed);
    }

    /// An error frame naming `seq`: the op is refused and its seq is free.
    /// Retryable refusals go back to the front of the outbox.
    pub(super) fn refused(&mut self, seq: u64, retryable: bool) -> bool {
        let Some(p) = self.q.unacked.remove(&seq) else {
            return false;
        };
        let t = self.user.forget(self.idx, seq);
        if retryable {
            let kind = match p.op {
                Op::WatchlistAdd { .. } => OpKind::Add,
                Op::WatchlistRemove { .. } => OpKind::Remove,
                _ => OpKind::Play,
            };
            self.q.outbox.push_front((kind, t));
        }
        true
    }
}
