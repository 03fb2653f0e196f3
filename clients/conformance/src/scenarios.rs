//! The scenarios behind `clients/vectors/*.json`, one function each.

use baton_protocol::ResumeMode;

use crate::ops::{add, play, remove};
use crate::script::Scripted;
use crate::sim::Sim;
use crate::vector::Vector;
use crate::GenError;

mod playback;

pub(crate) type Out = Result<(Vector, Vec<Scripted>), GenError>;

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
        playback::lease_granted_by_play,
        playback::lease_handoff,
        playback::lease_released_on_disconnect,
        playback::lease_held_renumbering,
        playback::renumbering_rewrites_own_dots,
        playback::stale_lease_after_handoff,
        playback::take_lease,
        too_many_inflight_retry,
        rate_limited_retry,
        playback::hlc_above_2_53,
        playback::older_timestamp_loses,
        playback::preferences_two_devices,
        window_of_64,
        playback::refusal_behind_an_uncommitted_op,
        rate_limited_behind_an_uncommitted_op,
        reset_after_server_restore,
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

fn reset_after_server_restore() -> Out {
    let mut s = Sim::new("reset_after_server_restore", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.local(add("movie:1", 0)?)?;
    s.deliver()?;
    let backup = s.backup();
    s.local(add("movie:2", 1)?)?;
    s.deliver()?;
    s.remote("phone-1", add("movie:3", 2)?)?;
    s.disconnect("tv-living")?;
    s.disconnect("phone-1")?;
    s.local(add("movie:4", 3)?)?;
    s.restore(backup)?;
    s.welcome(ResumeMode::Snapshot, true)?;
    s.catch_up(Some(400))?;
    s.deliver_all()?;
    s.finish("The server was restored from a backup that lacks the TV's acked op 2 and the phone's op: the TV's vv claims ops the server lacks, so welcome says reset; the replica adopts the snapshot, and its offline edit (seq 3) is renumbered to 2 and resent.")
}
