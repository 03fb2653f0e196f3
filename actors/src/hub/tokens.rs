//! Open connections by token id, so a revoked token's sockets are closed
//! with 1008 on every node (the revocation stream is followed here).

use std::collections::HashMap;
use std::sync::Mutex;

use super::{Hub, HubInner};
use crate::link::DeviceLink;
use crate::lock::lock;

/// Open connections by the id (`jti`) of the token they were opened with.
#[derive(Default)]
pub(super) struct Revocations {
    by_token: Mutex<HashMap<String, Vec<(u64, DeviceLink)>>>,
}

impl Hub {
    /// Track an open connection by its token id; closes it at once if the
    /// token is already known to be revoked.
    pub(crate) async fn register_token(&self, jti: &str, conn: u64, link: &DeviceLink) {
        lock(&self.inner.revocations.by_token)
            .entry(jti.to_owned())
            .or_default()
            .push((conn, link.clone()));
        if self.inner.shared.is_revoked(jti).await {
            link.close(crate::protocol::CloseCode::PolicyViolation);
        }
    }

    pub(crate) fn unregister_token(&self, jti: &str, conn: u64) {
        let mut tokens = lock(&self.inner.revocations.by_token);
        if let Some(list) = tokens.get_mut(jti) {
            list.retain(|(c, _)| *c != conn);
            if list.is_empty() {
                tokens.remove(jti);
            }
        }
    }
}

/// Close every open connection whose token was revoked (on any node).
pub(super) async fn close_revoked(inner: std::sync::Weak<HubInner>) {
    let Some(mut events) = inner.upgrade().map(|i| i.shared.revocations()) else {
        return;
    };
    loop {
        let jti = match events.recv().await {
            Ok(jti) => jti,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        let Some(inner) = inner.upgrade() else { return };
        let links = lock(&inner.revocations.by_token)
            .remove(&jti)
            .unwrap_or_default();
        for (_, link) in links {
            metrics::counter!("baton_revoked_disconnects_total").increment(1);
            link.close(crate::protocol::CloseCode::PolicyViolation);
        }
    }
}
