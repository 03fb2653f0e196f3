//! UserDoc properties over random op streams from several devices, with
//! resends (duplicates) and early sends (gaps): duplicates apply once, refused
//! ops leave the state untouched, replay(log) == live, snapshots round-trip.

#![allow(clippy::unwrap_used)]

mod common;

use baton_crdt::uhlc::NTP64;
use baton_crdt::{ContentId, Dot, Hlc, LoggedOp, Op, Outcome, PlayState, Rules, UserDoc};
use proptest::prelude::*;

const DEVICES: [&str; 3] = ["tv", "phone", "web"];
const NOW: NTP64 = NTP64(100 << 32);

#[derive(Debug, Clone)]
enum Ev {
    Add(usize, u8),
    Remove(usize, u8),
    Play(usize, u8, u64, bool, bool),
    Resend(usize),
    Early(usize),
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        (0..3usize, 0..3u8).prop_map(|(d, i)| Ev::Add(d, i)),
        (0..3usize, 0..3u8).prop_map(|(d, i)| Ev::Remove(d, i)),
        (0..3usize, 0..3u8, 0..4u64, any::<bool>(), any::<bool>())
            .prop_map(|(d, i, t, p, take)| Ev::Play(d, i, t, p, take)),
        any::<usize>().prop_map(Ev::Resend),
        (0..3usize).prop_map(Ev::Early),
    ]
}

fn cid(i: u8) -> ContentId {
    ContentId::parse(&format!("m:{i}")).expect("valid")
}

fn op_for(doc: &UserDoc, e: &Ev) -> Option<(usize, Op)> {
    let seen = |i: u8| -> Vec<Dot> {
        doc.watchlist_set()
            .dots_of(&cid(i))
            .map(|(d, _)| d.clone())
            .collect()
    };
    Some(match *e {
        Ev::Add(d, i) => (
            d,
            Op::WatchlistAdd {
                content: cid(i),
                added_at_ms: 1,
                observed: seen(i),
            },
        ),
        Ev::Remove(d, i) => (
            d,
            Op::WatchlistRemove {
                content: cid(i),
                observed: seen(i),
            },
        ),
        Ev::Play(d, i, t, playing, take_lease) => (
            d,
            Op::Playback {
                content: cid(i),
                position_ms: t * 10,
                duration_ms: 100,
                state: if playing {
                    PlayState::Playing
                } else {
                    PlayState::Ended
                },
                // t == 3 is far in the future: refused by the skew bound.
                ts: Hlc::for_device(DEVICES[d], NTP64(if t == 3 { u64::MAX } else { t })),
                lease: None,
                take_lease,
            },
        ),
        _ => return None,
    })
}

proptest! {
    #![proptest_config(common::config("proptest-regressions/props_userdoc.txt"))]

    #[test]
    fn op_streams_keep_the_invariants(evs in prop::collection::vec(ev(), 0..14)) {
        let rules = Rules::default();
        let mut doc = UserDoc::new();
        let mut log: Vec<LoggedOp> = vec![];
        for e in &evs {
            let before = doc.clone();
            match e {
                Ev::Resend(k) if !log.is_empty() => {
                    let l = &log[k % log.len()];
                    let r = doc.apply(&l.device, l.seq, l.op.clone(), NOW, &rules);
                    prop_assert_eq!(r, Ok(Outcome::Duplicate { version: log.len() as u64 }));
                    prop_assert_eq!(&doc, &before);
                }
                Ev::Early(d) => {
                    let dev = DEVICES[*d];
                    let seq = doc.next_seq(dev) + 1;
                    let op = Op::WatchlistAdd { content: cid(0), added_at_ms: 0, observed: vec![] };
                    let r = doc.apply(dev, seq, op, NOW, &rules);
                    prop_assert_eq!(r.map_err(|e| e.code()), Err("seq_gap"));
                    prop_assert_eq!(&doc, &before);
                }
                _ => {
                    let Some((d, op)) = op_for(&doc, e) else { continue };
                    let dev = DEVICES[d];
                    match doc.apply(dev, doc.next_seq(dev), op, NOW, &rules) {
                        Ok(Outcome::Applied(l, _)) => {
                            prop_assert_eq!(l.version, log.len() as u64 + 1);
                            log.push(l);
                        }
                        Ok(Outcome::Duplicate { .. }) => prop_assert!(false, "fresh seq duplicate"),
                        Err(_) => prop_assert_eq!(&doc, &before),
                    }
                }
            }
        }
        prop_assert_eq!(doc.version(), log.len() as u64);
        let mut rebuilt = UserDoc::new();
        for l in &log { rebuilt.replay(l).expect("replay"); }
        for l in &log { rebuilt.replay(l).expect("replay twice"); }
        prop_assert_eq!(&rebuilt, &doc);
        let back = UserDoc::from_snapshot_bytes(&doc.to_snapshot_bytes().expect("enc")).expect("dec");
        prop_assert_eq!(&back, &doc);
    }
}
