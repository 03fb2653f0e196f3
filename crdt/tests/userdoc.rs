//! UserDoc behaviour: seq discipline, skew bound, leases, LWW, the OR-Set,
//! preferences (log replay, snapshots, registry and retirement:
//! `userdoc_log.rs`).

#![allow(clippy::unwrap_used)]

#[path = "userdoc_support.rs"]
mod support;

use baton_crdt::automerge::transaction::Transactable;
use baton_crdt::automerge::ROOT;
use baton_crdt::uhlc::NTP64;
use baton_crdt::{
    Control, Dot, Lease, Op, Outcome, PlayState, Preferences, Rules, UserDoc, B64, RETIRED_REPLICA,
};
use support::*;

#[test]
fn duplicates_apply_once() {
    let mut doc = UserDoc::new();
    let (l, _) = ok(&mut doc, "tv", add("m:1", vec![]));
    assert_eq!((l.version, l.seq, doc.version()), (1, 1, 1));
    let again = doc.apply("tv", 1, add("m:1", vec![]), NOW, &Rules::default());
    assert_eq!(again, Ok(Outcome::Duplicate { version: 1 }));
    assert_eq!(doc.version(), 1);
    assert_eq!(doc.next_seq("tv"), 2);
    assert_eq!(l.at_ms, 1_000_000);
}

#[test]
fn gap_is_refused_without_consuming_the_seq() {
    let mut doc = UserDoc::new();
    ok(&mut doc, "tv", add("m:1", vec![]));
    let before = doc.clone();
    let e = doc
        .apply("tv", 3, add("m:2", vec![]), NOW, &Rules::default())
        .unwrap_err();
    assert_eq!(e.code(), "seq_gap");
    assert_eq!(
        e,
        baton_crdt::CrdtError::SeqGap {
            expected: 2,
            got: 3
        }
    );
    assert_eq!(doc, before);
    ok(&mut doc, "tv", add("m:2", vec![]));
    assert_eq!(doc.watchlist().len(), 2);
}

#[test]
fn bad_device_ids_and_seq_zero_are_invalid() {
    let mut doc = UserDoc::new();
    let r = Rules::default();
    let e = doc.apply(RETIRED_REPLICA, 1, add("m:1", vec![]), NOW, &r);
    assert_eq!(e.unwrap_err().code(), "invalid_op");
    assert_eq!(
        doc.apply("", 1, add("m:1", vec![]), NOW, &r)
            .unwrap_err()
            .code(),
        "invalid_op"
    );
    assert_eq!(
        doc.apply("tv", 0, add("m:1", vec![]), NOW, &r)
            .unwrap_err()
            .code(),
        "invalid_op"
    );
    assert_eq!(doc, UserDoc::new());
}

#[test]
fn skew_bound_is_inclusive() {
    let rules = Rules::default();
    let bound = NOW.0 + (5u64 << 32);
    let mut doc = UserDoc::new();
    let at = play("tv", "m:1", 1, PlayState::Paused, bound);
    assert!(matches!(
        doc.apply("tv", 1, at, NOW, &rules),
        Ok(Outcome::Applied(..))
    ));
    let beyond = play("tv", "m:1", 2, PlayState::Paused, bound + 1);
    assert_eq!(err(&mut doc, "tv", beyond), "clock_skew");
    let tight = Rules {
        max_clock_skew: std::time::Duration::ZERO,
    };
    let e = doc.apply(
        "tv",
        2,
        play("tv", "m:1", 3, PlayState::Paused, NOW.0 + 1),
        NOW,
        &tight,
    );
    assert_eq!(e.unwrap_err().code(), "clock_skew");
    let e = doc.apply(
        "tv",
        2,
        play("tv", "m:1", 3, PlayState::Paused, NOW.0),
        NOW,
        &tight,
    );
    assert!(e.is_ok());
}

#[test]
fn timestamp_must_carry_the_device_id() {
    let mut doc = UserDoc::new();
    let forged = play("phone", "m:1", 1, PlayState::Paused, 5);
    assert_eq!(err(&mut doc, "tv", forged), "bad_timestamp");
}

#[test]
fn lww_keeps_the_newest_and_absorbs_older() {
    let mut doc = UserDoc::new();
    ok(
        &mut doc,
        "tv",
        play("tv", "m:1", 500, PlayState::Paused, 20),
    );
    let (l, _) = ok(
        &mut doc,
        "tv",
        play("tv", "m:1", 100, PlayState::Paused, 10),
    );
    assert_eq!(l.version, 2, "older write consumes its seq");
    let p = doc.playback_of("m:1").expect("register");
    assert_eq!((p.position_ms, p.device.as_str()), (500, "tv"));
    assert_eq!(p.ts.time(), NTP64(20));
    assert_eq!(doc.playback().len(), 1);
    assert!(doc.playback_of("m:2").is_none());
}

#[test]
fn lease_rules() {
    let mut doc = UserDoc::new();
    // Playing with no holder grants the lease.
    let (_, lease) = ok(&mut doc, "tv", play("tv", "m:1", 0, PlayState::Playing, 1));
    assert_eq!(
        lease,
        Some(Lease {
            device: "tv".into(),
            token: 1
        })
    );
    // Holder keeps playing: no change reported.
    let (_, lease) = ok(&mut doc, "tv", play("tv", "m:1", 9, PlayState::Playing, 2));
    assert_eq!(lease, None);
    // Another device without take_lease is refused.
    assert_eq!(
        err(
            &mut doc,
            "phone",
            play("phone", "m:1", 5, PlayState::Paused, 3)
        ),
        "lease_held"
    );
    // take_lease moves it with token + 1.
    let take = with_lease(
        play("phone", "m:1", 5, PlayState::Playing, 3),
        Some(1),
        true,
    );
    let (_, lease) = ok(&mut doc, "phone", take);
    assert_eq!(
        lease,
        Some(Lease {
            device: "phone".into(),
            token: 2
        })
    );
    // The TV presenting token 1 is fenced off, even with take_lease.
    let stale = with_lease(play("tv", "m:1", 9, PlayState::Playing, 4), Some(1), true);
    assert_eq!(err(&mut doc, "tv", stale), "stale_lease");
    // Ended by a non-holder is refused; by the holder releases.
    assert_eq!(
        err(&mut doc, "tv", play("tv", "m:1", 9, PlayState::Ended, 5)),
        "lease_held"
    );
    ok(
        &mut doc,
        "phone",
        play("phone", "m:1", 10_000, PlayState::Ended, 6),
    );
    assert_eq!(doc.lease(), None);
    // Server-side handoff and release are control records.
    let to_tv = doc.lease_move_to("tv");
    assert_eq!(
        to_tv,
        Control::LeaseMove {
            to: "tv".into(),
            token: 3
        }
    );
    doc.apply_control(&to_tv, 0).expect("handoff");
    assert_eq!(
        doc.lease(),
        Some(&Lease {
            device: "tv".into(),
            token: 3
        })
    );
    assert_eq!(doc.lease_release_by("phone"), None);
    let release = doc.lease_release_by("tv").expect("tv holds it");
    doc.apply_control(&release, 0).expect("release");
    let (_, lease) = ok(
        &mut doc,
        "web",
        play("web", "m:2", 0, PlayState::Playing, 7),
    );
    assert_eq!(lease.map(|l| l.token), Some(4), "tokens never go back");
}

#[test]
fn concurrent_add_wins_over_remove() {
    let mut doc = UserDoc::new();
    let (a, _) = ok(&mut doc, "tv", add("m:1", vec![]));
    let tv_dot = Dot::new(a.device.clone(), a.seq);
    // Phone adds concurrently (has not seen the TV's add).
    ok(&mut doc, "phone", add("m:1", vec![]));
    // TV removes what it saw: only its own dot.
    ok(&mut doc, "tv", remove("m:1", vec![tv_dot.clone()]));
    let items = doc.watchlist();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].added_from, "phone");
    // A remove that observed both removes it; a remove naming dots of
    // another item does not touch that item.
    ok(&mut doc, "web", add("m:2", vec![]));
    ok(&mut doc, "tv", remove("m:2", vec![Dot::new("phone", 1)]));
    assert_eq!(doc.watchlist().len(), 2);
    ok(
        &mut doc,
        "tv",
        remove("m:1", vec![tv_dot, Dot::new("phone", 1)]),
    );
    assert_eq!(doc.watchlist().len(), 1);
    assert_eq!(doc.stats().watchlist_len, 1);
}

#[test]
fn preferences_apply_and_refuse_bad_changes() {
    let mut dev = Preferences::for_actor(b"phone");
    let c1 = dev
        .local_change(|tx| tx.put(ROOT, "subtitles", "de"))
        .expect("change");
    let c2 = dev
        .local_change(|tx| tx.put(ROOT, "autoplay", false))
        .expect("change");
    let mut doc = UserDoc::new();
    let only_c2 = Op::Preferences {
        changes: vec![B64(c2.clone())],
    };
    assert_eq!(err(&mut doc, "phone", only_c2), "bad_change");
    let junk = Op::Preferences {
        changes: vec![B64(vec![0x85, 0x6f, 0x4a, 0x83, 1])],
    };
    assert_eq!(err(&mut doc, "phone", junk), "bad_change");
    let big = Op::Preferences {
        changes: vec![B64(vec![0; 64 * 1024 + 1])],
    };
    assert_eq!(err(&mut doc, "phone", big), "too_large");
    ok(
        &mut doc,
        "phone",
        Op::Preferences {
            changes: vec![B64(c1), B64(c2)],
        },
    );
    assert_eq!(
        doc.preferences_json(),
        serde_json::json!({"subtitles": "de", "autoplay": false})
    );
    assert!(doc.stats().prefs_bytes > 0);
}
