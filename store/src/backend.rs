//! The two database backends behind one enum. Read queries and the group-commit
//! transaction are written once ([`with_pool!`]); only connecting and the bulk insert of
//! log rows differ ([`sqlite`], [`postgres`]).

use std::sync::Arc;

use sqlx::{PgPool, SqlitePool};

use crate::{
    validate, LogBounds, LogEntry, Snapshot, StoreConfig, StoreError, StoreOptions, UserRecord,
};
pub(crate) use commit::{commit_groups as commit_groups_pg, Batch, Group, Outcome};
use row::{stored_u64, BoundsRow, LogRow, SnapshotRow};
pub(crate) use sqlite_writer::SqliteThread;

/// Runs `$body` once per backend with `$pool` bound to that backend's pool and `$m` to
/// its module (`sqlite` or `postgres`). The body is type-checked separately for each.
macro_rules! with_pool {
    ($backend:expr, $pool:ident, $m:ident => $body:expr) => {
        match $backend {
            Backend::Sqlite($pool) => {
                use $crate::backend::sqlite as $m;
                $body
            }
            Backend::Postgres($pool) => {
                use $crate::backend::postgres as $m;
                $body
            }
        }
    };
    ($backend:expr, $pool:ident => $body:expr) => {
        match $backend {
            Backend::Sqlite($pool) => $body,
            Backend::Postgres($pool) => $body,
        }
    };
}

mod adapter;
mod bulk;
mod commit;
mod erase;
mod postgres;
mod row;
mod sql;
mod sqlite;
mod sqlite_writer;

/// A connection pool to one of the supported databases. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Why a group commit failed, and so what the callers are told.
#[derive(Debug, Clone)]
pub(crate) enum CommitError {
    /// Failed before `COMMIT` was sent: rolled back, nothing written.
    Before(Arc<sqlx::Error>),
    /// `COMMIT` itself failed: the outcome is unknown.
    AtCommit(Arc<sqlx::Error>),
}

impl CommitError {
    fn before(e: sqlx::Error) -> Self {
        CommitError::Before(Arc::new(e))
    }

    /// The error handed to each caller of the failed batch.
    pub(crate) fn to_store_error(&self) -> StoreError {
        match self {
            CommitError::Before(e) if matches!(**e, sqlx::Error::PoolClosed) => StoreError::Closed,
            CommitError::Before(e) => StoreError::Database(Arc::clone(e)),
            CommitError::AtCommit(e) => StoreError::CommitOutcomeUnknown(Arc::clone(e)),
        }
    }
}

impl Backend {
    /// Connects, applies the embedded migrations and returns the pool.
    pub(crate) async fn open(cfg: &StoreConfig, opts: &StoreOptions) -> Result<Self, StoreError> {
        let pool_size = opts.pool_size.max(1);
        let backend = match cfg {
            StoreConfig::Sqlite { path } => {
                Backend::Sqlite(sqlite::connect(path, pool_size).await?)
            }
            StoreConfig::Postgres { url } => {
                Backend::Postgres(postgres::connect(url, pool_size).await?)
            }
        };
        with_pool!(&backend, pool, m => m::migrate(pool).await)?;
        Ok(backend)
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Snapshot and the log after it, read from one consistent database snapshot so a
    /// concurrent snapshot + compaction cannot open a gap.
    pub(crate) async fn load(&self, user: &str) -> Result<UserRecord, StoreError> {
        let (snapshot, rows) = with_pool!(self, pool, m => {
            let mut tx = pool.begin_with(m::BEGIN_READ).await?;
            let snapshot: Option<SnapshotRow> = sqlx::query_as(sql::SELECT_SNAPSHOT)
                .bind(user)
                .fetch_optional(&mut *tx)
                .await?;
            let after = snapshot.as_ref().map_or(0, |s| s.version);
            let rows: Vec<LogRow> = sqlx::query_as(sql::SELECT_LOG_AFTER)
                .bind(user)
                .bind(after)
                .bind(i64::MAX)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            (snapshot, rows)
        });
        Ok(UserRecord {
            snapshot: snapshot.map(SnapshotRow::into_snapshot).transpose()?,
            log: rows
                .into_iter()
                .map(LogRow::into_entry)
                .collect::<Result<_, _>>()?,
        })
    }

    pub(crate) async fn log_since(
        &self,
        user: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let rows: Vec<LogRow> = with_pool!(self, pool => {
            sqlx::query_as(sql::SELECT_LOG_AFTER)
                .bind(user)
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(LogRow::into_entry).collect()
    }

    /// Returns whether the snapshot row now holds these bytes' claim (false: fenced).
    pub(crate) async fn save_snapshot(
        &self,
        user: &str,
        version: i64,
        epoch: i64,
        bytes: &[u8],
    ) -> Result<bool, StoreError> {
        let written = with_pool!(self, pool => {
            sqlx::query(sql::UPSERT_SNAPSHOT)
                .bind(user)
                .bind(version)
                .bind(bytes)
                .bind(epoch)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if written > 0 {
            return Ok(true);
        }
        // Nothing written: either an older snapshot (ignored, fine) or a newer claim.
        let fence: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(sql::SELECT_FENCE).bind(user).fetch_one(pool).await?
        });
        Ok(fence <= epoch)
    }

    pub(crate) async fn claim(
        &self,
        user: &str,
        node: &str,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        let epoch: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(sql::CLAIM)
                .bind(user)
                .bind(node)
                .bind(now_ms)
                .fetch_one(pool)
                .await?
        });
        Ok(epoch)
    }

    pub(crate) async fn owner(&self, user: &str) -> Result<Option<(u64, String)>, StoreError> {
        let row: Option<(i64, String)> = with_pool!(self, pool => {
            sqlx::query_as(sql::SELECT_OWNER).bind(user).fetch_optional(pool).await?
        });
        row.map(|(e, n)| Ok((stored_u64("epoch", e)?, n)))
            .transpose()
    }

    /// Run an upsert of a per-user versioned blob (a snapshot or an adapter):
    /// `upsert` binds user, version and bytes and must not move the version back.
    pub(crate) async fn upsert_versioned(
        &self,
        upsert: &'static str,
        user: &str,
        version: i64,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(upsert)
                .bind(user)
                .bind(version)
                .bind(bytes)
                .execute(pool)
                .await
                .map(|_| ())?
        });
        Ok(())
    }

    pub(crate) async fn compact(&self, user: &str, keep_after: i64) -> Result<u64, StoreError> {
        let done = with_pool!(self, pool => {
            sqlx::query(sql::COMPACT)
                .bind(user)
                .bind(keep_after)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }

    pub(crate) async fn log_bounds(&self, user: &str) -> Result<LogBounds, StoreError> {
        let (bounds, snapshot_version) = with_pool!(self, pool, m => {
            let mut tx = pool.begin_with(m::BEGIN_READ).await?;
            let bounds: BoundsRow = sqlx::query_as(sql::SELECT_BOUNDS)
                .bind(user)
                .fetch_one(&mut *tx)
                .await?;
            let snapshot: Option<i64> = sqlx::query_scalar(sql::SELECT_SNAPSHOT_VERSION)
                .bind(user)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            (bounds, snapshot)
        });
        Ok(LogBounds {
            first: bounds.first.map(|v| stored_u64("version", v)).transpose()?,
            last: bounds.last.map(|v| stored_u64("version", v)).transpose()?,
            snapshot_version: snapshot_version
                .map(|v| stored_u64("snapshot version", v))
                .transpose()?,
            len: stored_u64("count", bounds.len)?,
        })
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(sql::PING).execute(pool).await.map(|_| ())?
        });
        Ok(())
    }

    pub(crate) async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }
}

/// Converts the validated entry fields for binding (validation guarantees they fit).
pub(crate) fn entry_keys(e: &LogEntry) -> Result<(i64, i64), sqlx::Error> {
    let conv =
        |field, v| validate::to_i64(field, v).map_err(|err| sqlx::Error::Encode(Box::new(err)));
    Ok((conv("version", e.version)?, conv("seq", e.seq)?))
}

impl SnapshotRow {
    fn into_snapshot(self) -> Result<Snapshot, StoreError> {
        Ok(Snapshot {
            version: stored_u64("snapshot version", self.version)?,
            bytes: self.bytes,
        })
    }
}
