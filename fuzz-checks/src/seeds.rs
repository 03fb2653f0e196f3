//! Seed inputs of every target, built from code and from PROTOCOL.md's
//! examples, so they follow the formats as they change: after a change to a
//! frame, token or snapshot format, run
//! `cargo run -p baton-fuzz-checks --bin fuzz-seeds` to rewrite
//! `fuzz/seeds/`. The test `snapshot_seeds_are_current` fails until the
//! committed snapshot seeds are the ones this module builds.

use std::time::Duration;

use baton_actors::protocol::ClientFrame;
use baton_bridge::message::from_delta;
use baton_bridge::Channels;
use baton_crdt::uhlc::NTP64;
use baton_crdt::{
    hlc_id_for, ContentId, DeviceInfo, Hlc, Op, Outcome, PlayState, Rules, UserDoc, B64,
};
use baton_transport::auth::Scope;
use serde_json::{json, Value};

use crate::jwt::{minter, AUDIENCE, ISSUER, NOW};
use crate::prefs_change::{history, join_batch};

/// One seed input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    /// Target it feeds.
    pub target: &'static str,
    /// File name under `fuzz/seeds/<target>/`.
    pub name: String,
    /// The bytes.
    pub data: Vec<u8>,
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut out = Vec::new();
    let mut add = |target: &'static str, name: String, data: Vec<u8>| {
        out.push(Seed { target, name, data });
    };
    for (name, frame) in client_frames() {
        add("client_frame", name, frame.into_bytes());
    }
    for (name, doc) in snapshot_docs() {
        let bytes = doc
            .to_snapshot_bytes()
            .unwrap_or_else(|e| panic!("seed doc encodes: {e}"));
        add("snapshot", name, bytes);
    }
    let h = history();
    let batches = [
        ("first", 0, vec![h[0].clone()]),
        ("all", 0, h.to_vec()),
        ("rest-on-first", 1, h[1..].to_vec()),
        ("missing-dep", 0, vec![h[2].clone()]),
        ("truncated", 1, vec![h[1][..h[1].len() / 2].to_vec()]),
    ];
    for (name, pick, changes) in batches {
        add("prefs_change", name.to_owned(), join_batch(pick, &changes));
    }
    for (name, data) in jwt_inputs() {
        add("jwt", name, data);
    }
    for (name, data) in envelopes() {
        add("envelope", name, data);
    }
    for (i, data) in op_sequences().into_iter().enumerate() {
        add("user_ops", format!("random-{i}"), data);
    }
    out
}

/// Client frames: every example of PROTOCOL.md (fenced blocks and the
/// `device -> frame` lines of the sample session), then frames built in code
/// for what the examples elide (real preference changes, timestamps).
fn client_frames() -> Vec<(String, String)> {
    const PROTOCOL: &str = include_str!("../../PROTOCOL.md");
    const TYPES: &[&str] = &[
        "hello",
        "op",
        "heartbeat",
        "handoff",
        "resync",
        "interaction",
    ];
    let mut out = Vec::new();
    let mut candidates: Vec<String> = Vec::new();
    let mut block: Option<String> = None;
    for line in PROTOCOL.lines() {
        match (&mut block, line.trim_start()) {
            (None, l) if l.starts_with("```json") => block = Some(String::new()),
            (Some(text), "```") => {
                candidates.push(std::mem::take(text));
                block = None;
            }
            (Some(text), l) => text.push_str(l),
            (None, _) => {
                if let Some((_, frame)) = line.split_once("-> ") {
                    candidates.push(frame.to_owned());
                }
                if let Some(start) = line.find("`{\"type\"") {
                    let rest = &line[start + 1..];
                    if let Some(end) = rest.find('`') {
                        candidates.push(rest[..end].to_owned());
                    }
                }
            }
        }
    }
    for text in candidates {
        let kind = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned));
        let is_client = kind.as_deref().is_some_and(|k| TYPES.contains(&k));
        // Keep the client frames, and the sample session's malformed one.
        let seen = out.iter().any(|(_, t)| *t == text);
        if (is_client || text.starts_with("{oops")) && !seen {
            out.push((format!("protocol-{}", out.len()), text));
        }
    }
    let ts = Hlc::new(NTP64(7_712_213_731_150_575_697), hlc_id_for("tv-living"));
    let built = [
        ClientFrame::Op {
            seq: 1,
            op: Op::Preferences {
                changes: history().iter().cloned().map(B64).collect(),
            },
        },
        ClientFrame::Op {
            seq: 2,
            op: Op::Playback {
                content: content("movie:42"),
                position_ms: 1,
                duration_ms: 2,
                state: PlayState::Paused,
                ts,
                lease: Some(3),
                take_lease: true,
            },
        },
    ];
    for frame in built {
        let text = serde_json::to_string(&frame).unwrap_or_else(|e| panic!("frame: {e}"));
        out.push((format!("code-{}", out.len()), text));
    }
    out
}

/// Documents in the states a real user reaches: new; with a watchlist,
/// positions, a lease, preferences and devices; after a device retired.
fn snapshot_docs() -> Vec<(String, UserDoc)> {
    let empty = UserDoc::new();
    let mut busy = UserDoc::new();
    let rules = Rules::default();
    let now = |s: u64| NTP64((1_700_000_000 + s) << 32);
    let ops: Vec<(&str, Op)> = vec![
        ("tv", add_op("movie:1", &[])),
        ("phone", add_op("movie:2", &[])),
        ("tv", playback_op("tv", "movie:1", 10, false)),
        ("phone", playback_op("phone", "movie:2", 20, true)),
        (
            "phone",
            Op::WatchlistRemove {
                content: content("movie:1"),
                observed: vec![baton_crdt::Dot::new("tv", 1)],
            },
        ),
        (
            "tv",
            Op::Preferences {
                changes: history().iter().cloned().map(B64).collect(),
            },
        ),
        ("web", add_op("show:3", &[])),
    ];
    for (i, (device, op)) in ops.into_iter().enumerate() {
        let seq = busy.next_seq(device);
        match busy.apply(device, seq, op, now(30 + i as u64), &rules) {
            Ok(Outcome::Applied(..)) => {}
            other => panic!("seed op {i} applies: {other:?}"),
        }
    }
    for (device, kind) in [("tv", "tv"), ("phone", "mobile"), ("web", "web")] {
        busy.register_device(
            device,
            DeviceInfo {
                kind: kind.to_owned(),
                name: format!("{device} of alice"),
                capabilities: vec!["playback".to_owned()],
                first_seen_ms: 1_700_000_000_000,
                last_seen_ms: 1_700_000_000_000,
            },
        );
    }
    busy.touch_device("tv", 1_700_000_100_000);
    let mut retired = busy.clone();
    let stale = retired.stale_devices(1_700_000_050_000, 10_000, &["tv"]);
    retired
        .apply_control(&baton_crdt::Control::RetireDevices { devices: stale }, 0)
        .expect("retire");
    vec![
        ("empty".to_owned(), empty),
        ("busy".to_owned(), busy),
        ("retired".to_owned(), retired),
    ]
}

fn content(id: &str) -> ContentId {
    ContentId::parse(id).unwrap_or_else(|e| panic!("seed content id: {e}"))
}

fn add_op(id: &str, observed: &[(&str, u64)]) -> Op {
    Op::WatchlistAdd {
        content: content(id),
        added_at_ms: 1_700_000_000_000,
        observed: observed
            .iter()
            .map(|(d, s)| baton_crdt::Dot::new(*d, *s))
            .collect(),
    }
}

fn playback_op(device: &str, id: &str, secs: u64, take_lease: bool) -> Op {
    Op::Playback {
        content: content(id),
        position_ms: secs * 1000,
        duration_ms: 7_200_000,
        state: PlayState::Playing,
        ts: Hlc::for_device(device, NTP64((1_700_000_000 + secs) << 32)),
        lease: None,
        take_lease,
    }
}

/// Tokens from the minter (mode 0), claims to be signed (mode 1), and
/// header + claims (mode 2).
fn jwt_inputs() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, token) in minted_tokens() {
        out.push((format!("minted-{name}"), prefixed(0, token.as_bytes())));
    }
    let claims = [
        (
            "valid",
            json!({"sub":"alice","device":"phone","scope":"write:watchlist playback:control","aud":AUDIENCE,"iss":ISSUER,"iat":NOW,"exp":NOW + 3600,"jti":"j-1"}),
        ),
        (
            "aud-list",
            json!({"sub":"svc","aud":["x",AUDIENCE],"iss":ISSUER,"exp":NOW as f64 + 0.5,"scope":"service:read"}),
        ),
        (
            "not-yet",
            json!({"sub":"alice","aud":AUDIENCE,"iss":ISSUER,"exp":NOW + 10,"nbf":NOW + 3600}),
        ),
        (
            "expired",
            json!({"sub":"alice","aud":AUDIENCE,"iss":ISSUER,"exp":NOW - 3600}),
        ),
        (
            "no-sub",
            json!({"aud":AUDIENCE,"iss":ISSUER,"exp":NOW + 10}),
        ),
    ];
    for (name, claims) in claims {
        out.push((
            format!("claims-{name}"),
            prefixed(1, claims.to_string().as_bytes()),
        ));
    }
    let mut both = br#"{"alg":"EdDSA","kid":"other","typ":"JWT"}"#.to_vec();
    both.push(0);
    both.extend_from_slice(claims_text().as_bytes());
    out.push(("header-and-claims".to_owned(), prefixed(2, &both)));
    out
}

fn claims_text() -> String {
    json!({"sub":"alice","aud":AUDIENCE,"iss":ISSUER,"exp":NOW + 60}).to_string()
}

/// Tokens the dev minter's code signs with the test key: a device token, a
/// service token, an expired one.
fn minted_tokens() -> Vec<(&'static str, String)> {
    let m = minter();
    let hour = Duration::from_secs(3600);
    let all = [
        Scope::WriteWatchlist,
        Scope::WritePreferences,
        Scope::PlaybackControl,
    ];
    [
        ("device", m.mint("alice", Some("phone"), &all, hour, NOW)),
        (
            "service",
            m.mint("svc", None, &[Scope::ServiceRead], hour, NOW),
        ),
        (
            "expired",
            m.mint("alice", Some("tv"), &[], hour, NOW - 3 * 3600),
        ),
    ]
    .into_iter()
    .map(|(name, token)| (name, token.unwrap_or_else(|e| panic!("mint: {e}"))))
    .collect()
}

/// PubNub messages as the bridge receives them: device envelopes carrying
/// PROTOCOL.md's frames with a minted token, and Baton's own fan-out bodies.
fn envelopes() -> Vec<(String, Vec<u8>)> {
    let channels = Channels::new(crate::envelope::PREFIX);
    let sync = channels.sync("alice");
    let token = minted_tokens()
        .into_iter()
        .next()
        .map(|(_, t)| t)
        .unwrap_or_default();
    let mut out = Vec::new();
    for (name, frame) in client_frames().into_iter().take(8) {
        let Ok(frame) = serde_json::from_str::<Value>(&frame) else {
            continue;
        };
        let body = json!({"token": token, "device": "phone", "frame": frame});
        out.push((format!("device-{name}"), message(&sync, &body)));
    }
    let body = json!({"token": token, "frame": {"type": "resync"}});
    out.push(("no-device".to_owned(), message(&sync, &body)));
    let mut doc = UserDoc::new();
    if let Ok(Outcome::Applied(logged, _)) = doc.apply(
        "tv",
        1,
        add_op("movie:1", &[]),
        NTP64(1 << 40),
        &Rules::default(),
    ) {
        let own = from_delta(&channels, "alice", &logged);
        out.push(("own-delta".to_owned(), message(&own.channels[0], &own.body)));
    }
    out
}

fn message(channel: &str, body: &Value) -> Vec<u8> {
    let mut data = channel.as_bytes().to_vec();
    data.push(b'\n');
    data.extend_from_slice(body.to_string().as_bytes());
    data
}

fn prefixed(mode: u8, rest: &[u8]) -> Vec<u8> {
    let mut data = vec![mode];
    data.extend_from_slice(rest);
    data
}

/// Op sequences: deterministic pseudo-random bytes (xorshift, fixed seed)
/// of a few lengths; `arbitrary` turns any bytes into steps.
fn op_sequences() -> Vec<Vec<u8>> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    [64usize, 128, 256, 512, 1024, 2048]
        .into_iter()
        .map(|len| {
            (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state.to_le_bytes()[0]
                })
                .collect()
        })
        .collect()
}
