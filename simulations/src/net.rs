//! Client sockets at scale: raise `RLIMIT_NOFILE`, spread connections over
//! loopback source addresses (127.0.0.1 .. 127.0.0.N, about 28K ephemeral
//! ports each) and open WebSockets with small buffers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::WebSocketStream;

/// A client WebSocket over a plain TCP stream.
pub type Ws = WebSocketStream<TcpStream>;

/// Raise the soft open-file limit to the hard limit; returns the new soft limit.
pub fn raise_nofile() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(_) => rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft),
    }
}

/// The source address for connection number `n` when `spread` addresses are
/// used: 127.0.0.(1 + n % spread). Only meaningful for a loopback target.
pub fn source_addr(n: usize, spread: usize, target: &SocketAddr) -> Option<SocketAddr> {
    if spread <= 1 || !target.ip().is_loopback() {
        return None;
    }
    let last = u8::try_from(1 + n % spread.min(254)).unwrap_or(1);
    Some(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)),
        0,
    ))
}

/// Why a connection attempt failed.
#[derive(Debug)]
pub enum ConnectError {
    /// The HTTP upgrade was refused with this status (and `Retry-After` seconds).
    Refused(u16, Option<u64>),
    /// Anything else (TCP, handshake, timeout), with a short kind for counting.
    Other(&'static str),
}

impl ConnectError {
    /// Code for the error table.
    pub fn code(&self) -> String {
        match self {
            ConnectError::Refused(s, _) => format!("http_{s}"),
            ConnectError::Other(k) => (*k).to_owned(),
        }
    }
}

/// Small client buffers: the harness must hold tens of thousands of sockets.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(1 << 20))
}

/// TCP connect (from `source` if given) and upgrade at `url` with a bearer token.
pub async fn connect(
    url: &str,
    target: SocketAddr,
    source: Option<SocketAddr>,
    token: &str,
    timeout: Duration,
) -> Result<Ws, ConnectError> {
    let fut = async {
        let socket = TcpSocket::new_v4().map_err(|_| ConnectError::Other("socket"))?;
        if let Some(src) = source {
            socket.bind(src).map_err(|_| ConnectError::Other("bind"))?;
        }
        let stream = socket
            .connect(target)
            .await
            .map_err(|_| ConnectError::Other("tcp_connect"))?;
        let _ = stream.set_nodelay(true);
        let mut req = url
            .into_client_request()
            .map_err(|_| ConnectError::Other("bad_url"))?;
        let auth = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ConnectError::Other("bad_token"))?;
        req.headers_mut().insert("authorization", auth);
        match tokio_tungstenite::client_async_with_config(req, stream, Some(ws_config())).await {
            Ok((ws, _)) => Ok(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                let retry = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok());
                Err(ConnectError::Refused(resp.status().as_u16(), retry))
            }
            Err(_) => Err(ConnectError::Other("ws_handshake")),
        }
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(ConnectError::Other("connect_timeout")),
    }
}
