//! The group committer: one loop that turns queued appends into few transactions.
//!
//! Callers send a [`Job`] over a bounded channel and get its [`Reply`]. The loop
//! takes the first queued job, then everything else already queued (up to
//! `group_commit_max_batch` entries, optionally waiting `group_commit_max_wait` for more),
//! commits it in one transaction and answers each caller. Jobs are committed in the order
//! they were queued, so one user's appends commit in submission order.
//!
//! The loop is a task. On Postgres it commits through the pool; on SQLite it hands each
//! whole batch to the writer thread that owns the writing connection
//! ([`SqliteThread`]): one thread hand-off in and one out per batch, where sqlx's pool
//! hands every statement and row across. Callers are answered from the task, so their
//! wake-ups stay inside the runtime.

use std::sync::Arc;
use std::time::Instant;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout_at;

use crate::backend::{commit_groups_pg, Backend, Batch, CommitError, Group, Outcome, SqliteThread};
use crate::stats::StatsCounters;
use crate::{LogEntry, StoreConfig, StoreError, StoreOptions};

/// Where batches are committed.
pub(crate) enum Sink {
    Postgres(PgPool),
    Sqlite(SqliteThread),
}

impl Sink {
    /// Commits `batch` (each group's entries and claim epoch) and hands it back with
    /// the outcome of each group.
    async fn commit(&mut self, batch: Batch) -> (Batch, Result<Vec<Outcome>, CommitError>) {
        match self {
            Sink::Postgres(pool) => {
                let result = commit_groups_pg(pool, &Group::all(&batch)).await;
                (batch, result)
            }
            Sink::Sqlite(writer) => writer.commit(batch).await,
        }
    }
}

/// Starts the committer task for `rx`, and on SQLite the writer thread (its connection
/// opened on the file `backend` created and migrated). Must be called inside a Tokio
/// runtime.
pub(crate) fn start(
    cfg: &StoreConfig,
    backend: &Backend,
    opts: StoreOptions,
    stats: Arc<StatsCounters>,
    rx: mpsc::Receiver<Job>,
) -> Result<(), StoreError> {
    let sink = match (cfg, backend) {
        (StoreConfig::Sqlite { path }, Backend::Sqlite(_)) => {
            Sink::Sqlite(SqliteThread::spawn(path)?)
        }
        (_, Backend::Postgres(pool)) => Sink::Postgres(pool.clone()),
        (_, Backend::Sqlite(_)) => return Err(StoreError::Unsupported("SQLite without a file")),
    };
    tokio::spawn(run(sink, opts, stats, rx));
    Ok(())
}

/// How a caller is told the outcome of its append.
pub(crate) enum Reply {
    /// A caller awaiting the answer.
    Wait(oneshot::Sender<Result<(), StoreError>>),
    /// Called on the committer (thread or task) once the outcome is known: no task
    /// waits in between.
    Call(Callback),
}

/// A caller's completion callback. Called exactly once: with the outcome, or with
/// [`StoreError::Closed`] when dropped unanswered (the committer stopped with the job
/// still queued).
pub(crate) struct Callback(Option<Done>);

type Done = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

impl Callback {
    pub(crate) fn new(done: impl FnOnce(Result<(), StoreError>) + Send + 'static) -> Self {
        Callback(Some(Box::new(done)))
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            done(Err(StoreError::Closed));
        }
    }
}

impl Reply {
    pub(crate) fn send(self, answer: Result<(), StoreError>) {
        match self {
            // The caller may have stopped waiting; the entry is committed regardless.
            Reply::Wait(tx) => {
                let _ = tx.send(answer);
            }
            Reply::Call(mut call) => {
                if let Some(done) = call.0.take() {
                    done(answer);
                }
            }
        }
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reply::Wait(_) => "Reply::Wait",
            Reply::Call(_) => "Reply::Call",
        })
    }
}

/// A request to the committer.
#[derive(Debug)]
pub(crate) enum Job {
    /// Append `entries` all-or-nothing (one entry for `append`, several for `append_many`).
    Append {
        entries: Vec<LogEntry>,
        /// The writer's claim (0: unchecked); see [`crate::Store::append_claimed`].
        epoch: u64,
        reply: Reply,
    },
    /// Commit everything queued before this job, then answer.
    Flush { done: oneshot::Sender<()> },
    /// Commit everything queued before this job, then stop.
    Shutdown { done: oneshot::Sender<()> },
}

impl Job {
    fn size(&self) -> usize {
        match self {
            Job::Append { entries, .. } => entries.len(),
            Job::Flush { .. } | Job::Shutdown { .. } => 0,
        }
    }
}

/// Channel capacity in jobs: room for a few batches queued behind the one in flight.
pub(crate) fn queue_capacity(opts: &StoreOptions) -> usize {
    opts.group_commit_max_batch.max(1).saturating_mul(4)
}

/// The committer's loop. Ends on a [`Job::Shutdown`] or when every sender is gone.
async fn run(
    mut sink: Sink,
    opts: StoreOptions,
    stats: Arc<StatsCounters>,
    mut rx: mpsc::Receiver<Job>,
) {
    let max_batch = opts.group_commit_max_batch.max(1);
    while let Some(first) = rx.recv().await {
        // Let tasks that are already runnable (typically the callers just answered by the
        // previous commit) queue their next append before the batch is cut. This costs
        // one scheduler pass, not a timer, and keeps cohorts of callers together.
        tokio::task::yield_now().await;
        let mut batch = Vec::new();
        let mut size = 0;
        let mut shutdown = None;
        let mut flushed = None;
        let mut next = Some(first);
        let deadline = tokio::time::Instant::now() + opts.group_commit_max_wait;
        while let Some(job) = next.take() {
            match job {
                Job::Shutdown { done } => {
                    shutdown = Some(done);
                    break;
                }
                Job::Flush { done } => {
                    flushed = Some(done);
                    break;
                }
                Job::Append { .. } => {}
            }
            size += job.size();
            batch.push(job);
            if size >= max_batch {
                break;
            }
            next = match rx.try_recv() {
                Ok(job) => Some(job),
                Err(_) if opts.group_commit_max_wait.is_zero() => None,
                Err(_) => timeout_at(deadline, rx.recv()).await.ok().flatten(),
            };
        }
        commit(&mut sink, &stats, batch).await;
        if let Some(done) = flushed {
            let _ = done.send(());
        }
        if let Some(done) = shutdown {
            let _ = done.send(());
            return;
        }
    }
}

/// Commits one batch and answers every caller in it.
async fn commit(sink: &mut Sink, stats: &StatsCounters, batch: Vec<Job>) {
    if batch.is_empty() {
        return;
    }
    let mut replies = Vec::with_capacity(batch.len());
    let mut groups = Vec::with_capacity(batch.len());
    for job in batch {
        if let Job::Append {
            entries,
            epoch,
            reply,
        } = job
        {
            groups.push((entries, epoch));
            replies.push(reply);
        }
    }
    let entries: usize = groups.iter().map(|(g, _)| g.len()).sum();
    let started = Instant::now();
    let (groups, result) = sink.commit(groups).await;
    metrics::histogram!("baton_store_commit_seconds").record(started.elapsed().as_secs_f64());
    metrics::histogram!("baton_store_commit_batch_size").record(entries as f64);
    match result {
        Ok(outcomes) => {
            let mut appended = 0u64;
            let mut conflicts = 0u64;
            let answers: Vec<_> = groups
                .iter()
                .zip(outcomes)
                .map(|((group, epoch), outcome)| match outcome {
                    Outcome::Conflict(i) => {
                        conflicts += 1;
                        let e = &group[i.min(group.len() - 1)];
                        Err(StoreError::Conflict {
                            user: e.user.clone(),
                            version: e.version,
                        })
                    }
                    Outcome::Fenced => {
                        conflicts += 1;
                        Err(StoreError::Fenced {
                            user: group[0].user.clone(),
                            epoch: *epoch,
                        })
                    }
                    Outcome::Written => {
                        appended += group.len() as u64;
                        Ok(())
                    }
                })
                .collect();
            // Counted before anyone is answered: a caller on another thread may read
            // the stats as soon as its reply arrives.
            stats.record_commit(appended);
            metrics::counter!("baton_store_appends_total").increment(appended);
            metrics::counter!("baton_store_conflicts_total").increment(conflicts);
            for (reply, answer) in replies.into_iter().zip(answers) {
                reply.send(answer);
            }
        }
        Err(e) => {
            tracing::warn!(error = ?e, entries, "group commit failed");
            for reply in replies {
                reply.send(Err(e.to_store_error()));
            }
        }
    }
}
