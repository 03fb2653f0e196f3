//! Personalization end to end: a device reports interactions over the
//! WebSocket, the user actor trains its adapter every 10 of them, and the
//! recommendations endpoint ranks the liked genre's other items on top.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_personalization::synth::{synthetic_catalog, SynthSpec};
use baton_personalization::{
    import_catalog, Catalog, InProcessIndex, VectorStore, USER_PREFERENCES,
};
use common::*;
use serde_json::{json, Value};

const GENRES: usize = 10;
const LIKED_GENRE: usize = 3;

async fn node_with_catalog(cfg: baton_actors::ActorConfig) -> (TestServer, Arc<InProcessIndex>) {
    let spec = SynthSpec {
        items: 2_000,
        genres: GENRES,
        dim: 64,
        noise: 1.0,
        seed: 5,
    };
    let index = Arc::new(InProcessIndex::new());
    let catalog = Catalog {
        dim: spec.dim,
        items: synthetic_catalog(&spec),
    };
    import_catalog(index.as_ref(), &catalog)
        .await
        .expect("import");
    let server = TestServer::sqlite_with_vectors(cfg, index.clone()).await;
    (server, index)
}

fn genre_of(id: &str) -> usize {
    id.trim_start_matches("movie:")
        .parse::<usize>()
        .expect("synthetic id")
        % GENRES
}

/// GET recommendations until the adapter reached `version` (training is asynchronous).
async fn recommendations_at(server: &TestServer, token: &str, query: &str, version: u64) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, body) = server
            .get(
                &format!("/v1/users/alice/recommendations?{query}"),
                Some(token),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        if body["adapter_version"].as_u64() >= Some(version) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "adapter never reached {version}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn likes_of_one_genre_rank_that_genre_on_top() {
    let (server, index) = node_with_catalog(test_config()).await;
    let mut tv = server.device("alice", "tv", "tv").await;
    let token = server.token("alice", "tv");

    // Before any training: an empty list at adapter version 0.
    let (status, body) = server
        .get("/v1/users/alice/recommendations", Some(&token))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["adapter_version"], 0);
    assert_eq!(body["items"], json!([]));

    // An unknown content id is refused with `unknown_content`.
    send_json(
        &mut tv.ws,
        &json!({"type":"interaction","content":"movie:999999","kind":"like"}),
    )
    .await;
    let err = tv.wait_for("error").await;
    assert_eq!(err["code"], "unknown_content", "{err}");

    // 12 likes of genre 3 (ids 3, 13, 23, ...): one training step at 10.
    let liked: Vec<String> = (0..12)
        .map(|k| format!("movie:{}", LIKED_GENRE + k * GENRES))
        .collect();
    for id in &liked {
        send_json(
            &mut tv.ws,
            &json!({"type":"interaction","content":id,"kind":"like"}),
        )
        .await;
    }
    let body = recommendations_at(&server, &token, "limit=30", 1).await;
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 30);
    let ids: Vec<&str> = items.iter().filter_map(|i| i["content"].as_str()).collect();
    let off_genre: Vec<&&str> = ids
        .iter()
        .filter(|id| genre_of(id) != LIKED_GENRE)
        .collect();
    assert!(
        off_genre.is_empty(),
        "top 30 hold other genres: {off_genre:?}"
    );
    let unseen = ids
        .iter()
        .filter(|id| !liked.iter().any(|l| l == *id))
        .count();
    assert!(
        unseen >= 18,
        "only {unseen} of the top 30 are items not interacted with"
    );

    // The adapter is persisted and the preference vector upserted.
    let stored = server
        .hub
        .store()
        .load_adapter("alice")
        .await
        .expect("load adapter")
        .expect("adapter saved");
    assert_eq!(stored.version, 1);
    let prefs = index
        .get(USER_PREFERENCES, &["alice".to_owned()])
        .await
        .expect("user_preferences");
    assert_eq!(prefs.len(), 1);

    // exclude_watchlist leaves out what is on the watchlist.
    let top = ids[0].to_owned();
    let seq = tv.op(add(&top)).await;
    tv.wait_ack(seq).await;
    let (status, body) = server
        .get(
            "/v1/users/alice/recommendations?limit=30&exclude_watchlist=true",
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|i| i["content"] != top.as_str()));

    // Bad limit: 400. Another user's token: 403. A service token may read.
    for bad in ["limit=0", "limit=101", "limit=x"] {
        let (status, body) = server
            .get(
                &format!("/v1/users/alice/recommendations?{bad}"),
                Some(&token),
            )
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let bob = server.token("bob", "phone");
    let (status, _) = server
        .get("/v1/users/alice/recommendations", Some(&bob))
        .await;
    assert_eq!(status, 403);
    let (status, _) = server.get("/v1/users/alice/recommendations", None).await;
    assert_eq!(status, 401);
    let (status, _) = server
        .get(
            "/v1/users/alice/recommendations?limit=5",
            Some(&server.service_token()),
        )
        .await;
    assert_eq!(status, 200);
    server.stop().await;
}

/// The adapter survives passivation: a new activation loads it from the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapter_is_loaded_on_activation() {
    let cfg = baton_actors::ActorConfig {
        sync: baton_actors::SyncConfig {
            idle_passivate: Duration::from_millis(100),
            ..test_config().sync
        },
        ..test_config()
    };
    let (server, _index) = node_with_catalog(cfg).await;
    let token = server.token("alice", "tv");
    let mut tv = server.device("alice", "tv", "tv").await;
    for k in 0..10 {
        let id = format!("movie:{}", LIKED_GENRE + k * GENRES);
        send_json(
            &mut tv.ws,
            &json!({"type":"interaction","content":id,"kind":"complete"}),
        )
        .await;
    }
    let before = recommendations_at(&server, &token, "limit=5", 1).await;
    drop(tv);
    let deadline = Instant::now() + WAIT;
    while server.hub.live_users() > 0 {
        assert!(Instant::now() < deadline, "user actor never passivated");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The first read activates the user again: version and ranking are back at once.
    let (status, after) = server
        .get("/v1/users/alice/recommendations?limit=5", Some(&token))
        .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["adapter_version"], 1);
    assert_eq!(after["items"], before["items"]);
    server.stop().await;
}
