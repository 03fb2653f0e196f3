//! Contract case for a group commit the database refuses: the callers of that batch
//! get a database error and nothing of it is written; the committer goes on with the
//! next batch. (On SQLite the committer is the writer thread with its own connection.)

use crate::fixture::{entry, Fixture};
use crate::Case;
use baton_store::{StoreConfig, StoreError};

/// Every commit-failure case, by name.
pub const ALL: &[(&str, Case)] = &[(
    "a_refused_commit_fails_its_batch_and_the_committer_goes_on",
    |f| {
        Box::pin(a_refused_commit_fails_its_batch_and_the_committer_goes_on(
            f,
        ))
    },
)];

/// Makes the database refuse every log row of user `bad` (a trigger, so the refusal
/// comes from inside the commit transaction).
async fn refuse_user_bad(cfg: &StoreConfig) {
    match cfg {
        StoreConfig::Sqlite { path } => {
            let url = format!("sqlite://{}", path.display());
            let pool = sqlx::SqlitePool::connect(&url).await.expect("sqlite");
            sqlx::raw_sql(
                "CREATE TRIGGER refuse_bad BEFORE INSERT ON store_log WHEN NEW.user_id = 'bad' \
                 BEGIN SELECT RAISE(ABORT, 'refused'); END",
            )
            .execute(&pool)
            .await
            .expect("trigger");
            pool.close().await;
        }
        StoreConfig::Postgres { url } => {
            let pool = sqlx::PgPool::connect(url).await.expect("postgres");
            sqlx::raw_sql(
                "CREATE FUNCTION refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN IF NEW.user_id = 'bad' THEN RAISE EXCEPTION 'refused'; END IF; \
                 RETURN NEW; END $$; \
                 CREATE TRIGGER refuse_bad BEFORE INSERT ON store_log \
                 FOR EACH ROW EXECUTE FUNCTION refuse_bad()",
            )
            .execute(&pool)
            .await
            .expect("trigger");
            pool.close().await;
        }
    }
}

async fn a_refused_commit_fails_its_batch_and_the_committer_goes_on(fx: Fixture) {
    let store = fx.open().await;
    store.append(entry("good", 1)).await.expect("before");
    refuse_user_bad(&fx.cfg).await;

    let err = store.append(entry("bad", 1)).await.expect_err("refused");
    assert!(
        matches!(err, StoreError::Database(_)) && !err.is_unavailable(),
        "a refusal is a permanent database error: {err:?}"
    );
    let err = store
        .append_many(vec![entry("bad", 2), entry("bad", 3)])
        .await
        .expect_err("refused");
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");

    // Appends sharing a batch with a refused one fail with it; the others commit.
    let (bad, good) = tokio::join!(store.append(entry("bad", 4)), async {
        let mut acked = Vec::new();
        for v in 2..=20 {
            match store.append(entry("good", v)).await {
                Ok(()) => acked.push(v),
                Err(StoreError::Database(_)) => {}
                Err(e) => panic!("good {v}: unexpected {e:?}"),
            }
        }
        acked
    });
    assert!(bad.is_err());
    store.append(entry("good", 21)).await.expect("after");

    assert!(store.load("bad").await.expect("load").log.is_empty());
    let stored: Vec<u64> = store
        .load("good")
        .await
        .expect("load")
        .log
        .iter()
        .map(|e| e.version)
        .collect();
    let mut expected = vec![1];
    expected.extend(good);
    expected.push(21);
    assert_eq!(
        stored, expected,
        "exactly the acknowledged appends are stored"
    );
    store.close().await;
}
