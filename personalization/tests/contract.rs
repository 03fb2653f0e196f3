//! The `VectorStore` contract, run against `InProcessIndex` always and
//! against `QdrantStore` when `QDRANT_URL` (gRPC, e.g. `http://localhost:6334`)
//! is set; otherwise the Qdrant run prints a notice and passes vacuously.

use baton_personalization::{
    Filter, InProcessIndex, PersonalizationError, QdrantStore, VectorItem, VectorStore,
};

fn item(id: &str, v: Vec<f32>) -> VectorItem {
    VectorItem {
        id: id.to_owned(),
        vector: v,
        title: format!("title {id}"),
        genres: vec!["g".to_owned()],
    }
}

/// Every case, on collections named with `prefix` (so reruns against one
/// Qdrant server do not collide).
async fn suite(store: &dyn VectorStore, prefix: &str) {
    let col = format!("{prefix}_contract");
    store.ensure_collection(&col, 3).await.expect("create");
    store.ensure_collection(&col, 3).await.expect("idempotent");
    assert!(matches!(
        store.ensure_collection(&col, 4).await,
        Err(PersonalizationError::CollectionDimension { .. })
    ));

    store
        .upsert(
            &col,
            vec![
                item("a", vec![1.0, 0.0, 0.0]),
                item("b", vec![0.0, 1.0, 0.0]),
                item("c", vec![0.7, 0.7, 0.0]),
                item("d", vec![-1.0, 0.0, 0.0]),
            ],
        )
        .await
        .expect("upsert");

    // Ranking by dot product, limit respected.
    let hits = store
        .search(&col, &[1.0, 0.1, 0.0], 3, &Filter::default())
        .await
        .expect("search");
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["a", "c", "b"]);
    assert!((hits[0].score - 1.0).abs() < 1e-4, "{hits:?}");

    // Filter.
    let filter = Filter {
        exclude_ids: vec!["a".into(), "zzz".into()],
    };
    let hits = store
        .search(&col, &[1.0, 0.1, 0.0], 10, &filter)
        .await
        .expect("search");
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["c", "b", "d"]);

    // Upsert replaces by id.
    store
        .upsert(&col, vec![item("d", vec![2.0, 0.0, 0.0])])
        .await
        .expect("replace");
    let hits = store
        .search(&col, &[1.0, 0.0, 0.0], 1, &Filter::default())
        .await
        .expect("search");
    assert_eq!(hits[0].id, "d");

    // Get: order asked, unknown skipped, metadata kept.
    let got = store
        .get(&col, &["c".into(), "nope".into(), "a".into()])
        .await
        .expect("get");
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].id.as_str(), got[1].id.as_str()), ("c", "a"));
    assert_eq!(got[1].vector, vec![1.0, 0.0, 0.0]);
    assert_eq!(got[0].title, "title c");
    assert_eq!(got[0].genres, vec!["g".to_owned()]);

    // Limit 0 and empty get.
    assert!(store
        .search(&col, &[1.0, 0.0, 0.0], 0, &Filter::default())
        .await
        .map(|h| h.is_empty())
        .unwrap_or(true));
    assert!(store.get(&col, &[]).await.expect("get").is_empty());

    // Delete: gone from get and search, unknown ids ignored, the others intact.
    store
        .delete(&col, &["a".into(), "nope".into()])
        .await
        .expect("delete");
    store
        .delete(&col, &["a".into()])
        .await
        .expect("delete again");
    let got = store
        .get(&col, &["a".into(), "b".into(), "c".into(), "d".into()])
        .await
        .expect("get");
    let ids: Vec<&str> = got.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["b", "c", "d"]);
    assert_eq!(got[2].vector, vec![2.0, 0.0, 0.0], "d's row moved intact");
    let hits = store
        .search(&col, &[1.0, 0.0, 0.0], 10, &Filter::default())
        .await
        .expect("search");
    assert!(hits.iter().all(|h| h.id != "a"), "{hits:?}");
    assert_eq!(hits.len(), 3);
}

#[tokio::test]
async fn contract_in_process() {
    let index = InProcessIndex::new();
    suite(&index, "mem").await;

    // In-process specifics: unknown collection and dimension errors.
    assert!(matches!(
        index.get("missing", &["a".into()]).await,
        Err(PersonalizationError::UnknownCollection(_))
    ));
    assert!(matches!(
        index
            .upsert("mem_contract", vec![item("x", vec![1.0])])
            .await,
        Err(PersonalizationError::Dimension {
            expected: 3,
            got: 1
        })
    ));
    assert!(matches!(
        index
            .search("mem_contract", &[1.0], 1, &Filter::default())
            .await,
        Err(PersonalizationError::Dimension { .. })
    ));
}

#[tokio::test]
async fn contract_qdrant() {
    let Ok(url) = std::env::var("QDRANT_URL") else {
        println!("QDRANT_URL not set: skipping the VectorStore contract against Qdrant");
        return;
    };
    let store = QdrantStore::connect(&url).expect("connect");
    let prefix = format!("baton_test_{}", std::process::id());
    suite(&store, &prefix).await;
}
