//! Wire forms: every Op variant round-trips; malformed input is refused.

#![allow(clippy::unwrap_used)]

mod common;

use baton_crdt::uhlc::NTP64;
use baton_crdt::{ContentId, Dot, Hlc, LoggedOp, Op, PlayState, VersionVector, B64};
use proptest::prelude::*;
use serde_json::json;

fn cid(s: &str) -> ContentId {
    ContentId::parse(s).expect("valid")
}

fn all_variants() -> Vec<Op> {
    vec![
        Op::WatchlistAdd {
            content: cid("movie:1"),
            added_at_ms: 17,
            observed: vec![],
        },
        Op::WatchlistAdd {
            content: cid("movie:1"),
            added_at_ms: 17,
            observed: vec![Dot::new("tv-1", 3)],
        },
        Op::WatchlistRemove {
            content: cid("show.s01e02"),
            observed: vec![Dot::new("tv-1", 3), Dot::new("phone", 9)],
        },
        Op::Playback {
            content: cid("movie:1"),
            position_ms: 1234,
            duration_ms: 5_400_000,
            state: PlayState::Paused,
            ts: Hlc::for_device("tv-1", NTP64(7386690599959157260)),
            lease: Some(4),
            take_lease: true,
        },
        Op::Playback {
            content: cid("movie:1"),
            position_ms: 0,
            duration_ms: 1,
            state: PlayState::Ended,
            ts: Hlc::for_device("phone", NTP64(1)),
            lease: None,
            take_lease: false,
        },
        Op::Preferences {
            changes: vec![B64(vec![0, 1, 2, 255]), B64(vec![])],
        },
    ]
}

#[test]
fn every_variant_round_trips() {
    for op in all_variants() {
        let j = serde_json::to_string(&op).expect("encode");
        let back: Op = serde_json::from_str(&j).expect("decode");
        assert_eq!(back, op, "{j}");
        let logged = LoggedOp {
            device: "tv-1".into(),
            seq: 3,
            version: 9,
            at_ms: 5,
            op,
        };
        let j = serde_json::to_string(&logged).expect("encode");
        assert_eq!(
            serde_json::from_str::<LoggedOp>(&j).expect("decode"),
            logged
        );
    }
}

#[test]
fn wire_shapes() {
    let v = serde_json::to_value(&all_variants()[2]).expect("encode");
    assert_eq!(
        v,
        json!({"kind": "watchlist_remove", "content": "show.s01e02",
               "observed": [["tv-1", 3], ["phone", 9]]})
    );
    let v = serde_json::to_value(&all_variants()[3]).expect("encode");
    assert_eq!(v["state"], "paused");
    assert!(v["ts"]
        .as_str()
        .expect("text")
        .starts_with("7386690599959157260/"));
    let v = serde_json::to_value(&all_variants()[5]).expect("encode");
    assert_eq!(v["changes"], json!(["AAEC/w==", ""]));
    let vv: VersionVector = [("tv-1".to_string(), 17)].into_iter().collect();
    assert_eq!(
        serde_json::to_value(&vv).expect("encode"),
        json!({"tv-1": 17})
    );
    let parsed: Op = serde_json::from_value(
        json!({"kind": "watchlist_add", "content": "m:1", "added_at_ms": 3}),
    )
    .expect("observed defaults to empty");
    assert!(matches!(parsed, Op::WatchlistAdd { observed, .. } if observed.is_empty()));
}

#[test]
fn malformed_ops_are_refused() {
    let bad = [
        json!({"kind": "watchlist_clear", "content": "m:1"}),
        json!({"content": "m:1", "added_at_ms": 3}),
        json!({"kind": "watchlist_add", "added_at_ms": 3}),
        json!({"kind": "watchlist_add", "content": "m 1", "added_at_ms": 3}),
        json!({"kind": "watchlist_add", "content": "", "added_at_ms": 3}),
        json!({"kind": "watchlist_add", "content": "m:1", "added_at_ms": 3, "extra": 1}),
        json!({"kind": "watchlist_remove", "content": "m:1"}),
        json!({"kind": "watchlist_remove", "content": "m:1", "observed": [["tv", "x"]]}),
        json!({"kind": "playback", "content": "m:1", "position_ms": 1, "duration_ms": 2,
               "state": "rewinding", "ts": "1/1"}),
        json!({"kind": "playback", "content": "m:1", "position_ms": 1, "duration_ms": 2,
               "state": "paused", "ts": "1/0"}),
        json!({"kind": "playback", "content": "m:1", "position_ms": 1, "duration_ms": 2,
               "state": "paused"}),
        json!({"kind": "preferences", "changes": ["***"]}),
    ];
    for b in bad {
        assert!(
            serde_json::from_value::<Op>(b.clone()).is_err(),
            "accepted {b}"
        );
    }
}

fn op() -> impl Strategy<Value = Op> {
    let content = "[a-z0-9:._-]{1,16}".prop_map(|s| cid(&s));
    let dot = ("[a-z0-9-]{1,8}", 1..1000u64).prop_map(|(d, s)| Dot::new(d, s));
    let state = prop_oneof![
        Just(PlayState::Playing),
        Just(PlayState::Paused),
        Just(PlayState::Ended)
    ];
    prop_oneof![
        (
            content.clone(),
            any::<u64>(),
            prop::collection::vec(dot.clone(), 0..3)
        )
            .prop_map(|(content, added_at_ms, observed)| Op::WatchlistAdd {
                content,
                added_at_ms,
                observed
            }),
        (content.clone(), prop::collection::vec(dot, 0..3))
            .prop_map(|(content, observed)| Op::WatchlistRemove { content, observed }),
        (
            content,
            any::<u64>(),
            any::<u64>(),
            state,
            any::<u64>(),
            "[a-z]{1,6}",
            any::<Option<u64>>(),
            any::<bool>()
        )
            .prop_map(
                |(content, position_ms, duration_ms, state, t, dev, lease, take_lease)| {
                    Op::Playback {
                        content,
                        position_ms,
                        duration_ms,
                        state,
                        ts: Hlc::for_device(&dev, NTP64(t)),
                        lease,
                        take_lease,
                    }
                }
            ),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20), 0..3).prop_map(|cs| {
            Op::Preferences {
                changes: cs.into_iter().map(B64).collect(),
            }
        }),
    ]
}

proptest! {
    #![proptest_config(common::config("proptest-regressions/serde_ops.txt"))]

    #[test]
    fn any_op_round_trips(op in op()) {
        let j = serde_json::to_vec(&op).expect("encode");
        prop_assert_eq!(serde_json::from_slice::<Op>(&j).expect("decode"), op);
    }

    #[test]
    fn content_id_validation_matches_the_rule(s in "\\PC{0,10}|[a-z:~ ]{0,3}|.{127,130}") {
        let ok = !s.is_empty() && s.len() <= 128
            && s.chars().all(|c| c.is_ascii_alphanumeric() || ":._-".contains(c));
        prop_assert_eq!(ContentId::parse(&s).is_ok(), ok);
        prop_assert_eq!(serde_json::from_value::<ContentId>(json!(s)).is_ok(), ok);
    }
}
