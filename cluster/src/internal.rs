//! The cluster's internal HTTP endpoint, `POST /internal/v1/handoff`: a peer
//! hands users over warm. Guarded by the cluster secret; not part of the
//! public API (absent from OpenAPI). The transport mounts [`router`].

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use baton_actors::Hub;

use crate::forward::Forwarding;
use crate::handoff::{Batch, PATH, SECRET_HEADER};

/// Most bytes one handoff batch may carry.
pub const MAX_HANDOFF_BYTES: usize = 256 * 1024 * 1024;

/// The internal routes of a cluster node, for the transport to mount.
pub fn router(hub: Hub, forwarding: Forwarding) -> Router {
    Router::new()
        .route(
            PATH,
            axum::routing::post(handoff)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_HANDOFF_BYTES)),
        )
        .with_state((hub, forwarding))
}

async fn handoff(
    State((hub, fwd)): State<(Hub, Forwarding)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let given = headers.get(SECRET_HEADER).map_or(&[][..], |v| v.as_bytes());
    if !fwd.secret_matches(given) {
        return (StatusCode::UNAUTHORIZED, "bad cluster secret").into_response();
    }
    let batch: Batch = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let from = batch.from.clone();
    let states = batch.into_states();
    tracing::info!(from, users = states.len(), "warm handoff received");
    metrics::counter!("baton_cluster_warm_states_received_total").increment(states.len() as u64);
    hub.accept_warm(states);
    StatusCode::NO_CONTENT.into_response()
}
