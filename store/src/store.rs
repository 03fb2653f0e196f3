//! [`Store`]: the public handle. Validates input, routes appends through the group
//! committer and everything else straight to the pool.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::backend::Backend;
use crate::committer::{self, Callback, Job, Reply};
use crate::stats::StatsCounters;
use crate::tombstones::{Tombstones, MAX_CACHED};
use crate::{
    validate, LogBounds, LogEntry, Snapshot, StoreConfig, StoreError, StoreOptions, StoreStats,
    UserRecord,
};

/// Durable per-user snapshots and delta logs. Cheap to clone; all clones share one pool
/// and one group committer.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    pub(crate) jobs: mpsc::Sender<Job>,
    pub(crate) tombstones: Tombstones,
    stats: Arc<StatsCounters>,
}

impl Store {
    /// Connects to the configured database, creating the SQLite file and its directories
    /// if missing, applies the embedded migrations and spawns the group committer.
    ///
    /// Must be called inside a Tokio runtime.
    pub async fn open(cfg: &StoreConfig, opts: StoreOptions) -> Result<Store, StoreError> {
        let backend = Backend::open(cfg, &opts).await?;
        let tombstones = Tombstones::open(&backend, MAX_CACHED).await?;
        let (jobs, rx) = mpsc::channel(committer::queue_capacity(&opts));
        let stats = Arc::new(StatsCounters::default());
        committer::start(cfg, &backend, opts, Arc::clone(&stats), rx)?;
        tracing::info!(backend = backend.name(), "store opened");
        Ok(Store {
            backend,
            jobs,
            tombstones,
            stats,
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// The user's snapshot (if any) and every log entry after it, in version order.
    /// Snapshot and log are read from one consistent view of the database.
    pub async fn load(&self, user: &str) -> Result<UserRecord, StoreError> {
        validate::user(user)?;
        self.backend.load(user).await
    }

    /// Appends one entry; returns after the transaction holding it committed durably.
    ///
    /// Concurrent appends (of any users) share a transaction. Appends of one user commit
    /// in the order they were submitted. An existing `(user, version)` yields
    /// [`StoreError::Conflict`] for this entry only.
    pub async fn append(&self, entry: LogEntry) -> Result<(), StoreError> {
        validate::entry(&entry)?;
        self.submit(vec![entry], 0).await
    }

    /// Appends several entries all-or-nothing: if any `(user, version)` exists, none is
    /// written and the first conflicting entry is reported. Empty input is a no-op.
    pub async fn append_many(&self, entries: Vec<LogEntry>) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        entries.iter().try_for_each(validate::entry)?;
        self.submit(entries, 0).await
    }

    /// [`Store::append_many`] by the owner of claim `epoch` (from [`Store::claim`]): the
    /// entries, all of one user, are written only if `epoch` is still the user's current
    /// claim, checked in the transaction that writes them. A writer whose claim was
    /// superseded gets [`StoreError::Fenced`] and writes nothing, so once a node has
    /// claimed a user and read its log, no other node can append (and acknowledge)
    /// anything it did not read. `epoch` 0 checks nothing (a single node never claims).
    pub async fn append_claimed(
        &self,
        entries: Vec<LogEntry>,
        epoch: u64,
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        validate::claimed(&entries, epoch)?;
        self.submit(entries, epoch).await
    }

    /// [`Store::append_claimed`] without a task waiting for the commit: returns once the
    /// entries are queued (waiting only for room in the committer's queue), and `done` is
    /// called exactly once with the outcome, on the committer's thread or task, after the
    /// commit is durable or has failed (at once for invalid input or a closed store).
    /// `done` must not block: hand the outcome on (a channel send, an actor cast).
    pub async fn append_claimed_then(
        &self,
        entries: Vec<LogEntry>,
        epoch: u64,
        done: impl FnOnce(Result<(), StoreError>) + Send + 'static,
    ) {
        if let Err(e) = validate::claimed(&entries, epoch) {
            return done(Err(e));
        }
        if entries.is_empty() {
            return done(Ok(()));
        }
        // A job the committer never takes (closed store) drops its callback, which
        // then answers `Closed`.
        let _ = self
            .jobs
            .send(Job::Append {
                entries,
                epoch,
                reply: Reply::Call(Callback::new(done)),
            })
            .await;
    }

    /// Up to `limit` entries with `version > after_version`, in version order.
    pub async fn log_since(
        &self,
        user: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        validate::user(user)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.backend
            .log_since(user, validate::saturating_i64(after_version), limit)
            .await
    }

    /// Stores the snapshot of `user` at `version` (0 ..= `i64::MAX`), written under owner
    /// claim `epoch` (from [`Store::claim`]; 0 when the caller never claims, as a single
    /// node may). Never moves it backwards: a `version` below the stored one is ignored; an
    /// equal one replaces it unless it was written under a newer epoch.
    ///
    /// Fails with [`StoreError::Fenced`] (nothing written) when another node claimed the
    /// user after `epoch`.
    pub async fn save_snapshot(
        &self,
        user: &str,
        version: u64,
        epoch: u64,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        validate::user(user)?;
        let version = validate::to_i64("version", version)?;
        let stored_epoch = validate::to_i64("epoch", epoch)?;
        if self
            .backend
            .save_snapshot(user, version, stored_epoch, bytes)
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::Fenced {
                user: user.to_owned(),
                epoch,
            })
        }
    }

    /// Claims `user` for `node`: a new owner epoch, greater than every earlier claim of
    /// the user by any node. Snapshots written under an older epoch are refused from now
    /// on ([`StoreError::Fenced`]). Called before a node activates a user.
    pub async fn claim(&self, user: &str, node: &str) -> Result<u64, StoreError> {
        validate::user(user)?;
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let epoch = self.backend.claim(user, node, now_ms).await?;
        u64::try_from(epoch).map_err(|_| StoreError::Corrupt(format!("negative epoch {epoch}")))
    }

    /// The user's current owner claim: epoch and node (`None`: never claimed).
    pub async fn owner(&self, user: &str) -> Result<Option<(u64, String)>, StoreError> {
        validate::user(user)?;
        self.backend.owner(user).await
    }

    /// Stores the user's personalization adapter bytes at training `version`
    /// (0 ..= `i64::MAX`). Never moves it backwards: an older `version` is ignored,
    /// an equal one replaces it.
    pub async fn save_adapter(
        &self,
        user: &str,
        version: u64,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        validate::user(user)?;
        let version = validate::to_i64("version", version)?;
        self.backend.save_adapter(user, version, bytes).await
    }

    /// The user's stored personalization adapter (version and bytes), if any.
    pub async fn load_adapter(&self, user: &str) -> Result<Option<Snapshot>, StoreError> {
        validate::user(user)?;
        self.backend.load_adapter(user).await
    }

    /// Deletes log entries with `version <= keep_after_version`, but never one newer than
    /// the stored snapshot (with no snapshot, nothing). Returns the number of rows deleted.
    pub async fn compact(&self, user: &str, keep_after_version: u64) -> Result<u64, StoreError> {
        validate::user(user)?;
        self.backend
            .compact(user, validate::saturating_i64(keep_after_version))
            .await
    }

    /// First and last log version, snapshot version and log length of `user`.
    pub async fn log_bounds(&self, user: &str) -> Result<LogBounds, StoreError> {
        validate::user(user)?;
        self.backend.log_bounds(user).await
    }

    /// Round trip to the database, for readiness probes.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.backend.ping().await
    }

    /// Commit and transaction counts since `open` (shared by all clones).
    pub fn stats(&self) -> StoreStats {
        self.stats.snapshot()
    }

    /// Graceful shutdown: commits every append queued so far, stops the committer and
    /// closes the pool. Later calls on any clone fail with [`StoreError::Closed`].
    /// Calling it twice is harmless.
    pub async fn close(&self) {
        let (done, stopped) = oneshot::channel();
        if self.jobs.send(Job::Shutdown { done }).await.is_ok() {
            let _ = stopped.await;
        }
        self.backend.close().await;
    }

    async fn submit(&self, entries: Vec<LogEntry>, epoch: u64) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Append {
                entries,
                epoch,
                reply: Reply::Wait(reply),
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}
