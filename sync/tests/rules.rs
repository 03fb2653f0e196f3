//! The per-user rules, one plain test each: no sockets, no runtime, no
//! sleeps. Each drives [`UserSync`](baton_sync::UserSync) through a
//! synchronous harness and reads the effects it returns.

mod harness;

use baton_crdt::VersionVector;
use baton_protocol::CloseCode;
use baton_sync::{CommitFailure, Effect, Input, StopReason, SyncConfig};
use harness::{add, frames, kinds, H};

fn vv(entries: &[(&str, u64)]) -> VersionVector {
    let mut vv = VersionVector::new();
    for (d, s) in entries {
        vv.observe(d, *s);
    }
    vv
}

#[test]
fn welcome_waits_for_the_registration_record() {
    let mut h = H::new(SyncConfig::default());
    let effects = h.attach("tv", 1, VersionVector::new());
    assert!(
        kinds(&effects, 1).is_empty(),
        "nothing before the record is durable"
    );
    assert!(
        matches!(effects.last(), Some(Effect::Persist(r)) if r.len() == 1 && r[0].is_control())
    );
    assert!(
        h.sync.presence().is_empty(),
        "a registering device is not shown"
    );
    let effects = h.commit();
    assert_eq!(kinds(&effects, 1), ["welcome", "synced", "presence"]);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Attached {
            ticket: 1,
            result: Ok(()),
            ..
        }
    )));
}

#[test]
fn acks_only_after_the_commit_and_in_version_order() {
    let mut h = H::new(SyncConfig::default());
    h.join("tv", 1);
    h.join("phone", 2);
    let first = h.op("tv", 1, 1, add("movie:1"));
    assert!(kinds(&first, 1).is_empty() && kinds(&first, 2).is_empty());
    // While the first batch is in flight the next ops wait in one batch.
    let more = [
        h.op("tv", 1, 2, add("movie:2")),
        h.op("tv", 1, 3, add("movie:3")),
    ];
    assert!(more
        .iter()
        .all(|e| !e.iter().any(|e| matches!(e, Effect::Persist(_)))));
    let effects = h.commit();
    let acks: Vec<u64> = frames(&effects, 1)
        .iter()
        .filter_map(|f| f["seq"].as_u64())
        .collect();
    assert_eq!(acks, [1]);
    assert_eq!(kinds(&effects, 2), ["delta"]);
    let effects = h.commit();
    let versions: Vec<u64> = frames(&effects, 1)
        .iter()
        .filter_map(|f| f["version"].as_u64())
        .collect();
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]) && versions.len() == 2,
        "{versions:?}"
    );
    assert_eq!(h.sync.durable_version(), h.store.len() as u64);
}

#[test]
fn a_duplicate_of_a_durable_op_is_acked_at_once_with_the_watermark() {
    let mut h = H::new(SyncConfig::default());
    h.join("tv", 1);
    h.op("tv", 1, 1, add("movie:1"));
    h.commit();
    let effects = h.op("tv", 1, 1, add("movie:1"));
    let ack = &frames(&effects, 1)[0];
    assert_eq!(ack["duplicate"], true);
    assert_eq!(ack["version"].as_u64(), Some(h.sync.durable_version()));
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Resolved { conn: 1 })));
}

#[test]
fn a_resend_of_an_op_in_flight_is_acked_on_the_new_connection_after_the_commit() {
    let mut h = H::new(SyncConfig::default());
    h.join("tv", 1);
    h.op("tv", 1, 1, add("movie:1"));
    h.input(Input::Detach {
        device: "tv".into(),
        conn: 1,
    });
    // Reconnect: welcome reports only durable state, so seq 1 is resent.
    let effects = h.attach("tv", 2, vv(&[("tv", 1)]));
    let welcome = &frames(&effects, 2)[0];
    assert_eq!(welcome["next_seq"], 1);
    let resend = h.op("tv", 2, 1, add("movie:1"));
    assert!(kinds(&resend, 2).is_empty(), "no ack before the commit");
    let effects = h.commit();
    assert_eq!(frames(&effects, 2)[0]["type"], "ack");
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Resolved { conn: 2 })));
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::Resolved { conn: 1 })));
    assert_eq!(
        h.store.iter().filter(|r| r.device == "tv").count(),
        1,
        "stored once"
    );
}

#[test]
fn a_refused_op_gets_an_error_and_does_not_consume_its_seq() {
    let mut h = H::new(SyncConfig::default());
    h.join("tv", 1);
    let effects = h.op("tv", 1, 5, add("movie:1"));
    let err = &frames(&effects, 1)[0];
    assert_eq!(err["code"], "seq_gap");
    assert_eq!(err["expected_seq"], 1);
    assert!(h.inflight.is_none());
}

#[test]
fn a_failed_commit_acknowledges_nothing_and_stops() {
    let mut h = H::new(SyncConfig::default());
    h.join("tv", 1);
    h.op("tv", 1, 1, add("movie:1"));
    let effects = h.input(Input::Committed(Err(CommitFailure {
        stale_writer: false,
        detail: "disk".into(),
    })));
    assert!(kinds(&effects, 1).is_empty());
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Close {
            conn: 1,
            code: CloseCode::InternalError
        }
    )));
    assert!(
        matches!(effects.last(), Some(Effect::Stop(s)) if matches!(s.reason, StopReason::Failed(_)))
    );
    assert!(h.input(Input::Tick).is_empty(), "nothing after the stop");
}

#[test]
fn a_fenced_commit_closes_with_4009_and_stops_without_writing() {
    let mut h = H::new(SyncConfig::default());
    h.join("tv", 1);
    h.op("tv", 1, 1, add("movie:1"));
    let effects = h.input(Input::Committed(Err(CommitFailure {
        stale_writer: true,
        detail: "claimed by node-2".into(),
    })));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Close {
            conn: 1,
            code: CloseCode::Moved
        }
    )));
    assert!(
        matches!(effects.last(), Some(Effect::Stop(s)) if s.save.is_none() && matches!(s.reason, StopReason::Moved(_)))
    );
}

#[test]
fn resume_by_deltas_by_snapshot_or_reset() {
    let cfg = SyncConfig {
        log_retention_ops: 3,
        ..SyncConfig::default()
    };
    let mut h = H::new(cfg);
    h.join("tv", 1);
    for seq in 1..=5 {
        h.op("tv", 1, seq, add(&format!("movie:{seq}")));
        h.commit();
    }
    // Within the window: deltas.
    let effects = h.join("phone", 2);
    let _ = effects;
    h.input(Input::Detach {
        device: "phone".into(),
        conn: 2,
    });
    let effects = h.attach("phone", 3, vv(&[("tv", 3)]));
    assert_eq!(frames(&effects, 3)[0]["resume"], "deltas");
    assert_eq!(kinds(&effects, 3)[..3], ["welcome", "delta", "delta"]);
    // Behind the window: a snapshot (after the welcome, once the pipeline is idle).
    let mut effects = h.attach("web", 4, vv(&[("tv", 1)]));
    effects.extend(h.commit());
    assert_eq!(frames(&effects, 4)[0]["resume"], "snapshot");
    assert!(kinds(&effects, 4).contains(&"snapshot_chunk".to_owned()));
    // Ahead of the server on another device: reset.
    let effects = h.attach("web", 5, vv(&[("tv", 9)]));
    assert_eq!(frames(&effects, 5)[0]["reset"], true);
}

#[test]
fn a_handoff_is_told_only_after_its_lease_move_is_durable() {
    let mut h = H::new(SyncConfig::default());
    h.join("tv", 1);
    h.join("phone", 2);
    let effects = h.handoff("tv", "phone", 42);
    assert!(kinds(&effects, 1).is_empty() && kinds(&effects, 2).is_empty());
    let effects = h.commit();
    assert_eq!(kinds(&effects, 2), ["playback_control", "lease"]);
    assert_eq!(kinds(&effects, 1), ["lease", "handoff_result"]);
    let token = frames(&effects, 2)[0]["lease"].as_u64().expect("token");
    assert_eq!(token, 1);
    // Offline and unknown targets are answered at once.
    let effects = h.handoff("tv", "nobody", 0);
    assert_eq!(frames(&effects, 1)[0]["outcome"], "unknown_device");
}

#[test]
fn the_holder_going_offline_releases_the_lease_by_a_logged_record() {
    let mut h = H::new(SyncConfig::default());
    h.join("tv", 1);
    h.join("phone", 2);
    h.handoff("tv", "phone", 0);
    h.commit();
    let effects = h.input(Input::Detach {
        device: "phone".into(),
        conn: 2,
    });
    assert!(
        !kinds(&effects, 1).contains(&"lease".to_owned()),
        "not before the record"
    );
    let effects = h.commit();
    let lease = frames(&effects, 1)
        .into_iter()
        .find(|f| f["type"] == "lease")
        .expect("lease");
    assert!(lease["holder"].is_null());
    assert_eq!(lease["token"], 1);
}

#[test]
fn a_recovered_lease_is_released_before_anyone_attaches() {
    let mut h = H::new(SyncConfig::default());
    h.join("tv", 1);
    h.join("phone", 2);
    h.handoff("tv", "phone", 0);
    h.commit();
    // The process stops; a new activation recovers from the records.
    let stored = baton_sync::Stored {
        tail: h.store.clone(),
        ..Default::default()
    };
    let recovered = baton_sync::recover("u", stored, 100).expect("recovers");
    assert!(recovered.doc.lease().is_some());
    let h2 = H::from_recovered(SyncConfig::default(), recovered);
    let release = h2.inflight.as_ref().expect("a release record at start");
    assert!(release[0].is_control());
}

#[test]
fn snapshot_saves_coalesce_one_in_flight() {
    let cfg = SyncConfig {
        snapshot_every_ops: 2,
        ..SyncConfig::default()
    };
    let mut h = H::new(cfg);
    h.join("tv", 1);
    let mut saves = 0;
    for seq in 1..=8 {
        h.op("tv", 1, seq, add("movie:1"));
        let effects = h.commit();
        saves += effects
            .iter()
            .filter(|e| matches!(e, Effect::SaveSnapshot(_)))
            .count();
    }
    assert_eq!(saves, 1, "one save until it is answered");
    // Its answer lets the save that came due meanwhile go, at the latest version.
    let effects = h.input(Input::SnapshotSaved {
        version: 2,
        ok: true,
    });
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::SaveSnapshot(s) if s.version == h.sync.durable_version())));
}

#[test]
fn reads_and_resyncs_wait_for_a_quiet_pipeline() {
    let mut h = H::new(SyncConfig::default());
    h.join("tv", 1);
    h.op("tv", 1, 1, add("movie:1"));
    let read = h.input(Input::Read { ticket: 7 });
    let resync = h.input(Input::Resync {
        device: "tv".into(),
        conn: 1,
    });
    assert!(!read
        .iter()
        .chain(&resync)
        .any(|e| matches!(e, Effect::Read { .. } | Effect::ResyncServed { .. })));
    let effects = h.commit();
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Read { ticket: 7, view } if view.version == 2)));
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::ResyncServed { conn: 1 })));
}

#[test]
fn the_user_rate_limit_refuses_with_a_retry_hint() {
    let cfg = SyncConfig {
        rate_limit_events: 2,
        ..SyncConfig::default()
    };
    let mut h = H::new(cfg);
    h.join("tv", 1);
    h.op("tv", 1, 1, add("movie:1"));
    h.op("tv", 1, 2, add("movie:2"));
    let effects = h.op("tv", 1, 3, add("movie:3"));
    let err = &frames(&effects, 1)[0];
    assert_eq!(err["code"], "rate_limited");
    assert!(err["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0));
    h.now_ms += 60_000;
    let effects = h.op("tv", 1, 3, add("movie:3"));
    assert!(kinds(&effects, 1).is_empty(), "applied after the wait");
}

#[test]
fn too_many_devices_are_refused_at_attach() {
    let cfg = SyncConfig {
        max_devices_per_user: 1,
        ..SyncConfig::default()
    };
    let mut h = H::new(cfg);
    h.join("tv", 1);
    let effects = h.attach("phone", 2, VersionVector::new());
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Attached { conn: 2, result: Err(err), .. } if err.code == "too_many_devices"
    )));
}

#[test]
fn a_release_flushes_then_stops_with_the_warm_state() {
    let mut h = H::new(SyncConfig::default());
    h.join("tv", 1);
    h.op("tv", 1, 1, add("movie:1"));
    let effects = h.input(Input::Release { ticket: 3 });
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Close {
            conn: 1,
            code: CloseCode::Moved
        }
    )));
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Stop(_))),
        "waits for the commit"
    );
    let effects = h.commit();
    let Some(Effect::Stop(stop)) = effects.last() else {
        panic!("stops once flushed: {effects:?}");
    };
    let StopReason::Released {
        ticket: 3,
        warm: Some(warm),
    } = &stop.reason
    else {
        panic!("released with the warm state: {stop:?}");
    };
    assert_eq!(warm.version, 2);
    assert_eq!(warm.window.len(), 1);
}

#[test]
fn the_catch_up_window_stays_within_its_retention() {
    let cfg = SyncConfig {
        log_retention_ops: 4,
        ..SyncConfig::default()
    };
    let mut h = H::new(cfg);
    h.join("tv", 1);
    for seq in 1..=20 {
        h.op("tv", 1, seq, add("movie:1"));
        h.commit();
        assert!(h.sync.window_len() <= 4);
    }
}

#[test]
fn an_erasure_closes_with_4010_and_stops_only_when_nothing_is_in_flight() {
    let cfg = SyncConfig {
        snapshot_every_ops: 1,
        ..SyncConfig::default()
    };
    let mut h = H::new(cfg);
    h.join("tv", 1);
    h.op("tv", 1, 1, add("movie:1"));
    let effects = h.input(Input::Erase { ticket: 9 });
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Close {
            conn: 1,
            code: CloseCode::UserErased
        }
    )));
    // A device arriving meanwhile is told to wipe as well.
    let effects = h.attach("phone", 2, VersionVector::new());
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Close {
            conn: 2,
            code: CloseCode::UserErased
        }
    )));
    // The append in flight lands first, and the snapshot save in flight:
    // only then does it stop, writing nothing more.
    let stopped = |effects: &[Effect]| {
        effects.iter().any(|e| {
            matches!(e, Effect::Stop(s) if s.save.is_none()
                && matches!(s.reason, StopReason::Erased { ticket: 9 }))
        })
    };
    let effects = h.commit();
    assert!(
        !stopped(&effects),
        "a snapshot save was in flight: {effects:?}"
    );
    let effects = h.input(Input::SnapshotSaved {
        version: 2,
        ok: true,
    });
    assert!(stopped(&effects), "{effects:?}");
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::SaveSnapshot(_) | Effect::Persist(_))));
    assert!(h.input(Input::Tick).is_empty(), "nothing after the stop");
}
