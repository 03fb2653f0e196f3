//! The socket as the actor layer sees it: a stream of [`WireIn`] and a sink of
//! [`WireOut`]. The transport adapts a real WebSocket to these, the cluster's
//! relay sees both the device's and the owner's socket through them, the
//! PubNub bridge feeds its virtual sessions with them; tests can use an
//! in-memory pipe.

use bytes::Bytes;

use crate::CloseCode;

/// What arrives from a device.
#[derive(Debug)]
pub enum WireIn {
    /// A text frame.
    Text(String),
    /// A binary frame (not part of protocol v1; a relay passes it on).
    Binary(Bytes),
    /// A pong or ping (liveness only).
    Pong,
    /// The peer closed the socket, with its close code when it gave a known one.
    Close(Option<CloseCode>),
    /// The frame exceeded the size limit.
    TooBig,
}

/// What is sent to a device.
#[derive(Debug, Clone)]
pub enum WireOut {
    /// A text frame; the bytes are UTF-8 JSON.
    Text(Bytes),
    /// A binary frame (only a relay sends one: the device sent it).
    Binary(Bytes),
    /// A ping.
    Ping,
    /// A close frame.
    Close(CloseCode),
}

/// Writing to the socket failed; the connection is finished.
#[derive(Debug, thiserror::Error)]
#[error("socket: {0}")]
pub struct SocketError(pub String);

/// The read half of a device socket.
pub type BoxStream = std::pin::Pin<Box<dyn futures_util::Stream<Item = WireIn> + Send>>;

/// The write half of a device socket.
pub type BoxSink = std::pin::Pin<Box<dyn futures_util::Sink<WireOut, Error = SocketError> + Send>>;
