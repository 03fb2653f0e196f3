//! The PubNub bridge against a fake PubNub origin on 127.0.0.1 (the real
//! `pubnub` client speaks HTTP to it) and an in-process hub on SQLite.

mod common;

use std::sync::atomic::Ordering;

use common::{add, ts, until, Node, BRIDGE_UUID};
use serde_json::{json, Value};

fn types(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .filter_map(|v| v["type"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_type_is_published_with_its_channels_and_store_flag() {
    let node = Node::start().await;
    let mut tv = node.ws_device("alice", "tv").await;
    let mut phone = node.ws_device("alice", "phone").await;
    tv.send(add(1, "movie:1")).await;
    tv.wait_for("ack 1", |f| f["type"] == "ack" && f["seq"] == 1)
        .await;
    let ts = ts(&tv.hlc_id());
    tv.send(
        json!({"type":"op","seq":2,"op":{"kind":"playback","content":"movie:1",
        "position_ms":1000,"duration_ms":9000,"state":"playing","ts":ts}}),
    )
    .await;
    tv.wait_for("ack 2", |f| f["type"] == "ack" && f["seq"] == 2)
        .await;
    tv.send(json!({"type":"handoff","request_id":"h-1","target":"phone","content":"movie:1","position_ms":1500}))
        .await;
    phone
        .wait_for("playback_control", |f| f["type"] == "playback_control")
        .await;
    phone.send(add(1, "movie:2")).await;

    let c = &node.channels;
    let fake = node.fake.clone();
    until("all types published", || {
        let t = types(&fake.on(&c.sync("alice")));
        [
            "watchlist_update",
            "watch_progress",
            "playback_control",
            "device_handoff",
        ]
        .iter()
        .all(|k| t.iter().any(|x| x == k))
            && fake
                .on(&c.typed("alice", baton_bridge::channels::Topic::Watchlist))
                .len()
                == 2
    })
    .await;

    let published = fake.published();
    let find = |channel: &str, kind: &str| {
        published
            .iter()
            .find(|e| e.channel == channel && e.message["type"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("{kind} on {channel}: {published:#?}"))
    };
    use baton_bridge::channels::Topic;
    // Watchlist updates: on .sync and .watchlist, stored.
    for ch in [c.sync("alice"), c.typed("alice", Topic::Watchlist)] {
        let e = find(&ch, "watchlist_update");
        assert_eq!(e.store, Some(true), "{ch}");
        assert_eq!(e.message["origin"], "baton");
        assert_eq!(e.message["user"], "alice");
        assert_eq!(e.message["device"], "tv");
        assert_eq!(e.message["seq"], 1);
        // Versions 1 and 2 registered the tv and the phone (control records).
        assert_eq!(e.message["version"], 3);
        assert_eq!(e.message["op"]["content"], "movie:1");
        assert_eq!(e.uuid, BRIDGE_UUID);
        assert_eq!(e.meta, Some(json!({"origin":"baton"})));
    }
    // Playback: watch_progress and playback_control on .sync and .playback, not stored.
    for ch in [c.sync("alice"), c.typed("alice", Topic::Playback)] {
        let e = find(&ch, "watch_progress");
        assert_eq!(e.store, Some(false), "{ch}");
        assert_eq!(e.message["op"]["position_ms"], 1000);
        let e = find(&ch, "playback_control");
        assert_eq!(e.store, Some(false), "{ch}");
        assert_eq!(e.message["action"], "lease");
    }
    // The handoff: on .sync and .devices, not stored, naming the target.
    for ch in [c.sync("alice"), c.typed("alice", Topic::Devices)] {
        let e = find(&ch, "device_handoff");
        assert_eq!(e.store, Some(false), "{ch}");
        assert_eq!(e.message["device"], "phone");
        assert_eq!(e.message["from"], "tv");
        assert_eq!(e.message["position_ms"], 1500);
        assert_eq!(e.message["request_id"], "h-1");
    }
    // Presence goes to .devices only.
    assert!(types(&fake.on(&c.typed("alice", Topic::Devices))).contains(&"presence".to_owned()));
    // Per-user order: the sync channel sees versions in order.
    let versions: Vec<u64> = fake
        .on(&c.sync("alice"))
        .iter()
        .filter_map(|m| m.get("version").and_then(Value::as_u64))
        .collect();
    let mut sorted = versions.clone();
    sorted.sort_unstable();
    assert_eq!(versions, sorted);
    assert_eq!(node.bridge.outbound_stats().dropped, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pubnub_device_syncs_through_a_virtual_session() {
    let node = Node::start().await;
    let pn = node.pn_device("bob", "phone");

    // An op before hello: the device is told to say hello.
    pn.send(add(1, "movie:1"));
    pn.wait_for("hello_required", |f| f["code"] == "hello_required")
        .await;

    pn.hello();
    let welcome = pn.wait_for("welcome", |f| f["type"] == "welcome").await;
    assert_eq!(welcome["user"], "bob");
    assert_eq!(welcome["device"], "phone");
    assert_eq!(welcome["next_seq"], 1);

    pn.send(add(1, "movie:1"));
    let ack = pn
        .wait_for("ack", |f| f["type"] == "ack" && f["seq"] == 1)
        .await;
    // Version 1 registered the phone (a control record); its op is version 2.
    assert_eq!(ack["version"], 2);
    assert_eq!(ack.get("duplicate"), None);
    assert_eq!(node.watchlist("bob").await, (vec!["movie:1".to_owned()], 2));

    // A replay is acknowledged as a duplicate and applied once.
    pn.send(add(1, "movie:1"));
    pn.wait_for("duplicate ack", |f| {
        f["type"] == "ack" && f["duplicate"] == true
    })
    .await;
    assert_eq!(node.watchlist("bob").await, (vec!["movie:1".to_owned()], 2));

    // A bad frame: an error on the device channel, state intact.
    pn.send(json!({"type":"op","seq":2,"op":{"kind":"watchlist_add","content":"bad id!","added_at_ms":1}}));
    let err = pn
        .wait_for("error", |f| f["type"] == "error" && f["seq"] == 2)
        .await;
    assert_eq!(err["code"], "invalid_content_id");
    pn.send(json!({"type":"op","seq":2}));
    pn.wait_for("invalid_frame", |f| f["code"] == "invalid_frame")
        .await;
    assert_eq!(node.watchlist("bob").await, (vec!["movie:1".to_owned()], 2));

    // A token for another user does not reach this user's state.
    let mallory = node.token("mallory", "phone");
    node.fake.inject(
        &pn.sync,
        "pn-mallory",
        json!({"token": mallory, "frame": add(2, "movie:evil")}),
    );

    // The bridge's own messages are never ingested: its published
    // watchlist_update came back on the subscription (skipped), and a valid
    // envelope published under the bridge's uuid is ignored too.
    node.fake.inject(
        &pn.sync,
        BRIDGE_UUID,
        json!({"token": pn.token, "device": "phone", "frame": add(2, "movie:own")}),
    );
    // A marker op after both: once it is acked, the earlier ones were handled.
    pn.send(add(2, "movie:2"));
    let ack = pn
        .wait_for("ack 2", |f| f["type"] == "ack" && f["seq"] == 2)
        .await;
    assert_eq!(ack["version"], 3, "registration, op 1, op 2");
    assert_eq!(
        node.watchlist("bob").await,
        (vec!["movie:1".to_owned(), "movie:2".to_owned()], 3)
    );
    let fake = node.fake.clone();
    let sync = pn.sync.clone();
    until("own watchlist_update published", || {
        fake.on(&sync)
            .iter()
            .filter(|m| m["type"] == "watchlist_update")
            .count()
            == 2
    })
    .await;
    // Exactly the errors provoked above, nothing from re-ingesting own messages.
    let codes: Vec<Value> = pn
        .frames()
        .iter()
        .filter(|f| f["type"] == "error")
        .map(|f| f["code"].clone())
        .collect();
    assert_eq!(
        codes,
        vec![
            json!("hello_required"),
            json!("invalid_content_id"),
            json!("invalid_frame")
        ]
    );
    assert!(node
        .fake
        .on(&node.channels.device("mallory", "phone"))
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubnub_and_websocket_devices_of_one_user_converge() {
    let node = Node::start().await;
    let mut tv = node.ws_device("carol", "tv").await;
    let pn = node.pn_device("carol", "phone");
    pn.hello();
    pn.wait_for("synced", |f| f["type"] == "synced").await;

    tv.send(add(1, "movie:tv")).await;
    pn.send(add(1, "movie:phone"));
    // Each sees the other's op as a delta.
    let d = pn
        .wait_for("delta from tv", |f| {
            f["type"] == "delta" && f["device"] == "tv"
        })
        .await;
    assert_eq!(d["op"]["content"], "movie:tv");
    let d = tv
        .wait_for("delta from phone", |f| {
            f["type"] == "delta" && f["device"] == "phone"
        })
        .await;
    assert_eq!(d["op"]["content"], "movie:phone");
    // Presence on both sides lists both devices online.
    tv.wait_for("presence with phone", |f| {
        f["type"] == "presence"
            && f["devices"]
                .as_array()
                .is_some_and(|d| d.iter().filter(|x| x["online"] == true).count() == 2)
    })
    .await;
    // The phone removes the TV's item it observed; both end equal.
    pn.send(json!({"type":"op","seq":2,"op":{"kind":"watchlist_remove","content":"movie:tv","observed":[["tv",1]]}}));
    tv.wait_for("remove delta", |f| {
        f["type"] == "delta" && f["op"]["kind"] == "watchlist_remove"
    })
    .await;
    assert_eq!(
        node.watchlist("carol").await,
        // Three ops and the two devices' registrations.
        (vec!["movie:phone".to_owned()], 5)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_loses_and_duplicates_nothing() {
    let node = Node::start().await;
    let mut tv = node.ws_device("dave", "tv").await;
    let pn = node.pn_device("dave", "phone");
    pn.hello();
    pn.wait_for("synced", |f| f["type"] == "synced").await;

    node.fake.set_failing(true);
    // WebSocket ops are acknowledged by Baton during the outage...
    for seq in 1..=3 {
        tv.send(add(seq, &format!("movie:tv{seq}"))).await;
        tv.wait_for("ack", |f| f["type"] == "ack" && f["seq"] == seq)
            .await;
    }
    // ...and the PubNub device publishes while the bridge cannot reach PubNub.
    pn.send(add(1, "movie:pn1"));
    pn.send(add(2, "movie:pn2"));
    let fake = node.fake.clone();
    until("bridge retried", || {
        fake.failed_calls.load(Ordering::Relaxed) >= 6
    })
    .await;
    assert!(node.bridge.outbound_stats().retries > 0);
    node.fake.set_failing(false);

    // Recovery: every TV op is published once on .sync, in order; inbound resumes.
    let sync = node.channels.sync("dave");
    until("tv ops published", || {
        fake.on(&sync)
            .iter()
            .filter(|m| m["type"] == "watchlist_update" && m["device"] == "tv")
            .count()
            >= 3
    })
    .await;
    pn.wait_for("ack pn 2", |f| f["type"] == "ack" && f["seq"] == 2)
        .await;
    let tv_seqs: Vec<u64> = fake
        .on(&sync)
        .iter()
        .filter(|m| m["type"] == "watchlist_update" && m["device"] == "tv")
        .filter_map(|m| m["seq"].as_u64())
        .collect();
    assert_eq!(tv_seqs, vec![1, 2, 3]);
    // State: five items, five versions, nothing twice.
    let (items, version) = node.watchlist("dave").await;
    assert_eq!(
        items,
        vec![
            "movie:pn1",
            "movie:pn2",
            "movie:tv1",
            "movie:tv2",
            "movie:tv3"
        ]
    );
    // Five ops and the two devices' registrations.
    assert_eq!(version, 7);
    // The TV saw the phone's ops after recovery.
    tv.wait_for("delta pn2", |f| {
        f["type"] == "delta" && f["op"]["content"] == "movie:pn2"
    })
    .await;
    assert_eq!(node.bridge.outbound_stats().dropped, 0);
}

#[tokio::test]
async fn shutdown_publishes_what_is_still_queued() {
    let node = Node::start().await;
    let mut tv = node.ws_device("erin", "tv").await;
    node.fake.set_failing(true);
    for seq in 1..=2 {
        tv.send(add(seq, &format!("movie:e{seq}"))).await;
        tv.wait_for("ack", |f| f["type"] == "ack" && f["seq"] == seq)
            .await;
    }
    let fake = node.fake.clone();
    let sync = node.channels.sync("erin");
    let healer = fake.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        healer.set_failing(false);
    });
    // The deltas are queued behind a failing PubNub; a graceful stop waits.
    node.bridge
        .shutdown(std::time::Duration::from_secs(20))
        .await;
    let published: Vec<Value> = fake
        .on(&sync)
        .into_iter()
        .filter(|m| m["type"] == "watchlist_update")
        .collect();
    assert_eq!(published.len(), 2, "{published:?}");
}

#[tokio::test]
async fn a_revoked_token_is_refused_and_changes_nothing() {
    let node = Node::start().await;
    let pn = node.pn_device("rita", "phone");
    pn.hello();
    pn.wait_for("welcome", |f| f["type"] == "welcome").await;
    pn.send(add(1, "movie:r1"));
    pn.wait_for("ack 1", |f| f["type"] == "ack" && f["seq"] == 1)
        .await;

    let jti = node.jti_of(&pn.token).await;
    node.hub
        .shared()
        .revoke(&jti, u64::MAX / 2)
        .await
        .expect("revoke");
    pn.send(add(2, "movie:r2"));
    pn.wait_for("revoked", |f| {
        f["type"] == "error" && f["code"] == "revoked"
    })
    .await;
    assert_eq!(
        node.watchlist("rita").await,
        // One op and the device's registration.
        (vec!["movie:r1".to_owned()], 2),
        "nothing from a revoked token lands"
    );
}

#[tokio::test]
async fn an_idle_pubnub_session_ends_and_a_new_hello_resumes() {
    let node = Node::start_with(|cfg| {
        cfg.session_idle = std::time::Duration::from_millis(300);
    })
    .await;
    let pn = node.pn_device("ivy", "phone");
    pn.hello();
    pn.wait_for("welcome", |f| f["type"] == "welcome").await;
    pn.send(add(1, "movie:i1"));
    pn.wait_for("ack 1", |f| f["type"] == "ack" && f["seq"] == 1)
        .await;
    // Silence past the idle time: the bridge ends the virtual session.
    pn.wait_for("idle close", |f| {
        f["type"] == "close" && f["reason"] == "idle"
    })
    .await;
    // The device is then a new session: an op needs a hello first...
    pn.send(add(2, "movie:i2"));
    pn.wait_for("hello_required", |f| f["code"] == "hello_required")
        .await;
    // ...and after it, the device resumes where the server is.
    pn.hello();
    pn.wait_for("second welcome", |f| {
        f["type"] == "welcome" && f["next_seq"] == 2
    })
    .await;
    pn.send(add(2, "movie:i2"));
    pn.wait_for("ack 2", |f| f["type"] == "ack" && f["seq"] == 2)
        .await;
    assert_eq!(
        node.watchlist("ivy").await,
        // Two ops and the device's registration.
        (vec!["movie:i1".to_owned(), "movie:i2".to_owned()], 3)
    );
}

#[tokio::test]
async fn a_token_with_an_invalid_device_id_is_refused_and_reaches_nothing() {
    let node = Node::start().await;
    let phone = node.pn_device("nora", "phone");
    phone.hello();
    phone.wait_for("welcome", |f| f["type"] == "welcome").await;

    let bad = node.pn_device("nora", "tv\0");
    bad.hello();
    bad.send(add(1, "movie:bad"));
    bad.wait_for("invalid_identity", |f| {
        f["type"] == "error" && f["code"] == "invalid_identity"
    })
    .await;

    phone.send(add(1, "movie:n1"));
    phone
        .wait_for("ack 1", |f| f["type"] == "ack" && f["seq"] == 1)
        .await;
    assert_eq!(
        node.watchlist("nora").await.0,
        ["movie:n1"],
        "nothing from the invalid identity lands; the other device is unaffected"
    );
}
