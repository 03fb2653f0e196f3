//! Persistence: a client restarted from its file keeps its unsent edits
//! and its confirmed state; a damaged or foreign file is a clear error, and
//! nothing is overwritten by it. (No node: the client stays offline.)

use std::sync::Arc;

use baton_client::{Client, ClientConfig, ClientError, FileStore, MemoryStore, Store};

fn offline(device: &str) -> ClientConfig {
    // Port 1 refuses connections: the client keeps retrying, edits queue.
    ClientConfig::new("ws://127.0.0.1:1/v1/sync", device)
}

fn no_token() -> impl Fn() -> std::future::Ready<Result<String, String>> + Send + Sync + 'static {
    || std::future::ready(Ok("unused".to_owned()))
}

#[tokio::test]
async fn unsent_edits_survive_a_restart_from_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("tv.json");
    let store: Arc<dyn Store> = Arc::new(FileStore::new(&path));
    let tv = Client::start(offline("tv"), no_token(), store).expect("start");
    assert_eq!(tv.add("movie:1").expect("add"), 1);
    assert_eq!(tv.add("movie:2").expect("add"), 2);
    assert_eq!(tv.remove("movie:1").expect("remove"), Some(3));
    assert_eq!(
        tv.remove("movie:9").expect("remove"),
        None,
        "not on the list"
    );
    tv.preferences(|tx| {
        use baton_client::automerge::transaction::Transactable as _;
        tx.put(baton_client::automerge::ROOT, "subtitles", "fr")
    })
    .expect("prefs");
    tv.close().await;

    let store: Arc<dyn Store> = Arc::new(FileStore::new(&path));
    let tv = Client::start(offline("tv"), no_token(), store).expect("restart");
    assert_eq!(tv.pending().expect("pending"), vec![1, 2, 3, 4]);
    let state = tv.state().expect("state");
    assert!(state.contains("movie:2") && !state.contains("movie:1"));
    assert_eq!(state.preferences["subtitles"], "fr");
    assert!(tv.confirmed().expect("confirmed").watchlist.is_empty());
    assert_eq!(tv.add("movie:3").expect("add"), 5, "numbering continues");
    tv.close().await;
}

#[tokio::test]
async fn a_damaged_or_foreign_file_is_refused_and_kept() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("tv.json");
    std::fs::write(&path, b"{not json").expect("write");
    let store: Arc<dyn Store> = Arc::new(FileStore::new(&path));
    let err = Client::start(offline("tv"), no_token(), store).err();
    assert!(matches!(err, Some(ClientError::Store(_))), "{err:?}");
    assert_eq!(std::fs::read(&path).expect("kept"), b"{not json");

    let mem: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let tv = Client::start(offline("tv"), no_token(), mem.clone()).expect("start");
    tv.add("movie:1").expect("add");
    tv.close().await;
    let err = Client::start(offline("phone"), no_token(), mem).err();
    assert!(matches!(err, Some(ClientError::Store(m)) if m.contains("tv")));
}

#[tokio::test]
async fn invalid_content_ids_are_refused_locally() {
    let tv = Client::start(offline("tv"), no_token(), Arc::new(MemoryStore::new())).expect("start");
    assert!(matches!(tv.add("bad id!"), Err(ClientError::Invalid(_))));
    assert!(matches!(
        tv.add(&"x".repeat(129)),
        Err(ClientError::Invalid(_))
    ));
    assert!(tv.pending().expect("pending").is_empty());
    tv.close().await;
}

#[tokio::test]
async fn an_edit_over_the_message_limit_is_refused_locally() {
    let tv = Client::start(offline("tv"), no_token(), Arc::new(MemoryStore::new())).expect("start");
    // Incompressible text: Automerge deflates change bytes.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let big: String = (0..70_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect();
    let err = tv.preferences(|tx| {
        use baton_client::automerge::transaction::Transactable as _;
        tx.put(baton_client::automerge::ROOT, "blob", big.as_str())
    });
    assert!(
        matches!(err, Err(ClientError::TooLarge { max: 65_536, .. })),
        "{err:?}"
    );
    assert!(tv.pending().expect("pending").is_empty(), "nothing queued");
    assert_eq!(
        tv.state().expect("state").preferences,
        serde_json::json!({})
    );
    tv.close().await;
}
