//! Per-user personalization adapters: one row per user, never moved backwards.

use super::row::SnapshotRow;
use super::Backend;
use crate::{Snapshot, StoreError};

const UPSERT_ADAPTER: &str = "INSERT INTO store_adapters (user_id, version, bytes) \
     VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE \
     SET version = excluded.version, bytes = excluded.bytes \
     WHERE excluded.version >= store_adapters.version";

const SELECT_ADAPTER: &str = "SELECT version, bytes FROM store_adapters WHERE user_id = $1";

impl Backend {
    pub(crate) async fn save_adapter(
        &self,
        user: &str,
        version: i64,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        self.upsert_versioned(UPSERT_ADAPTER, user, version, bytes)
            .await
    }

    pub(crate) async fn load_adapter(&self, user: &str) -> Result<Option<Snapshot>, StoreError> {
        let row: Option<SnapshotRow> = with_pool!(self, pool => {
            sqlx::query_as(SELECT_ADAPTER)
                .bind(user)
                .fetch_optional(pool)
                .await?
        });
        row.map(SnapshotRow::into_snapshot).transpose()
    }
}
