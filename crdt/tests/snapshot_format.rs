//! Snapshot formats: format 1 (written by releases up to this one) still
//! loads; format 2 is what is written and sent to devices.

#![allow(clippy::unwrap_used)]

use baton_crdt::automerge::transaction::Transactable;
use baton_crdt::automerge::ROOT;
use baton_crdt::uhlc::NTP64;
use baton_crdt::{
    ContentId, Control, DeviceInfo, Dot, Hlc, Op, Outcome, PlayState, Preferences, Rules, UserDoc,
    B64,
};

/// Server time of every op: 2026-11-26, as an NTP64 value above 2^53.
const NOW: NTP64 = NTP64(7_712_213_731_150_575_697);

fn cid(s: &str) -> ContentId {
    ContentId::parse(s).unwrap()
}

fn apply(doc: &mut UserDoc, dev: &str, op: Op) {
    let seq = doc.next_seq(dev);
    match doc.apply(dev, seq, op, NOW, &Rules::default()) {
        Ok(Outcome::Applied(..)) => {}
        other => panic!("expected Applied, got {other:?}"),
    }
}

fn add(c: &str, at: u64) -> Op {
    Op::WatchlistAdd {
        content: cid(c),
        added_at_ms: at,
        observed: vec![],
    }
}

fn play(dev: &str, c: &str, pos: u64, state: PlayState, dt: u64) -> Op {
    Op::Playback {
        content: cid(c),
        position_ms: pos,
        duration_ms: 7_200_000,
        state,
        ts: Hlc::for_device(dev, NTP64(NOW.0 - 1_000_000 + dt)),
        lease: None,
        take_lease: false,
    }
}

fn info(kind: &str, name: &str, at: u64) -> DeviceInfo {
    DeviceInfo {
        kind: kind.into(),
        name: name.into(),
        capabilities: vec!["playback".into(), "4k".into()],
        first_seen_ms: at,
        last_seen_ms: at,
    }
}

/// Every part of the document populated: concurrent adds (an item with two
/// dots), a removed item, playback registers of two devices, preferences,
/// a held lease with a token that has moved, a retired device whose dots
/// were re-stamped.
fn rich_doc() -> UserDoc {
    let mut doc = UserDoc::new();
    doc.register_device("tv-living", info("tv", "Living room TV", 1_795_639_600_000));
    doc.register_device("phone-1", info("mobile", "Phone", 1_795_639_600_500));
    doc.register_device(
        "old-tablet",
        info("tablet", "Old tablet", 1_700_000_000_000),
    );
    apply(&mut doc, "old-tablet", add("movie:1", 1_700_000_000_001));
    apply(&mut doc, "tv-living", add("movie:42", 1_795_639_677_417));
    apply(&mut doc, "phone-1", add("movie:42", 1_795_639_677_418));
    apply(&mut doc, "tv-living", add("series:7", 1_795_639_677_500));
    let dot = Dot::new("tv-living", 2);
    apply(
        &mut doc,
        "phone-1",
        Op::WatchlistRemove {
            content: cid("series:7"),
            observed: vec![dot],
        },
    );
    apply(
        &mut doc,
        "phone-1",
        play("phone-1", "movie:9", 30_000, PlayState::Paused, 20),
    );
    apply(
        &mut doc,
        "tv-living",
        play("tv-living", "movie:42", 600_000, PlayState::Playing, 10),
    );
    let handoff = doc.lease_move_to("phone-1");
    doc.apply_control(&handoff, 0).unwrap();
    let mut prefs = Preferences::for_actor(b"phone-1");
    let change = prefs
        .local_change(|tx| {
            tx.put(ROOT, "subtitles", "fr")?;
            tx.put(ROOT, "autoplay", true)?;
            Ok(())
        })
        .unwrap();
    apply(
        &mut doc,
        "phone-1",
        Op::Preferences {
            changes: vec![B64(change)],
        },
    );
    let retired = doc.stale_devices(1_795_639_700_000, 86_400_000, &[]);
    assert_eq!(retired, vec!["old-tablet".to_owned()]);
    doc.apply_control(&Control::RetireDevices { devices: retired }, 0)
        .unwrap();
    doc
}

const FORMAT1: &[u8] = include_bytes!("fixtures/snapshot_format1.json");
const FORMAT2: &str = include_str!("fixtures/snapshot_format2.json");

/// Largest integer every JSON reader holds exactly (JavaScript's
/// `Number.MAX_SAFE_INTEGER`).
const MAX_SAFE: u64 = (1 << 53) - 1;

#[test]
fn format1_fixture_loads_as_the_document_it_was_taken_from() {
    // Captured from the format-1 encoder (commit 50fdbb5) for `rich_doc()`.
    let fixture: serde_json::Value = serde_json::from_slice(FORMAT1).unwrap();
    assert_eq!(fixture["format"], 1);
    assert!(fixture["playback"][0][1]["ts"]["time"].as_u64().unwrap() > MAX_SAFE);
    let doc = UserDoc::from_snapshot_bytes(FORMAT1).unwrap();
    // The fixture predates control records: its handoff and retirement took no
    // log versions. Everything else is the same document.
    assert_eq!(fixture["version"], 8);
    assert_eq!(rich_doc().version(), 10);
    assert_eq!(without_version(&doc), without_version(&rich_doc()));
}

#[test]
fn format2_is_what_is_written_and_is_frozen() {
    let doc = rich_doc();
    let written: serde_json::Value =
        serde_json::from_slice(&doc.to_snapshot_bytes().unwrap()).unwrap();
    let frozen: serde_json::Value = serde_json::from_str(FORMAT2).unwrap();
    assert_eq!(
        written, frozen,
        "format 2 changed: bump the format, keep a decoder"
    );
    assert_eq!(
        UserDoc::from_snapshot_bytes(FORMAT2.as_bytes()).unwrap(),
        doc
    );
}

#[test]
fn format2_has_no_integer_above_2_pow_53_and_timestamps_as_text() {
    let bytes = rich_doc().to_snapshot_bytes().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let mut numbers = Vec::new();
    collect_numbers(&v, &mut numbers);
    assert!(!numbers.is_empty());
    assert!(
        numbers
            .iter()
            .all(|n| n.as_u64().is_some_and(|n| n <= MAX_SAFE)),
        "{numbers:?}"
    );
    let ts = v["playback"][0]["ts"].as_str().unwrap();
    let want = Hlc::for_device("tv-living", NTP64(NOW.0 - 1_000_000 + 10)).to_string();
    assert_eq!(ts, want);
    assert_eq!(v["playback"][0]["content"], "movie:42");
}

/// The document's format-2 JSON without its `version`.
fn without_version(doc: &UserDoc) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_slice(&doc.to_snapshot_bytes().unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("version");
    v
}

fn collect_numbers(v: &serde_json::Value, out: &mut Vec<serde_json::Number>) {
    match v {
        serde_json::Value::Number(n) => out.push(n.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_numbers(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| collect_numbers(x, out)),
        _ => {}
    }
}

#[test]
fn unknown_formats_and_fields_are_refused() {
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(FORMAT2).unwrap();
        f(&mut v);
        v.to_string()
    };
    for bad in [
        r#"{"format":3}"#.to_owned(),
        r#"{"version":1}"#.to_owned(),
        edit(&|v| v["extra"] = 1.into()),
        edit(&|v| v["format"] = 1.into()),
        edit(&|v| v["playback"][0]["ts"] = 7_712_213_731_149_575_707u64.into()),
    ] {
        let e = UserDoc::from_snapshot_bytes(bad.as_bytes()).unwrap_err();
        assert_eq!(e.code(), "bad_snapshot", "{bad}");
    }
}

#[test]
fn format2_decoder_repairs_hand_made_input() {
    // A live dot missing from the context is added to it; a dot listed
    // twice counts once.
    let text = r#"{"format":2,"version":1,"vv":{"tv":1},
        "watchlist":{"items":[{"content":"a","dots":[{"dot":["tv",1],"added_at_ms":5}]},
                             {"content":"b","dots":[{"dot":["tv",1],"added_at_ms":6}]}],
                     "context":{"vv":{}}},
        "playback":[],"prefs":"","lease":{"holder":null,"token":0},"devices":{},
        "retired_dots":[]}"#;
    let doc = UserDoc::from_snapshot_bytes(text.as_bytes()).unwrap();
    assert!(doc.watchlist_set().context().contains(&Dot::new("tv", 1)));
    assert_eq!(doc.watchlist_set().len(), 1);
    assert!(doc.watchlist_set().contains("a"));
}
