//! Forwarding to a user's owner node. A device may connect to any node: when
//! its user lives elsewhere, this node opens a socket to the owner with the
//! device's own token (the owner checks it again) and relays frames both
//! ways, close codes included ([`relay`]). REST calls for such a user are
//! forwarded the same way ([`Forwarding::forward_http`]). A forwarded request
//! carries [`FORWARDED_BY`] with the cluster secret (so a client cannot forge
//! it) and is always served where it lands, so two nodes with different
//! views cannot bounce a request between them; fencing in the store keeps
//! that safe. The transport mounts this: its socket handler and its
//! middleware on per-user routes ask [`Forwarding::at_owner`].

mod connect;
mod http;
pub mod relay;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use baton_actors::{Hub, RemoteNode, Route};

use crate::handoff::SECRET_HEADER;
use crate::ClusterError;

pub use connect::OwnerSocket;

/// Header naming the node that forwarded a request.
pub const FORWARDED_BY: &str = "x-baton-forwarded-by";
/// Header of a forwarded request naming the nodes the forwarder routes around
/// (comma-separated ids): the receiver routes around them too.
pub const ROUTE_AROUND: &str = "x-baton-route-around";

/// Longest wait to reach an owner.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How many owners a request tries when they cannot be reached.
const MAX_TRIES: usize = 3;

/// How this node reaches its peers.
#[derive(Clone)]
pub struct Forwarding {
    node_id: HeaderValue,
    secret: String,
    local_ip: Option<IpAddr>,
    http: reqwest::Client,
    /// Set when the node shuts down: relayed sockets close with 1001.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Forwarding {
    /// Forwarding as node `node_id`, binding outgoing connections to
    /// `local_ip` when given; `secret` guards the internal endpoints.
    pub fn new(
        node_id: &str,
        secret: &str,
        local_ip: Option<IpAddr>,
    ) -> Result<Forwarding, ClusterError> {
        let config = |e: &dyn std::fmt::Display| ClusterError::Config(format!("forwarding: {e}"));
        let http = reqwest::Client::builder()
            .local_address(local_ip)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| config(&e))?;
        Ok(Forwarding {
            node_id: HeaderValue::from_str(node_id).map_err(|e| config(&e))?,
            secret: secret.to_owned(),
            local_ip,
            http,
            closing: Arc::new(tokio::sync::watch::channel(false).0),
        })
    }

    /// Close every relayed socket with 1001 (the node is shutting down).
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }

    /// Whether `given` is the cluster secret (compared in constant time).
    pub fn secret_matches(&self, given: &[u8]) -> bool {
        let want = self.secret.as_bytes();
        !want.is_empty()
            && want.len() == given.len()
            && want
                .iter()
                .zip(given)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// Whether another node of this cluster already forwarded this request:
    /// the header is honoured only with the cluster secret, so a client
    /// cannot pin its user to a node of its choice.
    fn is_forwarded(&self, headers: &HeaderMap) -> bool {
        headers.contains_key(FORWARDED_BY)
            && headers
                .get(SECRET_HEADER)
                .is_some_and(|v| self.secret_matches(v.as_bytes()))
    }

    /// Serve a request for `user` at its owner: `Ok(None)` when this node
    /// serves it, else what `reach` got from the owner. Ownership is the
    /// hub's decision ([`Hub::route`]), asked after any move of the user away
    /// from this node finished (bounded wait). An owner that cannot be
    /// reached is reported to the placement (which routes around it, to the
    /// next owner by the same hashing) and the next owner is tried, at most
    /// [`MAX_TRIES`] times; the last failure is the answer. A forwarded
    /// request is never forwarded again: it is served here if this node owns
    /// the user (routing around the nodes the forwarder could not reach), and
    /// otherwise refused ([`ClusterError::NotOwner`], 503 `moving`: views
    /// disagree for a moment and the device retries), so a user is never
    /// activated on a node that does not own it.
    pub async fn at_owner<T, F, Fut>(
        &self,
        hub: &Hub,
        headers: &HeaderMap,
        user: &str,
        mut reach: F,
    ) -> Result<Option<T>, ClusterError>
    where
        F: FnMut(RemoteNode) -> Fut,
        Fut: std::future::Future<Output = Result<T, ClusterError>>,
    {
        if self.is_forwarded(headers) {
            let around = headers.get(ROUTE_AROUND).and_then(|v| v.to_str().ok());
            for id in around.into_iter().flat_map(|v| v.split(',')) {
                if !id.is_empty() {
                    hub.report_unreachable(&RemoteNode {
                        id: Arc::from(id),
                        api: Arc::from(""),
                    });
                }
            }
            if hub.route(user) != Route::Local {
                metrics::counter!("baton_cluster_not_owner_total").increment(1);
                return Err(ClusterError::NotOwner);
            }
            return Ok(None);
        }
        let mut tries = 0;
        loop {
            hub.wait_if_moving(user).await;
            let Route::Remote(node) = hub.route(user) else {
                return Ok(None);
            };
            match reach(node.clone()).await {
                Err(e @ ClusterError::Unreachable { .. }) => {
                    hub.report_unreachable(&node);
                    tries += 1;
                    if tries == MAX_TRIES {
                        return Err(e);
                    }
                }
                answer => return answer.map(Some),
            }
        }
    }

    /// The [`ROUTE_AROUND`] value for `suspects` (none when empty).
    fn route_around(suspects: &[Arc<str>]) -> Option<HeaderValue> {
        if suspects.is_empty() {
            return None;
        }
        HeaderValue::from_str(&suspects.join(",")).ok()
    }
}
