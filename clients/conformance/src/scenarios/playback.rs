//! Scenarios of the lease, playback registers, preferences and refusals.

use baton_crdt::automerge::transaction::Transactable as _;
use baton_crdt::automerge::{ScalarValue, ROOT};
use baton_crdt::PlayState;

use super::Out;
use crate::ops::{add, play, prefs, remove, Play};
use crate::sim::Sim;
use crate::GenError;

pub(super) fn lease_granted_by_play() -> Out {
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

pub(super) fn lease_handoff() -> Out {
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

pub(super) fn lease_released_on_disconnect() -> Out {
    let mut s = Sim::new("lease_released_on_disconnect", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.remote("phone-1", play("phone-1", "movie:5", 1_000, 0)?)?;
    s.disconnect("phone-1")?;
    s.local(add("movie:6", 0)?)?;
    s.deliver()?;
    s.finish("The holder goes offline: the lease is released (holder null, the token stays 1).")
}

pub(super) fn lease_held_renumbering() -> Out {
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

pub(super) fn renumbering_rewrites_own_dots() -> Out {
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

pub(super) fn stale_lease_after_handoff() -> Out {
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

pub(super) fn take_lease() -> Out {
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

pub(super) fn hlc_above_2_53() -> Out {
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

pub(super) fn older_timestamp_loses() -> Out {
    let mut s = Sim::new("older_timestamp_loses", "alice", "tv-living");
    s.connect("phone-1")?;
    s.online()?;
    s.local(play("tv-living", "movie:1", 9_000, 5 << 32)?)?;
    s.deliver()?;
    s.remote("phone-1", play("phone-1", "movie:1", 4_000, 1 << 32)?)?;
    s.finish("An older report is accepted (it takes a seq and a version) but does not change the register.")
}

pub(super) fn preferences_two_devices() -> Out {
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

pub(super) fn refusal_behind_an_uncommitted_op() -> Out {
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
