//! Admission control: a node refuses new connections when draining or at its
//! connection limit, with a retry hint, instead of degrading everyone.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::ActorError;

/// The node's connection count against its limit, and whether it drains.
pub(super) struct Admission {
    draining: AtomicBool,
    connections: AtomicUsize,
    max_connections: usize,
    next_conn: AtomicU64,
}

/// A counted connection slot; released on drop.
pub struct ConnPermit {
    admission: Arc<Admission>,
    id: u64,
}

impl ConnPermit {
    /// The connection id.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        self.admission.connections.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!("baton_connections").decrement(1.0);
    }
}

impl Admission {
    /// At most `max_connections` open at once.
    pub(super) fn new(max_connections: usize) -> Arc<Self> {
        Arc::new(Self {
            draining: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
            max_connections,
            next_conn: AtomicU64::new(1),
        })
    }

    /// Take a connection slot, or say why not (`draining`, `overloaded`).
    pub(super) fn admit(self: &Arc<Self>) -> Result<ConnPermit, ActorError> {
        if self.is_draining() {
            return Err(ActorError::Refused("draining"));
        }
        let before = self.connections.fetch_add(1, Ordering::AcqRel);
        if before >= self.max_connections {
            self.connections.fetch_sub(1, Ordering::AcqRel);
            metrics::counter!("baton_connections_refused_total").increment(1);
            return Err(ActorError::Refused("overloaded"));
        }
        metrics::gauge!("baton_connections").increment(1.0);
        metrics::counter!("baton_connections_total").increment(1);
        Ok(ConnPermit {
            admission: Arc::clone(self),
            id: self.next_conn.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// Open connections.
    pub(super) fn connections(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    /// Refuse new work from now on.
    pub(super) fn drain(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Whether new work is refused.
    pub(super) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}
