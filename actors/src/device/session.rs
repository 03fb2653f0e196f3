//! The device session task: one per connection, owning the socket.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use ractor::ActorStatus;

use super::frames::{handshake, Session};
use super::socket::{BoxSink, BoxStream, WireIn, WireOut};
use crate::hub::{ConnPermit, Hub};
use crate::link::{DeviceLink, LinkShared};
use crate::protocol::{CloseCode, ErrorFrame};
use crate::user::UserMsg;

/// Who is on the other end, as established by the token.
#[derive(Debug, Clone)]
pub struct DeviceIdentity {
    /// The user (`sub`).
    pub user: String,
    /// The device id (token claim).
    pub device: String,
    /// `write:watchlist` scope.
    pub write_watchlist: bool,
    /// `write:preferences` scope.
    pub write_preferences: bool,
    /// `playback:control` scope.
    pub playback_control: bool,
    /// The token's id (`jti`), for closing the socket if it is revoked.
    pub jti: Option<String>,
}

/// Why writing stopped.
enum WriteEnd {
    /// The socket failed or a write timed out; close without flushing.
    Broken,
    /// A slow-consumer close interrupted the write.
    Aborted,
}

/// Serve one device connection until it ends. Never fails: every problem is
/// reported to the device as an error frame or close code.
pub async fn run_session(
    hub: Hub,
    permit: ConnPermit,
    ident: DeviceIdentity,
    mut stream: BoxStream,
    mut sink: BoxSink,
) {
    let cfg = hub.config().clone();
    let link = DeviceLink::new(cfg.outbound_queue);
    let shared = link.shared().clone();
    let conn = permit.id();
    let span = tracing::info_span!("device", user = %ident.user, device = %ident.device, conn);
    let _enter = span.enter();

    let user = handshake(&hub, &ident, conn, &link, &mut stream).await;
    if user.is_some() {
        tracing::info!("device attached");
        if let Some(jti) = &ident.jti {
            hub.register_token(jti, conn, &link).await;
        }
    }

    let tick = cfg.pong_timeout.min(cfg.ping_interval);
    let mut ticker = tokio::time::interval(tick);
    let mut last_rx = Instant::now();
    let mut last_ping = Instant::now();
    let mut last_heartbeat = Instant::now();
    let mut broken = false;
    while let Some(user) = &user {
        // Write what is queued first: frames keep their order, and a close
        // requested after them goes out after them.
        match flush(&mut sink, &shared, cfg.write_timeout).await {
            Ok(()) => {}
            Err(WriteEnd::Aborted) => break,
            Err(WriteEnd::Broken) => {
                broken = true;
                break;
            }
        }
        if shared.close_requested().is_some() {
            break;
        }
        let mut session = Session {
            ident: &ident,
            conn,
            link: &link,
            user,
            max_inflight: cfg.max_inflight_ops,
            max_bytes: cfg.max_message_bytes,
        };
        tokio::select! {
            () = shared.wake.notified() => {}
            frame = stream.next() => {
                last_rx = Instant::now();
                match frame {
                    None | Some(WireIn::Close) => {
                        broken = true;
                        break;
                    }
                    Some(WireIn::Pong) => {}
                    Some(WireIn::TooBig) => {
                        session.error(ErrorFrame::new("too_big", format!("frame exceeds {} bytes", cfg.max_message_bytes)));
                        link.close(CloseCode::TooBig);
                    }
                    Some(WireIn::Binary) => session.error(ErrorFrame::new("binary_not_supported", "protocol v1 uses JSON text frames")),
                    Some(WireIn::Text(text)) => {
                        if session.handle_text(&text) {
                            last_heartbeat = last_rx;
                        }
                    }
                }
            }
            _ = ticker.tick() => {
                let now = Instant::now();
                if now.duration_since(last_rx) >= cfg.ping_interval + cfg.pong_timeout
                    || now.duration_since(last_heartbeat) >= cfg.heartbeat_timeout
                {
                    link.close(CloseCode::HeartbeatTimeout);
                } else if now.duration_since(last_ping) >= cfg.ping_interval {
                    last_ping = now;
                    if tokio::time::timeout(cfg.write_timeout, sink.send(WireOut::Ping)).await.map_or(true, |r| r.is_err()) {
                        broken = true;
                        break;
                    }
                }
                if matches!(user.get_status(), ActorStatus::Stopping | ActorStatus::Stopped) {
                    link.close(CloseCode::InternalError);
                }
            }
        }
    }
    if user.is_none() {
        // A refused handshake: deliver the error frame before closing.
        let _ = flush(&mut sink, &shared, cfg.write_timeout).await;
    }
    if !broken {
        let code = shared.close_requested().unwrap_or(CloseCode::Normal);
        // The closing handshake: send our close frame, then read until the
        // peer's (or a second passes), so unread bytes do not turn the
        // close into a reset that could hide the close code from the device.
        let close = async {
            let _ = sink.send(WireOut::Close(code)).await;
            while let Some(frame) = stream.next().await {
                if matches!(frame, WireIn::Close) {
                    break;
                }
            }
            let _ = sink.close().await;
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), close).await;
    }
    if let Some(user) = &user {
        if let Some(jti) = &ident.jti {
            hub.unregister_token(jti, conn);
        }
        let _ = user.cast(UserMsg::Detach {
            device: ident.device.clone(),
            conn,
        });
    }
    tracing::info!(close = ?shared.close_requested(), "device detached");
    drop(permit);
}

/// Write every queued frame, each under the write timeout. A slow-consumer
/// close interrupts a stuck write and skips what is left.
async fn flush(
    sink: &mut BoxSink,
    shared: &LinkShared,
    write_timeout: Duration,
) -> Result<(), WriteEnd> {
    loop {
        if shared.close_requested() == Some(CloseCode::SlowConsumer) {
            return Err(WriteEnd::Aborted);
        }
        let Some(frame) = shared.pop() else {
            return Ok(());
        };
        tokio::select! {
            r = tokio::time::timeout(write_timeout, sink.send(WireOut::Text(frame))) => match r {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(WriteEnd::Broken),
                Err(_) => {
                    metrics::counter!("baton_slow_consumer_disconnects_total").increment(1);
                    return Err(WriteEnd::Broken);
                }
            },
            () = shared.abort.notified() => return Err(WriteEnd::Aborted),
        }
    }
}
