//! Identities are validated once, at admission: a token whose `sub`,
//! `device` or `jti` breaks its rule is refused with 401 `invalid_identity`
//! on the upgrade and on REST, nothing reaches the store, and the user's
//! other devices are unaffected. Path user ids follow the same rule (400).

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;
use tokio_tungstenite::tungstenite;

/// The status and JSON body of a refused upgrade.
async fn refused_upgrade(server: &TestServer, token: &str) -> (u16, Value) {
    match raw_connect(server, Some(token)).await {
        Ok(_) => panic!("the upgrade was admitted"),
        Err(tungstenite::Error::Http(resp)) => {
            let body = resp
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            (resp.status().as_u16(), body)
        }
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
    }
}

fn mint(server: &TestServer, user: &str, device: Option<&str>) -> String {
    server
        .minter
        .mint(
            user,
            device,
            DEVICE_SCOPES,
            Duration::from_secs(3600),
            now_unix(),
        )
        .expect("mint")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_identities_are_refused_at_upgrade_and_reach_nothing() {
    let server = TestServer::sqlite(test_config()).await;
    let mut tv = server.device("alice", "tv", "tv").await;
    let seq = tv.op(add("keep:1")).await;
    tv.wait_ack(seq).await;

    let long_user = "u".repeat(257);
    let long_device = "d".repeat(129);
    let bad = [
        ("alice", "tv\0"),
        ("alice", "nul\0device"),
        ("alice", long_device.as_str()),
        ("alice", "~retired"),
        ("alice", "bell\u{7}"),
        ("a\0b", "tv"),
        (long_user.as_str(), "tv"),
    ];
    for (user, device) in bad {
        let (status, body) = refused_upgrade(&server, &mint(&server, user, Some(device))).await;
        assert_eq!(status, 401, "{user:?}/{device:?}: {body}");
        assert_eq!(body["error"]["code"], "invalid_identity", "{body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !message.contains("panicked") && !message.contains("store"),
            "{message}"
        );
    }

    // The user's device kept working, and no other device was registered.
    let seq = tv.op(add("keep:2")).await;
    tv.wait_ack(seq).await;
    let (status, devices) = server
        .get("/v1/users/alice/devices", Some(&server.service_token()))
        .await;
    assert_eq!(status, 200, "{devices}");
    let ids: Vec<&str> = devices["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .filter_map(|d| d["device"].as_str().or_else(|| d["id"].as_str()))
        .collect();
    assert_eq!(ids, ["tv"], "{devices}");

    // At the bounds, identities are admitted.
    let edge_user = "u".repeat(256);
    let edge_device = "d".repeat(128);
    let mut edge = raw_connect(
        &server,
        Some(&mint(&server, &edge_user, Some(&edge_device))),
    )
    .await
    .expect("identities at their bounds are admitted");
    send_json(
        &mut edge,
        &serde_json::json!({"type":"hello","protocol":1,"device":{"kind":"tv","name":"edge"},"vv":{}}),
    )
    .await;
    let mut seen = Vec::new();
    next_of(&mut edge, "welcome", &mut seen).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_identities_are_refused_on_rest() {
    let server = TestServer::sqlite(test_config()).await;
    let long_user = "u".repeat(257);
    for (user, device) in [
        ("a\0b", None),
        (long_user.as_str(), None),
        ("alice", Some("tv\0")),
    ] {
        let token = mint(&server, user, device);
        let (status, body) = server.get("/v1/users/alice/state", Some(&token)).await;
        assert_eq!(status, 401, "{user:?}/{device:?}: {body}");
        assert_eq!(body["error"]["code"], "invalid_identity", "{body}");
    }
    // A path user id follows the same rule as `sub`.
    let service = server.service_token();
    let edge_user = "u".repeat(256);
    let (status, body) = server
        .get(&format!("/v1/users/{edge_user}/state"), Some(&service))
        .await;
    assert_eq!(status, 200, "a 256-byte user id is valid: {body}");
    for path_user in [
        "u".repeat(257),
        "a%00b".to_owned(),
        "a%20b".to_owned(),
        "%C3%A9".to_owned(),
    ] {
        let (status, body) = server
            .get(&format!("/v1/users/{path_user}/state"), Some(&service))
            .await;
        assert_eq!(status, 400, "{path_user}: {body}");
        assert_eq!(body["error"]["code"], "invalid_user_id", "{body}");
    }
    server.stop().await;
}
