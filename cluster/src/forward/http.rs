//! Forwarding a REST call to the user's owner: the method, path and a few
//! headers go out, the status, body and a few headers come back.

use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use baton_actors::RemoteNode;

use super::{Forwarding, FORWARDED_BY, ROUTE_AROUND};
use crate::handoff::SECRET_HEADER;
use crate::ClusterError;

/// Headers copied from the request to the owner and back.
const REQUEST_HEADERS: [&str; 4] = ["authorization", "if-none-match", "accept", "x-request-id"];
const RESPONSE_HEADERS: [&str; 4] = ["content-type", "etag", "cache-control", "retry-after"];

impl Forwarding {
    /// Send a bodiless request (`method`, `path` with its query, `headers`)
    /// to `node` and return its answer, routing around `around`.
    pub async fn forward_http(
        &self,
        node: &RemoteNode,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        around: &[std::sync::Arc<str>],
    ) -> Result<Response, ClusterError> {
        let mut out = self
            .http
            .request(method.clone(), format!("http://{}{path}", node.api))
            .header(FORWARDED_BY, self.node_id.clone())
            .header(SECRET_HEADER, &self.secret);
        if let Some(around) = Self::route_around(around) {
            out = out.header(ROUTE_AROUND, around);
        }
        for name in REQUEST_HEADERS {
            if let Some(v) = headers.get(name) {
                out = out.header(name, v.clone());
            }
        }
        let resp = out.send().await.map_err(|e| ClusterError::Unreachable {
            node: node.id.to_string(),
            detail: e.to_string(),
        })?;
        let status = resp.status();
        let mut back = HeaderMap::new();
        for name in RESPONSE_HEADERS {
            if let Some(v) = resp.headers().get(name) {
                back.insert(name, v.clone());
            }
        }
        let body = resp.bytes().await.map_err(|e| ClusterError::Peer {
            peer: node.api.to_string(),
            detail: e.to_string(),
        })?;
        metrics::counter!("baton_forwarded_reads_total").increment(1);
        Ok((status, back, body).into_response())
    }
}
