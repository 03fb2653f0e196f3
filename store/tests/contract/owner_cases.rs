//! Contract cases for cluster ownership: claims and the snapshot fence.

use baton_store::{LogEntry, Snapshot, StoreError};

use crate::fixture::Fixture;
use crate::Case;

/// Every ownership case, by name.
pub const ALL: &[(&str, Case)] = &[
    ("claims_grow_and_name_the_node", |f| {
        Box::pin(claims_grow_and_name_the_node(f))
    }),
    ("stale_owner_cannot_overwrite_snapshot_or_log", |f| {
        Box::pin(stale_owner_cannot_overwrite_snapshot_or_log(f))
    }),
    ("a_superseded_claim_cannot_append", |f| {
        Box::pin(a_superseded_claim_cannot_append(f))
    }),
];

fn entry(user: &str, version: u64, device: &str) -> LogEntry {
    LogEntry {
        user: user.into(),
        version,
        device: device.into(),
        seq: version,
        at_ms: 1,
        payload: b"{}".to_vec(),
    }
}

async fn claims_grow_and_name_the_node(fx: Fixture) {
    let store = fx.open().await;
    assert_eq!(store.owner("u").await.expect("owner"), None);
    assert_eq!(store.claim("u", "node-a").await.expect("claim"), 1);
    assert_eq!(store.claim("u", "node-b").await.expect("claim"), 2);
    assert_eq!(store.claim("v", "node-a").await.expect("claim"), 1);
    assert_eq!(
        store.owner("u").await.expect("owner"),
        Some((2, "node-b".to_owned()))
    );
    assert!(matches!(
        store.claim("", "node-a").await,
        Err(StoreError::InvalidInput { field: "user", .. })
    ));
    store.close().await;
}

async fn stale_owner_cannot_overwrite_snapshot_or_log(fx: Fixture) {
    let store = fx.open().await;
    let old = store.claim("f", "node-a").await.expect("claim a");
    store
        .save_snapshot("f", 1, old, b"a@1")
        .await
        .expect("owner writes");
    let new = store.claim("f", "node-b").await.expect("claim b");
    assert!(new > old);
    // The old owner is fenced at any version, and nothing is written.
    for version in [1, 2] {
        let err = store
            .save_snapshot("f", version, old, b"stale")
            .await
            .expect_err("stale claim is fenced");
        assert!(err.is_stale_writer(), "{err}");
        assert!(matches!(err, StoreError::Fenced { epoch, .. } if epoch == old));
    }
    let snap = store.load("f").await.expect("load").snapshot;
    assert_eq!(
        snap,
        Some(Snapshot {
            version: 1,
            bytes: b"a@1".to_vec()
        })
    );
    // The new owner writes; an older version under the new claim is ignored, not fenced.
    store
        .save_snapshot("f", 2, new, b"b@2")
        .await
        .expect("new owner writes");
    store
        .save_snapshot("f", 1, new, b"b@1")
        .await
        .expect("older version is ignored");
    assert_eq!(
        store.load("f").await.expect("load").snapshot,
        Some(Snapshot {
            version: 2,
            bytes: b"b@2".to_vec()
        })
    );
    // The log is fenced by its (user, version) key: both owners at version 3, one wins.
    store.append(entry("f", 3, "tv")).await.expect("first 3");
    let err = store
        .append(entry("f", 3, "phone"))
        .await
        .expect_err("second 3 conflicts");
    assert!(err.is_stale_writer());
    let log = store.load("f").await.expect("load").log;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].device, "tv");
    store.close().await;
}

async fn a_superseded_claim_cannot_append(fx: Fixture) {
    let store = fx.open().await;
    let old = store.claim("g", "node-a").await.expect("claim a");
    store
        .append_claimed(vec![entry("g", 1, "tv")], old)
        .await
        .expect("the owner appends");
    let new = store.claim("g", "node-b").await.expect("claim b");
    // The old owner's next version is free, yet it is refused: its claim is gone.
    let err = store
        .append_claimed(vec![entry("g", 2, "tv"), entry("g", 3, "tv")], old)
        .await
        .expect_err("superseded claim is fenced");
    assert!(err.is_stale_writer(), "{err}");
    assert!(matches!(err, StoreError::Fenced { epoch, .. } if epoch == old));
    // Fenced and unfenced groups share one group commit without harm.
    let (fenced, unchecked, owned) = tokio::join!(
        store.append_claimed(vec![entry("g", 2, "old")], old),
        store.append(entry("h", 1, "tv")),
        store.append_claimed(vec![entry("g", 2, "new")], new),
    );
    assert!(
        matches!(fenced, Err(StoreError::Fenced { .. })),
        "{fenced:?}"
    );
    unchecked.expect("an unclaimed append is not checked");
    owned.expect("the current claim appends");
    let log = store.load("g").await.expect("load").log;
    let written: Vec<(u64, &str)> = log.iter().map(|e| (e.version, e.device.as_str())).collect();
    assert_eq!(written, vec![(1, "tv"), (2, "new")]);
    // A claimed append of several users is refused before it reaches the database.
    assert!(matches!(
        store
            .append_claimed(vec![entry("g", 3, "tv"), entry("h", 2, "tv")], new)
            .await,
        Err(StoreError::InvalidInput { .. })
    ));
    store.close().await;
}
