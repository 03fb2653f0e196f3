//! SQLite: connection settings, migrations and the per-row insert of log entries.
//!
//! Durability: the database runs in WAL mode with `synchronous=FULL`. In WAL mode, FULL
//! fsyncs the WAL at every commit, so a transaction whose `COMMIT` returned survives a
//! power loss or OS crash. `NORMAL` only syncs at checkpoints: it stays consistent, but
//! the last commits can roll back after a power loss, which would lose acknowledged
//! writes. Group commit amortizes that one fsync over a whole batch of appends.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use crate::{LogEntry, StoreError};

/// Deferred: the first read fixes the snapshot, which both reads of `load` share.
pub(crate) const BEGIN_READ: &str = "BEGIN";
/// Takes the write lock up front, so a write transaction never fails to upgrade a read lock.
pub(crate) const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// How long a connection waits for another writer's lock before failing with BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Rows per multi-row `INSERT`, largest first (6 parameters a row, far below SQLite's
/// 32,766-parameter limit).
const CHUNK_SIZES: [usize; 5] = [256, 64, 16, 4, 1];

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

/// Inserts `rows`; `result[i]` is false if row `i`'s `(user, version)` existed before or
/// appears earlier in `rows`.
///
/// Rows go out as multi-row `INSERT`s in chunks of [`CHUNK_SIZES`], so a batch costs a few
/// statements (each a round trip to SQLite's worker thread) and only a handful of
/// distinct statement texts ever hit the prepared-statement cache.
pub(crate) async fn insert_rows(
    conn: &mut SqliteConnection,
    rows: &[&LogEntry],
) -> Result<Vec<bool>, sqlx::Error> {
    let plan = super::bulk::plan(rows)?;
    let mut written: Vec<(String, i64)> = Vec::with_capacity(plan.unique.len());
    let mut rest = plan.unique.as_slice();
    while !rest.is_empty() {
        let size = CHUNK_SIZES
            .iter()
            .copied()
            .find(|&s| s <= rest.len())
            .unwrap_or(1);
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO store_log (user_id, version, device, seq, at_ms, payload) ",
        );
        insert.push_values(chunk, |mut row, r| {
            row.push_bind(&r.entry.user)
                .push_bind(r.version)
                .push_bind(&r.entry.device)
                .push_bind(r.seq)
                .push_bind(r.entry.at_ms)
                .push_bind(&r.entry.payload);
        });
        insert.push(" ON CONFLICT (user_id, version) DO NOTHING RETURNING user_id, version");
        written.extend(
            insert
                .build_query_as::<(String, i64)>()
                .fetch_all(&mut *conn)
                .await?,
        );
    }
    Ok(plan.outcomes(rows, &written))
}

/// The current claim epoch of each of `users` that has one. The write transaction
/// holds SQLite's one write lock, so no claim can commit before it does.
pub(crate) async fn owner_epochs(
    conn: &mut SqliteConnection,
    users: &[&str],
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let mut select =
        QueryBuilder::<Sqlite>::new("SELECT user_id, epoch FROM store_owners WHERE user_id IN (");
    let mut list = select.separated(", ");
    for user in users {
        list.push_bind(*user);
    }
    select.push(")");
    select.build_query_as().fetch_all(&mut *conn).await
}
