//! The scenarios behind `clients/vectors/*.json`, one function each.

use baton_crdt::automerge::transaction::Transactable as _;
use baton_crdt::automerge::{ScalarValue, ROOT};
use baton_crdt::PlayState;
use baton_protocol::ResumeMode;

use crate::ops::{add, play, prefs, remove, Play};
use crate::script::Scripted;
use crate::sim::Sim;
use crate::vector::Vector;
use crate::GenError;

type Out = Result<(Vector, Vec<Scripted>), GenError>;

/// Every scenario, in file-name order of their vectors.
pub fn all() -> Vec<fn() -> Out> {
    vec![
        welcome_new_device,
        remote_adds,
        local_add_acked,
        three_devices_interleaved,
        add_wins_over_concurrent_remove,
        offline_edits_acked_later,
        lost_ack_seen_in_catch_up,
        duplicate_delta,
        duplicate_ack,
        snapshot_resume,
        snapshot_reapplies_unacked,
        snapshot_covers_lost_ack,
        snapshot_with_live_delta,
        lease_granted_by_play,
        lease_handoff,
        lease_released_on_disconnect,
        lease_held_renumbering,
        renumbering_rewrites_own_dots,
        stale_lease_after_handoff,
        take_lease,
        too_many_inflight_retry,
        rate_limited_retry,
        hlc_above_2_53,
        older_timestamp_loses,
        preferences_two_devices,
        window_of_64,
        refusal_behind_an_uncommitted_op,
        rate_limited_behind_an_uncommitted_op,
    ]
}

fn welcome_new_device() -> Out {
    let mut s = Sim::new("welcome_new_device", "alice", "tv-living");
    s.online()?;
    s.finish("A new device: welcome (after its registration, version 1), nothing to catch up, synced; an empty state.")
}

fn remote_adds() -> Out {
    let mut s = Sim::new("remote_adds", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.remote("phone-1", add("movie:42", 0)?)?;
    s.remote("phone-1", add("movie:7", 1)?)?;
    s.remote("phone-1", add("movie:42", 2)?)?;
    s.finish("Deltas of another device: two items, one added twice (two live dots; the newest add is shown).")
}

fn local_add_acked() -> Out {
    let mut s = Sim::new("local_add_acked", "alice", "tv-living");
    s.online()?;
    s.local(add("movie:1", 0)?)?;
    s.local(add("movie:2", 1)?)?;
    s.deliver_all()?;
    s.local(add("movie:3", 2)?)?;
    s.finish("Own edits: two acknowledged (in the confirmed state), one still pending.")
}

fn three_devices_interleaved() -> Out {
    let mut s = Sim::new("three_devices_interleaved", "alice", "tv-living");
    s.connect("phone-1")?;
    s.connect("web-1")?;
    s.online()?;
    s.remote("phone-1", add("movie:1", 0)?)?;
    s.local(add("movie:2", 1)?)?;
    s.remote("web-1", add("movie:3", 2)?)?;
    s.deliver()?;
    s.local(remove("movie:1", &[("phone-1", 1)])?)?;
    s.remote("web-1", add("movie:1", 3)?)?;
    s.remote("phone-1", remove("movie:3", &[("web-1", 1)])?)?;
    s.deliver()?;
    s.remote("phone-1", play("phone-1", "movie:2", 1_000, 5)?)?;
    s.finish("Three devices interleaved: deltas between own ops and their acks; the web's concurrent re-add of movie:1 survives the TV's remove.")
}

fn add_wins_over_concurrent_remove() -> Out {
    let mut s = Sim::new("add_wins_over_concurrent_remove", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.local(add("show:9", 0)?)?;
    s.deliver()?;
    s.local(add("show:9", 1)?)?;
    s.remote("phone-1", remove("show:9", &[("tv-living", 1)])?)?;
    s.deliver()?;
    s.finish("The phone removes the item it saw (dot tv-living/1) while the TV adds it again (dot tv-living/2): the add wins.")
}

fn offline_edits_acked_later() -> Out {
    let mut s = Sim::new("offline_edits_acked_later", "alice", "phone-1");
    s.connect("tv-living")?;
    s.online()?;
    s.remote("tv-living", add("movie:1", 0)?)?;
    s.disconnect("phone-1")?;
    s.local(add("movie:2", 1)?)?;
    s.local(remove("movie:1", &[("tv-living", 1)])?)?;
    s.local(add("movie:3", 2)?)?;
    s.remote("tv-living", add("movie:4", 3)?)?;
    s.online()?;
    s.deliver_all()?;
    s.finish("Edits made offline are queued, sent after the catch-up, and acknowledged after the TV's delta.")
}

fn lost_ack_seen_in_catch_up() -> Out {
    let mut s = Sim::new("lost_ack_seen_in_catch_up", "alice", "phone-1");
    s.online()?;
    s.local(add("movie:1", 0)?)?;
    s.local(add("movie:2", 1)?)?;
    s.deliver_unanswered()?;
    s.local(add("movie:3", 2)?)?;
    s.online()?;
    s.deliver_all()?;
    s.finish("The server applied op 1 but the ack was lost with the connection: the catch-up shows it as the phone's own delta, op 2 is resent, op 3 follows.")
}

fn duplicate_delta() -> Out {
    let mut s = Sim::new("duplicate_delta", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.remote("phone-1", add("movie:1", 0)?)?;
    s.repeat_last_delta()?;
    s.remote("phone-1", remove("movie:1", &[("phone-1", 1)])?)?;
    s.repeat_last_delta()?;
    s.finish("A delta delivered twice is applied once (the version vector covers it).")
}

fn duplicate_ack() -> Out {
    let mut s = Sim::new("duplicate_ack", "alice", "tv-living");
    s.online()?;
    s.local(add("movie:1", 0)?)?;
    s.deliver_twice()?;
    s.finish("The network duplicated an op frame: ack, then ack with duplicate:true; applied once.")
}

fn snapshot_resume() -> Out {
    let mut s = Sim::new("snapshot_resume", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.remote("phone-1", add("movie:1", 0)?)?;
    s.disconnect("tv-living")?;
    for i in 2..8 {
        s.remote("phone-1", add(&format!("movie:{i}"), i)?)?;
    }
    s.remote("phone-1", remove("movie:1", &[("phone-1", 1)])?)?;
    s.remote("phone-1", play("phone-1", "movie:3", 60_000, 1)?)?;
    s.welcome(ResumeMode::Snapshot, false)?;
    s.catch_up(Some(300))?;
    s.remote("phone-1", add("movie:8", 8)?)?;
    s.finish("Resume past the catch-up window: the snapshot arrives in 300-byte chunks and replaces the replica; live deltas follow.")
}

fn snapshot_reapplies_unacked() -> Out {
    let mut s = Sim::new("snapshot_reapplies_unacked", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.local(add("movie:1", 0)?)?;
    s.deliver()?;
    s.disconnect("tv-living")?;
    s.local(add("movie:2", 1)?)?;
    s.local(remove("movie:1", &[("tv-living", 1)])?)?;
    s.remote("phone-1", add("movie:3", 2)?)?;
    s.remote("phone-1", add("movie:1", 3)?)?;
    s.welcome(ResumeMode::Snapshot, false)?;
    s.catch_up(Some(250))?;
    s.deliver()?;
    s.local(add("movie:4", 4)?)?;
    s.finish("Unacknowledged offline edits survive a snapshot: re-applied on top, resent; one acknowledged, two pending.")
}

fn snapshot_covers_lost_ack() -> Out {
    let mut s = Sim::new("snapshot_covers_lost_ack", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.local(add("movie:1", 0)?)?;
    s.local(add("movie:2", 1)?)?;
    s.deliver_unanswered()?;
    s.remote("phone-1", add("movie:3", 2)?)?;
    s.welcome(ResumeMode::Snapshot, false)?;
    s.catch_up(Some(4096))?;
    s.deliver_all()?;
    s.finish("Op 1 was applied but its ack lost; the snapshot's vv covers it, so it is dropped from the outbox (not resent), and op 2 is resent as 2.")
}

fn snapshot_with_live_delta() -> Out {
    let mut s = Sim::new("snapshot_with_live_delta", "alice", "tv-living");
    s.connect("phone-1")?;
    s.welcome(ResumeMode::Snapshot, false)?;
    s.remote("phone-1", add("movie:1", 0)?)?;
    s.catch_up(Some(200))?;
    s.repeat_last_delta()?;
    s.remote("phone-1", add("movie:2", 1)?)?;
    s.finish("A live delta between welcome and the snapshot, and the same delta again after synced: the snapshot covers it, so it is skipped.")
}

fn lease_granted_by_play() -> Out {
    let mut s = Sim::new("lease_granted_by_play", "alice", "tv-living");
    s.online()?;
    s.local(play("tv-living", "movie:42", 600_000, 0)?)?;
    s.deliver()?;
    s.local(
        Play {
            device: "tv-living",
            content: "movie:42",
            position_ms: 601_000,
            state: PlayState::Playing,
            dt: 1 << 32,
            lease: Some(1),
            take: false,
        }
        .op()?,
    )?;
    s.deliver()?;
    s.finish("Playing while nobody holds the lease grants it (ack, then lease token 1); the next report presents the token.")
}

fn lease_handoff() -> Out {
    let mut s = Sim::new("lease_handoff", "alice", "web-1");
    s.connect("tv-living")?;
    s.connect("phone-1")?;
    s.online()?;
    s.remote("tv-living", play("tv-living", "movie:42", 600_000, 0)?)?;
    s.handoff("tv-living", "phone-1", "movie:42", 605_000)?;
    s.remote(
        "phone-1",
        Play {
            device: "phone-1",
            content: "movie:42",
            position_ms: 606_000,
            state: PlayState::Playing,
            dt: 1 << 32,
            lease: Some(2),
            take: false,
        }
        .op()?,
    )?;
    s.finish("A third device watches the TV take the lease (token 1) and hand it to the phone (token 2, a server record), then the phone's report.")
}

fn lease_released_on_disconnect() -> Out {
    let mut s = Sim::new("lease_released_on_disconnect", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.remote("phone-1", play("phone-1", "movie:5", 1_000, 0)?)?;
    s.disconnect("phone-1")?;
    s.local(add("movie:6", 0)?)?;
    s.deliver()?;
    s.finish("The holder goes offline: the lease is released (holder null, the token stays 1).")
}

fn lease_held_renumbering() -> Out {
    let mut s = Sim::new("lease_held_renumbering", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.local(add("movie:1", 0)?)?;
    s.deliver()?;
    s.remote("phone-1", play("phone-1", "movie:5", 1_000, 0)?)?;
    s.local(play("tv-living", "movie:5", 2_000, 1)?)?;
    s.local(add("movie:2", 1)?)?;
    s.local(add("movie:3", 2)?)?;
    s.deliver_all()?;
    s.deliver_all()?;
    s.finish("Op 2 is refused (lease_held): its seq is free; ops 3 and 4, already sent, get seq_gap; they are renumbered 2 and 3, resent and acknowledged.")
}

fn renumbering_rewrites_own_dots() -> Out {
    let mut s = Sim::new("renumbering_rewrites_own_dots", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.remote("phone-1", play("phone-1", "movie:5", 1_000, 0)?)?;
    s.local(play("tv-living", "movie:5", 2_000, 1)?)?;
    s.local(add("movie:9", 0)?)?;
    s.local(remove("movie:9", &[("tv-living", 2)])?)?;
    s.deliver_all()?;
    s.deliver_all()?;
    s.finish("After the refusal of op 1, the add (2 -> 1) and the remove (3 -> 2) are renumbered, and the remove's observed dot tv-living/2 becomes tv-living/1: the item is gone.")
}

fn stale_lease_after_handoff() -> Out {
    let mut s = Sim::new("stale_lease_after_handoff", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.local(play("tv-living", "movie:42", 600_000, 0)?)?;
    s.deliver()?;
    s.local(
        Play {
            device: "tv-living",
            content: "movie:42",
            position_ms: 610_000,
            state: PlayState::Playing,
            dt: 1 << 32,
            lease: Some(1),
            take: false,
        }
        .op()?,
    )?;
    s.handoff("tv-living", "phone-1", "movie:42", 605_000)?;
    s.deliver()?;
    s.remote("phone-1", add("movie:43", 9)?)?;
    s.finish("The TV's report presenting token 1 reaches the server after the handoff moved the lease (token 2): stale_lease, dropped. (The handoff's version shows with the next delta.)")
}

fn take_lease() -> Out {
    let mut s = Sim::new("take_lease", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.remote("phone-1", play("phone-1", "movie:5", 1_000, 0)?)?;
    s.local(
        Play {
            device: "tv-living",
            content: "movie:5",
            position_ms: 1_500,
            state: PlayState::Playing,
            dt: 1,
            lease: None,
            take: true,
        }
        .op()?,
    )?;
    s.deliver()?;
    s.remote("phone-1", play("phone-1", "movie:5", 1_800, 2)?)?;
    s.finish("The user presses play on the TV: take_lease moves the lease (token 2); the phone's next report is refused (lease_held) and not relayed.")
}

fn too_many_inflight_retry() -> Out {
    let mut s = Sim::new("too_many_inflight_retry", "alice", "tv-living");
    s.online()?;
    s.local(add("movie:1", 0)?)?;
    s.local(add("movie:2", 1)?)?;
    s.local(add("movie:3", 2)?)?;
    s.refuse("too_many_inflight", 200)?;
    s.deliver_all()?;
    s.deliver_all()?;
    s.finish("too_many_inflight for op 1 keeps it (retryable); ops 2 and 3 get seq_gap; all three are resent in order and acknowledged.")
}

fn rate_limited_retry() -> Out {
    let mut s = Sim::new("rate_limited_retry", "alice", "phone-1");
    s.online()?;
    s.local(add("movie:1", 0)?)?;
    s.deliver()?;
    s.local(add("movie:2", 1)?)?;
    s.refuse("rate_limited", 1_000)?;
    s.local(add("movie:3", 2)?)?;
    s.deliver_all()?;
    s.finish("rate_limited keeps op 2 for a retry after the hint; op 3, made meanwhile, waits behind it.")
}

fn hlc_above_2_53() -> Out {
    let mut s = Sim::new("hlc_above_2_53", "alice", "tv-living");
    s.connect("phone-1")?;
    s.connect("web-1")?;
    s.online()?;
    s.remote("phone-1", play("phone-1", "movie:1", 1_000, 0)?)?;
    s.remote("web-1", play("web-1", "movie:1", 2_000, 1)?)?;
    s.remote("phone-1", play("phone-1", "movie:1", 3_000, 0)?)?;
    s.remote("phone-1", play("phone-1", "movie:2", 10_000, 7)?)?;
    s.remote("web-1", play("web-1", "movie:2", 20_000, 7)?)?;
    s.local(play("tv-living", "movie:3", 5_000, 3)?)?;
    s.deliver()?;
    s.remote("web-1", play("web-1", "movie:3", 6_000, 2)?)?;
    s.finish("Timestamps above 2^53 that differ in the last bit (T0+1 beats T0; equal as doubles), and equal times broken by the HLC id compared as a 128-bit integer.")
}

fn older_timestamp_loses() -> Out {
    let mut s = Sim::new("older_timestamp_loses", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.local(play("tv-living", "movie:1", 9_000, 5 << 32)?)?;
    s.deliver()?;
    s.remote("phone-1", play("phone-1", "movie:1", 4_000, 1 << 32)?)?;
    s.finish("An older report is accepted (it takes a seq and a version) but does not change the register.")
}

fn preferences_two_devices() -> Out {
    let mut s = Sim::new("preferences_two_devices", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    let base = s.server_doc().clone();
    let first = prefs(&base, "phone-1", |tx| {
        tx.put(ROOT, "subtitles", "fr")?;
        tx.put(ROOT, "autoplay", true)
    })?;
    s.remote("phone-1", first)?;
    let theirs = prefs(s.server_doc(), "phone-1", |tx| {
        tx.put(ROOT, "volume", 7_i64)
    })?;
    let mine = s
        .core()
        .preferences_op(b"tv-living-install-1", |tx| {
            tx.put(ROOT, "volume", ScalarValue::Int(3))?;
            tx.put(ROOT, "quality", "4k")
        })
        .map_err(|e| GenError::Io(e.to_string()))?
        .ok_or_else(|| GenError::Io("no preferences change".into()))?;
    s.local(mine)?;
    s.remote("phone-1", theirs)?;
    s.deliver()?;
    let again = s
        .core()
        .preferences_op(b"tv-living-install-1", |tx| tx.delete(ROOT, "autoplay"))
        .map_err(|e| GenError::Io(e.to_string()))?
        .ok_or_else(|| GenError::Io("no preferences change".into()))?;
    s.local(again)?;
    s.deliver()?;
    s.finish("Automerge preferences from two devices: concurrent writes of volume resolve as Automerge does (same on every replica); the TV deletes a key the phone set.")
}

fn window_of_64() -> Out {
    let mut s = Sim::new("window_of_64", "alice", "tv-living");
    s.online()?;
    s.disconnect("tv-living")?;
    for i in 0..70 {
        s.local(add(&format!("c:{i}"), i)?)?;
    }
    s.online()?;
    for _ in 0..10 {
        s.deliver()?;
    }
    s.deliver_all()?;
    s.local(add("c:70", 70)?)?;
    s.finish("70 offline edits: at most 64 in flight (welcome.limits.max_inflight_ops); each ack lets the next one out; one edit left pending.")
}

fn refusal_behind_an_uncommitted_op() -> Out {
    let mut s = Sim::new("refusal_behind_an_uncommitted_op", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.remote("phone-1", play("phone-1", "movie:5", 1_000, 0)?)?;
    s.local(add("movie:1", 0)?)?;
    s.local(play("tv-living", "movie:5", 2_000, 1)?)?;
    s.local(add("movie:2", 1)?)?;
    s.deliver_held()?;
    s.deliver()?;
    s.deliver()?;
    s.release_held()?;
    s.deliver_all()?;
    s.finish("Op 1 is applied but its ack waits for the commit while op 2 is refused (lease_held) and op 3 gets seq_gap: op 1 keeps its seq, op 3 becomes 2; then ack 1 arrives.")
}

fn rate_limited_behind_an_uncommitted_op() -> Out {
    let mut s = Sim::new(
        "rate_limited_behind_an_uncommitted_op",
        "alice",
        "tv-living",
    );
    s.online()?;
    s.local(add("movie:1", 0)?)?;
    s.local(add("movie:2", 1)?)?;
    s.local(add("movie:3", 2)?)?;
    s.deliver_held()?;
    s.refuse("rate_limited", 80)?;
    s.deliver()?;
    s.release_held()?;
    s.deliver_all()?;
    s.finish("Op 1 is applied (ack pending on the commit), op 2 is rate_limited and op 3 gets seq_gap: only ops 2 and 3 are resent, op 1 is never sent twice.")
}
