//! Contract cases for erasure (`erase_user`, `mark_erased`, `erased_at`).

use std::future::Future as _;

use baton_store::{Erased, LogEntry, StoreError};

use crate::fixture::{entry, refuse_rows_of_bad, Fixture};
use crate::Case;

/// Every erasure case, by name.
pub const ALL: &[(&str, Case)] = &[
    (
        "erase_removes_every_row_of_the_user_only_and_is_idempotent",
        |f| {
            Box::pin(erase_removes_every_row_of_the_user_only_and_is_idempotent(
                f,
            ))
        },
    ),
    (
        "erasure_fences_every_earlier_claim_and_later_claims_grow",
        |f| Box::pin(erasure_fences_every_earlier_claim_and_later_claims_grow(f)),
    ),
    ("erase_commits_after_appends_queued_before_it", |f| {
        Box::pin(erase_commits_after_appends_queued_before_it(f))
    }),
    (
        "tombstones_are_seen_at_once_after_a_reopen_and_not_after_a_failed_write",
        |f| Box::pin(tombstones_are_seen_at_once_after_a_reopen_and_not_after_a_failed_write(f)),
    ),
];

async fn fill(store: &baton_store::Store, user: &str) {
    let entries: Vec<LogEntry> = (1..=3).map(|v| entry(user, v)).collect();
    store.append_many(entries).await.expect("append");
    store
        .save_snapshot(user, 2, 0, b"snap")
        .await
        .expect("snapshot");
    store
        .save_adapter(user, 1, b"adapter")
        .await
        .expect("adapter");
}

async fn erase_removes_every_row_of_the_user_only_and_is_idempotent(fx: Fixture) {
    let store = fx.open().await;
    fill(&store, "eve").await;
    fill(&store, "bob").await;
    let epoch = store.claim("eve", "node-1").await.expect("claim");
    assert_eq!(store.erased_at("eve").await.expect("erased_at"), None);

    let erased = store.erase_user("eve", 1_000).await.expect("erase");
    assert_eq!(
        erased,
        Erased {
            log_entries: 3,
            snapshots: 1,
            adapters: 1,
            claims: 1
        }
    );
    let record = store.load("eve").await.expect("load");
    assert_eq!((record.snapshot, record.log.len()), (None, 0));
    assert_eq!(store.load_adapter("eve").await.expect("adapter"), None);
    assert_eq!(store.owner("eve").await.expect("owner"), None);
    assert_eq!(store.log_bounds("eve").await.expect("bounds").len, 0);
    assert_eq!(
        store.erased_at("eve").await.expect("erased_at"),
        Some(1_000)
    );

    // Another user is untouched.
    let bob = store.load("bob").await.expect("load bob");
    assert_eq!(bob.snapshot.map(|s| s.bytes), Some(b"snap".to_vec()));
    assert_eq!(bob.log.len(), 1, "bob's entry after the snapshot");
    assert!(store
        .load_adapter("bob")
        .await
        .expect("bob adapter")
        .is_some());
    assert_eq!(store.erased_at("bob").await.expect("bob erased_at"), None);

    // Again: nothing left to delete; the tombstone keeps the latest time.
    let again = store.erase_user("eve", 900).await.expect("erase again");
    assert_eq!(again, Erased::default());
    assert_eq!(
        store.erased_at("eve").await.expect("erased_at"),
        Some(1_000)
    );
    store.mark_erased("eve", 2_000).await.expect("mark");
    assert_eq!(
        store.erased_at("eve").await.expect("erased_at"),
        Some(2_000)
    );

    // The user may come back: new writes start from version 1.
    store
        .append(entry("eve", 1))
        .await
        .expect("append after erasure");
    assert_eq!(store.load("eve").await.expect("load").log.len(), 1);
    assert!(epoch > 0);

    // Bad input is refused before anything is touched.
    assert!(matches!(
        store.erase_user("", 1).await,
        Err(StoreError::InvalidInput { .. })
    ));
    assert!(matches!(
        store.erase_user("eve", u64::MAX).await,
        Err(StoreError::InvalidInput { .. })
    ));
    assert_eq!(store.load("eve").await.expect("load").log.len(), 1);
    store.close().await;
}

async fn erasure_fences_every_earlier_claim_and_later_claims_grow(fx: Fixture) {
    let store = fx.open().await;
    let old = store.claim("eve", "node-1").await.expect("claim");
    let current = store.claim("eve", "node-2").await.expect("claim");
    store
        .save_snapshot("eve", 1, current, b"before")
        .await
        .expect("snapshot");
    store.erase_user("eve", 5).await.expect("erase");

    // The erased owner's own late writes and older claims are refused.
    for epoch in [old, current] {
        assert!(
            matches!(
                store.save_snapshot("eve", 9, epoch, b"stale").await,
                Err(StoreError::Fenced { .. })
            ),
            "snapshot under epoch {epoch}"
        );
        assert!(matches!(
            store.append_claimed(vec![entry("eve", 1)], epoch).await,
            Err(StoreError::Fenced { .. })
        ));
    }
    assert_eq!(store.load("eve").await.expect("load").snapshot, None);

    // The next owner claims above every erased claim and writes.
    let next = store.claim("eve", "node-3").await.expect("claim");
    assert!(next > current, "{next} > {current}");
    store
        .save_snapshot("eve", 1, next, b"after")
        .await
        .expect("snapshot under the new claim");
    assert_eq!(
        store
            .load("eve")
            .await
            .expect("load")
            .snapshot
            .map(|s| s.bytes),
        Some(b"after".to_vec())
    );

    // A user never claimed (a single node) keeps writing with epoch 0 after erasure.
    store.save_snapshot("solo", 1, 0, b"x").await.expect("solo");
    store.erase_user("solo", 5).await.expect("erase solo");
    store
        .save_snapshot("solo", 1, 0, b"y")
        .await
        .expect("epoch 0 writes again");
    store.close().await;
}

async fn erase_commits_after_appends_queued_before_it(fx: Fixture) {
    let store = fx.open().await;
    // Queue 100 appends without awaiting their commit: one poll each puts the job in the
    // committer's queue (room for 4 batches, at least 128 jobs with the fixture's options)
    // and leaves the append waiting for its answer.
    let mut pending: Vec<_> = (1..=100)
        .map(|v| Box::pin(store.append(entry("eve", v))))
        .collect();
    {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        for append in &mut pending {
            assert!(
                append.as_mut().poll(&mut cx).is_pending(),
                "queued, not committed"
            );
        }
    }
    // The erasure runs after every one of them committed: none survives it.
    let erased = store.erase_user("eve", 7).await.expect("erase");
    assert_eq!(erased.log_entries, 100);
    assert_eq!(store.load("eve").await.expect("load").log.len(), 0);
    for append in pending {
        append
            .await
            .expect("each append was acknowledged before the erasure");
    }
    store.close().await;
}

/// On SQLite the tombstones are kept in memory (read once at open, recorded on every
/// write); on Postgres each check reads. Both must answer what the database holds.
async fn tombstones_are_seen_at_once_after_a_reopen_and_not_after_a_failed_write(fx: Fixture) {
    let store = fx.open().await;
    store.mark_erased("eve", 500).await.expect("mark");
    assert_eq!(store.erased_at("eve").await.expect("erased_at"), Some(500));
    store.erase_user("ann", 700).await.expect("erase");
    store.close().await;

    // Read back from the database at open.
    let store = fx.open().await;
    assert_eq!(store.erased_at("eve").await.expect("eve"), Some(500));
    assert_eq!(store.erased_at("ann").await.expect("ann"), Some(700));
    assert_eq!(store.erased_at("bob").await.expect("bob"), None);

    // A refused write leaves no tombstone behind, in memory either; one already there stays.
    refuse_rows_of_bad(&fx.cfg, "store_erasures").await;
    assert!(store.mark_erased("bad", 10).await.is_err());
    assert_eq!(store.erased_at("bad").await.expect("bad"), None);
    assert!(store.erase_user("bad", 20).await.is_err());
    assert_eq!(store.erased_at("bad").await.expect("bad"), None);
    store.mark_erased("eve", 400).await.expect("older mark");
    assert_eq!(
        store.erased_at("eve").await.expect("eve"),
        Some(500),
        "the latest time wins"
    );
    store.close().await;
}
