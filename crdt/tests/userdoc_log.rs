//! UserDoc over its log: replay equals live state, snapshots round-trip, the
//! device registry, retirement.

#![allow(clippy::unwrap_used)]

#[path = "userdoc_support.rs"]
mod support;

use baton_crdt::automerge::transaction::Transactable;
use baton_crdt::automerge::ROOT;
use baton_crdt::{
    Control, Dot, LoggedOp, Op, PlayState, Preferences, Rules, UserDoc, B64, RETIRED_REPLICA,
};
use support::*;

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
