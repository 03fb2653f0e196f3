//! Contract case for `backup_to`: a consistent copy on SQLite, `Unsupported` on Postgres.

use baton_store::{Store, StoreConfig, StoreError, StoreOptions};

use crate::fixture::{entry, Fixture};
use crate::Case;

/// Every backup case, by name.
pub const ALL: &[(&str, Case)] = &[(
    "backup_copies_a_live_sqlite_store_and_refuses_to_overwrite",
    |f| {
        Box::pin(backup_copies_a_live_sqlite_store_and_refuses_to_overwrite(
            f,
        ))
    },
)];

async fn backup_copies_a_live_sqlite_store_and_refuses_to_overwrite(fx: Fixture) {
    let store = fx.open().await;
    for v in 1..=50 {
        store.append(entry("ann", v)).await.expect("append");
    }
    store
        .save_snapshot("ann", 20, 0, b"snap")
        .await
        .expect("snapshot");
    store
        .save_adapter("ann", 3, b"adapter")
        .await
        .expect("adapter");
    let dir = tempfile::tempdir().expect("tempdir");
    let to = dir.path().join("backup.db");
    if matches!(fx.cfg, StoreConfig::Postgres { .. }) {
        assert!(matches!(
            store.backup_to(&to).await,
            Err(StoreError::Unsupported(_))
        ));
        assert!(!to.exists());
        store.close().await;
        return;
    }
    // Appends keep committing while the backup runs.
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for v in 1..=200 {
                store
                    .append(entry("bea", v))
                    .await
                    .expect("append during backup");
            }
        })
    };
    let bytes = store.backup_to(&to).await.expect("backup");
    writer.await.expect("writer");
    assert!(bytes > 0 && to.exists());
    assert!(!dir.path().join("backup.db.partial").exists());

    let copy = Store::open(
        &StoreConfig::Sqlite { path: to.clone() },
        StoreOptions::default(),
    )
    .await
    .expect("the backup opens as a store");
    assert_eq!(
        copy.load("ann").await.expect("load"),
        store.load("ann").await.expect("load")
    );
    assert_eq!(
        copy.load_adapter("ann")
            .await
            .expect("adapter")
            .map(|a| a.version),
        Some(3)
    );
    // The concurrent writer's entries are a prefix: consistent, no gap.
    let bea = copy.load("bea").await.expect("load").log;
    assert!(bea
        .iter()
        .enumerate()
        .all(|(i, e)| e.version == i as u64 + 1));
    copy.close().await;

    assert!(matches!(
        store.backup_to(&to).await,
        Err(StoreError::Io { .. })
    ));
    store.close().await;
}
