//! Contract cases for personalization adapters (`save_adapter` / `load_adapter`).

use baton_store::{Snapshot, StoreError};

use crate::fixture::Fixture;
use crate::Case;

/// Every adapter case, by name.
pub const ALL: &[(&str, Case)] = &[
    ("adapter_round_trip_and_never_backwards", |f| {
        Box::pin(adapter_round_trip_and_never_backwards(f))
    }),
    ("adapter_survives_reopen_and_rejects_bad_input", |f| {
        Box::pin(adapter_survives_reopen_and_rejects_bad_input(f))
    }),
];

fn adapter(version: u64, bytes: &[u8]) -> Option<Snapshot> {
    Some(Snapshot {
        version,
        bytes: bytes.to_vec(),
    })
}

async fn adapter_round_trip_and_never_backwards(fx: Fixture) {
    let store = fx.open().await;
    assert_eq!(store.load_adapter("ada").await.expect("load none"), None);
    let blob: Vec<u8> = (0..10_908u32).map(|i| (i % 251) as u8).collect();
    store.save_adapter("ada", 2, &blob).await.expect("save 2");
    assert_eq!(
        store.load_adapter("ada").await.expect("load"),
        adapter(2, &blob)
    );
    store
        .save_adapter("ada", 1, b"older")
        .await
        .expect("older save is ignored, not an error");
    assert_eq!(
        store.load_adapter("ada").await.expect("load"),
        adapter(2, &blob)
    );
    store
        .save_adapter("ada", 2, b"same")
        .await
        .expect("same version replaces");
    store
        .save_adapter("ada", 3, b"three")
        .await
        .expect("save 3");
    assert_eq!(
        store.load_adapter("ada").await.expect("load"),
        adapter(3, b"three")
    );
    // Adapters are independent of snapshots and of other users.
    assert_eq!(store.load("ada").await.expect("load state").snapshot, None);
    assert_eq!(store.load_adapter("bob").await.expect("load other"), None);
    store.close().await;
}

async fn adapter_survives_reopen_and_rejects_bad_input(fx: Fixture) {
    let store = fx.open().await;
    store.save_adapter("ada", 4, b"four").await.expect("save");
    assert!(matches!(
        store.save_adapter("", 1, b"x").await,
        Err(StoreError::InvalidInput { field: "user", .. })
    ));
    assert!(matches!(
        store.save_adapter("ada", u64::MAX, b"x").await,
        Err(StoreError::InvalidInput {
            field: "version",
            ..
        })
    ));
    store.close().await;
    let reopened = fx.open().await;
    assert_eq!(
        reopened.load_adapter("ada").await.expect("load"),
        adapter(4, b"four")
    );
    reopened.close().await;
}
