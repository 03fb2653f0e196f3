//! UserDoc behaviour: seq discipline, skew bound, leases, LWW, preferences,
//! snapshots, replay, device registry and retirement.

#![allow(clippy::unwrap_used)]

use baton_crdt::automerge::transaction::Transactable;
use baton_crdt::automerge::ROOT;
use baton_crdt::uhlc::NTP64;
use baton_crdt::{
    ContentId, Control, DeviceInfo, Dot, Hlc, Lease, LoggedOp, Op, Outcome, PlayState, Preferences,
    Rules, UserDoc, B64, RETIRED_REPLICA,
};

const NOW: NTP64 = NTP64(1_000 << 32);

fn cid(s: &str) -> ContentId {
    ContentId::parse(s).expect("valid")
}

fn add(c: &str, observed: Vec<Dot>) -> Op {
    Op::WatchlistAdd {
        content: cid(c),
        added_at_ms: 7,
        observed,
    }
}

fn remove(c: &str, observed: Vec<Dot>) -> Op {
    Op::WatchlistRemove {
        content: cid(c),
        observed,
    }
}

fn play(dev: &str, c: &str, pos: u64, state: PlayState, t: u64) -> Op {
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

fn with_lease(op: Op, token: Option<u64>, take: bool) -> Op {
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
fn ok(doc: &mut UserDoc, dev: &str, op: Op) -> (LoggedOp, Option<Lease>) {
    let seq = doc.next_seq(dev);
    match doc.apply(dev, seq, op, NOW, &Rules::default()) {
        Ok(Outcome::Applied(l, lease)) => (l, lease),
        other => panic!("expected Applied, got {other:?}"),
    }
}

/// Applies with the next seq of `dev`; expects an error, state untouched.
fn err(doc: &mut UserDoc, dev: &str, op: Op) -> &'static str {
    let before = doc.clone();
    let seq = doc.next_seq(dev);
    let e = doc
        .apply(dev, seq, op, NOW, &Rules::default())
        .expect_err("should be refused");
    assert_eq!(*doc, before, "state touched by a refused op");
    e.code()
}

fn info(kind: &str, at: u64) -> DeviceInfo {
    DeviceInfo {
        kind: kind.into(),
        name: format!("my {kind}"),
        capabilities: vec!["playback".into()],
        first_seen_ms: at,
        last_seen_ms: at,
    }
}

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

fn busy_doc() -> (UserDoc, Vec<LoggedOp>) {
    let mut doc = UserDoc::new();
    let mut log = vec![];
    let mut dev = Preferences::for_actor(b"phone");
    let c = dev
        .local_change(|tx| tx.put(ROOT, "lang", "en"))
        .expect("change");
    log.push(ok(&mut doc, "tv", add("m:1", vec![])).0);
    log.push(ok(&mut doc, "phone", add("m:2", vec![])).0);
    log.push(ok(&mut doc, "tv", play("tv", "m:1", 42, PlayState::Playing, 1)).0);
    log.push(
        ok(
            &mut doc,
            "phone",
            Op::Preferences {
                changes: vec![B64(c)],
            },
        )
        .0,
    );
    log.push(ok(&mut doc, "phone", remove("m:1", vec![Dot::new("tv", 1)])).0);
    let take = with_lease(
        play("phone", "m:2", 7, PlayState::Playing, 2),
        Some(1),
        true,
    );
    log.push(ok(&mut doc, "phone", take).0);
    (doc, log)
}

#[test]
fn replay_of_the_log_equals_live_state_and_is_idempotent() {
    let (live, log) = busy_doc();
    let mut rebuilt = UserDoc::new();
    for e in &log {
        rebuilt.replay(e).expect("replay");
    }
    assert_eq!(rebuilt, live);
    for e in &log {
        rebuilt.replay(e).expect("replay again");
    }
    assert_eq!(rebuilt, live);
    // Snapshot at op 3 + the rest of the log.
    let mut part = UserDoc::new();
    for e in &log[..3] {
        part.replay(e).expect("replay");
    }
    let mut resumed =
        UserDoc::from_snapshot_bytes(&part.to_snapshot_bytes().expect("enc")).expect("dec");
    for e in &log {
        resumed.replay(e).expect("replay");
    }
    assert_eq!(resumed, live);
    // A gap in the log is reported, not skipped.
    let mut gappy = UserDoc::new();
    assert_eq!(gappy.replay(&log[1]).map(|_| ()), Ok(()));
    assert_eq!(gappy.replay(&log[4]).unwrap_err().code(), "seq_gap");
}

#[test]
fn snapshot_round_trips() {
    let (mut doc, _) = busy_doc();
    doc.register_device("tv", info("tv", 10));
    let bytes = doc.to_snapshot_bytes().expect("encode");
    let back = UserDoc::from_snapshot_bytes(&bytes).expect("decode");
    assert_eq!(back, doc);
    assert_eq!(back.preferences_json(), doc.preferences_json());
    assert_eq!(back.watchlist(), doc.watchlist());
    assert_eq!(back.playback(), doc.playback());
    assert_eq!(back.lease(), doc.lease());
    assert_eq!(back.stats(), doc.stats());
    let e = UserDoc::from_snapshot_bytes(b"{\"format\": 9}").unwrap_err();
    assert_eq!(e.code(), "bad_snapshot");
    assert!(UserDoc::from_snapshot_bytes(b"not json").is_err());
}

#[test]
fn device_registry() {
    let mut doc = UserDoc::new();
    doc.register_device("tv", info("tv", 10));
    doc.register_device("tv", info("tv", 50));
    doc.touch_device("tv", 70);
    doc.touch_device("tv", 60);
    doc.touch_device("ghost", 60);
    let tv = &doc.devices()["tv"];
    assert_eq!((tv.first_seen_ms, tv.last_seen_ms), (10, 70));
    assert!(doc.is_known("tv"));
    assert!(!doc.is_known("ghost"));
    ok(&mut doc, "phone", add("m:1", vec![]));
    assert!(doc.is_known("phone"));
    assert_eq!(doc.stats().devices, 1);
}

#[test]
fn retirement_restamps_dots_and_old_observations_still_remove() {
    let mut doc = UserDoc::new();
    doc.register_device("old-tv", info("tv", 0));
    doc.register_device("phone", info("mobile", 0));
    ok(&mut doc, "old-tv", add("m:1", vec![]));
    ok(&mut doc, "old-tv", add("m:2", vec![]));
    ok(
        &mut doc,
        "old-tv",
        play("old-tv", "m:1", 3, PlayState::Playing, 1),
    );
    ok(&mut doc, "phone", add("m:3", vec![]));
    doc.touch_device("phone", 900);

    // Phone is online (kept); old-tv has been silent for 1000 ms.
    let retired = doc.stale_devices(1_000, 1_000, &["phone"]);
    assert_eq!(retired, vec!["old-tv".to_string()]);
    let before = doc.version();
    let logged = doc
        .apply_control(&Control::RetireDevices { devices: retired }, 1_000)
        .expect("retire");
    assert_eq!(
        logged.version,
        before + 1,
        "a retirement is the next log version"
    );
    assert!(!doc.is_known("old-tv"));
    assert_eq!(doc.vv().get("old-tv"), 0);
    assert_eq!(doc.lease(), None, "a retired holder loses the lease");
    let set = doc.watchlist_set();
    assert!(set.context().vv().iter().all(|(d, _)| d != "old-tv"));
    for item in ["m:1", "m:2"] {
        let dots: Vec<&Dot> = set.dots_of(item).map(|(d, _)| d).collect();
        assert_eq!(dots.len(), 1);
        assert_eq!(dots[0].device, RETIRED_REPLICA);
    }
    assert_eq!(doc.watchlist().len(), 3);
    assert_eq!(doc.watchlist()[0].added_from, RETIRED_REPLICA);
    assert_eq!(doc.vv().get(RETIRED_REPLICA), 2);

    // The phone was offline-ish and still names the old dot: it works.
    ok(
        &mut doc,
        "phone",
        remove("m:1", vec![Dot::new("old-tv", 1)]),
    );
    assert!(!doc.watchlist_set().contains("m:1"));
    // A re-add that observed the old dot supersedes the re-stamped one.
    ok(&mut doc, "phone", add("m:2", vec![Dot::new("old-tv", 2)]));
    let dots: Vec<String> = doc
        .watchlist_set()
        .dots_of("m:2")
        .map(|(d, _)| d.device.clone())
        .collect();
    assert_eq!(dots, vec!["phone".to_string()]);

    // Snapshot keeps the translation state.
    let back = UserDoc::from_snapshot_bytes(&doc.to_snapshot_bytes().expect("enc")).expect("dec");
    assert_eq!(back, doc);

    // The retired device comes back: its old counter is a gap, seq 1 works.
    let e = doc.apply("old-tv", 4, add("m:9", vec![]), NOW, &Rules::default());
    assert_eq!(
        e,
        Err(baton_crdt::CrdtError::SeqGap {
            expected: 1,
            got: 4
        })
    );
    ok(&mut doc, "old-tv", add("m:9", vec![]));
    assert!(doc.watchlist_set().contains("m:9"));
    // Nothing retires a device that is kept online or recently seen.
    assert!(doc.stale_devices(1_500, 1_000, &[]).is_empty());
}
