//! Relaying a device to its owner node: frames both ways, close codes
//! included, over the same [`WireIn`]/[`WireOut`] interface as the device
//! sessions and the PubNub bridge. Frames that arrive together are written
//! together and flushed once.

use std::time::{Duration, Instant};

use baton_actors::protocol::CloseCode;
use baton_actors::{BoxSink, BoxStream, ConnPermit, SocketError, WireIn, WireOut};
use futures_util::{FutureExt, SinkExt, StreamExt};

use super::{Forwarding, OwnerSocket};

/// The device's socket.
pub struct DeviceSocket {
    /// Frames from the device.
    pub stream: BoxStream,
    /// Frames to the device.
    pub sink: BoxSink,
}

/// The device's liveness: pinged every `ping_interval`, dropped after
/// `pong_timeout` of silence beyond it, as on the owner.
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    /// Time between pings.
    pub ping_interval: Duration,
    /// Silence allowed after a ping is due.
    pub pong_timeout: Duration,
}

/// Most frames passed on in one burst before the relay turns to the other
/// direction and its liveness timer: a fast sender cannot starve them.
const MAX_BURST: usize = 64;

/// Which side ended the relay, and how.
enum End {
    /// The device closed (or its socket failed).
    Device,
    /// The device sent a frame over the size limit.
    DeviceTooBig,
    /// The owner closed with this code (or its socket failed: `None`).
    Owner(Option<CloseCode>),
    /// The device went silent.
    Silent,
    /// This node is shutting down.
    Closing,
}

impl Forwarding {
    /// Relay frames between a device and its owner until either side closes;
    /// holds `permit` (the device's connection slot) until then.
    pub async fn relay(
        &self,
        device: DeviceSocket,
        owner: OwnerSocket,
        permit: ConnPermit,
        live: Liveness,
    ) {
        metrics::gauge!("baton_forwarded_sockets").increment(1.0);
        let mut closing = self.closing.subscribe();
        let (mut dev_rx, mut dev_tx) = (device.stream, device.sink);
        let (mut own_rx, mut own_tx) = (owner.stream, owner.sink);
        let mut ticker = tokio::time::interval(live.ping_interval.min(live.pong_timeout));
        let mut last_rx = Instant::now();
        let mut last_ping = Instant::now();
        let end = loop {
            if *closing.borrow_and_update() {
                break End::Closing;
            }
            tokio::select! {
                _ = closing.changed() => continue,
                first = dev_rx.next() => {
                    last_rx = Instant::now();
                    match pass(first, &mut dev_rx, &mut own_tx).await {
                        Ok(()) => {}
                        Err(Passed::Closed(Some(CloseCode::TooBig))) => break End::DeviceTooBig,
                        Err(Passed::Closed(_)) => break End::Device,
                        Err(Passed::WriteFailed) => break End::Owner(None),
                    }
                }
                first = own_rx.next() => {
                    match pass(first, &mut own_rx, &mut dev_tx).await {
                        Ok(()) => {}
                        // A frame over our limit from the owner: a broken peer.
                        Err(Passed::Closed(Some(CloseCode::TooBig))) => break End::Owner(None),
                        Err(Passed::Closed(code)) => break End::Owner(code),
                        Err(Passed::WriteFailed) => break End::Device,
                    }
                }
                _ = ticker.tick() => {
                    if last_rx.elapsed() > live.ping_interval + live.pong_timeout {
                        break End::Silent;
                    }
                    if last_ping.elapsed() >= live.ping_interval {
                        last_ping = Instant::now();
                        let _ = dev_tx.send(WireOut::Ping).await;
                    }
                }
            }
        };
        let (to_owner, to_device) = match end {
            End::Device | End::Silent => (Some(CloseCode::Normal), None),
            End::DeviceTooBig => (Some(CloseCode::Normal), Some(CloseCode::TooBig)),
            // The owner died or dropped us: the device reconnects and resumes.
            End::Owner(None) => (None, Some(CloseCode::InternalError)),
            End::Owner(Some(code)) => (None, Some(code)),
            End::Closing => (Some(CloseCode::Normal), Some(CloseCode::GoingAway)),
        };
        if let Some(code) = to_owner {
            let _ = own_tx.send(WireOut::Close(code)).await;
        }
        if let Some(code) = to_device {
            let _ = dev_tx.send(WireOut::Close(code)).await;
        }
        drop(permit);
        metrics::gauge!("baton_forwarded_sockets").decrement(1.0);
    }
}

/// Why passing frames on stopped.
enum Passed {
    /// The reading side closed (with its code, if any).
    Closed(Option<CloseCode>),
    /// Writing to the other side failed.
    WriteFailed,
}

/// Write `first` and the frames already waiting behind it (at most
/// [`MAX_BURST`] in all) to `to`, then flush once. Liveness frames are not
/// passed on (each side has its own).
async fn pass(first: Option<WireIn>, from: &mut BoxStream, to: &mut BoxSink) -> Result<(), Passed> {
    let mut next = first;
    let mut passed = 0;
    loop {
        let out = match next {
            Some(WireIn::Text(text)) => Some(WireOut::Text(text.into())),
            Some(WireIn::Binary(bytes)) => Some(WireOut::Binary(bytes)),
            Some(WireIn::Pong) => None,
            Some(WireIn::Close(code)) => {
                flush(to).await?;
                return Err(Passed::Closed(code));
            }
            Some(WireIn::TooBig) => {
                flush(to).await?;
                return Err(Passed::Closed(Some(CloseCode::TooBig)));
            }
            None => {
                flush(to).await?;
                return Err(Passed::Closed(None));
            }
        };
        if let Some(out) = out {
            to.feed(out).await.map_err(write_failed)?;
        }
        passed += 1;
        if passed == MAX_BURST {
            return flush(to).await;
        }
        match from.next().now_or_never() {
            Some(more) => next = more,
            None => return flush(to).await,
        }
    }
}

async fn flush(to: &mut BoxSink) -> Result<(), Passed> {
    to.flush().await.map_err(write_failed)
}

fn write_failed(_: SocketError) -> Passed {
    Passed::WriteFailed
}
