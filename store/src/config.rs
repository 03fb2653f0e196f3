//! Where the store lives ([`StoreConfig`]) and how it commits ([`StoreOptions`]).

use std::path::PathBuf;
use std::time::Duration;

/// Which database backs the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// An embedded SQLite file; the file and its parent directories are created if missing.
    Sqlite {
        /// Path of the database file (WAL files are created beside it).
        path: PathBuf,
    },
    /// A Postgres server, e.g. `postgres://user:pass@host:5432/baton`.
    Postgres {
        /// Connection URL.
        url: String,
    },
}

/// Tuning knobs of the store. `StoreOptions::default()` is a good start for both backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Most log entries committed in one group-commit transaction. Default 512.
    pub group_commit_max_batch: usize,
    /// How long the committer waits for more appends after the first one of a batch.
    ///
    /// Default zero: commit as soon as the committer is free. Batching still happens
    /// naturally, because appends queue up while a commit is in flight.
    pub group_commit_max_wait: Duration,
    /// Maximum number of pooled database connections (the committer holds one while it
    /// commits). Default 8.
    pub pool_size: u32,
}

impl StoreOptions {
    /// Default [`StoreOptions::group_commit_max_batch`].
    pub const DEFAULT_MAX_BATCH: usize = 512;
    /// Default [`StoreOptions::pool_size`].
    pub const DEFAULT_POOL_SIZE: u32 = 8;
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            group_commit_max_batch: Self::DEFAULT_MAX_BATCH,
            group_commit_max_wait: Duration::ZERO,
            pool_size: Self::DEFAULT_POOL_SIZE,
        }
    }
}
