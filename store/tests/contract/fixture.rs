//! Opens stores of one backend for one case: a temp SQLite file, or a fresh Postgres
//! database on the shared server. `open` may be called again to reopen the same data.

use std::sync::Arc;

use baton_store::pg_harness::PgHarness;
use baton_store::{LogEntry, Store, StoreConfig, StoreOptions};

/// Which backend a case runs against.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// The data location of one case.
pub struct Fixture {
    pub cfg: StoreConfig,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<Arc<PgHarness>>,
}

impl Fixture {
    pub async fn new(kind: Kind, pg: Option<Arc<PgHarness>>) -> Self {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("tempdir");
                // A nested, missing directory: `open` must create it.
                let path = dir.path().join("nested/dir/store.db");
                Fixture {
                    cfg: StoreConfig::Sqlite { path },
                    _dir: Some(dir),
                    _pg: None,
                }
            }
            Kind::Postgres => {
                let pg = pg.expect("postgres harness");
                let url = pg.create_database().await.expect("create test database");
                Fixture {
                    cfg: StoreConfig::Postgres { url },
                    _dir: None,
                    _pg: Some(pg),
                }
            }
        }
    }

    pub async fn open(&self) -> Store {
        self.open_with(StoreOptions::default()).await
    }

    pub async fn open_with(&self, opts: StoreOptions) -> Store {
        Store::open(&self.cfg, opts).await.expect("open store")
    }
}

/// An entry whose payload is derived from its key, so corruption is visible.
pub fn entry(user: &str, version: u64) -> LogEntry {
    LogEntry {
        user: user.to_string(),
        version,
        device: format!("dev-{}", version % 3),
        seq: version % 1_000_000,
        at_ms: 1_700_000_000_000_i64.wrapping_add(version as i64),
        payload: format!("{{\"op\":\"add\",\"user\":\"{user}\",\"v\":{version}}}").into_bytes(),
    }
}

/// Makes the database refuse every new row of user `bad` in `table` (a trigger, so the
/// refusal comes from inside the writing transaction).
pub async fn refuse_rows_of_bad(cfg: &StoreConfig, table: &str) {
    match cfg {
        StoreConfig::Sqlite { path } => {
            let url = format!("sqlite://{}", path.display());
            let pool = sqlx::SqlitePool::connect(&url).await.expect("sqlite");
            sqlx::raw_sql(&format!(
                "CREATE TRIGGER refuse_bad_{table} BEFORE INSERT ON {table} \
                 WHEN NEW.user_id = 'bad' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            ))
            .execute(&pool)
            .await
            .expect("trigger");
            pool.close().await;
        }
        StoreConfig::Postgres { url } => {
            let pool = sqlx::PgPool::connect(url).await.expect("postgres");
            sqlx::raw_sql(&format!(
                "CREATE FUNCTION refuse_bad_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN IF NEW.user_id = 'bad' THEN RAISE EXCEPTION 'refused'; END IF; \
                 RETURN NEW; END $$; \
                 CREATE TRIGGER refuse_bad_{table} BEFORE INSERT ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION refuse_bad_{table}()"
            ))
            .execute(&pool)
            .await
            .expect("trigger");
            pool.close().await;
        }
    }
}
