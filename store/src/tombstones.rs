//! Erasure tombstones kept in memory where this process is the database's only writer.
//!
//! Every socket upgrade and REST request asks [`crate::Store::erased_at`] whether its
//! user was erased after its token was issued. On SQLite the file belongs to one node
//! (the `baton user` commands go through its HTTP API, restores run offline), and every
//! tombstone is written through this [`crate::Store`]: so the tombstones are read once
//! at open and kept current here, and the check costs a map lookup instead of a read
//! on the pool. On Postgres other nodes write tombstones too: every check reads.
//!
//! Bounded: with more than [`MAX_CACHED`] tombstones the store stops caching and reads
//! every check, as on Postgres.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::backend::Backend;
use crate::StoreError;

/// The most tombstones held in memory (about 100 bytes each); beyond it every check
/// reads the database.
pub(crate) const MAX_CACHED: usize = 100_000;

/// The tombstones, or the decision to read through.
#[derive(Debug, Clone)]
pub(crate) struct Tombstones {
    known: Arc<RwLock<Known>>,
    /// The most tombstones cached ([`MAX_CACHED`] outside tests).
    max: usize,
}

#[derive(Debug)]
enum Known {
    /// Every tombstone in the database: user -> erased at (ms).
    All(HashMap<String, i64>),
    /// Not cached: read the database.
    ReadThrough,
}

impl Tombstones {
    /// Loads every tombstone on SQLite (up to `max`); reads through on Postgres.
    pub(crate) async fn open(backend: &Backend, max: usize) -> Result<Self, StoreError> {
        let known = match backend {
            Backend::Sqlite(_) => match backend.all_erasures(max).await? {
                Some(all) => Known::All(all.into_iter().collect()),
                None => {
                    tracing::info!(max, "more erasure tombstones than cached; reading each");
                    Known::ReadThrough
                }
            },
            Backend::Postgres(_) => Known::ReadThrough,
        };
        Ok(Tombstones {
            known: Arc::new(RwLock::new(known)),
            max,
        })
    }

    /// The cached answer for `user`: `None` when the database must be read.
    pub(crate) fn lookup(&self, user: &str) -> Option<Option<i64>> {
        match &*self.read() {
            Known::All(map) => Some(map.get(user).copied()),
            Known::ReadThrough => None,
        }
    }

    /// Records a tombstone at `at_ms` (the latest time wins, as in the database) before
    /// it is written, so no check in between misses it. Past the bound the cache is
    /// dropped.
    pub(crate) fn record(&self, user: &str, at_ms: i64) {
        let mut known = self.write();
        if let Known::All(map) = &mut *known {
            let at = map.entry(user.to_owned()).or_insert(at_ms);
            *at = (*at).max(at_ms);
            if map.len() > self.max {
                *known = Known::ReadThrough;
            }
        }
    }

    /// After a failed write: the database's value for `user` again (`stored`), or read
    /// through from now on when that is unknown too.
    pub(crate) fn restore(&self, user: &str, stored: Result<Option<i64>, StoreError>) {
        let mut known = self.write();
        match (&mut *known, stored) {
            (Known::All(map), Ok(Some(at))) => {
                map.insert(user.to_owned(), at);
            }
            (Known::All(map), Ok(None)) => {
                map.remove(user);
            }
            (Known::All(_), Err(_)) => *known = Known::ReadThrough,
            (Known::ReadThrough, _) => {}
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Known> {
        self.known.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Known> {
        self.known.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(max: usize) -> Tombstones {
        Tombstones {
            known: Arc::new(RwLock::new(Known::All(HashMap::new()))),
            max,
        }
    }

    #[test]
    fn the_latest_time_wins_and_past_the_bound_every_check_reads() {
        let t = cached(2);
        assert_eq!(t.lookup("eve"), Some(None));
        t.record("eve", 500);
        t.record("eve", 400);
        assert_eq!(t.lookup("eve"), Some(Some(500)));
        t.record("ann", 1);
        assert_eq!(t.lookup("ann"), Some(Some(1)));
        t.record("bob", 1);
        assert_eq!(t.lookup("eve"), None, "3 > 2 tombstones: read through");
        assert_eq!(t.lookup("zed"), None);
    }

    #[test]
    fn a_failed_write_restores_the_database_value_or_reads_through() {
        let t = cached(10);
        t.record("eve", 500);
        t.restore("eve", Ok(None));
        assert_eq!(t.lookup("eve"), Some(None));
        t.record("eve", 900);
        t.restore("eve", Ok(Some(300)));
        assert_eq!(t.lookup("eve"), Some(Some(300)));
        t.restore("eve", Err(StoreError::Closed));
        assert_eq!(t.lookup("eve"), None, "unknown: read through");
    }
}
