//! Target `user_ops`: a sequence of ops from three devices through
//! [`UserDoc::apply`], decoded structure-aware from the input with
//! `arbitrary` (devices, seqs right, repeated, skipping or zero; every op
//! kind; playback timestamps inside and outside the skew bound or under
//! another device's id; lease tokens current, old or future; preferences
//! from a real change history, out of order or garbage).
//!
//! Invariants: never a panic; an applied op bumps the version by exactly one
//! and its log entry carries the new version, device and seq; applying it
//! again is a duplicate that changes nothing; a duplicate or a refusal
//! changes nothing; replaying the log of applied ops into a fresh document
//! gives an equal document (and replaying it twice changes nothing); the
//! final document survives a snapshot round trip.

use arbitrary::{Arbitrary, Unstructured};
use baton_crdt::uhlc::NTP64;
use baton_crdt::{
    hlc_id_for, ContentId, Dot, Hlc, LoggedOp, Op, Outcome, PlayState, Rules, UserDoc, B64,
};

use crate::prefs_change::history;

/// Devices ops come from; the last two ids are invalid (reserved, empty).
const DEVICES: &[&str] = &["phone", "tv", "web", "~retired", ""];
const CONTENTS: &[&str] = &["movie:1", "movie:2", "show:3"];
/// Most steps one input runs.
const MAX_STEPS: usize = 64;
/// Server time at the first step: 2023-11-14, in seconds.
const START_SECS: u64 = 1_700_000_000;

#[derive(Debug, Arbitrary)]
struct Step {
    device: u8,
    seq: SeqPick,
    op: OpPick,
    advance_ms: u16,
}

#[derive(Debug, Arbitrary)]
enum SeqPick {
    Next,
    Repeat(u8),
    Gap(u8),
    Zero,
}

#[derive(Debug, Arbitrary)]
struct DotPick {
    device: u8,
    seq: u8,
}

#[derive(Debug, Arbitrary)]
enum OpPick {
    Add {
        content: u8,
        added_at_ms: u64,
        observed: Vec<DotPick>,
    },
    Remove {
        content: u8,
        observed: Vec<DotPick>,
    },
    Playback {
        content: u8,
        position_ms: u64,
        duration_ms: u64,
        state: u8,
        skew_ms: i32,
        foreign_id: bool,
        lease: Option<u8>,
        take_lease: bool,
    },
    Prefs(Vec<u8>),
    PrefsRaw(Vec<Vec<u8>>),
}

/// Checks one input.
pub fn check(data: &[u8]) {
    let Ok(steps) = Vec::<Step>::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mut doc = UserDoc::new();
    let mut log: Vec<LoggedOp> = Vec::new();
    let mut now_ms = START_SECS * 1000;
    for step in steps.into_iter().take(MAX_STEPS) {
        now_ms += u64::from(step.advance_ms);
        let device = pick(DEVICES, step.device);
        let seq = match step.seq {
            SeqPick::Next => doc.next_seq(device),
            SeqPick::Repeat(back) => doc.next_seq(device).saturating_sub(u64::from(back)),
            SeqPick::Gap(ahead) => doc.next_seq(device) + 1 + u64::from(ahead),
            SeqPick::Zero => 0,
        };
        let op = build_op(&doc, device, step.op, now_ms);
        apply_one(&mut doc, &mut log, device, seq, op, ntp(now_ms));
    }
    let mut fresh = UserDoc::new();
    for entry in &log {
        fresh
            .replay(entry)
            .unwrap_or_else(|e| panic!("a logged op does not replay: {e}: {entry:?}"));
    }
    assert_eq!(fresh, doc, "replaying the log gives another doc");
    for entry in &log {
        fresh
            .replay(entry)
            .unwrap_or_else(|e| panic!("a logged op does not replay twice: {e}"));
    }
    assert_eq!(fresh, doc, "replaying the log twice changed the doc");
    let bytes = doc
        .to_snapshot_bytes()
        .unwrap_or_else(|e| panic!("the doc does not encode: {e}"));
    let back = UserDoc::from_snapshot_bytes(&bytes)
        .unwrap_or_else(|e| panic!("the doc's snapshot does not decode: {e}"));
    assert_eq!(back, doc, "snapshot round trip changed the doc");
}

fn apply_one(
    doc: &mut UserDoc,
    log: &mut Vec<LoggedOp>,
    device: &str,
    seq: u64,
    op: Op,
    now: NTP64,
) {
    let before = doc.clone();
    let rules = Rules::default();
    match doc.apply(device, seq, op.clone(), now, &rules) {
        Ok(Outcome::Applied(logged, _)) => {
            assert_eq!(doc.version(), before.version() + 1, "version grows by one");
            assert_eq!(logged.version, doc.version(), "logged version is the doc's");
            assert_eq!(
                (logged.device.as_str(), logged.seq),
                (device, seq),
                "logged identity"
            );
            assert_eq!(doc.vv().get(device), seq, "the vv covers the applied seq");
            let after = doc.clone();
            match doc.apply(device, seq, op, now, &rules) {
                Ok(Outcome::Duplicate { version }) => {
                    assert_eq!(
                        version,
                        after.version(),
                        "duplicate answers the current version"
                    );
                }
                other => panic!("re-applying an applied op: {other:?}"),
            }
            assert_eq!(*doc, after, "a duplicate changed the doc");
            log.push(logged);
        }
        Ok(Outcome::Duplicate { version }) => {
            assert!(
                seq < before.next_seq(device),
                "a duplicate of an unseen seq"
            );
            assert_eq!(
                version,
                before.version(),
                "duplicate answers the current version"
            );
            assert_eq!(*doc, before, "a duplicate changed the doc");
        }
        Err(err) => {
            assert!(!err.code().is_empty(), "a refusal without a code");
            assert_eq!(*doc, before, "a refused op changed the doc: {err}");
        }
    }
}

fn build_op(doc: &UserDoc, device: &str, pick_op: OpPick, now_ms: u64) -> Op {
    match pick_op {
        OpPick::Add {
            content,
            added_at_ms,
            observed,
        } => Op::WatchlistAdd {
            content: content_id(content),
            added_at_ms,
            observed: dots(observed),
        },
        OpPick::Remove { content, observed } => Op::WatchlistRemove {
            content: content_id(content),
            observed: dots(observed),
        },
        OpPick::Playback {
            content,
            position_ms,
            duration_ms,
            state,
            skew_ms,
            foreign_id,
            lease,
            take_lease,
        } => {
            let ts_ms = now_ms.saturating_add_signed(i64::from(skew_ms));
            let id_of = if foreign_id {
                pick(DEVICES, device.len() as u8)
            } else {
                device
            };
            Op::Playback {
                content: content_id(content),
                position_ms,
                duration_ms,
                state: [PlayState::Playing, PlayState::Paused, PlayState::Ended]
                    [usize::from(state) % 3],
                ts: Hlc::new(ntp(ts_ms), hlc_id_for(id_of)),
                lease: lease.map(|l| (doc.lease_token() + u64::from(l % 3)).saturating_sub(1)),
                take_lease,
            }
        }
        OpPick::Prefs(which) => Op::Preferences {
            changes: which
                .into_iter()
                .map(|i| B64(history()[usize::from(i) % history().len()].clone()))
                .collect(),
        },
        OpPick::PrefsRaw(changes) => Op::Preferences {
            changes: changes.into_iter().map(B64).collect(),
        },
    }
}

fn pick<'a>(from: &[&'a str], at: u8) -> &'a str {
    from[usize::from(at) % from.len()]
}

fn content_id(at: u8) -> ContentId {
    ContentId::parse(pick(CONTENTS, at)).unwrap_or_else(|e| panic!("fixed content id: {e}"))
}

fn dots(picks: Vec<DotPick>) -> Vec<Dot> {
    picks
        .into_iter()
        .map(|d| Dot::new(pick(DEVICES, d.device), u64::from(d.seq)))
        .collect()
}

/// NTP64 time of `ms` milliseconds since the epoch.
fn ntp(ms: u64) -> NTP64 {
    let secs = ms / 1000;
    let frac = ((ms % 1000) << 32) / 1000;
    NTP64((secs << 32) | frac)
}
