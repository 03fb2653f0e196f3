//! Contract cases for snapshots, compaction and reading the log from a version.

use baton_store::{LogBounds, Snapshot};

use crate::cases::versions;
use crate::fixture::{entry, Fixture};
use crate::Case;

/// Every snapshot and compaction case, by name.
pub const ALL: &[(&str, Case)] = &[
    ("snapshot_compact_load_returns_tail", |f| {
        Box::pin(snapshot_compact_load_returns_tail(f))
    }),
    ("snapshot_never_moves_backwards", |f| {
        Box::pin(snapshot_never_moves_backwards(f))
    }),
    ("compaction_never_passes_snapshot", |f| {
        Box::pin(compaction_never_passes_snapshot(f))
    }),
    ("log_since_with_limit", |f| {
        Box::pin(log_since_with_limit(f))
    }),
];

async fn snapshot_compact_load_returns_tail(fx: Fixture) {
    let store = fx.open().await;
    for v in 1..=10 {
        store.append(entry("s", v)).await.expect("append");
    }
    store
        .save_snapshot("s", 6, 0, b"state@6")
        .await
        .expect("snapshot");
    // load already hides the folded entries before compaction.
    let record = store.load("s").await.expect("load");
    assert_eq!(
        record.snapshot,
        Some(Snapshot {
            version: 6,
            bytes: b"state@6".to_vec()
        })
    );
    assert_eq!(versions(&record.log), vec![7, 8, 9, 10]);

    assert_eq!(store.compact("s", 6).await.expect("compact"), 6);
    assert_eq!(store.compact("s", 6).await.expect("compact again"), 0);
    let record = store.load("s").await.expect("load");
    assert_eq!(record.snapshot.map(|s| s.version), Some(6));
    assert_eq!(
        record.log,
        (7..=10).map(|v| entry("s", v)).collect::<Vec<_>>()
    );
    assert_eq!(
        store.log_bounds("s").await.expect("bounds"),
        LogBounds {
            first: Some(7),
            last: Some(10),
            snapshot_version: Some(6),
            len: 4
        }
    );
    assert_eq!(
        store.log_bounds("nobody").await.expect("bounds"),
        LogBounds::default()
    );
    store.close().await;
}

async fn snapshot_never_moves_backwards(fx: Fixture) {
    let store = fx.open().await;
    store
        .save_snapshot("b", 5, 0, b"five")
        .await
        .expect("save 5");
    store
        .save_snapshot("b", 3, 0, b"three")
        .await
        .expect("older save is ignored, not an error");
    let snap = store.load("b").await.expect("load").snapshot;
    assert_eq!(
        snap,
        Some(Snapshot {
            version: 5,
            bytes: b"five".to_vec()
        })
    );
    store
        .save_snapshot("b", 5, 0, b"five again")
        .await
        .expect("same version replaces");
    store
        .save_snapshot("b", 8, 0, b"eight")
        .await
        .expect("save 8");
    let snap = store.load("b").await.expect("load").snapshot;
    assert_eq!(
        snap,
        Some(Snapshot {
            version: 8,
            bytes: b"eight".to_vec()
        })
    );
    assert_eq!(
        store
            .log_bounds("b")
            .await
            .expect("bounds")
            .snapshot_version,
        Some(8)
    );
    store.close().await;
}

async fn compaction_never_passes_snapshot(fx: Fixture) {
    let store = fx.open().await;
    for v in 1..=10 {
        store.append(entry("c", v)).await.expect("append");
    }
    assert_eq!(store.compact("c", 10).await.expect("no snapshot"), 0);
    store
        .save_snapshot("c", 4, 0, b"s4")
        .await
        .expect("snapshot");
    assert_eq!(store.compact("c", u64::MAX).await.expect("compact"), 4);
    let bounds = store.log_bounds("c").await.expect("bounds");
    assert_eq!(
        (bounds.first, bounds.last, bounds.len),
        (Some(5), Some(10), 6)
    );
    assert_eq!(store.compact("c", 2).await.expect("below first"), 0);
    // Another user's snapshot does not license compacting this one.
    store
        .save_snapshot("d", 100, 0, b"d")
        .await
        .expect("snapshot d");
    for v in 1..=3 {
        store.append(entry("d2", v)).await.expect("append d2");
    }
    assert_eq!(store.compact("d2", 100).await.expect("compact d2"), 0);
    store.close().await;
}

async fn log_since_with_limit(fx: Fixture) {
    let store = fx.open().await;
    for v in 1..=20 {
        store.append(entry("l", v)).await.expect("append");
    }
    let page = |after, limit| {
        let store = store.clone();
        async move { versions(&store.log_since("l", after, limit).await.expect("log_since")) }
    };
    assert_eq!(page(5, 3).await, vec![6, 7, 8]);
    assert_eq!(page(0, 2).await, vec![1, 2]);
    assert_eq!(page(18, 10).await, vec![19, 20]);
    assert_eq!(page(20, 10).await, Vec::<u64>::new());
    assert_eq!(page(3, 0).await, Vec::<u64>::new());
    assert_eq!(page(u64::MAX, 10).await, Vec::<u64>::new());
    assert_eq!(page(0, usize::MAX).await, (1..=20).collect::<Vec<_>>());
    assert_eq!(
        store.log_since("l", 5, 1).await.expect("entry"),
        vec![entry("l", 6)]
    );
    store.close().await;
}
