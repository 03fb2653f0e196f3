//! The group-commit transaction on Postgres: runs of single appends as bulk inserts,
//! each `append_many` inside a savepoint, one `COMMIT` for all. Groups written under an
//! owner claim are checked against the user's current claim first, in the same
//! transaction. (SQLite commits on the committer's own connection:
//! [`super::sqlite_writer`].)

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::{Acquire, PgPool};

use super::postgres as m;
use super::CommitError;
use crate::LogEntry;

/// One caller's entries and the claim they are written under (0: unchecked).
pub(crate) struct Group<'a> {
    pub(crate) entries: &'a [LogEntry],
    pub(crate) epoch: u64,
}

/// What happened to one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Written,
    /// Its entry `i` already existed; nothing of the group was written.
    Conflict(usize),
    /// Its claim is no longer the user's current one; nothing was written.
    Fenced,
}

/// Commits `groups` in one transaction, in order. Each group is all-or-nothing (a
/// savepoint when it has more than one entry).
pub(crate) async fn commit_groups(
    pool: &PgPool,
    groups: &[Group<'_>],
) -> Result<Vec<Outcome>, CommitError> {
    let mut tx = pool
        .begin_with(m::BEGIN_WRITE)
        .await
        .map_err(CommitError::before)?;
    let mut outcomes = vec![Outcome::Written; groups.len()];
    let claimed: Vec<&str> = groups
        .iter()
        .filter(|g| g.epoch > 0)
        .map(|g| g.entries[0].user.as_str())
        .collect();
    if !claimed.is_empty() {
        // Postgres locks the claim rows until COMMIT, so a claim cannot slip in
        // between this check and the insert; SQLite holds its one write lock.
        let current: HashMap<String, i64> = m::owner_epochs(&mut tx, &claimed)
            .await
            .map_err(CommitError::before)?
            .into_iter()
            .collect();
        for (group, outcome) in groups.iter().zip(outcomes.iter_mut()) {
            let user = &group.entries[0].user;
            let holds = current
                .get(user)
                .is_some_and(|&e| u64::try_from(e).is_ok_and(|e| e == group.epoch));
            if group.epoch > 0 && !holds {
                *outcome = Outcome::Fenced;
            }
        }
    }
    let live: Vec<usize> = (0..groups.len())
        .filter(|&i| outcomes[i] == Outcome::Written)
        .collect();
    let mut next = 0;
    while next < live.len() {
        // A run of single-entry groups goes out as one bulk insert.
        let run_end = live[next..]
            .iter()
            .position(|&i| groups[i].entries.len() != 1)
            .map_or(live.len(), |p| next + p);
        if run_end > next {
            let rows: Vec<&LogEntry> = live[next..run_end]
                .iter()
                .flat_map(|&i| groups[i].entries.iter())
                .collect();
            let inserted = m::insert_rows(&mut tx, &rows)
                .await
                .map_err(CommitError::before)?;
            for (&i, &ok) in live[next..run_end].iter().zip(&inserted) {
                if !ok {
                    outcomes[i] = Outcome::Conflict(0);
                }
            }
            next = run_end;
            continue;
        }
        let i = live[next];
        let rows: Vec<&LogEntry> = groups[i].entries.iter().collect();
        let mut savepoint = tx.begin().await.map_err(CommitError::before)?;
        let inserted = m::insert_rows(&mut savepoint, &rows)
            .await
            .map_err(CommitError::before)?;
        match inserted.iter().position(|&ok| !ok) {
            Some(at) => {
                savepoint.rollback().await.map_err(CommitError::before)?;
                outcomes[i] = Outcome::Conflict(at);
            }
            None => savepoint.commit().await.map_err(CommitError::before)?,
        }
        next += 1;
    }
    tx.commit()
        .await
        .map_err(|e| CommitError::AtCommit(Arc::new(e)))?;
    Ok(outcomes)
}
