//! `baton-client` against a real node: offline edits, kill -9 with ops in
//! flight, snapshot resume, token refresh, handoff, limits (close codes:
//! `closes.rs`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use baton_client::{
    Client, ClientConfig, ConnectionState, ErrorCode, Event, FileStore, MemoryStore, PlayState,
    Store,
};

use super::node::Node;

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_are_sent_on_reconnect_and_reach_the_other_device() {
    let mut node = Node::start(&[]).await;
    node.kill9();
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn Store> = Arc::new(FileStore::new(dir.path().join("tv.json")));
    let tv = client(&node, "off", "tv", "tv", store.clone());
    tv.add("movie:1").expect("add");
    tv.add("movie:2").expect("add");
    tv.remove("movie:1").expect("remove");
    assert!(tv.state().expect("state").contains("movie:2"));
    assert_eq!(tv.pending().expect("pending"), vec![1, 2, 3]);
    assert!(store
        .load()
        .expect("load")
        .is_some_and(|p| p.pending.len() == 3));
    node.kill9_and_restart().await;
    settle(&tv, "tv", |s| {
        s.contains("movie:2") && !s.contains("movie:1")
    })
    .await;
    let phone = client(
        &node,
        "off",
        "phone",
        "mobile",
        Arc::new(MemoryStore::new()),
    );
    settle(&phone, "phone", |s| {
        s.contains("movie:2") && !s.contains("movie:1")
    })
    .await;
    let state = node.state_text("off").await;
    assert_eq!(server_vv(&state, "tv"), 3);
    assert_eq!(server_items(&state), vec!["movie:2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_with_ops_in_flight_loses_nothing_acked_and_applies_nothing_twice() {
    let mut node = Node::start(&[]).await;
    let tv = client(&node, "k9", "tv", "tv", Arc::new(MemoryStore::new()));
    live(&tv).await;
    let mut events = tv.subscribe();
    for i in 0..40 {
        tv.add(&format!("c:{i}")).expect("add");
    }
    // Kill as soon as some (not necessarily all) are acknowledged.
    event(&mut events, "first ack", |e| {
        matches!(e, Event::Acked { .. })
    })
    .await;
    node.kill9();
    let acked_before: Vec<u64> = {
        let mut acked = Vec::new();
        while let Ok(e) = events.try_recv() {
            if let Event::Acked { seq, .. } = e {
                acked.push(seq);
            }
        }
        acked
    };
    node.kill9_and_restart().await;
    settle(&tv, "tv", |s| s.watchlist.len() == 40).await;
    let state = node.state_text("k9").await;
    assert_eq!(
        server_vv(&state, "tv"),
        40,
        "each op applied exactly once: {state}"
    );
    let items = server_items(&state);
    assert_eq!(items.len(), 40);
    for seq in acked_before {
        assert!(
            items.contains(&format!("c:{}", seq - 1)),
            "acked op {seq} lost"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_resume_past_the_catch_up_window_keeps_offline_edits() {
    let node = Node::start(&[
        ("BATON_ACTORS__LOG_RETENTION_OPS", "5"),
        ("BATON_ACTORS__SNAPSHOT_EVERY_OPS", "5"),
    ])
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("tv.json");
    let tv = client(&node, "snap", "tv", "tv", Arc::new(FileStore::new(&path)));
    live(&tv).await;
    tv.add("tv:0").expect("add");
    settle(&tv, "tv first", |s| s.contains("tv:0")).await;
    tv.close().await;
    let phone = client(
        &node,
        "snap",
        "phone",
        "mobile",
        Arc::new(MemoryStore::new()),
    );
    for i in 0..30 {
        phone.add(&format!("p:{i}")).expect("add");
    }
    settle(&phone, "phone sees tv:0", |s| s.contains("tv:0")).await;
    assert!(phone.remove("tv:0").expect("remove").is_some());
    settle(&phone, "phone", |s| s.watchlist.len() == 30).await;
    // The TV restarts from its file, edits offline first, then connects.
    let tv = client(&node, "snap", "tv", "tv", Arc::new(FileStore::new(&path)));
    let mut events = tv.subscribe();
    tv.add("tv:1").expect("add");
    event(&mut events, "snapshot", |e| {
        matches!(e, Event::SnapshotAdopted { .. })
    })
    .await;
    settle(&tv, "tv", |s| {
        s.watchlist.len() == 31 && s.contains("tv:1") && !s.contains("tv:0")
    })
    .await;
    settle(&phone, "phone sees tv:1", |s| s.contains("tv:1")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refreshed_through_the_provider() {
    let node = Node::start(&[("BATON_AUTH__LEEWAY_SECS", "0")]).await;
    let calls = Arc::new(AtomicU32::new(0));
    let (data, port, c) = (node.data_path(), node.port, calls.clone());
    let tokens = move || {
        let (data, c) = (data.clone(), c.clone());
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            let out = super::common::command(&data, port, None)
                .args(["token", "--user", "ttl", "--device", "tv", "--ttl", "2s"])
                .output()
                .map_err(|e| e.to_string())?;
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
    };
    let mut cfg = ClientConfig::new(node.url(), "tv").kind("tv");
    cfg.backoff.base = Duration::from_millis(100);
    let tv = Client::start(cfg, tokens, Arc::new(MemoryStore::new())).expect("client");
    let mut events = tv.subscribe();
    live(&tv).await;
    let off = event(&mut events, "1008 at exp", |e| {
        matches!(e, Event::Connection(ConnectionState::Offline { .. }))
    })
    .await;
    assert!(format!("{off:?}").contains("1008"), "{off:?}");
    event(&mut events, "live again", |e| {
        matches!(e, Event::Connection(ConnectionState::Live))
    })
    .await;
    assert!(
        calls.load(Ordering::SeqCst) >= 2,
        "the provider was asked again"
    );
    tv.add("after:refresh").expect("add");
    settle(&tv, "tv", |s| s.contains("after:refresh")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handoff_from_tv_to_phone_moves_the_lease() {
    let node = Node::start(&[]).await;
    let tv = client(&node, "ho", "tv", "tv", Arc::new(MemoryStore::new()));
    let phone = client(&node, "ho", "phone", "mobile", Arc::new(MemoryStore::new()));
    live(&tv).await;
    live(&phone).await;
    let mut tv_events = tv.subscribe();
    let mut phone_events = phone.subscribe();
    tv.playback("movie:42", 600_000, 7_200_000, PlayState::Playing, false)
        .expect("play");
    event(
        &mut tv_events,
        "tv holds",
        |e| matches!(e, Event::LeaseChanged(l) if l.holder.as_deref() == Some("tv")),
    )
    .await;
    let id = tv.handoff("phone", "movie:42", 605_000).expect("handoff");
    let ctl = event(&mut phone_events, "playback_control", |e| {
        matches!(e, Event::PlaybackControl { .. })
    })
    .await;
    assert_eq!(
        ctl,
        Event::PlaybackControl {
            request_id: id.clone(),
            from: "tv".into(),
            content: "movie:42".into(),
            position_ms: 605_000,
            lease: 2
        }
    );
    event(&mut tv_events, "handoff_result", |e| {
        matches!(e, Event::HandoffResult { request_id, outcome }
            if *request_id == id && *outcome == baton_client::HandoffOutcome::Delivered)
    })
    .await;
    assert_eq!(phone.lease().expect("lease").token, 2);
    let presence = phone.presence().expect("presence");
    assert!(
        presence.iter().any(|p| p.device == "tv" && p.online),
        "the phone sees the TV online: {presence:?}"
    );
    phone
        .playback("movie:42", 606_000, 7_200_000, PlayState::Playing, false)
        .expect("phone plays");
    settle(&phone, "phone", |s| {
        s.playback_of("movie:42")
            .is_some_and(|p| p.device == "phone")
    })
    .await;
    // The TV lost the lease: a report without take_lease is refused, typed.
    tv.playback("movie:42", 607_000, 7_200_000, PlayState::Playing, false)
        .expect("tv plays");
    let refused = event(&mut tv_events, "lease_held", |e| {
        matches!(e, Event::OpRefused(_))
    })
    .await;
    let Event::OpRefused(err) = refused else {
        unreachable!()
    };
    assert_eq!(err.code, ErrorCode::LeaseHeld);
    assert!(tv.pending().expect("pending").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_limits_surface_as_typed_errors_and_normal_use_never_trips_them() {
    let node = Node::start(&[
        ("BATON_LIMITS__MAX_INFLIGHT_OPS", "3"),
        ("BATON_LIMITS__OUTBOUND_QUEUE", "8"),
        ("BATON_LIMITS__RATE_LIMIT_EVENTS", "10"),
        ("BATON_LIMITS__RATE_LIMIT_WINDOW_SECS", "1"),
    ])
    .await;
    let tv = client(&node, "lim", "tv", "tv", Arc::new(MemoryStore::new()));
    live(&tv).await;
    let mut events = tv.subscribe();
    for i in 0..25 {
        tv.add(&format!("c:{i}")).expect("add");
    }
    settle(&tv, "all acked", |s| s.watchlist.len() == 25).await;
    let mut codes = Vec::new();
    while let Ok(e) = events.try_recv() {
        match e {
            Event::ServerError(err) | Event::OpRefused(err) => codes.push(err),
            _ => {}
        }
    }
    assert!(
        codes.iter().all(|e| e.code != ErrorCode::TooManyInflight),
        "the client keeps to welcome.limits.max_inflight_ops: {codes:?}"
    );
    assert!(
        codes
            .iter()
            .any(|e| e.code == ErrorCode::RateLimited && e.retry_after.is_some()),
        "25 ops at 10 per second are rate limited, with a hint: {codes:?}"
    );
    let state = node.state_text("lim").await;
    assert_eq!(server_vv(&state, "tv"), 25);
    // A hello over the name limit: typed refusal, then closed for good.
    let long = "n".repeat(65);
    let mut cfg = ClientConfig::new(node.url(), "tv2").kind("tv");
    cfg.hello.name = long;
    let (data, port) = (node.data_path(), node.port);
    let tokens = move || {
        let data = data.clone();
        async move { Ok(super::common::token(&data, port, None, "lim", "tv2")) }
    };
    let bad = Client::start(cfg, tokens, Arc::new(MemoryStore::new())).expect("client");
    let mut ev = bad.subscribe();
    let e = event(&mut ev, "field_too_long", |e| {
        matches!(e, Event::ServerError(_))
    })
    .await;
    let Event::ServerError(err) = e else {
        unreachable!()
    };
    assert_eq!(err.code, ErrorCode::FieldTooLong);
    let mut w = bad.connection();
    tokio::time::timeout(
        WAIT,
        w.wait_for(|s| matches!(s, ConnectionState::Closed(_))),
    )
    .await
    .expect("closed in time")
    .expect("watch");
}
