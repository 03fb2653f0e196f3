//! Postgres: connection settings, migrations and the bulk insert of log entries.
//!
//! Durability: every connection sets `synchronous_commit=on` (the server default, forced
//! here so a server-wide `off` cannot silently weaken acknowledged writes): `COMMIT`
//! returns only after the WAL is flushed.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool};

use crate::{LogEntry, StoreError};

/// One snapshot for every statement of `load`, so it sees snapshot and log consistently.
pub(crate) const BEGIN_READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
/// Plain read-committed write transaction.
pub(crate) const BEGIN_WRITE: &str = "BEGIN";

/// How long `open` and each request wait for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// One round trip per batch: the rows travel as arrays, `RETURNING` names the rows written.
const INSERT_MANY: &str = "INSERT INTO store_log (user_id, version, device, seq, at_ms, payload) \
     SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::int8[], $5::int8[], $6::bytea[]) \
     ON CONFLICT (user_id, version) DO NOTHING RETURNING user_id, version";

/// The current claims of some users, locked until the transaction ends (a concurrent
/// claim waits for it, so an append checked here cannot land after a newer claim's read).
const OWNER_EPOCHS: &str =
    "SELECT user_id, epoch FROM store_owners WHERE user_id = ANY($1) FOR SHARE";

pub(crate) async fn connect(url: &str, pool_size: u32) -> Result<PgPool, StoreError> {
    let options = PgConnectOptions::from_str(url)?
        .application_name("baton-store")
        .options([("synchronous_commit", "on")]);
    Ok(PgPoolOptions::new()
        .max_connections(pool_size)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await?)
}

/// Applies `migrations/postgres`. Migrations of other crates sharing the database are ignored.
pub(crate) async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let mut migrator = sqlx::migrate!("./migrations/postgres");
    migrator.set_ignore_missing(true);
    migrator.run(pool).await?;
    Ok(())
}

/// Inserts `rows`; `result[i]` is false if row `i`'s `(user, version)` existed before or
/// appears earlier in `rows`.
pub(crate) async fn insert_rows(
    conn: &mut PgConnection,
    rows: &[&LogEntry],
) -> Result<Vec<bool>, sqlx::Error> {
    let plan = super::bulk::plan(rows)?;
    let u = &plan.unique;
    let written: Vec<(String, i64)> = sqlx::query_as(INSERT_MANY)
        .bind(u.iter().map(|r| r.entry.user.as_str()).collect::<Vec<_>>())
        .bind(u.iter().map(|r| r.version).collect::<Vec<_>>())
        .bind(
            u.iter()
                .map(|r| r.entry.device.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(u.iter().map(|r| r.seq).collect::<Vec<_>>())
        .bind(u.iter().map(|r| r.entry.at_ms).collect::<Vec<_>>())
        .bind(
            u.iter()
                .map(|r| r.entry.payload.as_slice())
                .collect::<Vec<_>>(),
        )
        .fetch_all(conn)
        .await?;
    Ok(plan.outcomes(rows, &written))
}

/// The current claim epoch of each of `users` that has one.
pub(crate) async fn owner_epochs(
    conn: &mut PgConnection,
    users: &[&str],
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(OWNER_EPOCHS)
        .bind(users)
        .fetch_all(conn)
        .await
}
