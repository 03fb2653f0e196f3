//! Opening the owner's device socket with the device's token, and seeing it
//! as a [`WireIn`] stream and a [`WireOut`] sink like any device socket.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::{HeaderValue, StatusCode};
use baton_actors::protocol::CloseCode;
use baton_actors::{BoxSink, BoxStream, RemoteNode, SocketError, WireIn, WireOut};
use futures_util::stream::SplitSink;
use futures_util::{Sink, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use super::{Forwarding, CONNECT_TIMEOUT, FORWARDED_BY, ROUTE_AROUND};
use crate::handoff::SECRET_HEADER;
use crate::ClusterError;

/// The owner's side of a relayed device: what it sends and where to write.
pub struct OwnerSocket {
    /// Frames from the owner.
    pub stream: BoxStream,
    /// Frames to the owner.
    pub sink: BoxSink,
}

impl Forwarding {
    /// Open the owner's device socket with the device's token, routing
    /// around `around` (the nodes this node could not reach).
    pub async fn connect_owner(
        &self,
        node: &RemoteNode,
        token: &str,
        ws: WebSocketConfig,
        around: &[std::sync::Arc<str>],
    ) -> Result<OwnerSocket, ClusterError> {
        let fail = |detail: String| ClusterError::Unreachable {
            node: node.id.to_string(),
            detail,
        };
        let addr = tokio::net::lookup_host(&*node.api)
            .await
            .map_err(|e| fail(e.to_string()))?
            .next()
            .ok_or_else(|| fail("no address".into()))?;
        let tcp = connect_tcp(self.local_ip, addr).await.map_err(fail)?;
        let mut request = format!("ws://{}/v1/sync", node.api)
            .into_client_request()
            .map_err(|e| fail(e.to_string()))?;
        let bearer =
            HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| fail(e.to_string()))?;
        let headers = request.headers_mut();
        headers.insert("authorization", bearer);
        headers.insert(FORWARDED_BY, self.node_id.clone());
        let secret = HeaderValue::from_str(&self.secret).map_err(|e| fail(e.to_string()))?;
        headers.insert(SECRET_HEADER, secret);
        if let Some(around) = Self::route_around(around) {
            headers.insert(ROUTE_AROUND, around);
        }
        let handshake = tokio_tungstenite::client_async_with_config(request, tcp, Some(ws));
        match tokio::time::timeout(CONNECT_TIMEOUT, handshake).await {
            Ok(Ok((socket, _))) => Ok(adapt(socket)),
            Ok(Err(tungstenite::Error::Http(resp)))
                if resp.status() == StatusCode::UNAUTHORIZED =>
            {
                Err(ClusterError::TokenRefused)
            }
            Ok(Err(tungstenite::Error::Http(resp))) => Err(ClusterError::Peer {
                peer: node.api.to_string(),
                detail: format!("answered {}", resp.status()),
            }),
            Ok(Err(e)) => Err(fail(e.to_string())),
            Err(_) => Err(fail("handshake timed out".into())),
        }
    }
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

/// The owner's socket as a [`WireIn`] stream and a [`WireOut`] sink.
fn adapt(socket: WebSocketStream<TcpStream>) -> OwnerSocket {
    let (sink, stream) = socket.split();
    let stream = stream.map(|msg| match msg {
        Ok(Message::Text(text)) => WireIn::Text(text.as_str().to_owned()),
        Ok(Message::Binary(bytes)) => WireIn::Binary(bytes),
        Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => WireIn::Pong,
        Ok(Message::Close(frame)) => {
            WireIn::Close(frame.map(|f| CloseCode::from_code(u16::from(f.code))))
        }
        Err(tungstenite::Error::Capacity(_)) => WireIn::TooBig,
        Err(_) => WireIn::Close(None),
    });
    OwnerSocket {
        stream: Box::pin(stream),
        sink: Box::pin(OwnerSink(sink)),
    }
}

/// The write half, mapping [`WireOut`] to WebSocket messages.
struct OwnerSink(SplitSink<WebSocketStream<TcpStream>, Message>);

fn err(e: tungstenite::Error) -> SocketError {
    SocketError(e.to_string())
}

impl Sink<WireOut> for OwnerSink {
    type Error = SocketError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        Pin::new(&mut self.0).poll_ready(cx).map_err(err)
    }

    fn start_send(mut self: Pin<&mut Self>, out: WireOut) -> Result<(), SocketError> {
        let msg = match out {
            WireOut::Text(bytes) => Message::Text(
                tungstenite::Utf8Bytes::try_from(bytes).map_err(|e| SocketError(e.to_string()))?,
            ),
            WireOut::Binary(bytes) => Message::Binary(bytes),
            WireOut::Ping => Message::Ping(Default::default()),
            WireOut::Close(code) => Message::Close(Some(CloseFrame {
                code: WsCode::from(code.code()),
                reason: code.reason().into(),
            })),
        };
        Pin::new(&mut self.0).start_send(msg).map_err(err)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        Pin::new(&mut self.0).poll_flush(cx).map_err(err)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        Pin::new(&mut self.0).poll_close(cx).map_err(err)
    }
}
