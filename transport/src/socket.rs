//! Adapts axum's WebSocket to the actor layer's `WireIn` / `WireOut`.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use baton_actors::protocol::CloseCode;
use baton_actors::{BoxSink, BoxStream, SocketError, WireIn, WireOut};
use futures_util::stream::SplitSink;
use futures_util::{Sink, StreamExt};
use tokio_tungstenite::tungstenite;

/// Split a socket into the stream and sink the device session runs on.
pub fn adapt(socket: WebSocket) -> (BoxStream, BoxSink) {
    let (sink, stream) = socket.split();
    let stream = stream.map(|msg| match msg {
        Ok(Message::Text(text)) => WireIn::Text(text.as_str().to_owned()),
        Ok(Message::Binary(bytes)) => WireIn::Binary(bytes),
        Ok(Message::Ping(_) | Message::Pong(_)) => WireIn::Pong,
        Ok(Message::Close(frame)) => WireIn::Close(frame.map(|f| CloseCode::from_code(f.code))),
        Err(err) => match err.into_inner().downcast::<tungstenite::Error>() {
            Ok(e) if matches!(*e, tungstenite::Error::Capacity(_)) => WireIn::TooBig,
            _ => WireIn::Close(None),
        },
    });
    (Box::pin(stream), Box::pin(WsSink(sink)))
}

/// The write half, mapping `WireOut` to WebSocket messages. Unlike
/// `SinkExt::sink_map_err`, it may be used again after an error (the
/// device actor still tries to send a close frame).
struct WsSink(SplitSink<WebSocket, Message>);

fn err(e: axum::Error) -> SocketError {
    SocketError(e.to_string())
}

impl Sink<WireOut> for WsSink {
    type Error = SocketError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        Pin::new(&mut self.0).poll_ready(cx).map_err(err)
    }

    fn start_send(mut self: Pin<&mut Self>, out: WireOut) -> Result<(), SocketError> {
        let msg = match out {
            WireOut::Text(bytes) => {
                Message::Text(Utf8Bytes::try_from(bytes).map_err(|e| SocketError(e.to_string()))?)
            }
            WireOut::Binary(bytes) => Message::Binary(bytes),
            WireOut::Ping => Message::Ping(Default::default()),
            WireOut::Close(code) => Message::Close(Some(CloseFrame {
                code: code.code(),
                reason: Utf8Bytes::from_static(code.reason()),
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
