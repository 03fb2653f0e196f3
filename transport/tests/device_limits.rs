//! One device cannot exhaust a node: every per-device bound of the session,
//! tried over a real socket the way an attacker (or a buggy client) would.
//! Each test failed before the bound existed.

mod common;

use std::time::{Duration, Instant};

use baton_actors::{ActorConfig, DeviceLimits};
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

fn hello(name: &str) -> Value {
    json!({"type":"hello","protocol":1,"device":{"kind":"tv","name":name}})
}

async fn open(server: &TestServer, user: &str, device: &str) -> Ws {
    raw_connect(server, Some(&server.token(user, device)))
        .await
        .expect("connect")
}

/// Resident memory of this process (server included), in bytes.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    // 4 KiB pages (x86_64 and aarch64 Linux defaults).
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_fields_over_their_limits_close_4000_and_register_nothing() {
    let server = TestServer::sqlite(test_config()).await;
    let limits = DeviceLimits::default();
    // At the limit: accepted.
    let mut ok = open(&server, "u1", "tv").await;
    send_json(&mut ok, &hello(&"n".repeat(limits.max_name_bytes))).await;
    assert_eq!(
        next_of(&mut ok, "welcome", &mut Vec::new()).await["type"],
        "welcome"
    );

    let big_caps: Vec<String> = vec!["c".into(); limits.max_capabilities + 1];
    let cases = [
        ("hello.device.name", hello(&"n".repeat(60_000))),
        (
            "hello.device.name",
            hello(&"n".repeat(limits.max_name_bytes + 1)),
        ),
        (
            "hello.device.kind",
            json!({"type":"hello","protocol":1,"device":{"kind":"k".repeat(limits.max_kind_bytes + 1)}}),
        ),
        (
            "hello.device.capabilities",
            json!({"type":"hello","protocol":1,"device":{"kind":"tv","capabilities":big_caps}}),
        ),
        (
            "hello.device.capabilities[]",
            json!({"type":"hello","protocol":1,"device":{"kind":"tv","capabilities":["c".repeat(limits.max_capability_bytes + 1)]}}),
        ),
    ];
    for (field, frame) in cases {
        let mut ws = open(&server, "u1", "evil").await;
        send_json(&mut ws, &frame).await;
        let err = next_json(&mut ws).await.expect("error frame");
        assert_eq!(err["code"], "field_too_long", "{field}: {err}");
        assert!(
            err["message"].as_str().expect("message").starts_with(field),
            "the message names {field}: {err}"
        );
        assert_eq!(close_code(&mut ws).await, Some(4000));
    }
    let (status, devices) = server
        .get("/v1/users/u1/devices", Some(&server.token("u1", "tv")))
        .await;
    assert_eq!(status, 200, "{devices}");
    let ids: Vec<&str> = devices["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .filter_map(|d| d["device"].as_str())
        .collect();
    assert_eq!(ids, ["tv"], "the refused device was never registered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handoff_with_a_long_request_id_is_refused_and_not_applied() {
    let server = TestServer::sqlite(test_config()).await;
    let max = DeviceLimits::default().max_request_id_bytes;
    let mut phone = server.device("u1", "phone", "mobile").await;
    let mut tv = server.device("u1", "tv", "tv").await;
    let handoff = |id: String| json!({"type":"handoff","request_id":id,"target":"tv","content":"movie:1","position_ms":0});
    send_json(&mut phone.ws, &handoff("r".repeat(max + 1))).await;
    let err = phone.wait_for("error").await;
    assert_eq!(err["code"], "field_too_long", "{err}");
    assert!(err["message"]
        .as_str()
        .expect("m")
        .starts_with("handoff.request_id"));
    // At the limit: delivered (and the refused one never was).
    send_json(&mut phone.ws, &handoff("r".repeat(max))).await;
    let result = phone.wait_for("handoff_result").await;
    assert_eq!(result["outcome"], "delivered");
    let control = tv.wait_for("playback_control").await;
    assert_eq!(control["request_id"].as_str().map(str::len), Some(max));
    assert_eq!(control["lease"], 1, "exactly one handoff moved the lease");
}

/// Max-size fields on the most devices a user may have: every device still
/// gets `welcome` and the full `presence`, and keeps its connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_size_fields_on_max_devices_keep_every_socket() {
    let cfg = test_config();
    let limits = cfg.device.clone();
    let devices = cfg.sync.max_devices_per_user;
    let server = TestServer::sqlite(cfg).await;
    // Control characters: JSON writes each as a six-byte escape.
    let name = "\u{1}".repeat(limits.max_name_bytes);
    let kind = "\u{1}".repeat(limits.max_kind_bytes);
    let ids: Vec<String> = (0..devices)
        .map(|i| format!("{i:02}-{}", "d".repeat(baton_crdt::MAX_DEVICE_ID_LEN - 3)))
        .collect();
    let mut sockets = Vec::new();
    for id in &ids {
        let mut ws = open(&server, "u1", id).await;
        send_json(
            &mut ws,
            &json!({"type":"hello","protocol":1,"device":{"kind":kind,"name":name,
                "capabilities":vec!["c".repeat(limits.max_capability_bytes); limits.max_capabilities]}}),
        )
        .await;
        next_of(&mut ws, "welcome", &mut Vec::new()).await;
        sockets.push(ws);
    }
    let mut largest = 0;
    for ws in &mut sockets {
        loop {
            let frame = next_of(ws, "presence", &mut Vec::new()).await;
            largest = largest.max(frame.to_string().len());
            let entries = frame["devices"].as_array().expect("devices");
            if entries.len() == devices && entries.iter().all(|e| e["online"] == true) {
                break;
            }
        }
    }
    println!("largest presence frame (re-encoded): {largest} bytes");
    // Every socket is still alive: an op from the first reaches all others.
    send_json(
        &mut sockets[0],
        &json!({"type":"op","seq":1,"op":{"kind":"watchlist_add","content":"movie:1","added_at_ms":1}}),
    )
    .await;
    for ws in &mut sockets[1..] {
        next_of(ws, "delta", &mut Vec::new()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_and_pong_before_hello_are_allowed() {
    let server = TestServer::sqlite(test_config()).await;
    let mut ws = open(&server, "u1", "tv").await;
    ws.send(Message::Ping(b"hi".to_vec().into()))
        .await
        .expect("ping");
    ws.send(Message::Pong(Vec::new().into()))
        .await
        .expect("pong");
    send_json(&mut ws, &hello("tv")).await;
    let mut seen = Vec::new();
    let welcome = next_of(&mut ws, "welcome", &mut seen).await;
    assert_eq!(welcome["device"], "tv");
    next_of(&mut ws, "synced", &mut seen).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_closes_with_1008_when_its_token_expires() {
    let server = TestServer::sqlite(ActorConfig {
        timers: baton_actors::SessionTimers {
            token_leeway: Duration::ZERO,
            ..Default::default()
        },
        ..test_config()
    })
    .await;
    let token = server
        .minter
        .mint(
            "u1",
            Some("tv"),
            &[baton_transport::auth::Scope::WriteWatchlist],
            Duration::from_secs(2),
            now_unix(),
        )
        .expect("mint");
    let mut ws = raw_connect(&server, Some(&token)).await.expect("connect");
    send_json(&mut ws, &hello("tv")).await;
    next_of(&mut ws, "synced", &mut Vec::new()).await;
    let started = Instant::now();
    let code = close_code(&mut ws).await;
    assert_eq!(code, Some(1008), "closed at exp with 1008");
    assert!(
        started.elapsed() <= Duration::from_secs(3),
        "closed at exp (2 s after minting), not later: {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_device_rates_allow_their_burst_then_refuse_with_a_retry_hint() {
    let server = TestServer::sqlite(ActorConfig {
        device: DeviceLimits {
            handoffs_per_minute: 2,
            interactions_per_minute: 2,
            ..DeviceLimits::default()
        },
        ..test_config()
    })
    .await;
    let mut phone = server.device("u1", "phone", "mobile").await;
    let _tv = server.device("u1", "tv", "tv").await;
    let handoff = json!({"type":"handoff","request_id":"h","target":"tv","content":"movie:1","position_ms":0});
    for _ in 0..2 {
        send_json(&mut phone.ws, &handoff).await;
        assert_eq!(
            phone.wait_for("handoff_result").await["outcome"],
            "delivered"
        );
    }
    send_json(&mut phone.ws, &handoff).await;
    let err = phone.wait_for("error").await;
    assert_eq!(err["code"], "rate_limited", "{err}");
    let retry = err["retry_after_ms"].as_u64().expect("retry hint");
    assert!(
        retry > 20_000 && retry <= 30_000,
        "one handoff per 30 s: {retry}"
    );

    // Interactions have their own bucket: the refused handoff did not use it.
    // (`unknown_content` answers an allowed interaction: the catalog is empty.)
    let interaction = json!({"type":"interaction","content":"movie:1","kind":"like"});
    for _ in 0..2 {
        send_json(&mut phone.ws, &interaction).await;
        assert_ne!(phone.wait_for("error").await["code"], "rate_limited");
    }
    send_json(&mut phone.ws, &interaction).await;
    assert_eq!(phone.wait_for("error").await["code"], "rate_limited");
}

/// 40,000 heartbeats in 3 s were accepted, each activity change fanning a
/// presence frame out to every device. Now: the burst passes, the rest is
/// refused, and a device that keeps going is closed with 4029.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_flood_is_bounded_and_closed_4029() {
    let limits = DeviceLimits::default();
    let server = TestServer::sqlite(test_config()).await;
    let mut watcher = server.device("u1", "watcher", "tv").await;
    let mut flooder = server.device("u1", "flooder", "mobile").await;
    let flood = 2_000u64;
    for i in 0..flood {
        let beat = json!({"type":"heartbeat","activity":{"content":"movie:1","state":"playing","position_ms":i}});
        if flooder
            .ws
            .send(Message::Text(beat.to_string().into()))
            .await
            .is_err()
        {
            break;
        }
    }
    let mut refused = 0;
    let code = loop {
        match next_json(&mut flooder.ws).await {
            Ok(f) if f["code"] == "rate_limited" => refused += 1,
            Ok(_) => {}
            Err(code) => break code,
        }
    };
    assert_eq!(code, Some(4029));
    assert!(
        refused <= limits.refusals_per_minute as usize + 1,
        "refusals bounded: {refused}"
    );
    // The watcher saw at most one presence per allowed heartbeat, then the
    // flooder going offline.
    let mut presences = 0;
    loop {
        let p = watcher.wait_for("presence").await;
        presences += 1;
        let flooder_offline = p["devices"]
            .as_array()
            .expect("devices")
            .iter()
            .any(|d| d["device"] == "flooder" && d["online"] == false);
        if flooder_offline {
            break;
        }
    }
    assert!(
        // + the presences of the two attaches and of the flooder leaving.
        presences <= limits.heartbeats_per_minute as usize + 3,
        "presence fan-out bounded by the heartbeat rate: {presences} for {flood} heartbeats"
    );
}

/// Build a large document: `n` watchlist items with 128-byte content ids
/// (about 170 bytes of snapshot each).
async fn large_document(server: &TestServer, user: &str, n: u64) {
    let mut writer = server.device(user, "writer", "web").await;
    let mut last = 0;
    for i in 0..n {
        let id = format!(
            "m:{i:06}:{}",
            "x".repeat(baton_crdt::MAX_CONTENT_ID_LEN - 9)
        );
        last = writer.op(add(&id)).await;
        if i % 48 == 47 {
            writer.wait_ack(last).await;
        }
    }
    writer.wait_ack(last).await;
}

/// The resync snapshot a reading device receives, in bytes of chunk data.
async fn snapshot_size(ws: &mut Ws) -> usize {
    send_json(ws, &json!({"type":"resync"})).await;
    let mut bytes = 0;
    loop {
        let f = next_json(ws).await.expect("snapshot frame");
        match f["type"].as_str() {
            Some("snapshot_chunk") => bytes += f["data"].as_str().map_or(0, str::len),
            Some("synced") => return bytes,
            _ => {}
        }
    }
}

/// 2,000 `resync` frames from a device that never reads took a node from
/// 21 MiB to 1.45 GiB. Now: one snapshot pending at a time, six per minute,
/// the rest refused, the device closed (4029) once it ignores the refusals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resync_flood_from_a_device_that_never_reads_is_bounded() {
    const CEILING: u64 = 64 * 1024 * 1024;
    let server = TestServer::sqlite(test_config()).await;
    large_document(&server, "u1", 2_000).await;
    let mut flooder = open(&server, "u1", "flooder").await;
    send_json(&mut flooder, &hello("flooder")).await;
    next_of(&mut flooder, "synced", &mut Vec::new()).await;
    let doc = snapshot_size(&mut flooder).await;
    assert!(doc > 300_000, "a large document: {doc} bytes");

    let before = rss_bytes();
    let resync = Message::Text(json!({"type":"resync"}).to_string().into());
    for _ in 0..2_000 {
        if flooder.send(resync.clone()).await.is_err() {
            break;
        }
    }
    // Only now read: whatever was queued, then the close.
    let mut snapshots = 0;
    let code = loop {
        match flooder.next().await {
            Some(Ok(Message::Text(t))) if t.contains(r#""type":"synced""#) => snapshots += 1,
            Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break None,
        }
    };
    let grown = rss_bytes().saturating_sub(before);
    println!(
        "resync flood: document {doc} bytes, {snapshots} snapshots sent, close {code:?}, RSS growth {} KiB",
        grown / 1024
    );
    assert_eq!(code, Some(4029), "closed for ignoring rate_limited");
    assert!(
        snapshots <= 6,
        "at most the per-minute resyncs: {snapshots}"
    );
    assert!(grown < CEILING, "RSS grew {} MiB", grown / (1024 * 1024));
}

/// A device that does not read while its catch-up exceeds the byte budget is
/// cut off with 4008, and sees the close frame once it reads again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catch_up_over_the_byte_budget_is_cut_off_with_a_4008_close_frame() {
    let server = TestServer::sqlite(ActorConfig {
        device: DeviceLimits {
            outbound_queue_bytes: 64 * 1024,
            catch_up_queue_bytes: 64 * 1024,
            resyncs_per_minute: 1_000,
            ..DeviceLimits::default()
        },
        ..test_config()
    })
    .await;
    large_document(&server, "u1", 600).await;
    let mut slow = open(&server, "u1", "slow").await;
    // A new device's resume: 600 deltas of ~300 bytes, queued at once, over
    // the 128 KiB the budget allows.
    send_json(&mut slow, &hello("slow")).await;
    assert_eq!(close_code(&mut slow).await, Some(4008));
}
