//! Forwarding to a user's owner node (a cluster). A device may connect to any
//! node: when its user lives elsewhere, this node opens a socket to the owner
//! with the device's own token (the owner checks it again) and relays frames
//! both ways, close codes included. REST reads for such a user are forwarded
//! the same way. A forwarded request carries `x-baton-forwarded-by` (with the
//! cluster secret, so a client cannot forge it) and is always served where it
//! lands, so two nodes with different views cannot bounce a request between
//! them; fencing in the store keeps that safe.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use baton_actors::{ActorError, ConnPermit, RemoteNode, Route};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::{
    frame::coding::CloseCode as WsCode, WebSocketConfig,
};
use tokio_tungstenite::tungstenite::{self, Message as TMessage};
use tokio_tungstenite::WebSocketStream;

use crate::error::ApiError;
use crate::server::AppState;
use baton_cluster::handoff::SECRET_HEADER;

/// Header naming the node that forwarded a request.
pub const FORWARDED_BY: &str = "x-baton-forwarded-by";
/// Header of a forwarded request naming the nodes the forwarder routes around
/// (comma-separated ids): the receiver routes around them too.
pub const ROUTE_AROUND: &str = "x-baton-route-around";

/// Longest wait to reach an owner.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How this node reaches its peers.
#[derive(Clone)]
pub struct Forwarding {
    node_id: HeaderValue,
    secret: String,
    local_ip: Option<IpAddr>,
    http: reqwest::Client,
    /// Set when the node shuts down: relayed sockets close with 1001.
    closing: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

impl Forwarding {
    /// Forwarding as node `node_id`, binding outgoing connections to
    /// `local_ip` when given; `secret` guards the internal endpoints.
    pub fn new(
        node_id: &str,
        secret: &str,
        local_ip: Option<IpAddr>,
    ) -> Result<Forwarding, String> {
        let http = reqwest::Client::builder()
            .local_address(local_ip)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Forwarding {
            node_id: HeaderValue::from_str(node_id).map_err(|e| e.to_string())?,
            secret: secret.to_owned(),
            local_ip,
            http,
            closing: std::sync::Arc::new(tokio::sync::watch::channel(false).0),
        })
    }

    /// Close every relayed socket with 1001 (the node is shutting down).
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }

    pub(crate) fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }
}

impl Forwarding {
    /// Whether `given` is the cluster secret (compared in constant time).
    pub(crate) fn secret_matches(&self, given: &[u8]) -> bool {
        let want = self.secret.as_bytes();
        !want.is_empty()
            && want.len() == given.len()
            && want
                .iter()
                .zip(given)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// Whether another node of this cluster already forwarded this request: the
/// header is honoured only with the cluster secret, so a client cannot pin
/// its user to a node of its choice.
pub(crate) fn is_forwarded(fwd: &Forwarding, headers: &HeaderMap) -> bool {
    headers.contains_key(FORWARDED_BY)
        && headers
            .get(SECRET_HEADER)
            .is_some_and(|v| fwd.secret_matches(v.as_bytes()))
}

/// Where a request for `user` should be served: `None` here, or the owner.
/// Waits (bounded) while this node is handing the user over. A forwarded
/// request is never forwarded again: it is served here if this node owns the
/// user (routing around the nodes the forwarder could not reach), and
/// otherwise refused by the hub with 503 `moving` (views disagree for a
/// moment; the device retries), so a user is never activated on a node
/// that does not own it.
pub(crate) async fn owner_elsewhere(
    app: &AppState,
    headers: &HeaderMap,
    user: &str,
) -> Option<RemoteNode> {
    let fwd = app.forwarding.as_ref()?;
    if is_forwarded(fwd, headers) {
        let around = headers.get(ROUTE_AROUND).and_then(|v| v.to_str().ok());
        for id in around.into_iter().flat_map(|v| v.split(',')) {
            if !id.is_empty() {
                app.hub.report_unreachable(&RemoteNode {
                    id: std::sync::Arc::from(id),
                    api: std::sync::Arc::from(""),
                });
            }
        }
        return None;
    }
    app.hub.wait_if_moving(user).await;
    match app.hub.route(user) {
        Route::Local => None,
        Route::Remote(node) => Some(node),
    }
}

/// Why reaching the owner failed.
pub(crate) enum ConnectError {
    /// No connection could be made (refused, timed out): the owner may be gone.
    Unreachable(ApiError),
    /// The owner answered and refused.
    Refused(ApiError),
}

fn owner_unavailable(node: &RemoteNode, why: impl std::fmt::Display) -> ApiError {
    ApiError::Unavailable(ActorError::Unavailable(format!(
        "owner node {} unreachable: {why}",
        node.id
    )))
}

/// Open the owner's device socket with the device's token.
pub(crate) async fn connect_owner(
    fwd: &Forwarding,
    node: &RemoteNode,
    token: &str,
    ws: WebSocketConfig,
    around: &[std::sync::Arc<str>],
) -> Result<WebSocketStream<TcpStream>, ConnectError> {
    let fail = |why: String| ConnectError::Unreachable(owner_unavailable(node, why));
    let addr = tokio::net::lookup_host(&*node.api)
        .await
        .map_err(|e| fail(e.to_string()))?
        .next()
        .ok_or_else(|| fail("no address".into()))?;
    let tcp = connect_tcp(fwd.local_ip, addr).await.map_err(fail)?;
    let mut request = format!("ws://{}/v1/sync", node.api)
        .into_client_request()
        .map_err(|e| fail(e.to_string()))?;
    let bearer =
        HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| fail(e.to_string()))?;
    request.headers_mut().insert("authorization", bearer);
    request
        .headers_mut()
        .insert(FORWARDED_BY, fwd.node_id.clone());
    let secret = HeaderValue::from_str(&fwd.secret).map_err(|e| fail(e.to_string()))?;
    request.headers_mut().insert(SECRET_HEADER, secret);
    if let Some(around) = route_around(around) {
        request.headers_mut().insert(ROUTE_AROUND, around);
    }
    let handshake = tokio_tungstenite::client_async_with_config(request, tcp, Some(ws));
    match tokio::time::timeout(CONNECT_TIMEOUT, handshake).await {
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(tungstenite::Error::Http(resp))) if resp.status() == StatusCode::UNAUTHORIZED => {
            Err(ConnectError::Refused(ApiError::Forbidden(
                "the owner node refused the token".into(),
            )))
        }
        Ok(Err(tungstenite::Error::Http(resp))) => Err(ConnectError::Refused(owner_unavailable(
            node,
            format!("answered {}", resp.status()),
        ))),
        Ok(Err(e)) => Err(fail(e.to_string())),
        Err(_) => Err(fail("handshake timed out".into())),
    }
}

/// The [`ROUTE_AROUND`] value for `suspects` (none when empty).
fn route_around(suspects: &[std::sync::Arc<str>]) -> Option<HeaderValue> {
    if suspects.is_empty() {
        return None;
    }
    HeaderValue::from_str(&suspects.join(",")).ok()
}

async fn connect_tcp(local: Option<IpAddr>, addr: SocketAddr) -> Result<TcpStream, String> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| e.to_string())?;
    if let Some(ip) = local.filter(|ip| ip.is_ipv4() == addr.is_ipv4()) {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| e.to_string())?;
    }
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(addr))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// Relay frames between a device and its owner until either side closes.
/// The device is pinged on `ping_interval` and dropped after `pong_timeout`
/// of silence, as on the owner.
pub(crate) async fn relay(
    device: WebSocket,
    owner: WebSocketStream<TcpStream>,
    permit: ConnPermit,
    mut closing: tokio::sync::watch::Receiver<bool>,
    (ping_interval, pong_timeout): (Duration, Duration),
) {
    metrics::gauge!("baton_forwarded_sockets").increment(1.0);
    let (mut dev_tx, mut dev_rx) = device.split();
    let (mut own_tx, mut own_rx) = owner.split();
    let mut ticker = tokio::time::interval(ping_interval.min(pong_timeout));
    let mut last_rx = Instant::now();
    let mut last_ping = Instant::now();
    loop {
        if *closing.borrow_and_update() {
            let _ = own_tx.send(TMessage::Close(None)).await;
            close_device(&mut dev_tx, 1001, "server shutting down").await;
            break;
        }
        tokio::select! {
            _ = closing.changed() => continue,
            from_device = dev_rx.next() => {
                last_rx = Instant::now();
                let msg = match from_device {
                    Some(Ok(Message::Text(t))) => TMessage::text(t.as_str()),
                    Some(Ok(Message::Binary(b))) => TMessage::Binary(b),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(frame))) => {
                        let _ = own_tx.send(TMessage::Close(frame.map(|f| {
                            tungstenite::protocol::CloseFrame {
                                code: WsCode::from(f.code),
                                reason: f.reason.as_str().into(),
                            }
                        }))).await;
                        break;
                    }
                    Some(Err(_)) | None => {
                        let _ = own_tx.send(TMessage::Close(None)).await;
                        break;
                    }
                };
                if own_tx.send(msg).await.is_err() {
                    close_device(&mut dev_tx, 1011, "owner node connection lost").await;
                    break;
                }
            }
            from_owner = own_rx.next() => {
                let msg = match from_owner {
                    Some(Ok(TMessage::Text(t))) => Message::Text(Utf8Bytes::from(t.as_str())),
                    Some(Ok(TMessage::Binary(b))) => Message::Binary(b),
                    Some(Ok(TMessage::Close(frame))) => {
                        let (code, reason) = frame
                            .map_or((1000, String::new()), |f| (u16::from(f.code), f.reason.to_string()));
                        close_device(&mut dev_tx, code, &reason).await;
                        break;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => {
                        // The owner died or dropped us: reconnect and resume.
                        close_device(&mut dev_tx, 1011, "owner node connection lost").await;
                        break;
                    }
                };
                if dev_tx.send(msg).await.is_err() {
                    let _ = own_tx.send(TMessage::Close(None)).await;
                    break;
                }
            }
            _ = ticker.tick() => {
                if last_rx.elapsed() > ping_interval + pong_timeout {
                    let _ = own_tx.send(TMessage::Close(None)).await;
                    break;
                }
                if last_ping.elapsed() >= ping_interval {
                    last_ping = Instant::now();
                    let _ = dev_tx.send(Message::Ping(Default::default())).await;
                }
            }
        }
    }
    drop(permit);
    metrics::gauge!("baton_forwarded_sockets").decrement(1.0);
}

async fn close_device(
    tx: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    code: u16,
    reason: &str,
) {
    let _ = tx
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from(reason),
        })))
        .await;
}

/// Middleware on the per-user REST routes: forward to the owner when the
/// user lives on another node.
pub(crate) async fn forward_reads(
    State(app): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (Some(fwd), Some(user)) = (app.forwarding.as_ref(), user_in_path(request.uri().path()))
    else {
        return next.run(request).await;
    };
    // Reads have no body: the method, path and headers are all that is sent.
    let method = request.method().clone();
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let headers = request.headers().clone();
    let (method, path, headers_ref) = (&method, path.as_str(), &headers);
    let hub = &app.hub;
    let answer = at_owner(&app, &headers, &user, |node| async move {
        forward_http(fwd, &node, method, path, headers_ref, &hub.suspects()).await
    })
    .await;
    match answer {
        Ok(Some(resp)) => resp,
        Ok(None) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

/// How many owners a request tries when they cannot be reached.
const MAX_TRIES: usize = 3;

/// Serve a request for `user` at its owner: `Ok(None)` when this node owns
/// it, else what `reach` got from the owner. An owner that cannot be reached
/// is reported to the placement (which routes around it, to the next owner
/// by the same hashing) and the next owner is tried, at most [`MAX_TRIES`]
/// times; the last failure is the answer.
pub(crate) async fn at_owner<T, F, Fut>(
    app: &AppState,
    headers: &HeaderMap,
    user: &str,
    mut reach: F,
) -> Result<Option<T>, ApiError>
where
    F: FnMut(RemoteNode) -> Fut,
    Fut: std::future::Future<Output = Result<T, ConnectError>>,
{
    let mut tries = 0;
    if let Some(fwd) = app.forwarding.as_ref() {
        if is_forwarded(fwd, headers) {
            // Absorb the forwarder's suspects, then serve only a user owned
            // here; refuse before any upgrade (503 `moving`, the device retries).
            let _ = owner_elsewhere(app, headers, user).await;
            if app.hub.route(user) != Route::Local {
                metrics::counter!("baton_cluster_not_owner_total").increment(1);
                return Err(ApiError::Unavailable(ActorError::Refused("moving")));
            }
            return Ok(None);
        }
    }
    while let Some(node) = owner_elsewhere(app, headers, user).await {
        match reach(node.clone()).await {
            Ok(answer) => return Ok(Some(answer)),
            Err(ConnectError::Unreachable(e)) => {
                app.hub.report_unreachable(&node);
                tries += 1;
                if tries == MAX_TRIES {
                    return Err(e);
                }
            }
            Err(ConnectError::Refused(e)) => return Err(e),
        }
    }
    Ok(None)
}

/// The `{user}` of `/v1/users/{user}/...` or `/v1/admin/users/{user}/...`.
fn user_in_path(path: &str) -> Option<String> {
    let rest = path
        .strip_prefix("/v1/users/")
        .or_else(|| path.strip_prefix("/v1/admin/users/"))?;
    let user = rest.split('/').next().filter(|u| !u.is_empty())?;
    Some(
        form_urlencoded::parse(format!("u={user}").as_bytes())
            .next()
            .map_or_else(|| user.to_owned(), |(_, v)| v.into_owned()),
    )
}

/// Headers copied from the request to the owner and back.
const REQUEST_HEADERS: [&str; 4] = ["authorization", "if-none-match", "accept", "x-request-id"];
const RESPONSE_HEADERS: [&str; 4] = ["content-type", "etag", "cache-control", "retry-after"];

async fn forward_http(
    fwd: &Forwarding,
    node: &RemoteNode,
    method: &axum::http::Method,
    path: &str,
    headers: &HeaderMap,
    around: &[std::sync::Arc<str>],
) -> Result<Response, ConnectError> {
    let mut out = fwd
        .http
        .request(method.clone(), format!("http://{}{path}", node.api))
        .header(FORWARDED_BY, fwd.node_id.clone())
        .header(SECRET_HEADER, &fwd.secret);
    if let Some(around) = route_around(around) {
        out = out.header(ROUTE_AROUND, around);
    }
    for name in REQUEST_HEADERS {
        if let Some(v) = headers.get(name) {
            out = out.header(name, v.clone());
        }
    }
    let resp = out
        .send()
        .await
        .map_err(|e| ConnectError::Unreachable(owner_unavailable(node, e)))?;
    let status = resp.status();
    let mut headers = HeaderMap::new();
    for name in RESPONSE_HEADERS {
        if let Some(v) = resp.headers().get(name) {
            headers.insert(name, v.clone());
        }
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| ConnectError::Refused(owner_unavailable(node, e)))?;
    metrics::counter!("baton_forwarded_reads_total").increment(1);
    Ok((status, headers, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::user_in_path;

    #[test]
    fn finds_the_user_in_user_paths_only() {
        assert_eq!(
            user_in_path("/v1/users/alice/state").as_deref(),
            Some("alice")
        );
        assert_eq!(
            user_in_path("/v1/admin/users/bob/stats").as_deref(),
            Some("bob")
        );
        assert_eq!(
            user_in_path("/v1/users/a%3Ab/state").as_deref(),
            Some("a:b")
        );
        assert_eq!(user_in_path("/v1/users//state"), None);
        assert_eq!(user_in_path("/v1/sync"), None);
    }
}
