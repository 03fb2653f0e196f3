//! The crate's one error type. Every variant says what happened to the stored state.

use std::path::PathBuf;
use std::sync::Arc;

/// Errors returned by [`Store`](crate::Store).
///
/// Each variant documents whether anything was written. Database errors are kept in an
/// [`Arc`] because one failed group commit answers every caller in the batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The log entry `(user, version)` already exists.
    ///
    /// Nothing was written for this request: for `append` the entry was skipped (the other
    /// entries of the same group commit are unaffected); for `append_many` none of its
    /// entries were written. `version` is the first conflicting entry.
    #[error("log entry (user {user:?}, version {version}) already exists")]
    Conflict {
        /// The user whose log already holds `version`.
        user: String,
        /// The conflicting log version.
        version: u64,
    },

    /// Another node claimed the user after `epoch` (see [`Store::claim`](crate::Store::claim)):
    /// this writer no longer owns the user. Nothing was written.
    #[error("user {user:?} is owned by a newer claim than epoch {epoch}")]
    Fenced {
        /// The user.
        user: String,
        /// The writer's (stale) owner epoch.
        epoch: u64,
    },

    /// The input was rejected before it reached the database. Nothing was written.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Which argument or field was rejected (`"user"`, `"version"`, ...).
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },

    /// The database failed or could not be reached; the transaction was rolled back.
    ///
    /// Nothing was written. Use [`StoreError::is_unavailable`] to tell transient failures
    /// (connection lost, busy, pool timeout) from permanent ones.
    #[error("database error: {0}")]
    Database(#[source] Arc<sqlx::Error>),

    /// The database failed while committing: the transaction may or may not be durable.
    ///
    /// Retrying the same appends is safe: an entry that did commit comes back as
    /// [`StoreError::Conflict`].
    #[error("commit outcome unknown: {0}")]
    CommitOutcomeUnknown(#[source] Arc<sqlx::Error>),

    /// Running the embedded schema migrations failed during `open`.
    ///
    /// Each migration runs in its own transaction: earlier migrations may be applied, the
    /// failing one is not. No user data was written.
    #[error("schema migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// A file could not be written or renamed: the SQLite database's directory during
    /// `open`, or a backup file. Nothing was written to the database.
    #[error("{path:?}: {source}")]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// The backend cannot do this (an online backup of Postgres: use its own tools).
    /// Nothing was written.
    #[error("not supported by this backend: {0}")]
    Unsupported(&'static str),

    /// The store was closed (or its committer stopped) before the request was handled.
    ///
    /// Nothing was written for this request.
    #[error("store is closed")]
    Closed,

    /// A stored row holds a value this crate never writes (for example a negative version).
    /// Reported by reads only; nothing was written.
    #[error("corrupt stored row: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// True when another writer got there first: a [`StoreError::Conflict`] on the
    /// log or a [`StoreError::Fenced`] snapshot. The caller's view of the user is stale.
    pub fn is_stale_writer(&self) -> bool {
        matches!(
            self,
            StoreError::Conflict { .. } | StoreError::Fenced { .. }
        )
    }

    /// True for [`StoreError::Conflict`]: the `(user, version)` already exists.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }

    /// True when the failure is about the store's availability rather than the request:
    /// the store is closed, the connection failed, the database is busy or shutting down,
    /// or the commit outcome is unknown. Retrying later may succeed.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Closed | StoreError::CommitOutcomeUnknown(_) => true,
            StoreError::Database(e) => is_transient(e),
            _ => false,
        }
    }

    /// True for [`StoreError::InvalidInput`]: the caller sent a value the store refuses.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, StoreError::InvalidInput { .. })
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        StoreError::InvalidInput {
            field,
            reason: reason.into(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolClosed => StoreError::Closed,
            other => StoreError::Database(Arc::new(other)),
        }
    }
}

/// Connection-level and "try again" errors of both backends.
fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                is_transient_pg(&code)
            } else {
                is_transient_sqlite(&code)
            }
        }
        _ => false,
    }
}

/// SQLite: BUSY (5), LOCKED (6), IOERR (10), FULL (13) as the primary result code.
fn is_transient_sqlite(code: &str) -> bool {
    code.parse::<i32>()
        .is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 13))
}

/// Postgres SQLSTATE: class 08 (connection), 53 (resources), 57P0x (shutting down),
/// 40001 / 40P01 (serialization failure, deadlock: retry).
fn is_transient_pg(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P0")
        || code == "40001"
        || code == "40P01"
}
