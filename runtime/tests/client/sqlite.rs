//! Direct access to a node's SQLite file (fault injection: a trigger that
//! makes every log insert fail, like a full disk).

use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

/// The node's database in `data`.
pub async fn open(data: &Path) -> SqlitePool {
    let file = std::fs::read_dir(data)
        .expect("data dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "db" || x == "sqlite"))
        .expect("a SQLite file in the data dir");
    SqlitePool::connect_with(SqliteConnectOptions::new().filename(file))
        .await
        .expect("open sqlite")
}

/// Runs one statement.
pub async fn exec(pool: &SqlitePool, sql: &str) {
    sqlx::query(sql).execute(pool).await.expect("statement");
}
