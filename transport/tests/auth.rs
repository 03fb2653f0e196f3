//! Tokens on the socket and on REST: 401 for missing or bad tokens, 403 for
//! another user's data; a service token reads any user.

mod common;

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

fn sign(claims: serde_json::Value, alg: Algorithm) -> String {
    let key = match alg {
        Algorithm::HS256 => EncodingKey::from_secret(b"guessable"),
        _ => EncodingKey::from_rsa_pem(KEY.as_bytes()).expect("key"),
    };
    jsonwebtoken::encode(&Header::new(alg), &claims, &key).expect("sign")
}

fn claims() -> serde_json::Value {
    json!({"sub":"alice","device":"tv","scope":"read:watchlist write:watchlist read:preferences",
           "aud":AUDIENCE,"iss":ISSUER,"iat":now_unix(),"exp":now_unix()+600})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_get_401_with_a_code_on_socket_and_rest() {
    let server = TestServer::sqlite(test_config()).await;
    let mut expired = claims();
    expired["exp"] = json!(now_unix() - 3600);
    let mut wrong_aud = claims();
    wrong_aud["aud"] = json!("someone-else");
    let mut wrong_iss = claims();
    wrong_iss["iss"] = json!("evil");
    let cases = [
        (None, "missing_token"),
        (Some("not-a-jwt".to_owned()), "malformed_token"),
        (Some(sign(expired, Algorithm::RS256)), "expired"),
        (Some(sign(wrong_aud, Algorithm::RS256)), "wrong_audience"),
        (Some(sign(wrong_iss, Algorithm::RS256)), "wrong_issuer"),
        (Some(sign(claims(), Algorithm::HS256)), "wrong_algorithm"),
    ];
    for (token, code) in cases {
        let (status, body) = server
            .get("/v1/users/alice/watchlist", token.as_deref())
            .await;
        assert_eq!(status, 401, "{code}: {body}");
        assert_eq!(body["error"]["code"], code);
        let err = raw_connect(&server, token.as_deref())
            .await
            .expect_err("upgrade refused");
        match err {
            tokio_tungstenite::tungstenite::Error::Http(resp) => assert_eq!(resp.status(), 401),
            other => panic!("expected HTTP 401, got {other}"),
        }
    }
    // The token may also travel as a query parameter (browsers).
    let token = server.token("alice", "web");
    let url = format!("{}?token={token}", server.ws_url());
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("query token accepted");
    send_json(
        &mut ws,
        &json!({"type":"hello","protocol":1,"device":{"kind":"web"}}),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await.expect("welcome")["type"],
        "welcome"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_reads_only_its_own_user() {
    let server = TestServer::sqlite(test_config()).await;
    let mut bob = server.device("bob", "tv", "tv").await;
    let s = bob.op(add("bob:secret")).await;
    bob.wait_ack(s).await;

    let alice = server.token("alice", "tv");
    for path in [
        "state",
        "watchlist",
        "playback",
        "devices",
        "preferences",
        "playback/m:1",
    ] {
        let (status, body) = server
            .get(&format!("/v1/users/bob/{path}"), Some(&alice))
            .await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let (status, body) = server
        .get(
            "/v1/users/bob/watchlist",
            Some(&server.token("bob", "phone")),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["items"][0]["content"], "bob:secret");
    let (status, _) = server
        .get("/v1/users/bob/watchlist", Some(&server.service_token()))
        .await;
    assert_eq!(status, 200, "a service token reads any user");
    let (status, _) = server.get("/v1/admin/users/bob/stats", Some(&alice)).await;
    assert_eq!(status, 403, "admin reads need service:read");
    let (status, body) = server
        .get("/v1/admin/users/bob/stats", Some(&server.service_token()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["watchlist_len"], 1);
    assert_eq!(body["live_devices"], 1);

    // Over the socket, a device token only ever reaches its own user: alice's
    // device sees none of bob's state.
    let alice_dev = server.device("alice", "tv", "tv").await;
    assert!(alice_dev.watchlist().is_empty());
    // A service token (no device) cannot open a sync socket.
    match raw_connect(&server, Some(&server.service_token())).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_reads_have_etags_and_validate_ids() {
    let server = TestServer::sqlite(test_config()).await;
    let mut tv = server.device("eve", "tv", "tv").await;
    let s = tv.op(add("m:1")).await;
    let v = tv.wait_ack(s).await;
    let token = server.service_token();
    let client = reqwest::Client::new();
    let resp = client
        .get(server.url("/v1/users/eve/state"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(resp.headers()["etag"], format!("\"{v}\""));
    let resp = client
        .get(server.url("/v1/users/eve/state"))
        .bearer_auth(&token)
        .header("if-none-match", format!("\"{v}\""))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 304);
    let (status, body) = server
        .get("/v1/users/eve/playback/bad%20id", Some(&token))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_content_id");
    let (status, _) = server
        .get("/v1/users/eve/playback/m:404", Some(&token))
        .await;
    assert_eq!(status, 404);
    let (status, body) = server
        .get(
            &format!("/v1/users/{}/state", "x".repeat(257)),
            Some(&token),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_user_id");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_describes_the_api() {
    let server = TestServer::sqlite(test_config()).await;
    let (status, doc) = server.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/v1/sync",
        "/v1/users/{user}/state",
        "/v1/users/{user}/watchlist",
        "/v1/users/{user}/playback",
        "/v1/users/{user}/playback/{content}",
        "/v1/users/{user}/devices",
        "/v1/users/{user}/preferences",
        "/health/live",
        "/health/ready",
        "/metrics",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} documented");
    }
    assert!(doc["components"]["schemas"]["UserView"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // The document matches the routes actually served.
    let (status, _) = server.get("/health/live", None).await;
    assert_eq!(status, 200);
    let (status, _) = server.get("/health/ready", None).await;
    assert_eq!(status, 200);
    server.stop().await;
}
