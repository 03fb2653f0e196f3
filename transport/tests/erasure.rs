//! User data export and erasure end to end, on SQLite and on a real Postgres,
//! with shared state in a real Redis (both started by the test): a user with
//! two live devices, a trained personalization adapter and a preference
//! vector is exported (everything present), erased by an `admin:erase` token
//! (devices closed with 4010, every store emptied, another user untouched),
//! stale tokens refused with `user_erased`, the erasure repeated (idempotent),
//! and the user starts afresh with a new token.

mod common;

use std::sync::Arc;
use std::time::Duration;

use baton_actors::{Hub, Shared};
use baton_personalization::synth::{synthetic_catalog, SynthSpec};
use baton_personalization::{
    import_catalog, Catalog, InProcessIndex, VectorStore, USER_PREFERENCES,
};
use baton_store::pg_harness::PgHarness;
use baton_store::sqlite_harness::temp_sqlite;
use baton_store::{Store, StoreConfig, StoreOptions};
use baton_transport::auth::Scope;
use baton_transport::TransportConfig;
use common::redis_server::RedisServer;
use common::*;
use serde_json::{json, Value};

async fn request(
    method: reqwest::Method,
    server: &TestServer,
    path: &str,
    token: &str,
) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .request(method, server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("http request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn redis_exists(redis: &RedisServer, key: &str) -> bool {
    let client = redis::Client::open(redis.url()).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    redis::cmd("EXISTS")
        .arg(key)
        .query_async::<i64>(&mut conn)
        .await
        .expect("EXISTS")
        == 1
}

/// Interactions until the adapter trained once (every 10 interactions).
async fn train_once(server: &TestServer, dev: &mut TestDevice, token: &str) {
    for i in 0..10 {
        let id = format!("movie:{}", i * 10 + 3);
        send_json(
            &mut dev.ws,
            &json!({"type":"interaction","content":id,"kind":"like"}),
        )
        .await;
    }
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (status, body) = server
            .get("/v1/users/eve/recommendations", Some(token))
            .await;
        assert_eq!(status, 200, "{body}");
        if body["adapter_version"].as_u64() >= Some(1) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "adapter never trained"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn export_and_erase(store: Store, redis: &RedisServer) {
    let shared = Shared::redis(&redis.url()).await.expect("redis reachable");
    let index = Arc::new(InProcessIndex::new());
    let spec = SynthSpec {
        items: 200,
        genres: 10,
        dim: 16,
        noise: 1.0,
        seed: 3,
    };
    let catalog = Catalog {
        dim: spec.dim,
        items: synthetic_catalog(&spec),
    };
    import_catalog(index.as_ref(), &catalog)
        .await
        .expect("catalog");
    let hub = Hub::builder(store, test_config())
        .shared(shared)
        .vectors(index.clone());
    let server = TestServer::from_builder(hub, TransportConfig::default(), None).await;

    // eve: two live devices, three ops, a trained adapter; bob: one op.
    let mut tv = server.device("eve", "tv", "tv").await;
    let mut phone = server.device("eve", "phone", "mobile").await;
    for content in ["movie:1", "movie:2", "movie:3"] {
        let seq = tv.op(add(content)).await;
        tv.wait_ack(seq).await;
    }
    let eve_token = server.token("eve", "tv");
    train_once(&server, &mut tv, &eve_token).await;
    let mut bob = server.device("bob", "tv", "tv").await;
    let seq = bob.op(add("movie:9")).await;
    bob.wait_ack(seq).await;
    let bob_log = server
        .hub
        .store()
        .load("bob")
        .await
        .expect("load bob")
        .log
        .len();
    assert!(bob_log >= 1);
    assert!(redis_exists(redis, "baton:presence:eve").await);
    // (The op rate limit lives with the owner: no Redis key to erase for it.)
    assert!(!redis_exists(redis, "baton:rate:eve").await);
    let eve = vec!["eve".to_owned()];
    assert_eq!(
        index.get(USER_PREFERENCES, &eve).await.expect("get").len(),
        1
    );

    // Export: by the user, by an admin; not by another user.
    let admin = server.token_with("privacy", None, &[Scope::AdminErase]);
    let (status, export) = request(
        reqwest::Method::GET,
        &server,
        "/v1/users/eve/export",
        &eve_token,
    )
    .await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["format"], "baton-user-export/1");
    let watchlist: Vec<&str> = export["state"]["watchlist"]
        .as_array()
        .expect("watchlist")
        .iter()
        .filter_map(|w| w["content"].as_str())
        .collect();
    assert_eq!(watchlist, ["movie:1", "movie:2", "movie:3"]);
    let devices = export["state"]["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), 2, "{export}");
    let ops_in_history = export["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|e| e["record"]["kind"] == "watchlist_add")
        .count();
    assert_eq!(ops_in_history, 3, "{}", export["history"]);
    assert_eq!(export["personalization"]["training_steps"], 1);
    assert!(export["personalization"]["adapter"]["bytes_base64"]
        .as_str()
        .is_some_and(|b| b.len() > 1000));
    assert!(export["personalization"]["preference_vector"].is_array());
    assert_eq!(export["erased_at_ms"], Value::Null);
    let bob_token = server.token("bob", "tv");
    assert_eq!(
        request(
            reqwest::Method::GET,
            &server,
            "/v1/users/eve/export",
            &bob_token
        )
        .await
        .0,
        403
    );
    assert_eq!(
        request(
            reqwest::Method::GET,
            &server,
            "/v1/users/eve/export",
            &admin
        )
        .await
        .0,
        200
    );

    // Erase: a device token may not; admin:erase may.
    assert_eq!(
        request(
            reqwest::Method::DELETE,
            &server,
            "/v1/users/eve",
            &eve_token
        )
        .await
        .0,
        403
    );
    let (status, erased) = request(reqwest::Method::DELETE, &server, "/v1/users/eve", &admin).await;
    assert_eq!(status, 200, "{erased}");
    assert!(erased["log_entries"].as_u64() >= Some(3), "{erased}");
    assert_eq!(erased["adapters"], 1);
    assert_eq!(erased["closed_live_sessions"], true);
    assert_eq!(close_code(&mut tv.ws).await, Some(4010));
    assert_eq!(close_code(&mut phone.ws).await, Some(4010));

    // Nothing left in any store.
    let store = server.hub.store();
    let record = store.load("eve").await.expect("load");
    assert_eq!((record.snapshot.is_none(), record.log.len()), (true, 0));
    assert_eq!(store.load_adapter("eve").await.expect("adapter"), None);
    assert_eq!(store.owner("eve").await.expect("owner"), None);
    assert!(index
        .get(USER_PREFERENCES, &eve)
        .await
        .expect("get")
        .is_empty());
    assert!(!redis_exists(redis, "baton:presence:eve").await);
    assert!(!redis_exists(redis, "baton:rate:eve").await);
    // bob is untouched.
    assert_eq!(
        store.load("bob").await.expect("load bob").log.len(),
        bob_log
    );
    assert!(redis_exists(redis, "baton:presence:bob").await);

    // Stale tokens (issued before the erasure) are refused, on REST and sockets.
    let (status, body) = server.get("/v1/users/eve/state", Some(&eve_token)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("user_erased")),
        "{body}"
    );
    assert!(
        raw_connect(&server, Some(&eve_token)).await.is_err(),
        "stale token upgraded"
    );

    // Again: idempotent, nothing more to delete.
    let (status, again) = request(reqwest::Method::DELETE, &server, "/v1/users/eve", &admin).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (
            again["log_entries"].as_u64(),
            again["snapshots"].as_u64(),
            again["adapters"].as_u64(),
            again["claims"].as_u64()
        ),
        (Some(0), Some(0), Some(0), Some(0))
    );
    assert_eq!(again["closed_live_sessions"], false);

    // A token issued after the erasure starts the user afresh.
    let fresh = server
        .minter
        .mint(
            "eve",
            Some("tv"),
            DEVICE_SCOPES,
            Duration::from_secs(3600),
            now_unix() + 2,
        )
        .expect("mint");
    let (status, state) = server.get("/v1/users/eve/state", Some(&fresh)).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(
        (
            state["version"].as_u64(),
            state["watchlist"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
    let (status, export) = request(
        reqwest::Method::GET,
        &server,
        "/v1/users/eve/export",
        &fresh,
    )
    .await;
    assert_eq!(status, 200, "{export}");
    assert!(export["erased_at_ms"].as_u64().is_some());
    assert_eq!(export["history"].as_array().map(Vec::len), Some(0));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_erase_on_sqlite_with_redis() {
    let redis = RedisServer::start();
    let (store, _dir) = temp_sqlite().await.expect("sqlite");
    export_and_erase(store, &redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_erase_on_postgres_with_redis() {
    let redis = RedisServer::start();
    let pg = PgHarness::start().expect("postgres starts");
    let url = pg.create_database().await.expect("database");
    let store = Store::open(&StoreConfig::Postgres { url }, StoreOptions::default())
        .await
        .expect("postgres store");
    export_and_erase(store, &redis).await;
}
