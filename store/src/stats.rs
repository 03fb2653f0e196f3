//! Group-commit counters, shared by the committer and every `Store` clone.

use std::sync::atomic::{AtomicU64, Ordering};

/// Totals since the store was opened (see [`Store::stats`](crate::Store::stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Group-commit transactions committed.
    pub commits: u64,
    /// Log entries committed by those transactions (`appends / commits` is the mean batch).
    pub appends: u64,
}

/// The live counters behind [`StoreStats`].
#[derive(Debug, Default)]
pub(crate) struct StatsCounters {
    commits: AtomicU64,
    appends: AtomicU64,
}

impl StatsCounters {
    pub(crate) fn record_commit(&self, appended: u64) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.appends.fetch_add(appended, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> StoreStats {
        StoreStats {
            commits: self.commits.load(Ordering::Relaxed),
            appends: self.appends.load(Ordering::Relaxed),
        }
    }
}
