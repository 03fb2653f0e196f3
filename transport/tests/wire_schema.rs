//! The wire format against its JSON Schema
//! (`protocol/schema/baton-v1.schema.json`): every server frame type as a
//! real session over a real WebSocket produces it, the snapshot a device
//! reassembles, the client frames this test sends, the frame order of a
//! snapshot resume, the examples of PROTOCOL.md, and the snapshot fixtures.

mod common;

use baton_crdt::automerge::transaction::Transactable;
use baton_crdt::automerge::ROOT;
use baton_crdt::{Preferences, UserDoc, B64};
use common::{next_json, raw_connect, send_json, test_config, TestServer, Ws};
use jsonschema::{Draft, Validator};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const SCHEMA: &str = include_str!("../../protocol/schema/baton-v1.schema.json");
const PROTOCOL_MD: &str = include_str!("../../PROTOCOL.md");
const SNAPSHOT_FORMAT1: &[u8] = include_bytes!("../../crdt/tests/fixtures/snapshot_format1.json");
const SNAPSHOT_FORMAT2: &str = include_str!("../../crdt/tests/fixtures/snapshot_format2.json");

const CLIENT_TYPES: &[&str] = &[
    "hello",
    "op",
    "heartbeat",
    "handoff",
    "resync",
    "interaction",
];
const SERVER_TYPES: &[&str] = &[
    "welcome",
    "ack",
    "delta",
    "snapshot_chunk",
    "synced",
    "presence",
    "lease",
    "playback_control",
    "handoff_result",
    "error",
];

/// A validator for one entry of the schema's `$defs`.
fn validator(def: &str) -> Validator {
    let mut schema: Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    schema["$ref"] = json!(format!("#/$defs/{def}"));
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(&schema)
        .unwrap_or_else(|e| panic!("schema for {def} builds: {e}"))
}

fn assert_valid(v: &Validator, what: &str, value: &Value) {
    let errors: Vec<String> = v
        .iter_errors(value)
        .map(|e| format!("{e} (at {})", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} breaks the schema: {errors:#?}\n{value}"
    );
}

/// One device's socket, recording every frame both ways.
struct Peer {
    ws: Ws,
    sent: Vec<Value>,
    got: Vec<Value>,
}

impl Peer {
    async fn hello(server: &TestServer, device: &str, kind: &str) -> Peer {
        let token = server.token("alice", device);
        let ws = raw_connect(server, Some(&token)).await.expect("connect");
        let mut peer = Peer {
            ws,
            sent: Vec::new(),
            got: Vec::new(),
        };
        peer.send(json!({"type":"hello","protocol":1,
            "device":{"kind":kind,"name":format!("{device} of alice"),"capabilities":["playback"]},
            "vv":{}}))
            .await;
        peer
    }

    async fn send(&mut self, frame: Value) {
        send_json(&mut self.ws, &frame).await;
        self.sent.push(frame);
    }

    /// Reads (and records) frames up to the first of `kind`.
    async fn until(&mut self, kind: &str) -> Value {
        loop {
            let frame = next_json(&mut self.ws)
                .await
                .unwrap_or_else(|code| panic!("closed ({code:?}) waiting for {kind}"));
            self.got.push(frame.clone());
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// The types of the frames received since index `from`.
    fn types_since(&self, from: usize) -> Vec<&str> {
        self.got[from..]
            .iter()
            .map(|f| f["type"].as_str().unwrap_or("?"))
            .collect()
    }
}

/// The snapshot text of the chunks received since index `from`.
fn reassemble(frames: &[Value]) -> String {
    let chunks: Vec<&Value> = frames
        .iter()
        .filter(|f| f["type"] == "snapshot_chunk")
        .collect();
    assert!(!chunks.is_empty(), "no snapshot_chunk");
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c["index"], i, "chunks in order");
        assert_eq!(c["total"], chunks.len(), "every chunk knows the total");
    }
    chunks
        .iter()
        .map(|c| c["data"].as_str().expect("data"))
        .collect()
}

#[tokio::test]
async fn every_frame_of_a_real_session_matches_the_schema() {
    let cfg = baton_actors::ActorConfig {
        sync: baton_actors::SyncConfig {
            log_retention_ops: 2,
            snapshot_chunk_bytes: 200,
            ..test_config().sync
        },
        ..test_config()
    };
    let server = TestServer::sqlite(cfg).await;
    let mut tv = Peer::hello(&server, "tv", "tv").await;
    tv.until("presence").await;
    let mut phone = Peer::hello(&server, "phone", "mobile").await;
    phone.until("presence").await;

    tv.send(json!({"type":"op","seq":1,"op":{"kind":"watchlist_add","content":"movie:42","added_at_ms":1_764_100_000_000u64}}))
        .await;
    assert!(tv.until("ack").await.get("duplicate").is_none());
    tv.send(json!({"type":"op","seq":1,"op":{"kind":"watchlist_add","content":"movie:42","added_at_ms":1_764_100_000_000u64}}))
        .await;
    assert_eq!(tv.until("ack").await["duplicate"], true);
    let play = common::playback("tv", "movie:42", 600_000, "playing");
    tv.send(json!({"type":"op","seq":2,"op":play})).await;
    tv.until("ack").await;
    tv.until("lease").await;
    phone.until("delta").await;
    tv.send(json!({"type":"heartbeat","activity":{"content":"movie:42","state":"playing","position_ms":601_000}}))
        .await;
    phone.until("presence").await;
    tv.send(json!({"type":"handoff","request_id":"h-1","target":"phone","content":"movie:42","position_ms":605_000}))
        .await;
    phone.until("playback_control").await;
    assert_eq!(tv.until("handoff_result").await["outcome"], "delivered");
    phone
        .send(json!({"type":"op","seq":1,"op":{"kind":"watchlist_remove","content":"movie:42","observed":[["tv",1]]}}))
        .await;
    phone.until("ack").await;
    let change = Preferences::for_actor(b"tv")
        .local_change(|tx| tx.put(ROOT, "subtitles", "fr"))
        .expect("change");
    tv.send(json!({"type":"op","seq":3,"op":{"kind":"preferences","changes":[B64(change)]}}))
        .await;
    tv.until("ack").await;
    tv.send(json!({"type":"op","seq":9,"op":{"kind":"watchlist_add","content":"movie:7","added_at_ms":1}}))
        .await;
    assert_eq!(tv.until("error").await["code"], "seq_gap");
    tv.send(json!({"type":"interaction","content":"movie:1","kind":"like"}))
        .await;
    tv.send(json!({"type":"resync"})).await;
    let from = tv.got.len();
    tv.until("synced").await;
    let after = tv.types_since(from);
    let first = after.iter().position(|t| *t == "snapshot_chunk");
    let chunks = &after[first.expect("resync sends chunks")..after.len() - 1];
    assert!(chunks.iter().all(|t| *t == "snapshot_chunk"), "{after:?}");
    let resynced = reassemble(&tv.got[from..]);

    // A device further behind than the delta window resumes from a snapshot:
    // welcome, presence (queued while it attached), the chunks, synced.
    let mut web = Peer::hello(&server, "web", "web").await;
    let welcome = web.until("synced").await;
    let order = web.types_since(0);
    let chunks = order.iter().filter(|t| **t == "snapshot_chunk").count();
    assert!(chunks > 1, "a snapshot of several chunks: {order:?}");
    let mut want = vec!["welcome", "presence"];
    want.extend(std::iter::repeat_n("snapshot_chunk", chunks));
    want.push("synced");
    assert_eq!(order, want);
    assert_eq!(web.got[0]["resume"], "snapshot");
    let resumed = reassemble(&web.got);
    assert_eq!(welcome["version"], web.got[0]["version"]);

    let server_frame = validator("server_frame");
    let client_frame = validator("client_frame");
    let mut seen = BTreeSet::new();
    for peer in [&tv, &phone, &web] {
        for frame in &peer.got {
            assert_valid(&server_frame, "server frame", frame);
            seen.insert(frame["type"].as_str().unwrap_or("?").to_owned());
        }
        for frame in &peer.sent {
            assert_valid(&client_frame, "client frame", frame);
        }
    }
    let want: BTreeSet<String> = SERVER_TYPES.iter().map(|t| (*t).to_owned()).collect();
    assert_eq!(seen, want, "every server frame type was captured");

    let snapshot = validator("snapshot");
    for text in [&resynced, &resumed] {
        let value: Value = serde_json::from_str(text).expect("the snapshot is JSON");
        assert_valid(&snapshot, "snapshot", &value);
        assert_eq!(value["format"], 2);
        let doc = UserDoc::from_snapshot_bytes(text.as_bytes()).expect("snapshot decodes");
        // Four ops, three registrations and the handoff's lease move, and a
        // release once the holder left (when the snapshot was taken after it).
        assert!((7..=9).contains(&doc.version()), "{}", doc.version());
        assert_eq!(value["version"], doc.version());
    }
    server.stop().await;
}

#[test]
fn the_snapshot_fixtures_match_the_snapshot_schema() {
    let snapshot = validator("snapshot");
    let frozen: Value = serde_json::from_str(SNAPSHOT_FORMAT2).expect("JSON");
    assert_valid(&snapshot, "format-2 fixture", &frozen);
    // A stored format-1 snapshot is never sent as is: it is re-encoded.
    let old: Value = serde_json::from_slice(SNAPSHOT_FORMAT1).expect("JSON");
    assert!(!snapshot.is_valid(&old), "format 1 is not the wire format");
    let doc = UserDoc::from_snapshot_bytes(SNAPSHOT_FORMAT1).expect("format 1 loads");
    let sent: Value =
        serde_json::from_slice(&doc.to_snapshot_bytes().expect("encode")).expect("JSON");
    assert_valid(&snapshot, "format-1 snapshot re-encoded", &sent);
    // The same document, but for its version: the format-1 fixture predates
    // control records (its handoff and retirement took no log versions).
    let (mut sent, mut frozen) = (sent, frozen);
    assert_eq!(
        sent["version"].as_u64().map(|v| v + 2),
        frozen["version"].as_u64()
    );
    sent["version"] = Value::Null;
    frozen["version"] = Value::Null;
    assert_eq!(sent, frozen);
}

#[test]
fn the_schema_refuses_integers_above_2_pow_53_and_unknown_fields() {
    let server_frame = validator("server_frame");
    let client_frame = validator("client_frame");
    let over = (1u64 << 53) + 1;
    assert!(server_frame.is_valid(&json!({"type":"ack","seq":1,"version":(1u64 << 53) - 1})));
    assert!(!server_frame.is_valid(&json!({"type":"ack","seq":1,"version":over})));
    assert!(!server_frame.is_valid(&json!({"type":"ack","seq":1,"version":1,"extra":1})));
    assert!(!server_frame.is_valid(&json!({"type":"nope"})));
    assert!(!client_frame.is_valid(&json!({"type":"resync","x":1})));
    let ts = "7712213731149575707/40741acf20066ccca8cd574cee9fd867";
    let op = |ts: Value| {
        json!({"type":"op","seq":1,"op":{"kind":"playback","content":"m",
        "position_ms":1,"duration_ms":2,"state":"paused","ts":ts}})
    };
    assert!(client_frame.is_valid(&op(json!(ts))));
    assert!(!client_frame.is_valid(&op(json!(7_712_213_731_149_575_707u64))));
    // welcome.limits and error.code are open.
    let error = json!({"type":"error","code":"some_new_code","message":"m"});
    assert!(server_frame.is_valid(&error));
}

/// A JSON example of PROTOCOL.md and the schema entry it must match.
struct Example {
    line: usize,
    /// From the conversation of section 9.
    spoken: bool,
    def: &'static str,
    value: Value,
}

/// The schema entry for a JSON value shown in the docs.
fn def_for(value: &Value, line: usize) -> &'static str {
    if value.get("format").is_some() {
        return "snapshot";
    }
    match value.get("type").and_then(Value::as_str) {
        Some(t) if CLIENT_TYPES.contains(&t) => "client_frame",
        Some("close") => "pubnub_close",
        Some(_) => "server_frame",
        None => panic!("PROTOCOL.md line {line}: an example that is not a frame: {value}"),
    }
}

/// Every ```json block (one value, or one value per line), every inline
/// `{"type":...}` span, and every complete `tv -> {...}` / `phone <- {...}`
/// line of section 9. A ```json block or inline frame that is not JSON
/// fails: sketches belong in ```text blocks.
fn protocol_md_examples() -> Vec<Example> {
    let mut out = Vec::new();
    let mut block: Option<(usize, &str, Vec<&str>)> = None;
    for (i, line) in PROTOCOL_MD.lines().enumerate() {
        let n = i + 1;
        if let Some((start, lang, body)) = &mut block {
            if line.trim_start().starts_with("```") {
                match *lang {
                    "json" => out.extend(json_block(*start, body)),
                    "" => out.extend(conversation(*start, body)),
                    _ => {}
                }
                block = None;
            } else {
                body.push(line);
            }
            continue;
        }
        if let Some(lang) = line.trim_start().strip_prefix("```") {
            block = Some((n, lang.trim(), Vec::new()));
            continue;
        }
        for span in line.split('`').skip(1).step_by(2) {
            if span.starts_with("{\"type\":") {
                let value: Value = serde_json::from_str(span)
                    .unwrap_or_else(|e| panic!("PROTOCOL.md line {n}: {span} is not JSON: {e}"));
                out.push(Example {
                    line: n,
                    spoken: false,
                    def: def_for(&value, n),
                    value,
                });
            }
        }
    }
    out
}

fn json_block(start: usize, body: &[&str]) -> Vec<Example> {
    let text = body.join("\n");
    let values: Vec<(usize, Value)> = match serde_json::from_str::<Value>(&text) {
        Ok(v) => vec![(start + 1, v)],
        Err(_) => body
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(k, l)| {
                let n = start + 1 + k;
                let v = serde_json::from_str(l).unwrap_or_else(|e| {
                    panic!("PROTOCOL.md line {n}: a ```json block that is not JSON: {e}")
                });
                (n, v)
            })
            .collect(),
    };
    values
        .into_iter()
        .map(|(line, value)| match value.get("frame") {
            // A PubNub envelope carries a client frame.
            Some(frame) => Example {
                line,
                spoken: false,
                def: "client_frame",
                value: frame.clone(),
            },
            None => Example {
                line,
                spoken: false,
                def: def_for(&value, line),
                value,
            },
        })
        .collect()
}

/// `tv    -> {...}` and `phone <- {...}` lines whose JSON is complete.
fn conversation(start: usize, body: &[&str]) -> Vec<Example> {
    body.iter()
        .enumerate()
        .filter_map(|(k, l)| {
            let (arrow, json) = if let Some((_, j)) = l.split_once(" -> ") {
                ("client_frame", j)
            } else {
                ("server_frame", l.split_once(" <- ")?.1)
            };
            let value = serde_json::from_str::<Value>(json.trim()).ok()?;
            Some(Example {
                line: start + 1 + k,
                spoken: true,
                def: arrow,
                value,
            })
        })
        .collect()
}

#[test]
fn every_json_example_in_protocol_md_matches_the_schema() {
    let examples = protocol_md_examples();
    // 27 of the 34 lines of section 9 are complete JSON (the others elide
    // repeated fields with `...`).
    assert_eq!(examples.iter().filter(|e| e.spoken).count(), 27);
    let mut shown = BTreeSet::new();
    for def in ["client_frame", "server_frame", "snapshot", "pubnub_close"] {
        let v = validator(def);
        for ex in examples.iter().filter(|e| e.def == def) {
            assert_valid(&v, &format!("PROTOCOL.md line {}", ex.line), &ex.value);
            shown.insert(ex.value["type"].as_str().unwrap_or(def).to_owned());
        }
    }
    let mut want: BTreeSet<String> = CLIENT_TYPES
        .iter()
        .chain(SERVER_TYPES)
        .map(|t| (*t).to_owned())
        .collect();
    want.insert("snapshot".to_owned());
    want.insert("close".to_owned());
    assert_eq!(
        shown, want,
        "PROTOCOL.md shows every frame and the snapshot"
    );
}
