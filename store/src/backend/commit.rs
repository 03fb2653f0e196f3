//! The group-commit transaction: runs of single appends as bulk inserts, each
//! `append_many` inside a savepoint, one `COMMIT` for all.

use std::sync::Arc;

use sqlx::Acquire;

use super::{Backend, CommitError};
use crate::LogEntry;

impl Backend {
    /// Commits `groups` in one transaction, in order. Each group is all-or-nothing (a
    /// savepoint when it has more than one entry). Returns, per group, `None` if it was
    /// written or `Some(i)` if its entry `i` already existed (and the group was skipped).
    pub(crate) async fn commit_groups(
        &self,
        groups: &[&[LogEntry]],
    ) -> Result<Vec<Option<usize>>, CommitError> {
        with_pool!(self, pool, m => {
            let mut tx = pool.begin_with(m::BEGIN_WRITE).await.map_err(CommitError::before)?;
            let mut outcomes = Vec::with_capacity(groups.len());
            let mut next = 0;
            while next < groups.len() {
                // A run of single-entry groups goes out as one bulk insert.
                let run_end = groups[next..]
                    .iter()
                    .position(|g| g.len() != 1)
                    .map_or(groups.len(), |p| next + p);
                if run_end > next {
                    let rows: Vec<&LogEntry> = groups[next..run_end].iter().flat_map(|g| g.iter()).collect();
                    let inserted = m::insert_rows(&mut tx, &rows).await.map_err(CommitError::before)?;
                    outcomes.extend(inserted.iter().map(|&ok| if ok { None } else { Some(0) }));
                    next = run_end;
                    continue;
                }
                let group = groups[next];
                let rows: Vec<&LogEntry> = group.iter().collect();
                let mut savepoint = tx.begin().await.map_err(CommitError::before)?;
                let inserted = m::insert_rows(&mut savepoint, &rows).await.map_err(CommitError::before)?;
                match inserted.iter().position(|&ok| !ok) {
                    Some(i) => {
                        savepoint.rollback().await.map_err(CommitError::before)?;
                        outcomes.push(Some(i));
                    }
                    None => {
                        savepoint.commit().await.map_err(CommitError::before)?;
                        outcomes.push(None);
                    }
                }
                next += 1;
            }
            tx.commit().await.map_err(|e| CommitError::AtCommit(Arc::new(e)))?;
            Ok(outcomes)
        })
    }
}
