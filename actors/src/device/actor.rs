//! The device actor: writes queued frames to the socket, one at a time, each
//! under a write timeout, and sends the close frame when it stops.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Sink, SinkExt};
use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::socket::{SocketError, WireOut};
use crate::link::LinkShared;
use crate::protocol::CloseCode;

/// The write half of a device socket.
pub type BoxSink = Pin<Box<dyn Sink<WireOut, Error = SocketError> + Send>>;

/// Messages to a device actor.
#[derive(Debug)]
pub enum DeviceMsg {
    /// Write this encoded frame.
    Push(Bytes),
    /// Write a WebSocket ping.
    Ping,
    /// Close the socket with the code stored in the link, after queued frames.
    Close,
}

/// The device actor (configuration only; the state is the socket).
pub(crate) struct DeviceActor {
    pub(crate) write_timeout: Duration,
}

pub(crate) struct DeviceState {
    sink: BoxSink,
    shared: Arc<LinkShared>,
}

impl Actor for DeviceActor {
    type Msg = DeviceMsg;
    type State = DeviceState;
    type Arguments = (BoxSink, Arc<LinkShared>);

    async fn pre_start(
        &self,
        _myself: ActorRef<DeviceMsg>,
        (sink, shared): Self::Arguments,
    ) -> Result<DeviceState, ActorProcessingErr> {
        metrics::gauge!("baton_device_actors").increment(1.0);
        Ok(DeviceState { sink, shared })
    }

    async fn handle(
        &self,
        myself: ActorRef<DeviceMsg>,
        msg: DeviceMsg,
        state: &mut DeviceState,
    ) -> Result<(), ActorProcessingErr> {
        let out = match msg {
            DeviceMsg::Push(text) => {
                state.shared.queued.fetch_sub(1, Ordering::AcqRel);
                WireOut::Text(text)
            }
            DeviceMsg::Ping => WireOut::Ping,
            DeviceMsg::Close => {
                myself.stop(None);
                return Ok(());
            }
        };
        let write = tokio::time::timeout(self.write_timeout, state.sink.send(out));
        let result = tokio::select! {
            r = write => r,
            () = state.shared.abort.notified() => {
                myself.stop(None);
                return Ok(());
            }
        };
        match result {
            Ok(Ok(())) => {}
            Ok(Err(_)) => myself.stop(None),
            Err(_) => {
                state
                    .shared
                    .close_code
                    .store(CloseCode::SlowConsumer.code(), Ordering::Release);
                metrics::counter!("baton_slow_consumer_disconnects_total").increment(1);
                myself.stop(None);
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<DeviceMsg>,
        state: &mut DeviceState,
    ) -> Result<(), ActorProcessingErr> {
        metrics::gauge!("baton_device_actors").decrement(1.0);
        let code = match state.shared.close_code.load(Ordering::Acquire) {
            0 => CloseCode::Normal,
            n => close_code_from(n),
        };
        let close = async {
            let _ = state.sink.send(WireOut::Close(code)).await;
            let _ = state.sink.close().await;
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), close).await;
        state.shared.stopped.notify_one();
        Ok(())
    }
}

fn close_code_from(n: u16) -> CloseCode {
    [
        CloseCode::GoingAway,
        CloseCode::PolicyViolation,
        CloseCode::TooBig,
        CloseCode::InternalError,
        CloseCode::ServiceRestart,
        CloseCode::TryAgainLater,
        CloseCode::ProtocolViolation,
        CloseCode::Replaced,
        CloseCode::HeartbeatTimeout,
        CloseCode::SlowConsumer,
    ]
    .into_iter()
    .find(|c| c.code() == n)
    .unwrap_or(CloseCode::Normal)
}
