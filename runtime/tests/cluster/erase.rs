//! Erasure in a cluster: `DELETE /v1/users/{user}` sent to a node that does not own
//! the user is forwarded to the owner, which closes the user's socket (connected
//! through yet another node) with 4010 and empties the shared store; every node then
//! refuses the stale token and exports an empty user.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::cases::{open_store, shared, start_cluster};
use crate::Env;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame, or `Err(close code)`.
async fn next(ws: &mut Ws) -> Result<Value, Option<u16>> {
    loop {
        match tokio::time::timeout(Duration::from_secs(15), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Ok(serde_json::from_str(&t).expect("json")),
            Ok(Some(Ok(Message::Close(f)))) => return Err(f.map(|f| u16::from(f.code))),
            Ok(Some(Ok(_))) => {}
            Ok(_) => return Err(None),
            Err(_) => panic!("no frame in 15 s"),
        }
    }
}

async fn request(method: reqwest::Method, url: String, token: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub async fn erase_through_any_node(env: Env) {
    let sh = shared(&env);
    let nodes = start_cluster(&sh, 3).await;
    let store = open_store(&env).await;
    let user = "erase-me";
    let token = sh.device_token(user, "tv");

    // A device on node 1 writes (forwarded to the owner if node 1 is not it). A 503
    // while the new cluster settles placement is retried, as devices do.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut ws = loop {
        let mut req = format!("ws://{}/v1/sync", nodes[0].addrs.http)
            .into_client_request()
            .expect("request");
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => break ws,
            Err(e) if std::time::Instant::now() < deadline => {
                println!("erasure: connect refused ({e}); retrying");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("connect: {e}"),
        }
    };
    let hello = json!({"type":"hello","protocol":1,"device":{"kind":"tv"}});
    ws.send(Message::Text(hello.to_string().into()))
        .await
        .expect("hello");
    let welcome = loop {
        let frame = next(&mut ws).await.expect("welcome");
        if frame["type"] == "welcome" {
            break frame;
        }
    };
    let seq = welcome["next_seq"].as_u64().expect("next_seq");
    let op = json!({"type":"op","seq":seq,"op":{"kind":"watchlist_add","content":"movie:1","added_at_ms":1}});
    ws.send(Message::Text(op.to_string().into()))
        .await
        .expect("op");
    while next(&mut ws).await.expect("ack")["type"] != "ack" {}

    // Erase through a node that is not the owner.
    let (_, owner) = store.owner(user).await.expect("owner").expect("claimed");
    let via = nodes
        .iter()
        .find(|n| n.addrs.id != owner)
        .expect("a non-owner");
    let admin = sh.admin_token();
    let (status, body) = request(
        reqwest::Method::DELETE,
        via.url(&format!("/v1/users/{user}")),
        &admin,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["closed_live_sessions"], true,
        "erased at the owner: {body}"
    );
    assert!(body["log_entries"].as_u64() >= Some(1), "{body}");
    let code = loop {
        if let Err(code) = next(&mut ws).await {
            break code;
        }
    };
    assert_eq!(
        code,
        Some(4010),
        "the socket through node 1 closed for erasure"
    );

    let record = store.load(user).await.expect("load");
    assert_eq!((record.snapshot.is_none(), record.log.len()), (true, 0));
    assert_eq!(store.owner(user).await.expect("owner"), None);
    for node in &nodes {
        let (status, body) = request(
            reqwest::Method::GET,
            node.url(&format!("/v1/users/{user}/state")),
            &token,
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("user_erased"))
        );
        let (status, export) = request(
            reqwest::Method::GET,
            node.url(&format!("/v1/users/{user}/export")),
            &admin,
        )
        .await;
        assert_eq!(status, 200, "{export}");
        assert_eq!(
            export["history"].as_array().map(Vec::len),
            Some(0),
            "{export}"
        );
    }
    println!(
        "erasure: sent to {} (owner {owner}), socket closed with 4010",
        via.addrs.id
    );
    drop(nodes);
}
