//! SQLite: connection settings and migrations. Log entries are written by the group
//! committer's own connection ([`super::sqlite_writer`]).
//!
//! Durability: the database runs in WAL mode with `synchronous=FULL`. In WAL mode, FULL
//! fsyncs the WAL at every commit, so a transaction whose `COMMIT` returned survives a
//! power loss or OS crash. `NORMAL` only syncs at checkpoints: it stays consistent, but
//! the last commits can roll back after a power loss, which would lose acknowledged
//! writes. Group commit amortizes that one fsync over a whole batch of appends.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::StoreError;

/// Deferred: the first read fixes the snapshot, which both reads of `load` share.
pub(crate) const BEGIN_READ: &str = "BEGIN";
/// Takes the write lock up front, so a write transaction never fails to upgrade a read lock.
pub(crate) const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// How long a connection waits for another writer's lock before failing with BUSY.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens (creating if missing) the database file and its directory.
pub(crate) async fn connect(path: &Path, pool_size: u32) -> Result<SqlitePool, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    Ok(SqlitePoolOptions::new()
        .max_connections(pool_size)
        // A file connection does not go stale: no `SELECT 1` hand-off to sqlx's worker
        // thread before every use (a quarter of a connect's reads in the profiles).
        .test_before_acquire(false)
        .connect_with(options)
        .await?)
}

/// Applies `migrations/sqlite`. Migrations of other crates sharing the database are ignored.
pub(crate) async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut migrator = sqlx::migrate!("./migrations/sqlite");
    migrator.set_ignore_missing(true);
    migrator.run(pool).await?;
    Ok(())
}
