//! A SQLite store in a throwaway directory, for tests and benches (feature
//! `test-harness`): the one way the workspace's tests open an embedded store.

use tempfile::TempDir;

use crate::{Store, StoreConfig, StoreError, StoreOptions};

/// Opens a store on a fresh SQLite file in a new temporary directory. Keep the
/// returned directory alive as long as the store: dropping it deletes the file.
pub async fn temp_sqlite() -> Result<(Store, TempDir), StoreError> {
    let dir = tempfile::tempdir().map_err(|source| StoreError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let store = Store::open(
        &StoreConfig::Sqlite {
            path: dir.path().join("baton.db"),
        },
        StoreOptions::default(),
    )
    .await?;
    Ok((store, dir))
}
