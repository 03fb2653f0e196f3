//! The one place a poisoned lock is recovered. A panic while a lock is held
//! leaves the data as the panicking code left it; every structure guarded
//! here (maps of live actors, warm states, open links) stays valid after any
//! single insert or remove, so the next holder carries on with it.

use std::sync::{Mutex, MutexGuard};

/// Lock `mutex`, recovering it if a holder panicked.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
