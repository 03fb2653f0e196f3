//! The outbox: this device's ops that the server has not acknowledged yet,
//! and the seq rules of PROTOCOL.md section 3.
//!
//! - A new op takes the seq after the last pending one (or the replica's
//!   next seq when nothing is pending).
//! - At most `max_inflight` ops are on the wire at once.
//! - A refused op (an `error` naming its seq) does not consume its seq. A
//!   non-retryable refusal drops the op; a retryable one (`rate_limited`,
//!   `too_many_inflight`, `unavailable`) keeps it and pauses sending until
//!   [`Outbox::resume`]. The ops sent after it are *doomed*: the server
//!   answers each with `seq_gap`. Once every doomed op has been answered, the
//!   pending ops are renumbered contiguously from the refused seq (and dots of
//!   this device in their `observed` lists follow the renumbering) and sent
//!   again.
//! - After a reconnect, ops the catch-up showed applied are dropped and the
//!   rest are renumbered from `welcome.next_seq`.

use std::collections::{BTreeMap, BTreeSet};

use baton_crdt::{Dot, Op};

/// What the outbox did with an error frame naming a seq.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The op was dropped (its seq is free again).
    Dropped(Op),
    /// The op is kept and will be resent after the retry hint.
    Kept,
    /// A doomed op's expected `seq_gap`: nothing to do.
    Gap,
    /// An unexpected `seq_gap`: the numbering is out of step with the
    /// server; reconnect (the welcome's `next_seq` fixes it).
    Resync,
    /// The seq names no pending op (a late answer): ignored.
    Unknown,
}

/// Pending ops and the send window.
#[derive(Debug, Clone)]
pub struct Outbox {
    ops: BTreeMap<u64, Op>,
    /// Highest seq sent in this session (0: none).
    sent_upto: u64,
    /// Old seqs sent after a refusal, each awaiting its `seq_gap`.
    doomed: BTreeSet<u64>,
    /// Seq the pending ops are renumbered from once `doomed` is empty.
    base: u64,
    /// Seqs of ops dropped since the last renumbering.
    dropped: BTreeSet<u64>,
    /// Sending paused after a retryable refusal.
    paused: bool,
    /// The server's in-flight limit (`welcome.limits.max_inflight_ops`).
    max_inflight: usize,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            ops: BTreeMap::new(),
            sent_upto: 0,
            doomed: BTreeSet::new(),
            base: 0,
            dropped: BTreeSet::new(),
            paused: false,
            max_inflight: 64,
        }
    }
}

impl Outbox {
    /// An outbox holding `ops` (restored from persistence), nothing sent.
    pub fn restore(ops: BTreeMap<u64, Op>) -> Self {
        Outbox {
            ops,
            ..Outbox::default()
        }
    }

    /// The pending ops by seq.
    pub fn ops(&self) -> &BTreeMap<u64, Op> {
        &self.ops
    }

    /// Seqs of the pending ops, ascending.
    pub fn seqs(&self) -> Vec<u64> {
        self.ops.keys().copied().collect()
    }

    /// Sets the in-flight window (at least 1).
    pub fn set_max_inflight(&mut self, n: usize) {
        self.max_inflight = n.max(1);
    }

    /// Queues a new op; `next_confirmed` is the replica's next seq for this
    /// device. Returns its seq.
    pub fn push(&mut self, next_confirmed: u64, op: Op) -> u64 {
        let seq = self
            .ops
            .last_key_value()
            .map_or(next_confirmed, |(s, _)| s + 1)
            .max(next_confirmed);
        self.ops.insert(seq, op);
        seq
    }

    /// A new session starts: nothing is on the wire.
    pub fn session_start(&mut self) {
        self.sent_upto = 0;
        self.doomed.clear();
        self.dropped.clear();
        self.paused = false;
    }

    /// Ops to send now, in order (empty while doomed answers are awaited,
    /// while paused, or with a full window). Marks them sent.
    pub fn to_send(&mut self) -> Vec<(u64, Op)> {
        if !self.doomed.is_empty() || self.paused {
            return Vec::new();
        }
        let room = self.max_inflight.saturating_sub(self.inflight());
        let out: Vec<(u64, Op)> = self
            .ops
            .range(self.sent_upto + 1..)
            .take(room)
            .map(|(s, op)| (*s, op.clone()))
            .collect();
        if let Some((last, _)) = out.last() {
            self.sent_upto = *last;
        }
        out
    }

    /// The in-flight window in use.
    pub fn max_inflight(&self) -> usize {
        self.max_inflight
    }

    /// Ops on the wire and not acknowledged.
    pub fn inflight(&self) -> usize {
        self.ops.range(..=self.sent_upto).count()
    }

    /// Ends the pause of a retryable refusal.
    pub fn resume(&mut self) {
        self.paused = false;
    }

    /// An `ack` for `seq`: the op, if it was pending.
    pub fn acked(&mut self, seq: u64) -> Option<Op> {
        self.ops.remove(&seq)
    }

    /// The server holds every op of this device up to `seq` (catch-up delta
    /// or snapshot): they are no longer pending.
    pub fn confirmed_upto(&mut self, seq: u64) -> Vec<u64> {
        let keep = self.ops.split_off(&(seq + 1));
        let gone = std::mem::replace(&mut self.ops, keep);
        gone.into_keys().collect()
    }

    /// Catch-up ended (`synced`): drop what the server already has (below
    /// `next_seq`) and renumber the rest from `next_seq`.
    pub fn synced(&mut self, me: &str, next_seq: u64) {
        self.confirmed_upto(next_seq.saturating_sub(1));
        self.renumber(me, next_seq);
    }

    /// An error frame naming `seq`. `retryable` and `gap` describe its code.
    pub fn refused(&mut self, me: &str, seq: u64, retryable: bool, gap: bool) -> Refusal {
        if self.doomed.remove(&seq) {
            let verdict = if gap {
                Refusal::Gap
            } else {
                self.refuse_one(seq, retryable)
            };
            if self.doomed.is_empty() {
                self.renumber(me, self.base);
            }
            return verdict;
        }
        if gap {
            return if self.ops.contains_key(&seq) {
                Refusal::Resync
            } else {
                Refusal::Unknown
            };
        }
        if !self.ops.contains_key(&seq) {
            return Refusal::Unknown;
        }
        self.base = seq;
        self.doomed = if self.sent_upto > seq {
            self.ops
                .range(seq + 1..=self.sent_upto)
                .map(|(s, _)| *s)
                .collect()
        } else {
            BTreeSet::new()
        };
        self.sent_upto = self.sent_upto.min(seq - 1);
        let verdict = self.refuse_one(seq, retryable);
        if self.doomed.is_empty() {
            self.renumber(me, self.base);
        }
        verdict
    }

    fn refuse_one(&mut self, seq: u64, retryable: bool) -> Refusal {
        if retryable {
            self.paused = true;
            return Refusal::Kept;
        }
        match self.ops.remove(&seq) {
            Some(op) => {
                self.dropped.insert(seq);
                Refusal::Dropped(op)
            }
            None => Refusal::Unknown,
        }
    }

    /// Renumbers the pending ops from `base` on contiguously (ops below
    /// `base` are on the wire and keep their seqs); this device's dots in
    /// `observed` lists follow (dots of dropped ops are removed).
    fn renumber(&mut self, me: &str, base: u64) {
        let old = self.ops.split_off(&base);
        let map: BTreeMap<u64, u64> = old
            .keys()
            .enumerate()
            .map(|(i, s)| (*s, base + i as u64))
            .collect();
        let fix = |observed: &mut Vec<Dot>| {
            observed.retain(|d| d.device != me || !self.dropped.contains(&d.seq));
            for d in observed.iter_mut().filter(|d| d.device == me) {
                if let Some(n) = map.get(&d.seq) {
                    d.seq = *n;
                }
            }
        };
        for (seq, mut op) in old {
            match &mut op {
                Op::WatchlistAdd { observed, .. } | Op::WatchlistRemove { observed, .. } => {
                    fix(observed)
                }
                Op::Playback { .. } | Op::Preferences { .. } => {}
            }
            let new = map.get(&seq).copied().unwrap_or(seq);
            self.ops.insert(new, op);
        }
        self.dropped.clear();
        self.sent_upto = self.sent_upto.min(base.saturating_sub(1));
    }
}
