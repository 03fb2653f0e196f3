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
        self.backend.mark_erased(user, at_ms).await
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
        self.backend.erase_user(user, at_ms).await
    }

    /// When `user` was last erased (ms since the Unix epoch), if ever.
    pub async fn erased_at(&self, user: &str) -> Result<Option<u64>, StoreError> {
        validate::user(user)?;
        let at = self.backend.erased_at(user).await?;
        at.map(|ms| {
            u64::try_from(ms)
                .map_err(|_| StoreError::Corrupt(format!("negative erasure time {ms}")))
        })
        .transpose()
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
