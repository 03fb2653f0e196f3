//! The group committer: one task that turns queued appends into few transactions.
//!
//! Callers send a [`Job`] over a bounded channel and await its oneshot reply. The task
//! takes the first queued job, then everything else already queued (up to
//! `group_commit_max_batch` entries, optionally waiting `group_commit_max_wait` for more),
//! commits it in one transaction and answers each caller. Jobs are committed in the order
//! they were queued, so one user's appends commit in submission order.

use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout_at;

use crate::backend::{Backend, Group, Outcome};
use crate::stats::StatsCounters;
use crate::{LogEntry, StoreError, StoreOptions};
use std::sync::Arc;

/// A request to the committer.
#[derive(Debug)]
pub(crate) enum Job {
    /// Append `entries` all-or-nothing (one entry for `append`, several for `append_many`).
    Append {
        entries: Vec<LogEntry>,
        /// The writer's claim (0: unchecked); see [`crate::Store::append_claimed`].
        epoch: u64,
        reply: oneshot::Sender<Result<(), StoreError>>,
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
pub(crate) async fn run(
    backend: Backend,
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
        commit(&backend, &stats, batch).await;
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
async fn commit(backend: &Backend, stats: &StatsCounters, batch: Vec<Job>) {
    if batch.is_empty() {
        return;
    }
    let mut replies = Vec::with_capacity(batch.len());
    let mut groups = Vec::with_capacity(batch.len());
    let mut epochs = Vec::with_capacity(batch.len());
    for job in batch {
        if let Job::Append {
            entries,
            epoch,
            reply,
        } = job
        {
            groups.push(entries);
            epochs.push(epoch);
            replies.push(reply);
        }
    }
    let entries: usize = groups.iter().map(Vec::len).sum();
    let slices: Vec<Group<'_>> = groups
        .iter()
        .zip(&epochs)
        .map(|(g, &epoch)| Group {
            entries: g.as_slice(),
            epoch,
        })
        .collect();
    let started = Instant::now();
    let result = backend.commit_groups(&slices).await;
    metrics::histogram!("baton_store_commit_seconds").record(started.elapsed().as_secs_f64());
    metrics::histogram!("baton_store_commit_batch_size").record(entries as f64);
    match result {
        Ok(outcomes) => {
            let mut appended = 0u64;
            let mut conflicts = 0u64;
            for (((group, epoch), reply), outcome) in
                groups.iter().zip(epochs).zip(replies).zip(outcomes)
            {
                let answer = match outcome {
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
                            epoch,
                        })
                    }
                    Outcome::Written => {
                        appended += group.len() as u64;
                        Ok(())
                    }
                };
                // The caller may have stopped waiting; the entry is committed regardless.
                let _ = reply.send(answer);
            }
            stats.record_commit(appended);
            metrics::counter!("baton_store_appends_total").increment(appended);
            metrics::counter!("baton_store_conflicts_total").increment(conflicts);
        }
        Err(e) => {
            tracing::warn!(error = ?e, entries, "group commit failed");
            for reply in replies {
                let _ = reply.send(Err(e.to_store_error()));
            }
        }
    }
}
