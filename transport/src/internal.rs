//! `POST /internal/v1/handoff`: a peer hands users over warm. Guarded by the
//! cluster secret; not part of the public API (absent from OpenAPI).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use baton_cluster::handoff::{Batch, SECRET_HEADER};

use crate::server::AppState;

/// Most bytes one handoff batch may carry.
pub(crate) const MAX_HANDOFF_BYTES: usize = 256 * 1024 * 1024;

pub(crate) async fn handoff(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(fwd) = app.forwarding.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
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
    app.hub.accept_warm(states);
    StatusCode::NO_CONTENT.into_response()
}
