//! Right to erasure: [`Store::erase_user`] and the tombstone it leaves.

use crate::committer::Job;
use crate::{validate, Store, StoreError};

/// What one erasure deleted (all zero when the user was already erased: erasing is
/// idempotent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    /// Log entries deleted.
    pub log_entries: u64,
    /// Snapshots deleted (0 or 1).
    pub snapshots: u64,
    /// Personalization adapters deleted (0 or 1).
    pub adapters: u64,
    /// Owner claims deleted (0 or 1).
    pub claims: u64,
}

impl Store {
    /// Writes the user's erasure tombstone at `at_ms` (ms since the Unix epoch; the
    /// latest time wins) and deletes nothing. A caller erasing a user writes it first, so
    /// that tokens issued before `at_ms` are refused while the data is being removed.
    pub async fn mark_erased(&self, user: &str, at_ms: u64) -> Result<(), StoreError> {
        validate::user(user)?;
        let at_ms = validate::to_i64("at_ms", at_ms)?;
        self.tombstones.record(user, at_ms);
        let written = self.backend.mark_erased(user, at_ms).await;
        self.restore_after(user, written).await
    }

    /// Deletes everything stored for `user` (log, snapshot, personalization adapter,
    /// owner claim) and writes its tombstone at `at_ms`, in one transaction, after every
    /// append queued before this call committed (so none lands after the delete).
    ///
    /// The tombstone keeps the deleted claim's epoch: the next claim is above it, and a
    /// snapshot written under an older claim stays refused. A second call deletes nothing
    /// and answers all zeros. Nothing is deleted on error.
    pub async fn erase_user(&self, user: &str, at_ms: u64) -> Result<Erased, StoreError> {
        validate::user(user)?;
        let at_ms = validate::to_i64("at_ms", at_ms)?;
        self.flush().await?;
        self.tombstones.record(user, at_ms);
        let erased = self.backend.erase_user(user, at_ms).await;
        self.restore_after(user, erased).await
    }

    /// When `user` was last erased (ms since the Unix epoch), if ever. On SQLite an
    /// in-memory lookup (see `tombstones.rs`); on Postgres a primary-key read.
    pub async fn erased_at(&self, user: &str) -> Result<Option<u64>, StoreError> {
        validate::user(user)?;
        let at = match self.tombstones.lookup(user) {
            Some(cached) => cached,
            None => self.backend.erased_at(user).await?,
        };
        at.map(|ms| {
            u64::try_from(ms)
                .map_err(|_| StoreError::Corrupt(format!("negative erasure time {ms}")))
        })
        .transpose()
    }

    /// After a tombstone write: on failure the cache takes the database's value again.
    async fn restore_after<T>(
        &self,
        user: &str,
        written: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if written.is_err() {
            let stored = self.backend.erased_at(user).await;
            self.tombstones.restore(user, stored);
        }
        written
    }

    /// Returns once every append queued before this call has committed (or failed).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (done, flushed) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job::Flush { done })
            .await
            .map_err(|_| StoreError::Closed)?;
        flushed.await.map_err(|_| StoreError::Closed)
    }
}
