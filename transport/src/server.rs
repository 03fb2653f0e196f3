//! The HTTP server: state, router and the accept loop with graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use baton_actors::Hub;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::auth::Verifier;
use crate::conn::{self, HttpLimits};

/// Connection limits of the HTTP edge and socket settings of the device WebSocket.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Limits of connections that have not upgraded (timeouts, slots).
    pub http: HttpLimits,
    /// Largest message (and frame) accepted from a device, in bytes.
    pub max_message_bytes: usize,
    /// Read buffer per connection. The library default (128 KiB) would cost
    /// more than the whole per-device memory budget.
    pub read_buffer_bytes: usize,
    /// Write buffer per connection (frames are flushed beyond this).
    pub write_buffer_bytes: usize,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            http: HttpLimits::default(),
            max_message_bytes: 64 * 1024,
            read_buffer_bytes: 512,
            write_buffer_bytes: 4096,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The actor system.
    pub hub: Hub,
    /// Token verification.
    pub verifier: Verifier,
    /// Socket settings.
    pub transport: TransportConfig,
    /// Metrics renderer.
    pub metrics: PrometheusHandle,
    /// Reaching other nodes (a cluster); `None` on a single node.
    pub forwarding: Option<baton_cluster::forward::Forwarding>,
}

/// All routes, with request ids and tracing spans.
pub fn router(state: AppState) -> Router {
    let per_user = Router::new()
        .route("/v1/users/{user}/state", get(crate::rest::state))
        .route("/v1/users/{user}/watchlist", get(crate::rest::watchlist))
        .route("/v1/users/{user}/playback", get(crate::rest::playback))
        .route(
            "/v1/users/{user}/playback/{content}",
            get(crate::rest::playback_one),
        )
        .route("/v1/users/{user}/devices", get(crate::rest::devices))
        .route(
            "/v1/users/{user}/preferences",
            get(crate::rest::preferences),
        )
        .route("/v1/admin/users/{user}/stats", get(crate::rest::stats))
        .route(
            "/v1/users/{user}",
            axum::routing::delete(crate::user_data::erase),
        )
        .route("/v1/users/{user}/export", get(crate::user_data::export))
        .route(
            "/v1/users/{user}/recommendations",
            get(crate::recommend::recommendations),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::forward::forward_reads,
        ));
    let mut router = Router::new()
        .merge(per_user)
        .route("/v1/sync", get(crate::ws::sync));
    if let Some(fwd) = &state.forwarding {
        router = router.route_service(
            baton_cluster::handoff::PATH,
            baton_cluster::internal::router(state.hub.clone(), fwd.clone()),
        );
    }
    router
        .route("/v1/admin/revocations", axum::routing::post(crate::revoke::revoke))
        .route("/openapi.json", get(crate::openapi::openapi_json))
        .route("/health/live", get(crate::health::live))
        .route("/health/ready", get(crate::health::ready))
        .route("/metrics", get(crate::health::metrics))
        .layer(axum::middleware::from_fn(crate::metrics_http::count_requests))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Serve until `shutdown` resolves; then close every device with 1001,
/// flush the actors, stop accepting, let each connection finish its request,
/// and return once all have closed. Connections are served by [`conn`]: one
/// slot each until they upgrade, with hyper's header-read timer and an idle timer.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.transport.http;
    let hub = state.hub.clone();
    let forwarding = state.forwarding.clone();
    let app = router(state);
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: closing devices with 1001 and flushing");
        if let Some(f) = &forwarding {
            f.close_all();
        }
        hub.shutdown(Duration::from_secs(10)).await;
    };
    tokio::pin!(signal);
    let slots = Arc::new(Semaphore::new(limits.max_pending_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(());
    loop {
        let tcp = tokio::select! {
            () = &mut signal => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        // Frames are small and latency-bound: without TCP_NODELAY, Nagle plus
        // the peer's delayed ACK holds back the second of two small writes
        // (welcome then synced, ack then lease) for ~40 ms.
        let _ = tcp.set_nodelay(true);
        match slots.clone().try_acquire_owned() {
            Ok(slot) => conn::spawn(
                tcp,
                slot,
                app.clone(),
                limits,
                stop_rx.clone(),
                done_rx.clone(),
            ),
            Err(_) => conn::refuse(tcp),
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}

/// Binds the node's listener with room for `backlog` connections completed by the
/// kernel and not yet accepted. Tokio's `TcpListener::bind` uses 1,024: a storm of
/// thousands of devices in a fraction of a second overflowed it, and each dropped SYN
/// cost its device a one-second retransmit.
pub fn bind(addr: std::net::SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// A failed accept: a connection that died in the backlog is skipped; out of
/// descriptors (or worse), wait a little so the loop does not spin.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
