//! `GET /v1/sync`: the device WebSocket. Authentication and admission happen
//! before the upgrade completes.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use baton_actors::DeviceIdentity;
use baton_cluster::forward::relay::{DeviceSocket, Liveness};
use baton_cluster::forward::{Forwarding, OwnerSocket};
use baton_cluster::ClusterError;

use crate::error::ApiError;
use crate::server::AppState;

/// Upgrade to the device protocol (see PROTOCOL.md). The token is checked
/// first (401/403), then the upgrade headers (400 `websocket_required`).
#[utoipa::path(get, path = "/v1/sync", tag = "sync",
    params(("token" = Option<String>, Query, description = "JWT, for clients that cannot set headers"),
        ("Connection" = String, Header, description = "the WebSocket handshake", pattern = "^[Uu]pgrade$"),
        ("Upgrade" = String, Header, description = "the WebSocket handshake", pattern = "^websocket$"),
        ("Sec-WebSocket-Version" = String, Header, description = "the WebSocket handshake", pattern = "^13$"),
        ("Sec-WebSocket-Key" = String, Header, description = "the WebSocket handshake", pattern = "^[A-Za-z0-9+/]{22}==$")),
    responses(
        (status = 101, description = "switching to the device protocol"),
        (status = 400, description = "not a WebSocket handshake (`websocket_required`)", body = crate::error::ErrorBody),
        (status = 401, description = "missing or invalid token (token error codes in PROTOCOL.md)", body = crate::error::ErrorBody),
        (status = 403, description = "token has no device", body = crate::error::ErrorBody),
        (status = 503, description = "draining or overloaded; retry after the hint", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn sync(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match admit(&app, &headers, query.as_deref()).await {
        Ok((ident, permit)) => {
            let upgrade = match upgrade {
                Ok(upgrade) => upgrade,
                Err(e) => {
                    return ApiError::BadRequest {
                        code: "websocket_required",
                        message: e.body_text(),
                    }
                    .into_response()
                }
            };
            // The user may live elsewhere (and its owner may have just died:
            // `at_owner` routes around a node that cannot be reached).
            if let Some(fwd) = &app.forwarding {
                let (app_ref, headers_ref, query_ref) = (&app, &headers, query.as_deref());
                let owner = fwd
                    .at_owner(&app.hub, &headers, &ident.user, |node| async move {
                        connect(app_ref, fwd, headers_ref, query_ref, &node).await
                    })
                    .await;
                match owner {
                    Ok(Some(owner)) => return relay(&app, fwd, owner, upgrade, permit),
                    Ok(None) => {}
                    Err(e) => return ApiError::from(e).into_response(),
                }
            }
            let cfg = &app.transport;
            let hub = app.hub.clone();
            upgrade
                .read_buffer_size(cfg.read_buffer_bytes)
                .write_buffer_size(cfg.write_buffer_bytes)
                .max_write_buffer_size(cfg.write_buffer_bytes.max(cfg.max_message_bytes) * 2)
                .max_message_size(cfg.max_message_bytes)
                .max_frame_size(cfg.max_message_bytes)
                .on_upgrade(move |socket| async move {
                    let (stream, sink) = crate::socket::adapt(socket);
                    baton_actors::run_session(hub, permit, ident, stream, sink).await;
                })
        }
        Err(err) => err.into_response(),
    }
}

async fn admit(
    app: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(DeviceIdentity, baton_actors::ConnPermit), ApiError> {
    let principal = crate::rest::authenticate(app, headers, query).await?;
    let device = principal
        .device
        .clone()
        .ok_or_else(|| ApiError::Forbidden("the sync socket needs a device token".into()))?;
    let permit = app.hub.try_admit()?;
    Ok((principal.device_identity(device), permit))
}

/// Open the owner's socket with the device's token (before the upgrade, so a
/// failure is a clean HTTP answer).
async fn connect(
    app: &AppState,
    fwd: &Forwarding,
    headers: &HeaderMap,
    query: Option<&str>,
    node: &baton_actors::RemoteNode,
) -> Result<OwnerSocket, ClusterError> {
    let token = crate::auth::bearer_or_query(headers, query).ok_or(ClusterError::TokenRefused)?;
    let cfg = &app.transport;
    let ws_cfg = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(cfg.read_buffer_bytes)
        .write_buffer_size(cfg.write_buffer_bytes)
        .max_write_buffer_size(cfg.write_buffer_bytes.max(cfg.max_message_bytes) * 2)
        .max_message_size(Some(cfg.max_message_bytes))
        .max_frame_size(Some(cfg.max_message_bytes));
    fwd.connect_owner(node, &token, ws_cfg, &app.hub.suspects())
        .await
}

/// Upgrade the device and relay it to the owner's socket.
fn relay(
    app: &AppState,
    fwd: &Forwarding,
    owner: OwnerSocket,
    upgrade: WebSocketUpgrade,
    permit: baton_actors::ConnPermit,
) -> Response {
    let cfg = &app.transport;
    let actors = app.hub.config();
    let live = Liveness {
        ping_interval: actors.timers.ping_interval,
        pong_timeout: actors.timers.pong_timeout,
    };
    let fwd = fwd.clone();
    upgrade
        .read_buffer_size(cfg.read_buffer_bytes)
        .write_buffer_size(cfg.write_buffer_bytes)
        .max_message_size(cfg.max_message_bytes)
        .max_frame_size(cfg.max_message_bytes)
        .on_upgrade(move |socket| async move {
            let (stream, sink) = crate::socket::adapt(socket);
            fwd.relay(DeviceSocket { stream, sink }, owner, permit, live)
                .await;
        })
}
