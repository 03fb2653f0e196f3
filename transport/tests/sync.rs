//! Device sync over real sockets against an in-process node on SQLite.

mod common;

use common::*;
use serde_json::json;

/// 1. Two devices of one user: an add on one appears on the other; REST agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_on_one_device_reaches_the_other_and_rest() {
    let server = TestServer::sqlite(test_config()).await;
    let mut tv = server.device("alice", "tv", "tv").await;
    let mut phone = server.device("alice", "phone", "mobile").await;

    let seq = tv.op(add("movie:1")).await;
    let version = tv.wait_ack(seq).await;
    phone.wait_version(version).await;

    assert_eq!(phone.watchlist(), vec!["movie:1"]);
    assert_eq!(tv.watchlist(), phone.watchlist());
    let state = server.state("alice").await;
    assert_eq!(rest_watchlist(&state), vec!["movie:1"]);
    assert_eq!(state["version"], version);
    server.stop().await;
}

/// 2. Both devices offline with conflicting edits (add vs remove of the same
/// item; two positions for the same content); after reconnecting both end
/// identical, per the CRDT rules (add wins; the later timestamp wins).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_conflicts_converge() {
    let server = TestServer::sqlite(test_config()).await;
    let mut tv = server.device("bob", "tv", "tv").await;
    let mut phone = server.device("bob", "phone", "mobile").await;
    let s = tv.op(add("show:7")).await;
    let v = tv.wait_ack(s).await;
    phone.wait_version(v).await;

    // Both go offline.
    let (mut tv_doc, mut tv_unacked, tv_seq) = tv.go_offline().await;
    let (mut ph_doc, mut ph_unacked, ph_seq) = phone.go_offline().await;

    // Offline: the TV re-adds show:7 and writes a position; the phone removes
    // show:7 (observing only the dot it knows) and writes a later position.
    let now = *uhlc::HLC::default().new_timestamp().get_time();
    let rules = baton_crdt::Rules::default();
    let tv_ops = vec![add("show:7"), playback("tv", "show:7", 1_000, "paused")];
    for (seq, op) in (tv_seq..).zip(tv_ops) {
        tv_doc
            .apply("tv", seq, op.clone(), now, &rules)
            .expect("offline apply");
        tv_unacked.push((seq, op));
    }
    let rm = remove(&ph_doc, "show:7");
    let later = playback("phone", "show:7", 2_000, "paused");
    for (seq, op) in (ph_seq..).zip([rm, later]) {
        let now = *uhlc::HLC::default().new_timestamp().get_time();
        ph_doc
            .apply("phone", seq, op.clone(), now, &rules)
            .expect("offline apply");
        ph_unacked.push((seq, op));
    }
    assert!(ph_doc.watchlist().is_empty(), "phone removed it locally");

    // Reconnect both; they resend their unacked ops.
    let mut tv = TestDevice::connect(&server, "bob", "tv", "tv", tv_doc, tv_unacked).await;
    let mut phone =
        TestDevice::connect(&server, "bob", "phone", "mobile", ph_doc, ph_unacked).await;
    let last_tv = tv.unacked.last().map(|(s, _)| *s).expect("tv resent");
    let v1 = tv.wait_ack(last_tv).await;
    let last_ph = phone.unacked.last().map(|(s, _)| *s).expect("phone resent");
    let v2 = phone.wait_ack(last_ph).await;
    let final_version = v1.max(v2);
    tv.wait_version(final_version).await;
    phone.wait_version(final_version).await;

    // Add wins over the concurrent remove.
    assert_eq!(tv.watchlist(), vec!["show:7"]);
    assert_eq!(phone.watchlist(), tv.watchlist());
    // The later playback write wins on both.
    let pos = |d: &TestDevice| {
        d.doc
            .playback_of("show:7")
            .map(|p| (p.position_ms, p.device))
    };
    assert_eq!(pos(&tv), Some((2_000, "phone".to_owned())));
    assert_eq!(pos(&tv), pos(&phone));
    let state = server.state("bob").await;
    assert_eq!(rest_watchlist(&state), tv.watchlist());
    assert_eq!(state["playback"][0]["position_ms"], 2_000);
    server.stop().await;
}

/// A resent op (same seq) is acknowledged again and applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_op_is_acked_again_and_applied_once() {
    let server = TestServer::sqlite(test_config()).await;
    let mut tv = server.device("carol", "tv", "tv").await;
    let seq = tv.op(add("m:1")).await;
    let v = tv.wait_ack(seq).await;
    send_json(&mut tv.ws, &json!({"type":"op","seq":seq,"op":add("m:1")})).await;
    let ack = tv.wait_for("ack").await;
    assert_eq!(ack["seq"], seq);
    assert_eq!(ack["duplicate"], true);
    let state = server.state("carol").await;
    assert_eq!(state["version"], v, "the replay applied nothing");
    server.stop().await;
}

/// 4. Handoff TV -> phone and back; presence changes reach the other device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handoff_and_presence() {
    let server = TestServer::sqlite(test_config()).await;
    let mut tv = server.device("dave", "tv", "tv").await;
    let mut phone = server.device("dave", "phone", "mobile").await;

    // The TV sees the phone come online.
    loop {
        let p = tv.wait_for("presence").await;
        let devices = p["devices"].as_array().expect("devices");
        if devices
            .iter()
            .any(|d| d["device"] == "phone" && d["online"] == true)
        {
            break;
        }
    }
    // The TV starts playing: it takes the lease; presence shows its activity.
    let s = tv.op(playback("tv", "film:9", 60_000, "playing")).await;
    tv.wait_ack(s).await;
    send_json(&mut tv.ws, &json!({"type":"heartbeat","activity":{"content":"film:9","state":"playing","position_ms":60_000}})).await;
    loop {
        let p = phone.wait_for("presence").await;
        if p["devices"]
            .as_array()
            .expect("devices")
            .iter()
            .any(|d| d["device"] == "tv" && d["activity"]["content"] == "film:9")
        {
            break;
        }
    }

    // Handoff to the phone.
    send_json(&mut tv.ws, &json!({"type":"handoff","request_id":"h1","target":"phone","content":"film:9","position_ms":61_000})).await;
    let control = phone.wait_for("playback_control").await;
    assert_eq!(control["content"], "film:9");
    assert_eq!(control["position_ms"], 61_000);
    assert_eq!(control["from"], "tv");
    let result = tv.wait_for("handoff_result").await;
    assert_eq!(result["request_id"], "h1");
    assert_eq!(result["outcome"], "delivered");
    let token = control["lease"].as_u64().expect("lease token");

    // The TV, no longer the player, cannot keep writing positions.
    let stale = playback("tv", "film:9", 62_000, "playing");
    let seq = tv.next_seq;
    send_json(&mut tv.ws, &json!({"type":"op","seq":seq,"op":stale})).await;
    let err = tv.wait_for("error").await;
    assert_eq!(err["code"], "lease_held");
    assert_eq!(err["seq"], seq);

    // The phone plays with its lease, then hands back to the TV.
    let op = serde_json::from_value(json!({"kind":"playback","content":"film:9","position_ms":61_500,"duration_ms":3_600_000,
        "state":"playing","ts":baton_crdt::Hlc::for_device("phone", *uhlc::HLC::default().new_timestamp().get_time()),"lease":token}))
        .expect("op");
    let s = phone.op(op).await;
    phone.wait_ack(s).await;
    send_json(&mut phone.ws, &json!({"type":"handoff","request_id":"h2","target":"tv","content":"film:9","position_ms":70_000})).await;
    let back = tv.wait_for("playback_control").await;
    assert_eq!(back["position_ms"], 70_000);
    assert!(
        back["lease"].as_u64().expect("token") > token,
        "fencing token grows"
    );
    assert_eq!(
        phone.wait_for("handoff_result").await["outcome"],
        "delivered"
    );

    // Handoff outcomes for an unknown and an offline device.
    send_json(&mut tv.ws, &json!({"type":"handoff","request_id":"h3","target":"toaster","content":"film:9","position_ms":1})).await;
    assert_eq!(
        tv.wait_for("handoff_result").await["outcome"],
        "unknown_device"
    );
    let _ = phone.go_offline().await;
    loop {
        let p = tv.wait_for("presence").await;
        if p["devices"]
            .as_array()
            .expect("devices")
            .iter()
            .any(|d| d["device"] == "phone" && d["online"] == false)
        {
            break;
        }
    }
    send_json(&mut tv.ws, &json!({"type":"handoff","request_id":"h4","target":"phone","content":"film:9","position_ms":1})).await;
    assert_eq!(
        tv.wait_for("handoff_result").await["outcome"],
        "target_offline"
    );
    server.stop().await;
}

/// A device that comes back resumes with only the deltas it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_resumes_with_deltas() {
    let server = TestServer::sqlite(test_config()).await;
    let mut tv = server.device("erin", "tv", "tv").await;
    let phone = server.device("erin", "phone", "mobile").await;
    let (doc, unacked, _) = phone.go_offline().await;
    let mut last = 0;
    for i in 0..5 {
        let s = tv.op(add(&format!("m:{i}"))).await;
        last = tv.wait_ack(s).await;
    }
    let phone = TestDevice::connect(&server, "erin", "phone", "mobile", doc, unacked).await;
    assert_eq!(phone.welcome["resume"], "deltas");
    assert_eq!(phone.doc.version(), last);
    assert_eq!(phone.watchlist(), tv.watchlist());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_resumes_with_more_deltas_than_the_live_frame_cap() {
    // 400 ops, well past the 256-frame cap of live frames, all in the window
    // (log-retention-ops 1000): a new device gets them as catch-up deltas,
    // and the presence frame queued behind them is not refused (4008).
    let server = TestServer::sqlite(test_config()).await;
    let mut tv = server.device("many", "tv", "tv").await;
    for i in 0..400 {
        let seq = tv.op(add(&format!("movie:{i}"))).await;
        tv.wait_ack(seq).await;
    }
    let mut phone = server.device("many", "phone", "mobile").await;
    assert_eq!(phone.welcome["resume"], "deltas");
    assert_eq!(phone.watchlist().len(), 400);
    let presence = phone.wait_for("presence").await;
    assert!(presence["devices"].as_array().is_some_and(|d| d
        .iter()
        .any(|e| e["device"] == "phone" && e["online"] == true)));
    // Still connected: an op round-trips.
    let seq = phone.op(add("movie:last")).await;
    phone.wait_ack(seq).await;
    server.stop().await;
}
