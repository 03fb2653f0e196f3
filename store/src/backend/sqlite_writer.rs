//! The SQLite writer thread: one connection of its own that commits a whole batch, handed
//! over by the group committer, with cached prepared statements.
//!
//! Why not the pool: sqlx runs each SQLite connection on a worker thread and hands every
//! statement (and every row it returns) across that thread boundary, so a batch cost a
//! dozen thread wake-ups. Here a batch crosses once in and once out. The committer stays a
//! task (it cuts batches as callers queue up, and answers them inside the runtime).
//!
//! Durability is the pool's: WAL with `synchronous=FULL`, so `COMMIT` returns after the
//! WAL is fsynced. Other writers (snapshot saves, claims, erasure) use the pool; SQLite's
//! one write lock and the busy timeout order them.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::sqlite::BUSY_TIMEOUT;
use super::{Batch, CommitError, Group, Outcome};
use crate::{LogEntry, StoreError};

/// A batch for the thread, and where to hand it back with the outcome.
struct Request {
    batch: Batch,
    done: oneshot::Sender<(Batch, Result<Vec<Outcome>, CommitError>)>,
}

/// The committer's handle on the writer thread. Dropping it ends the thread (after the
/// batch in hand, if any), which closes the connection.
pub(crate) struct SqliteThread {
    requests: mpsc::Sender<Request>,
}

impl SqliteThread {
    /// Opens the writer's connection to `path` and starts its thread.
    pub(crate) fn spawn(path: &Path) -> Result<Self, StoreError> {
        let mut writer = SqliteWriter::open(path)?;
        // One batch at a time: the committer awaits each before cutting the next.
        let (requests, mut rx) = mpsc::channel::<Request>(1);
        std::thread::Builder::new()
            .name("baton-sqlite-writer".into())
            .spawn(move || {
                while let Some(Request { batch, done }) = rx.blocking_recv() {
                    let result = writer.commit_groups(&Group::all(&batch));
                    let _ = done.send((batch, result));
                }
            })
            .map_err(|source| StoreError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(SqliteThread { requests })
    }

    /// Commits `batch` on the thread; hands it back with each group's outcome. A thread
    /// that is gone (it panicked) fails the batch as a crashed worker, which callers see
    /// as an unavailable database.
    pub(crate) async fn commit(&self, batch: Batch) -> (Batch, Result<Vec<Outcome>, CommitError>) {
        let crashed = || {
            (
                Batch::new(),
                Err(CommitError::Before(Arc::new(sqlx::Error::WorkerCrashed))),
            )
        };
        let (done, answer) = oneshot::channel();
        if self.requests.send(Request { batch, done }).await.is_err() {
            return crashed();
        }
        answer.await.unwrap_or_else(|_| crashed())
    }
}

const INSERT: &str = "INSERT INTO store_log (user_id, version, device, seq, at_ms, payload) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (user_id, version) DO NOTHING";

const OWNER_EPOCH: &str = "SELECT epoch FROM store_owners WHERE user_id = ?1";

/// The writer thread's SQLite connection.
struct SqliteWriter {
    conn: Connection,
}

impl SqliteWriter {
    /// Opens the database the pool created and migrated.
    fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
        // WAL is a property of the file (the pool set it); FULL is per connection.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(db)?;
        Ok(SqliteWriter { conn })
    }

    /// Commits `groups` in one transaction, in order; each group all-or-nothing (a
    /// savepoint when it has more than one entry). Same contract as the pool's
    /// `Backend::commit_groups`.
    fn commit_groups(&mut self, groups: &[Group<'_>]) -> Result<Vec<Outcome>, CommitError> {
        let mut tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(before)?;
        let mut outcomes = vec![Outcome::Written; groups.len()];
        // The transaction holds SQLite's one write lock: no claim can commit before it.
        for (group, outcome) in groups.iter().zip(outcomes.iter_mut()) {
            if group.epoch == 0 {
                continue;
            }
            let current: Option<i64> = tx
                .prepare_cached(OWNER_EPOCH)
                .and_then(|mut s| {
                    s.query_row([&group.entries[0].user], |r| r.get(0))
                        .optional()
                })
                .map_err(before)?;
            if !current.is_some_and(|e| u64::try_from(e).is_ok_and(|e| e == group.epoch)) {
                *outcome = Outcome::Fenced;
            }
        }
        for (group, outcome) in groups.iter().zip(outcomes.iter_mut()) {
            if *outcome != Outcome::Written {
                continue;
            }
            if let [entry] = group.entries {
                if !insert(&tx, entry)? {
                    *outcome = Outcome::Conflict(0);
                }
                continue;
            }
            let savepoint = tx.savepoint().map_err(before)?;
            let mut conflict = None;
            for (i, entry) in group.entries.iter().enumerate() {
                if !insert(&savepoint, entry)? {
                    conflict = Some(i);
                    break;
                }
            }
            match conflict {
                // Finishing without commit rolls the savepoint back (and releases it).
                Some(at) => {
                    savepoint.finish().map_err(before)?;
                    *outcome = Outcome::Conflict(at);
                }
                None => savepoint.commit().map_err(before)?,
            }
        }
        // An error above drops `tx`, which rolls back.
        tx.commit()
            .map_err(|e| CommitError::AtCommit(Arc::new(to_sqlx(e))))?;
        Ok(outcomes)
    }
}

/// Inserts one entry: false if its `(user, version)` exists already.
fn insert(conn: &Connection, e: &LogEntry) -> Result<bool, CommitError> {
    let (version, seq) = super::entry_keys(e).map_err(|e| CommitError::Before(Arc::new(e)))?;
    let written = conn
        .prepare_cached(INSERT)
        .and_then(|mut s| s.execute(params![e.user, version, e.device, seq, e.at_ms, e.payload]))
        .map_err(before)?;
    Ok(written == 1)
}

fn before(e: rusqlite::Error) -> CommitError {
    CommitError::Before(Arc::new(to_sqlx(e)))
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::from(to_sqlx(e))
}

/// A rusqlite error as the `sqlx::Error::Database` the pool would have returned, so
/// callers classify both alike (`StoreError::is_unavailable` reads the SQLite code).
fn to_sqlx(e: rusqlite::Error) -> sqlx::Error {
    let code = match &e {
        rusqlite::Error::SqliteFailure(f, _) => Some(f.extended_code),
        _ => None,
    };
    sqlx::Error::Database(Box::new(WriterError {
        message: e.to_string(),
        code,
    }))
}

/// An error of the writer's connection, as sqlx reports database errors.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct WriterError {
    message: String,
    /// SQLite's extended result code.
    code: Option<i32>,
}

impl sqlx::error::DatabaseError for WriterError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.code.map(|c| Cow::Owned(c.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        sqlx::error::ErrorKind::Other
    }
}
