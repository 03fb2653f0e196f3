//! Shared state in a real Redis started by the test: token revocation on every
//! node (refused at once, open sockets closed with 1008), a per-user rate
//! limit across nodes, presence readable from any node, and the policy when
//! Redis goes down mid-run.

mod common;

use std::time::{Duration, Instant};

use baton_actors::{ActorConfig, Shared};
use baton_transport::auth::Scope;
use common::redis_server::RedisServer;
use common::*;
use serde_json::json;

fn jti_of(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("jwt payload");
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
        .expect("b64");
    let claims: serde_json::Value = serde_json::from_slice(&bytes).expect("claims");
    claims["jti"].as_str().expect("jti").to_owned()
}

async fn revoke(server: &TestServer, jti: &str) -> u16 {
    let admin = server.token_with("ops", None, &[Scope::AdminRevoke]);
    revoke_with(server, &admin, jti).await
}

async fn node(redis: &RedisServer, cfg: ActorConfig) -> TestServer {
    let shared = Shared::redis(&redis.url()).await.expect("redis reachable");
    TestServer::sqlite_shared(cfg, shared).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_reaches_every_node_and_closes_open_sockets() {
    let redis = RedisServer::start();
    let a = node(&redis, test_config()).await;
    let b = node(&redis, test_config()).await;
    let token = a.token("rev", "tv");
    let jti = jti_of(&token);
    // The same token holds sockets on both nodes.
    let mut on_a = raw_connect(&a, Some(&token)).await.expect("connect a");
    let mut on_b = raw_connect(&b, Some(&token)).await.expect("connect b");
    for ws in [&mut on_a, &mut on_b] {
        send_json(
            ws,
            &json!({"type":"hello","protocol":1,"device":{"kind":"tv"}}),
        )
        .await;
        assert_eq!(next_json(ws).await.expect("welcome")["type"], "welcome");
    }
    let non_admin = revoke_with(&a, &a.token("rev", "tv"), &jti).await;
    assert_eq!(non_admin, 403, "a device token may not revoke");

    let started = Instant::now();
    assert_eq!(revoke(&a, &jti).await, 204);
    assert_eq!(close_code(&mut on_a).await, Some(1008));
    assert_eq!(
        close_code(&mut on_b).await,
        Some(1008),
        "closed on the other node too"
    );
    eprintln!("revocation to both sockets closed: {:?}", started.elapsed());

    // Refused at once on both nodes, on the socket and on REST.
    for server in [&a, &b] {
        let (status, body) = server.get("/v1/users/rev/watchlist", Some(&token)).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["code"], "revoked");
        match raw_connect(server, Some(&token)).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), 401)
            }
            other => panic!("expected 401, got {:?}", other.map(|_| ())),
        }
    }
    // Another token of the same device still works.
    let fresh = a.token("rev", "tv");
    assert_eq!(b.get("/v1/users/rev/watchlist", Some(&fresh)).await.0, 200);
    a.stop().await;
    b.stop().await;
}

async fn revoke_with(server: &TestServer, token: &str, jti: &str) -> u16 {
    reqwest::Client::new()
        .post(server.url("/v1/admin/revocations"))
        .bearer_auth(token)
        .json(&json!({"jti": jti, "expires_at": now_unix() + 3600}))
        .send()
        .await
        .expect("revoke call")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_visible_everywhere_and_the_rate_limit_stays_with_the_owner() {
    let redis = RedisServer::start();
    let cfg = ActorConfig {
        sync: baton_actors::SyncConfig {
            rate_limit_events: 4,
            rate_limit_window: Duration::from_secs(60),
            ..test_config().sync
        },
        ..test_config()
    };
    let a = node(&redis, cfg.clone()).await;
    let b = node(&redis, cfg).await;
    // The per-user limit is kept by the node that serves the user (in a
    // cluster, its owner), with no Redis round trip per op: the fifth op on
    // one node is refused, with a retry hint ...
    let mut tv = a.device("lim", "tv", "tv").await;
    for i in 0..4 {
        let s = tv.op(add(&format!("a:{i}"))).await;
        tv.wait_ack(s).await;
    }
    let seq = tv.next_seq;
    send_json(&mut tv.ws, &json!({"type":"op","seq":seq,"op":add("a:9")})).await;
    let err = tv.wait_for("error").await;
    assert_eq!(err["code"], "rate_limited");
    assert!(err["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0));
    // ... and Redis holds no per-op rate state.
    let mut conn = redis::Client::open(redis.url())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("baton:rate:*")
        .query_async(&mut conn)
        .await
        .expect("keys");
    assert!(keys.is_empty(), "{keys:?}");

    // Presence published by the node that owns a user is readable from any node.
    let _owner_side = b.device("pres", "phone", "mobile").await;
    let deadline = Instant::now() + WAIT;
    loop {
        let seen = a.hub.shared().presence("pres").await.expect("redis");
        if seen.is_some_and(|list| list.iter().any(|d| d.device == "phone" && d.online)) {
            break;
        }
        assert!(Instant::now() < deadline, "presence visible from node a");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_policy() {
    let mut redis = RedisServer::start();
    let cfg = ActorConfig {
        sync: baton_actors::SyncConfig {
            rate_limit_events: 3,
            rate_limit_window: Duration::from_secs(60),
            ..test_config().sync
        },
        ..test_config()
    };
    let server = node(&redis, cfg).await;
    let revoked = server.token("down", "tv");
    assert_eq!(revoke(&server, &jti_of(&revoked)).await, 204);

    redis.stop();

    // Fails open for tokens not known to be revoked: devices keep connecting
    // and syncing; acks still mean durable.
    let mut tv = server.device("down", "phone", "mobile").await;
    let s = tv.op(add("x:1")).await;
    tv.wait_ack(s).await;
    // A revocation this node already knew stays enforced.
    assert_eq!(
        server
            .get("/v1/users/down/watchlist", Some(&revoked))
            .await
            .0,
        401
    );
    // Revoking now fails closed: the caller learns nothing was revoked.
    assert_eq!(revoke(&server, "some-other-jti").await, 503);
    // The rate limit falls back to this node's own per-user limit.
    let s = tv.op(add("x:2")).await;
    tv.wait_ack(s).await;
    let s = tv.op(add("x:3")).await;
    tv.wait_ack(s).await;
    let seq = tv.next_seq;
    send_json(&mut tv.ws, &json!({"type":"op","seq":seq,"op":add("x:4")})).await;
    assert_eq!(tv.wait_for("error").await["code"], "rate_limited");

    // Redis back: revocation works again and reaches open sockets.
    redis.restart();
    let fresh = server.token("down", "web");
    let mut ws = raw_connect(&server, Some(&fresh)).await.expect("connect");
    send_json(
        &mut ws,
        &json!({"type":"hello","protocol":1,"device":{"kind":"web"}}),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await.expect("welcome")["type"],
        "welcome"
    );
    let deadline = Instant::now() + WAIT;
    while revoke(&server, &jti_of(&fresh)).await != 204 {
        assert!(
            Instant::now() < deadline,
            "revocation works again after Redis returns"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(close_code(&mut ws).await, Some(1008));
    server.stop().await;
}
