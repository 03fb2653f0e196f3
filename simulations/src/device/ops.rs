//! The workload's intents: queued while the device is offline or its
//! in-flight window is full, and turned into ops only when they can go out
//! (so a remove lists the dots the replica holds then). Seq numbering, the
//! unacknowledged window and renumbering after refusals are the client
//! core's ([`baton_client::Core`]).

use std::collections::VecDeque;
use std::time::Instant;

use baton_client::{ClientFrame, PlayState};
use baton_crdt::Op;
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

/// Intents not yet turned into ops.
#[derive(Debug, Default)]
pub(super) struct Queue {
    pub intents: VecDeque<(OpKind, Option<Instant>)>,
}

impl Queue {
    /// Queue an intent (`intended = None`: not timed, e.g. made offline).
    pub fn queue(&mut self, kind: OpKind, intended: Option<Instant>) {
        self.intents.push_back((kind, intended));
    }
}

impl Device {
    /// Nothing queued and nothing unacknowledged.
    pub(super) fn is_idle(&self) -> bool {
        self.q.intents.is_empty() && self.core.pending().is_empty()
    }

    /// Build the op for `kind` from the replica; `None` when this device may
    /// not send it now (playback while another device holds the lease).
    fn build(&mut self, kind: OpKind) -> Option<Op> {
        let me = self.id().to_owned();
        let mut rng = rand::thread_rng();
        match kind {
            OpKind::Remove => {
                let items = self.core.state().watchlist;
                if !items.is_empty() {
                    let item = &items[rng.gen_range(0..items.len())];
                    if let Ok(Some(op)) = self.core.remove_op(&item.content) {
                        return Some(op);
                    }
                }
                self.build(OpKind::Add)
            }
            OpKind::Add => {
                let content = format!("c:{}", rng.gen_range(0..self.env.catalog));
                self.core.add_op(&content, crate::clock::unix_ms()).ok()
            }
            OpKind::Play => {
                let holder = self.core.lease().holder.clone();
                if self.handing_off || holder.as_deref().is_some_and(|h| h != me) {
                    Recorder::inc(&self.env.rec.counters.playback_skipped);
                    return None;
                }
                let position_ms = 60_000 + rng.gen_range(0..3_600_000);
                self.core
                    .playback_op(
                        &format!("c:{}", self.idx),
                        position_ms,
                        7_200_000,
                        PlayState::Playing,
                        false,
                        crate::clock::ntp64_now(),
                    )
                    .ok()
            }
        }
    }

    /// Turn queued intents into ops while the in-flight window has room.
    /// Returns the frames to write.
    pub(super) fn pump(&mut self) -> Vec<ClientFrame> {
        let mut out = Vec::new();
        while self.core.has_room() {
            let Some((kind, intended)) = self.q.intents.pop_front() else {
                break;
            };
            let Some(op) = self.build(kind) else {
                continue;
            };
            let (seq, step) = self.core.submit(op);
            if let Some(t) = intended {
                self.user.sent(self.idx, seq, t);
            }
            out.extend(step.send);
        }
        out
    }

    /// An `ack` (the core has applied the op): record its latency.
    pub(super) fn acked(&mut self, seq: u64) {
        Recorder::inc(&self.env.rec.counters.acks);
        if let (Some(kill), Some(synced)) = (self.env.rec.kill_at.get(), self.synced_at) {
            self.user.note_ack_after_kill(*kill, synced, Instant::now());
        }
        if let Some(t) = self.user.forget(self.idx, seq) {
            self.env.rec.record(Lat::Ack, t.elapsed());
        }
        self.user.devices[self.idx]
            .max_acked
            .fetch_max(seq, std::sync::atomic::Ordering::Relaxed);
    }
}
