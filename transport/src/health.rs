//! Liveness, readiness and metrics endpoints.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::server::AppState;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, description = "alive")))]
pub(crate) async fn live() -> &'static str {
    "ok"
}

/// Readiness: the store answers and the node is not draining.
#[utoipa::path(get, path = "/health/ready", tag = "health", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "draining or store unreachable")))]
pub(crate) async fn ready(State(app): State<AppState>) -> impl IntoResponse {
    if app.hub.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining");
    }
    match app.hub.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store unreachable"),
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus metrics")))]
pub(crate) async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    metrics::gauge!("baton_live_users").set(app.hub.live_users() as f64);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        app.metrics.render(),
    )
}
