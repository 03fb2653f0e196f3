//! The transport's cluster parts in process: forwarding a device socket and a
//! REST read to the owner node (frames and close codes relayed), and the
//! internal warm-handoff endpoint (its secret, bad bodies, and a user served
//! from the handed-over state).

mod common;

use std::sync::Arc;

use baton_actors::{Placement, RemoteNode, Route};
use baton_cluster::forward::Forwarding;
use baton_crdt::{LoggedOp, UserDoc};
use common::*;
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "0123456789abcdef-test";

/// Sends every user to one node.
struct AllTo(RemoteNode);

impl Placement for AllTo {
    fn route(&self, _user: &str) -> Route {
        Route::Remote(self.0.clone())
    }
}

fn forwarding(node: &str) -> Forwarding {
    Forwarding::new(node, SECRET, None).expect("forwarding")
}

#[tokio::test]
async fn a_non_owner_relays_the_socket_and_reads_to_the_owner() {
    let owner = TestServer::clustered(forwarding("owner")).await;
    let edge = TestServer::clustered_routed(
        forwarding("edge"),
        Arc::new(AllTo(RemoteNode {
            id: Arc::from("owner"),
            api: Arc::from(owner.addr.to_string()),
        })),
    )
    .await;

    // A device on the edge node writes; a device on the owner sees it.
    let mut tv = edge.device("fwd", "tv", "tv").await;
    let mut phone = owner.device("fwd", "phone", "mobile").await;
    let seq = tv.op(add("movie:1")).await;
    let version = tv.wait_ack(seq).await;
    phone.wait_version(version).await;
    assert_eq!(phone.watchlist(), vec!["movie:1"]);
    // The user lives on the owner only.
    assert_eq!(edge.hub.live_users(), 0);
    assert_eq!(owner.hub.live_users(), 1);

    // REST through the edge answers from the owner, ETag included.
    let token = edge.token("fwd", "tv");
    let (status, body) = edge.get("/v1/users/fwd/watchlist", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(body["items"][0]["content"], "movie:1");
    let (status, _) = edge.get("/v1/users/other/watchlist", Some(&token)).await;
    assert_eq!(status, 403, "the owner still checks the token");
    // A client cannot pin its user to the edge by claiming it was forwarded.
    let resp = reqwest::Client::new()
        .get(edge.url("/v1/users/fwd/watchlist"))
        .bearer_auth(&token)
        .header("x-baton-forwarded-by", "owner")
        .send()
        .await
        .expect("read");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        edge.hub.live_users(),
        0,
        "served by the owner, not the edge"
    );

    // A protocol error on the owner reaches the device with its close code.
    let mut raw = raw_connect(&edge, Some(&edge.token("fwd", "web")))
        .await
        .expect("connect");
    send_json(&mut raw, &json!({"type":"heartbeat"})).await;
    let err = next_json(&mut raw).await.expect("error frame");
    assert_eq!(err["code"], "hello_required");
    assert_eq!(next_json(&mut raw).await.err(), Some(Some(4000)));

    // A binary frame is passed on: the owner's rule answers it (the
    // relay has no protocol rules of its own).
    let mut raw = raw_connect(&edge, Some(&edge.token("fwd", "web")))
        .await
        .expect("connect");
    raw.send(Message::Binary(vec![1u8, 2, 3].into()))
        .await
        .expect("send binary");
    let err = next_json(&mut raw).await.expect("error frame");
    assert_eq!(err["code"], "hello_required");

    // A burst of ops through the relay arrives whole and in order.
    let first = tv.op(add("movie:b0")).await;
    for n in 1..20 {
        tv.op(add(&format!("movie:b{n}"))).await;
    }
    let last = tv.wait_ack(first + 19).await;
    phone.wait_version(last).await;
    assert_eq!(phone.watchlist().len(), 21);

    // The edge shuts down: its relayed sockets close with 1001 (reconnect elsewhere).
    edge.stop().await;
    let closed = loop {
        match next_json(&mut tv.ws).await {
            Ok(_) => continue,
            Err(code) => break code,
        }
    };
    assert_eq!(closed, Some(1001));
}

#[tokio::test]
async fn an_unreachable_owner_is_a_clean_503() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let edge = TestServer::clustered_routed(
        forwarding("edge"),
        Arc::new(AllTo(RemoteNode {
            id: Arc::from("gone"),
            api: Arc::from(dead.to_string()),
        })),
    )
    .await;
    let err = raw_connect(&edge, Some(&edge.token("u", "tv")))
        .await
        .expect_err("refused before the upgrade");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(resp) => {
            assert_eq!(resp.status(), 503);
            assert!(resp.headers().contains_key("retry-after"));
        }
        other => panic!("expected HTTP 503, got {other:?}"),
    }
    let (status, body) = edge
        .get("/v1/users/u/state", Some(&edge.token("u", "tv")))
        .await;
    assert_eq!(status, 503, "{body}");
}

async fn post_handoff(server: &TestServer, secret: Option<&str>, body: String) -> u16 {
    let mut req = reqwest::Client::new()
        .post(server.url("/internal/v1/handoff"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(s) = secret {
        req = req.header("x-baton-cluster-secret", s);
    }
    req.send().await.expect("post").status().as_u16()
}

#[tokio::test]
async fn handoff_needs_the_secret_and_a_valid_body_and_serves_warm_state() {
    let node = TestServer::clustered(forwarding("n")).await;
    // A user's state as its previous owner held it: one item at version 1.
    let mut doc = UserDoc::new();
    let op = LoggedOp {
        device: "tv".into(),
        seq: 1,
        version: 1,
        at_ms: 0,
        op: add("show:9"),
    };
    doc.replay(&op).expect("replay");
    let warm = |user: &str| baton_actors::WarmState {
        user: user.into(),
        version: 1,
        snapshot: doc.to_snapshot_bytes().expect("snapshot"),
        window: vec![op.clone()],
        window_base: Default::default(),
    };
    // The previous owner flushed its log before letting go; a second user's
    // warm state claims a version the store never saw.
    node.hub
        .store()
        .append_many(vec![baton_store::LogEntry {
            user: "warm".into(),
            version: 1,
            device: "tv".into(),
            seq: 1,
            at_ms: 0,
            payload: serde_json::to_vec(&op.op).expect("op"),
        }])
        .await
        .expect("append");
    let states = vec![warm("warm"), warm("ahead")];
    let body =
        serde_json::to_string(&baton_cluster::handoff::Batch::new("old", states)).expect("json");

    assert_eq!(post_handoff(&node, None, body.clone()).await, 401);
    assert_eq!(
        post_handoff(&node, Some("wrong-secret-xxxxx"), body.clone()).await,
        401
    );
    assert_eq!(
        post_handoff(&node, Some(SECRET), "{not json".into()).await,
        400
    );
    assert_eq!(post_handoff(&node, Some(SECRET), body).await, 204);

    let (status, view) = node
        .get("/v1/users/warm/watchlist", Some(&node.token("warm", "tv")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["version"], 1);
    assert_eq!(view["items"][0]["content"], "show:9");
    // A warm state the store cannot prove current is not served: cold load.
    let (status, view) = node
        .get(
            "/v1/users/ahead/watchlist",
            Some(&node.token("ahead", "tv")),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["version"], 0, "{view}");
    // The delta tail came along: a device with nothing resumes with deltas.
    let phone = node.device("warm", "phone", "mobile").await;
    assert_eq!(phone.welcome["resume"], "deltas", "{}", phone.welcome);
    assert_eq!(phone.watchlist(), vec!["show:9"]);
}

#[tokio::test]
async fn a_single_node_has_no_internal_endpoint() {
    let node = TestServer::sqlite(test_config()).await;
    assert_eq!(post_handoff(&node, Some(SECRET), "{}".into()).await, 404);
}

/// Routes every user to `node` until told it cannot be reached, then here
/// (as the cluster placement does with the next owner by rendezvous).
struct UntilUnreachable {
    node: RemoteNode,
    down: std::sync::atomic::AtomicBool,
}

impl Placement for UntilUnreachable {
    fn route(&self, _user: &str) -> Route {
        if self.down.load(std::sync::atomic::Ordering::Acquire) {
            Route::Local
        } else {
            Route::Remote(self.node.clone())
        }
    }

    fn unreachable(&self, node: &RemoteNode) {
        if *node == self.node {
            self.down.store(true, std::sync::atomic::Ordering::Release);
        }
    }
}

async fn edge_with_dead_owner() -> TestServer {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    TestServer::clustered_routed(
        forwarding("edge"),
        Arc::new(UntilUnreachable {
            node: RemoteNode {
                id: Arc::from("dead"),
                api: Arc::from(dead.to_string()),
            },
            down: Default::default(),
        }),
    )
    .await
}

#[tokio::test]
async fn a_socket_is_routed_around_an_owner_that_cannot_be_reached() {
    let edge = edge_with_dead_owner().await;
    let mut tv = edge.device("around", "tv", "tv").await;
    let seq = tv.op(add("movie:2")).await;
    tv.wait_ack(seq).await;
    assert_eq!(edge.hub.live_users(), 1, "served by the next owner: here");
}

#[tokio::test]
async fn a_read_is_routed_around_an_owner_that_cannot_be_reached() {
    let edge = edge_with_dead_owner().await;
    let (status, body) = edge
        .get("/v1/users/around/state", Some(&edge.token("around", "tv")))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(edge.hub.live_users(), 1);
}
