//! The group-commit transaction on Postgres. A batch of single appends under no claim
//! (one node) is one autocommit insert: one round trip. Groups written under an owner claim are
//! checked against the user's current claim first, in the same transaction. Then,
//! since conflicts are rare, every live group goes out in one bulk insert and one
//! `COMMIT`: three round trips for the whole batch. Only when an entry of a
//! multi-entry group (an `append_many`, which is all-or-nothing) conflicts is the
//! transaction rolled back and redone with that group inside a savepoint, runs of
//! single appends still as bulk inserts. (SQLite commits on the committer's own
//! connection: [`super::sqlite_writer`].)

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

/// A batch as the committer owns it: each group's entries and claim epoch.
pub(crate) type Batch = Vec<(Vec<LogEntry>, u64)>;

impl<'a> Group<'a> {
    /// The groups of `batch`, borrowed.
    pub(crate) fn all(batch: &'a Batch) -> Vec<Group<'a>> {
        batch
            .iter()
            .map(|(entries, epoch)| Group {
                entries,
                epoch: *epoch,
            })
            .collect()
    }
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

/// Commits `groups` in one transaction, in order. Each group is all-or-nothing.
pub(crate) async fn commit_groups(
    pool: &PgPool,
    groups: &[Group<'_>],
) -> Result<Vec<Outcome>, CommitError> {
    if groups.iter().all(|g| g.epoch == 0 && g.entries.len() == 1) {
        return in_one_statement(pool, groups).await;
    }
    match in_one_insert(pool, groups).await? {
        Some(outcomes) => Ok(outcomes),
        None => with_savepoints(pool, groups).await,
    }
}

/// Single appends written under no claim (a node outside a cluster): the bulk insert
/// alone, as one autocommit statement, which is its own transaction. One round trip
/// instead of three (`BEGIN`, insert, `COMMIT`); every group is one row, so a conflict
/// fails only its own group, as in the transaction. A statement the server refuses
/// (it answered with an error) wrote nothing; a connection lost before the answer
/// leaves the outcome unknown, as a failed `COMMIT` does.
async fn in_one_statement(
    pool: &PgPool,
    groups: &[Group<'_>],
) -> Result<Vec<Outcome>, CommitError> {
    let rows: Vec<&LogEntry> = groups.iter().flat_map(|g| g.entries.iter()).collect();
    let mut conn = pool.acquire().await.map_err(CommitError::before)?;
    let inserted = m::insert_rows(&mut conn, &rows)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(_) | sqlx::Error::Encode(_) => CommitError::before(e),
            other => CommitError::AtCommit(Arc::new(other)),
        })?;
    Ok(inserted
        .into_iter()
        .map(|written| {
            if written {
                Outcome::Written
            } else {
                Outcome::Conflict(0)
            }
        })
        .collect())
}

type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// Opens the transaction and marks the groups whose claim is not the user's current
/// one as fenced; the others start as written.
async fn begin_and_fence(
    pool: &PgPool,
    groups: &[Group<'_>],
) -> Result<(Tx, Vec<Outcome>), CommitError> {
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
        // between this check and the insert.
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
    Ok((tx, outcomes))
}

async fn commit(tx: Tx) -> Result<(), CommitError> {
    tx.commit()
        .await
        .map_err(|e| CommitError::AtCommit(Arc::new(e)))
}

/// Every live group in one insert. `None` (rolled back) when an entry of a
/// multi-entry group conflicted.
async fn in_one_insert(
    pool: &PgPool,
    groups: &[Group<'_>],
) -> Result<Option<Vec<Outcome>>, CommitError> {
    let (mut tx, mut outcomes) = begin_and_fence(pool, groups).await?;
    let rows: Vec<&LogEntry> = groups
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| **o == Outcome::Written)
        .flat_map(|(g, _)| g.entries.iter())
        .collect();
    let inserted = m::insert_rows(&mut tx, &rows)
        .await
        .map_err(CommitError::before)?;
    let mut at = inserted.iter();
    for (group, outcome) in groups.iter().zip(outcomes.iter_mut()) {
        if *outcome != Outcome::Written {
            continue;
        }
        let mine: Vec<bool> = at.by_ref().take(group.entries.len()).copied().collect();
        match mine.iter().position(|&ok| !ok) {
            None => {}
            Some(_) if group.entries.len() > 1 => {
                tx.rollback().await.map_err(CommitError::before)?;
                return Ok(None);
            }
            Some(i) => *outcome = Outcome::Conflict(i),
        }
    }
    commit(tx).await?;
    Ok(Some(outcomes))
}

/// Runs of single-entry groups as bulk inserts, each multi-entry group inside a
/// savepoint.
async fn with_savepoints(pool: &PgPool, groups: &[Group<'_>]) -> Result<Vec<Outcome>, CommitError> {
    let (mut tx, mut outcomes) = begin_and_fence(pool, groups).await?;
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
    commit(tx).await?;
    Ok(outcomes)
}
