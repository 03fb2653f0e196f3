//! Admission control: a node refuses new connections when draining or at its
//! connection limit, with a retry hint, instead of degrading everyone.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{Hub, HubInner};
use crate::error::ActorError;

/// A counted connection slot; released on drop.
pub struct ConnPermit {
    hub: Arc<HubInner>,
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
        self.hub.connections.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!("baton_connections").decrement(1.0);
    }
}

impl Hub {
    /// Take a connection slot, or say why not (`draining`, `overloaded`).
    pub fn try_admit(&self) -> Result<ConnPermit, ActorError> {
        let inner = &self.inner;
        if inner.draining.load(Ordering::Acquire) {
            return Err(ActorError::Refused("draining"));
        }
        let before = inner.connections.fetch_add(1, Ordering::AcqRel);
        if before >= inner.max_connections {
            inner.connections.fetch_sub(1, Ordering::AcqRel);
            metrics::counter!("baton_connections_refused_total").increment(1);
            return Err(ActorError::Refused("overloaded"));
        }
        metrics::gauge!("baton_connections").increment(1.0);
        metrics::counter!("baton_connections_total").increment(1);
        Ok(ConnPermit {
            hub: inner.clone(),
            id: inner.next_conn.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// Open device connections.
    pub fn connections(&self) -> usize {
        self.inner.connections.load(Ordering::Acquire)
    }
}
