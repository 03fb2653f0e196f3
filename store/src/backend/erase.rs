//! Erasing a user: every row of every table in one transaction, plus the tombstone.

use super::Backend;
use crate::{Erased, StoreError};

/// The tombstone: the latest erasure time, and the highest owner epoch ever deleted.
const UPSERT_ERASURE: &str = "INSERT INTO store_erasures (user_id, erased_at_ms, epoch) \
     VALUES ($1, $2, COALESCE((SELECT epoch FROM store_owners WHERE user_id = $1), 0)) \
     ON CONFLICT (user_id) DO UPDATE SET \
     erased_at_ms = CASE WHEN excluded.erased_at_ms > store_erasures.erased_at_ms \
       THEN excluded.erased_at_ms ELSE store_erasures.erased_at_ms END, \
     epoch = CASE WHEN excluded.epoch > store_erasures.epoch \
       THEN excluded.epoch ELSE store_erasures.epoch END";

const SELECT_ERASED_AT: &str = "SELECT erased_at_ms FROM store_erasures WHERE user_id = $1";

const SELECT_ALL: &str = "SELECT user_id, erased_at_ms FROM store_erasures LIMIT $1";

/// The tables holding a user's data, in the order [`Erased`] counts them.
const DELETES: [&str; 4] = [
    "DELETE FROM store_log WHERE user_id = $1",
    "DELETE FROM store_snapshots WHERE user_id = $1",
    "DELETE FROM store_adapters WHERE user_id = $1",
    "DELETE FROM store_owners WHERE user_id = $1",
];

impl Backend {
    pub(crate) async fn mark_erased(&self, user: &str, at_ms: i64) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(UPSERT_ERASURE)
                .bind(user)
                .bind(at_ms)
                .execute(pool)
                .await
                .map(|_| ())?
        });
        Ok(())
    }

    pub(crate) async fn erase_user(&self, user: &str, at_ms: i64) -> Result<Erased, StoreError> {
        let counts = with_pool!(self, pool, m => {
            let mut tx = pool.begin_with(m::BEGIN_WRITE).await?;
            // Before the claim row goes: the tombstone keeps its epoch.
            sqlx::query(UPSERT_ERASURE)
                .bind(user)
                .bind(at_ms)
                .execute(&mut *tx)
                .await?;
            let mut counts = [0u64; 4];
            for (count, delete) in counts.iter_mut().zip(DELETES) {
                *count = sqlx::query(delete)
                    .bind(user)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            tx.commit().await?;
            counts
        });
        let [log_entries, snapshots, adapters, claims] = counts;
        Ok(Erased {
            log_entries,
            snapshots,
            adapters,
            claims,
        })
    }

    pub(crate) async fn erased_at(&self, user: &str) -> Result<Option<i64>, StoreError> {
        let at: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(SELECT_ERASED_AT)
                .bind(user)
                .fetch_optional(pool)
                .await?
        });
        Ok(at)
    }

    /// Every tombstone, or `None` when there are more than `max`.
    pub(crate) async fn all_erasures(
        &self,
        max: usize,
    ) -> Result<Option<Vec<(String, i64)>>, StoreError> {
        let limit = i64::try_from(max).unwrap_or(i64::MAX - 1) + 1;
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(SELECT_ALL).bind(limit).fetch_all(pool).await?
        });
        Ok((rows.len() <= max).then_some(rows))
    }
}
