//! Bad input over the socket: each gets a clear error code, is counted in
//! metrics, and loses nothing already acknowledged.

mod common;

use common::*;
use serde_json::{json, Value};

async fn assert_intact(server: &TestServer, user: &str, version: u64, item: &str) {
    let state = server.state(user).await;
    assert_eq!(
        state["version"], version,
        "no acknowledged state lost or added"
    );
    assert!(rest_watchlist(&state).contains(&item.to_owned()));
}

async fn expect_error(dev: &mut TestDevice, frame: &str) -> Value {
    dev.ws
        .send(tokio_tungstenite::tungstenite::Message::Text(
            frame.to_owned().into(),
        ))
        .await
        .expect("send");
    dev.wait_for("error").await
}

use futures_util::SinkExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_unknown_missing_and_foreign_frames_are_refused() {
    let server = TestServer::sqlite(test_config()).await;
    let mut tv = server.device("u1", "tv", "tv").await;
    let s = tv.op(add("keep:1")).await;
    let v = tv.wait_ack(s).await;

    let cases = [
        ("{not json", "malformed_json"),
        (r#"{"seq":1}"#, "missing_type"),
        (r#"{"type":"teleport"}"#, "unknown_type"),
        (
            r#"{"type":"op","op":{"kind":"watchlist_add","content":"a","added_at_ms":1}}"#,
            "invalid_frame",
        ),
        (
            r#"{"type":"op","seq":2,"op":{"kind":"watchlist_add","added_at_ms":1}}"#,
            "invalid_frame",
        ),
        (
            r#"{"type":"op","seq":2,"op":{"kind":"fly"}}"#,
            "invalid_frame",
        ),
        // An op for another user: ops carry no user; naming one is refused.
        (
            r#"{"type":"op","seq":2,"user":"u2","op":{"kind":"watchlist_add","content":"a","added_at_ms":1}}"#,
            "invalid_frame",
        ),
        (
            r#"{"type":"op","seq":2,"op":{"kind":"watchlist_add","content":"bad id!","added_at_ms":1}}"#,
            "invalid_content_id",
        ),
        (
            r#"{"type":"hello","protocol":1,"device":{"kind":"tv"}}"#,
            "unexpected_hello",
        ),
        (
            r#"{"type":"op","seq":9,"op":{"kind":"watchlist_add","content":"gap","added_at_ms":1}}"#,
            "seq_gap",
        ),
    ];
    for (frame, code) in cases {
        let err = expect_error(&mut tv, frame).await;
        assert_eq!(err["code"], code, "frame {frame} gave {err}");
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let gap = expect_error(
        &mut tv,
        r#"{"type":"op","seq":9,"op":{"kind":"watchlist_add","content":"gap","added_at_ms":1}}"#,
    )
    .await;
    assert_eq!(gap["expected_seq"], 2);
    assert_eq!(gap["seq"], 9);

    assert_intact(&server, "u1", v, "keep:1").await;
    // The connection still works after all of that.
    let s = tv.op(add("after:1")).await;
    assert_eq!(s, 2);
    tv.wait_ack(s).await;

    let (_, metrics) = {
        let resp = reqwest::get(server.url("/metrics")).await.expect("metrics");
        (resp.status(), resp.text().await.expect("text"))
    };
    for code in [
        "malformed_json",
        "unknown_type",
        "invalid_frame",
        "seq_gap",
        "invalid_content_id",
    ] {
        assert!(
            metrics.contains(&format!("baton_protocol_errors_total{{code=\"{code}\"}}")),
            "{code} counted in /metrics"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frame_closes_with_1009_and_loses_nothing() {
    let cfg = test_config();
    let (store, _dir) = baton_store::sqlite_harness::temp_sqlite()
        .await
        .expect("store");
    let transport = baton_transport::TransportConfig {
        max_message_bytes: 2048,
        ..Default::default()
    };
    let server = TestServer::with_store(store, cfg, transport).await;
    let mut tv = server.device("u2", "tv", "tv").await;
    let s = tv.op(add("keep:2")).await;
    let v = tv.wait_ack(s).await;
    let big = format!(r#"{{"type":"heartbeat","pad":"{}"}}"#, "x".repeat(4096));
    tv.ws
        .send(tokio_tungstenite::tungstenite::Message::Text(big.into()))
        .await
        .expect("send");
    let code = loop {
        match next_json(&mut tv.ws).await {
            Ok(_) => continue,
            Err(code) => break code,
        }
    };
    assert_eq!(code, Some(1009));
    assert_intact(&server, "u2", v, "keep:2").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_timestamp_and_rate_limit_are_refused() {
    let cfg = baton_actors::ActorConfig {
        sync: baton_actors::SyncConfig {
            rate_limit_events: 4,
            rate_limit_window: std::time::Duration::from_secs(60),
            ..test_config().sync
        },
        ..test_config()
    };
    let server = TestServer::sqlite(cfg).await;
    let mut tv = server.device("u3", "tv", "tv").await;
    let s = tv.op(add("keep:3")).await;
    let v = tv.wait_ack(s).await;

    // A timestamp an hour ahead of the server clock.
    let future = *uhlc::HLC::default().new_timestamp().get_time()
        + uhlc::NTP64::from(std::time::Duration::from_secs(3600));
    let ts = baton_crdt::Hlc::for_device("tv", future);
    let frame = json!({"type":"op","seq":2,"op":{"kind":"playback","content":"m:1","position_ms":1,"duration_ms":2,"state":"paused","ts":ts}});
    let err = expect_error(&mut tv, &frame.to_string()).await;
    assert_eq!(err["code"], "clock_skew");
    // A timestamp that names another device's clock.
    let foreign =
        baton_crdt::Hlc::for_device("phone", *uhlc::HLC::default().new_timestamp().get_time());
    let frame = json!({"type":"op","seq":2,"op":{"kind":"playback","content":"m:1","position_ms":1,"duration_ms":2,"state":"paused","ts":foreign}});
    assert_eq!(
        expect_error(&mut tv, &frame.to_string()).await["code"],
        "bad_timestamp"
    );
    let frame = json!({"type":"op","seq":2,"op":{"kind":"playback","content":"m:1","position_ms":1,"duration_ms":2,"state":"paused","ts":"yesterday"}});
    assert_eq!(
        expect_error(&mut tv, &frame.to_string()).await["code"],
        "invalid_frame"
    );

    // 4 ops per minute: the add and the two refused playback ops took one
    // each (the rate limit is checked first; a frame that does not parse
    // never reaches it); one more passes, then the limit bites.
    let s = tv.op(add("keep:4")).await;
    let v2 = tv.wait_ack(s).await;
    let seq = tv.next_seq;
    let err = expect_error(
        &mut tv,
        &json!({"type":"op","seq":seq,"op":add("over")}).to_string(),
    )
    .await;
    assert_eq!(err["code"], "rate_limited");
    assert!(err["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0));
    assert!(v2 > v);
    assert_intact(&server, "u3", v2, "keep:4").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handoff_to_another_users_device_is_unknown() {
    let server = TestServer::sqlite(test_config()).await;
    let _other = server.device("victim", "victim-tv", "tv").await;
    let mut tv = server.device("attacker", "tv", "tv").await;
    let frame = json!({"type":"handoff","request_id":"x","target":"victim-tv","content":"m:1","position_ms":0});
    send_json(&mut tv.ws, &frame).await;
    assert_eq!(
        tv.wait_for("handoff_result").await["outcome"],
        "unknown_device"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_frame_must_be_a_v1_hello() {
    let server = TestServer::sqlite(test_config()).await;
    let token = server.token("u4", "tv");
    let mut ws = raw_connect(&server, Some(&token)).await.expect("connect");
    send_json(&mut ws, &json!({"type":"heartbeat"})).await;
    let err = next_json(&mut ws).await.expect("error frame");
    assert_eq!(err["code"], "hello_required");
    assert_eq!(next_json(&mut ws).await.err(), Some(Some(4000)));

    let mut ws = raw_connect(&server, Some(&token)).await.expect("connect");
    send_json(
        &mut ws,
        &json!({"type":"hello","protocol":2,"device":{"kind":"tv"}}),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await.expect("error")["code"],
        "unsupported_protocol"
    );
    server.stop().await;
}
