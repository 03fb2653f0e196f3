//! Helpers of the `UserDoc` tests: op builders and apply-or-panic.
#![allow(dead_code)]

use baton_crdt::uhlc::NTP64;
use baton_crdt::{
    ContentId, DeviceInfo, Dot, Hlc, Lease, LoggedOp, Op, Outcome, PlayState, Rules, UserDoc,
};

pub(crate) const NOW: NTP64 = NTP64(1_000 << 32);

pub(crate) fn cid(s: &str) -> ContentId {
    ContentId::parse(s).expect("valid")
}

pub(crate) fn add(c: &str, observed: Vec<Dot>) -> Op {
    Op::WatchlistAdd {
        content: cid(c),
        added_at_ms: 7,
        observed,
    }
}

pub(crate) fn remove(c: &str, observed: Vec<Dot>) -> Op {
    Op::WatchlistRemove {
        content: cid(c),
        observed,
    }
}

pub(crate) fn play(dev: &str, c: &str, pos: u64, state: PlayState, t: u64) -> Op {
    Op::Playback {
        content: cid(c),
        position_ms: pos,
        duration_ms: 10_000,
        state,
        ts: Hlc::for_device(dev, NTP64(t)),
        lease: None,
        take_lease: false,
    }
}

pub(crate) fn with_lease(op: Op, token: Option<u64>, take: bool) -> Op {
    match op {
        Op::Playback {
            content,
            position_ms,
            duration_ms,
            state,
            ts,
            ..
        } => Op::Playback {
            content,
            position_ms,
            duration_ms,
            state,
            ts,
            lease: token,
            take_lease: take,
        },
        other => other,
    }
}

/// Applies with the next seq of `dev`; panics on error.
pub(crate) fn ok(doc: &mut UserDoc, dev: &str, op: Op) -> (LoggedOp, Option<Lease>) {
    let seq = doc.next_seq(dev);
    match doc.apply(dev, seq, op, NOW, &Rules::default()) {
        Ok(Outcome::Applied(l, lease)) => (l, lease),
        other => panic!("expected Applied, got {other:?}"),
    }
}

/// Applies with the next seq of `dev`; expects an error, state untouched.
pub(crate) fn err(doc: &mut UserDoc, dev: &str, op: Op) -> &'static str {
    let before = doc.clone();
    let seq = doc.next_seq(dev);
    let e = doc
        .apply(dev, seq, op, NOW, &Rules::default())
        .expect_err("should be refused");
    assert_eq!(*doc, before, "state touched by a refused op");
    e.code()
}

pub(crate) fn info(kind: &str, at: u64) -> DeviceInfo {
    DeviceInfo {
        kind: kind.into(),
        name: format!("my {kind}"),
        capabilities: vec!["playback".into()],
        first_seen_ms: at,
        last_seen_ms: at,
    }
}
