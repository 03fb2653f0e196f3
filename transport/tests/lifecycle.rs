//! Connection and actor lifecycle: slow consumers, heartbeats, replacement,
//! passivation and reactivation, snapshot resume, admission and shutdown.

mod common;

use std::time::Duration;

use baton_actors::ActorConfig;
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_device_is_closed_with_4002_and_shown_offline() {
    let cfg = ActorConfig {
        timers: baton_actors::SessionTimers {
            heartbeat_timeout: Duration::from_millis(400),
            ping_interval: Duration::from_millis(100),
            pong_timeout: Duration::from_millis(100),
            ..Default::default()
        },
        ..test_config()
    };
    let server = TestServer::sqlite(cfg).await;
    let mut watcher = server.device("h", "watcher", "mobile").await;
    let mut silent = server.device("h", "silent", "tv").await;
    let watch = tokio::spawn(async move {
        loop {
            // Keep heartbeating while waiting, so only the silent device times out.
            send_json(&mut watcher.ws, &json!({"type":"heartbeat"})).await;
            let Ok(p) =
                tokio::time::timeout(Duration::from_millis(100), watcher.wait_for("presence"))
                    .await
            else {
                continue;
            };
            let list = p["devices"].as_array().cloned().unwrap_or_default();
            if list
                .iter()
                .any(|d| d["device"] == "silent" && d["online"] == false)
            {
                return;
            }
        }
    });
    assert_eq!(close_code(&mut silent.ws).await, Some(4002));
    tokio::time::timeout(WAIT, watch)
        .await
        .expect("offline seen")
        .expect("watcher");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connection_of_a_device_replaces_the_first() {
    let server = TestServer::sqlite(test_config()).await;
    let mut first = server.device("r", "tv", "tv").await;
    let mut second = server.device("r", "tv", "tv").await;
    assert_eq!(close_code(&mut first.ws).await, Some(4001));
    let s = second.op(add("m:1")).await;
    second.wait_ack(s).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_users_are_passivated_and_reactivated_from_the_store() {
    let cfg = ActorConfig {
        sync: baton_actors::SyncConfig {
            idle_passivate: Duration::from_millis(200),
            ..test_config().sync
        },
        ..test_config()
    };
    let server = TestServer::sqlite(cfg).await;
    let mut tv = server.device("p", "tv", "tv").await;
    let s = tv.op(add("m:1")).await;
    let v = tv.wait_ack(s).await;
    let _ = tv.go_offline().await;
    let hub = server.hub.clone();
    eventually("passivation", || hub.live_users() == 0).await;
    let bounds = hub.store().log_bounds("p").await.expect("bounds");
    assert_eq!(
        bounds.snapshot_version,
        Some(v),
        "passivation saved a snapshot"
    );
    let state = server.state("p").await;
    assert_eq!(state["version"], v);
    assert_eq!(rest_watchlist(&state), vec!["m:1"]);
    assert_eq!(server.hub.live_users(), 1, "the read reactivated the user");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_actor_cap_passivates_least_recently_used_idle_users() {
    let cfg = ActorConfig {
        hub: baton_actors::HubConfig {
            max_live_users: 2,
            ..Default::default()
        },
        ..test_config()
    };
    let server = TestServer::sqlite(cfg).await;
    for user in ["a", "b", "c", "d"] {
        server.state(user).await;
    }
    let hub = server.hub.clone();
    eventually("the cap", || hub.live_users() <= 2).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_too_far_behind_gets_a_chunked_snapshot() {
    let cfg = ActorConfig {
        sync: baton_actors::SyncConfig {
            log_retention_ops: 3,
            snapshot_every_ops: 2,
            snapshot_chunk_bytes: 128,
            ..test_config().sync
        },
        ..test_config()
    };
    let server = TestServer::sqlite(cfg).await;
    let mut tv = server.device("z", "tv", "tv").await;
    let phone = server.device("z", "phone", "mobile").await;
    let (doc, unacked, _) = phone.go_offline().await;
    for i in 0..10 {
        let s = tv.op(add(&format!("item:{i}"))).await;
        tv.wait_ack(s).await;
    }
    // Count the chunks by hand.
    let token = server.token("z", "phone");
    let mut ws = raw_connect(&server, Some(&token)).await.expect("connect");
    send_json(
        &mut ws,
        &json!({"type":"hello","protocol":1,"device":{"kind":"mobile"},"vv":doc.vv()}),
    )
    .await;
    let welcome = next_json(&mut ws).await.expect("welcome");
    assert_eq!(welcome["resume"], "snapshot");
    let mut chunks = 0;
    loop {
        let f = next_json(&mut ws).await.expect("frame");
        match f["type"].as_str() {
            Some("snapshot_chunk") => {
                chunks += 1;
                assert!(f["data"].as_str().expect("data").len() <= 128);
            }
            Some("synced") => break,
            _ => {}
        }
    }
    assert!(chunks > 1, "snapshot split into {chunks} chunks");
    drop(ws);
    let phone = TestDevice::connect(&server, "z", "phone", "mobile", doc, unacked).await;
    assert_eq!(phone.watchlist(), tv.watchlist());
    assert_eq!(phone.watchlist().len(), 10);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_get_503_with_retry_after() {
    let server = TestServer::sqlite_with(test_config(), 1).await;
    let _first = server.device("q", "tv", "tv").await;
    match raw_connect(&server, Some(&server.token("q", "phone"))).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 503);
            assert!(resp.headers().contains_key("retry-after"));
        }
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_closes_devices_with_1001_after_flushing() {
    let server = TestServer::sqlite(test_config()).await;
    let mut tv = server.device("g", "tv", "tv").await;
    let s = tv.op(add("m:1")).await;
    tv.wait_ack(s).await;
    let hub = server.hub.clone();
    let stop = tokio::spawn(server.stop());
    assert_eq!(close_code(&mut tv.ws).await, Some(1001));
    stop.await.expect("stopped");
    let bounds = hub.store().log_bounds("g").await.expect("bounds");
    // Version 1 registered the tv, version 2 is its op: the snapshot covers both.
    assert_eq!(bounds.last, Some(2));
    assert_eq!(bounds.snapshot_version, Some(2), "shutdown snapshotted");
}
