//! The device session task: one per connection, owning the socket.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use ractor::ActorStatus;
use tracing::Instrument;

use super::frames::{handshake, Session};
use super::rates::DeviceRates;
use crate::hub::{ConnPermit, Hub};
use crate::link::{DeviceLink, LinkShared, QueueBounds};
use crate::protocol::{BoxSink, BoxStream, CloseCode, DeviceIdentity, ErrorFrame, WireIn, WireOut};
use crate::user::{DeviceMsg, UserMsg};

/// Why writing stopped.
enum WriteEnd {
    /// The socket failed; close without a close frame.
    Broken,
    /// The device is being disconnected: a slow-consumer close interrupted
    /// the write, or a write timed out.
    SlowConsumer,
}

/// Serve one device connection until it ends. Never fails: every problem is
/// reported to the device as an error frame or close code. Everything it logs
/// carries the connection's span (user, device, conn), and only its own.
pub async fn run_session(
    hub: Hub,
    permit: ConnPermit,
    ident: DeviceIdentity,
    stream: BoxStream,
    sink: BoxSink,
) {
    let span = tracing::info_span!(
        "device",
        user = %ident.user,
        device = %ident.device,
        conn = permit.id()
    );
    serve(hub, permit, ident, stream, sink)
        .instrument(span)
        .await;
}

async fn serve(
    hub: Hub,
    permit: ConnPermit,
    ident: DeviceIdentity,
    mut stream: BoxStream,
    mut sink: BoxSink,
) {
    let cfg = hub.config();
    let link = DeviceLink::new(QueueBounds {
        frames: cfg.device.outbound_queue,
        bytes: cfg.device.outbound_queue_bytes,
        catch_up_bytes: cfg.device.catch_up_queue_bytes,
    });
    let shared = link.shared().clone();
    let conn = permit.id();

    // Boxed: the handshake (activation, attach) is the largest state of this
    // future; inline it would be held for the whole life of the connection.
    let user = Box::pin(handshake(&hub, &ident, conn, &link, &mut stream)).await;
    if user.is_some() {
        tracing::info!("device attached");
        if let Some(jti) = &ident.jti {
            hub.register_token(jti, conn, &link).await;
        }
    }

    let expiry = tokio::time::sleep_until(
        expiry_deadline(
            ident.expires_at,
            cfg.timers.token_leeway,
            Instant::now(),
            unix_now(),
        )
        .map_or_else(far_future, tokio::time::Instant::from_std),
    );
    tokio::pin!(expiry);
    let tick = cfg.timers.pong_timeout.min(cfg.timers.ping_interval);
    let mut ticker = tokio::time::interval(tick);
    let mut last_rx = Instant::now();
    let mut last_ping = Instant::now();
    let mut last_heartbeat = Instant::now();
    let mut broken = false;
    let mut session = user.as_ref().map(|user| Session {
        ident: &ident,
        conn,
        link: &link,
        user,
        cfg,
        rates: DeviceRates::new(&cfg.device, Instant::now()),
    });
    while let Some(session) = &mut session {
        // Write what is queued first: frames keep their order, and a close
        // requested after them goes out after them.
        match flush(&mut sink, &shared, cfg.timers.write_timeout).await {
            Ok(()) => {}
            Err(WriteEnd::SlowConsumer) => break,
            Err(WriteEnd::Broken) => {
                broken = true;
                break;
            }
        }
        if shared.close_requested().is_some() {
            break;
        }
        tokio::select! {
            () = shared.wake.notified() => {}
            () = &mut expiry, if ident.expires_at.is_some() => {
                tracing::info!("token expired");
                link.close(CloseCode::PolicyViolation);
            }
            frame = stream.next() => {
                last_rx = Instant::now();
                match frame {
                    None | Some(WireIn::Close(_)) => {
                        broken = true;
                        break;
                    }
                    Some(WireIn::Pong) => {}
                    Some(WireIn::TooBig) => {
                        session.error(ErrorFrame::new("too_big", format!("frame exceeds {} bytes", cfg.device.max_message_bytes)));
                        link.close(CloseCode::TooBig);
                    }
                    Some(WireIn::Binary(_)) => session.error(ErrorFrame::new("binary_not_supported", "protocol v1 uses JSON text frames")),
                    Some(WireIn::Text(text)) => {
                        if session.handle_text(&text, last_rx) {
                            last_heartbeat = last_rx;
                        }
                    }
                }
            }
            _ = ticker.tick() => {
                let now = Instant::now();
                if now.duration_since(last_rx) >= cfg.timers.ping_interval + cfg.timers.pong_timeout
                    || now.duration_since(last_heartbeat) >= cfg.timers.heartbeat_timeout
                {
                    link.close(CloseCode::HeartbeatTimeout);
                } else if now.duration_since(last_ping) >= cfg.timers.ping_interval {
                    last_ping = now;
                    if tokio::time::timeout(cfg.timers.write_timeout, sink.send(WireOut::Ping)).await.map_or(true, |r| r.is_err()) {
                        broken = true;
                        break;
                    }
                }
                if matches!(session.user.get_status(), ActorStatus::Stopping | ActorStatus::Stopped) {
                    link.close(CloseCode::InternalError);
                }
            }
        }
    }
    if user.is_none() {
        // A refused handshake: deliver the error frame before closing.
        let _ = flush(&mut sink, &shared, cfg.timers.write_timeout).await;
    }
    if !broken {
        let code = shared.close_requested().unwrap_or(CloseCode::Normal);
        Box::pin(close(
            &mut sink,
            &mut stream,
            &shared,
            code,
            cfg.timers.close_timeout,
        ))
        .await;
    }
    if let Some(user) = &user {
        if let Some(jti) = &ident.jti {
            hub.unregister_token(jti, conn);
        }
        let _ = user.cast(UserMsg::Device(DeviceMsg::Detach {
            device: ident.device.clone(),
            conn,
        }));
    }
    tracing::info!(close = ?shared.close_requested(), "device detached");
    drop(permit);
}

/// The closing handshake. A slow consumer's unwritten frames are dropped; the
/// close frame then follows whatever part of a frame the socket already took
/// (a frame cannot be cut short without corrupting the stream), so it reaches
/// a device that reads again within `wait`. Then read until the peer's close
/// (at most `wait` again), so unread bytes do not turn the close into a reset
/// that could hide the close code from the device.
async fn close(
    sink: &mut BoxSink,
    stream: &mut BoxStream,
    shared: &LinkShared,
    code: CloseCode,
    wait: Duration,
) {
    if code == CloseCode::SlowConsumer {
        shared.clear();
    }
    let sent = tokio::time::timeout(wait, sink.send(WireOut::Close(code))).await;
    if !matches!(sent, Ok(Ok(()))) {
        tracing::debug!(?code, "close frame not delivered within the close timeout");
        return;
    }
    let drain = async {
        while let Some(frame) = stream.next().await {
            if matches!(frame, WireIn::Close(_)) {
                break;
            }
        }
        let _ = sink.close().await;
    };
    let _ = tokio::time::timeout(wait, drain).await;
}

/// Write every queued frame, then flush the socket once: the frames go out in
/// as few writes as the socket's write buffer allows, not one `send` (and one
/// syscall) per frame. Each frame handed to the socket and the final flush
/// run under the write timeout; a slow-consumer close interrupts a stuck
/// write and skips what is left; a write that takes longer than the timeout
/// makes the device a slow consumer.
async fn flush(
    sink: &mut BoxSink,
    shared: &LinkShared,
    write_timeout: Duration,
) -> Result<(), WriteEnd> {
    let mut fed = false;
    loop {
        if shared.close_requested() == Some(CloseCode::SlowConsumer) {
            return Err(WriteEnd::SlowConsumer);
        }
        let frame = shared.pop();
        let last = frame.is_none();
        if last && !fed {
            return Ok(());
        }
        fed = true;
        let write = async {
            match frame {
                Some(frame) => sink.feed(WireOut::Text(frame)).await,
                None => sink.flush().await,
            }
        };
        tokio::select! {
            r = tokio::time::timeout(write_timeout, write) => match r {
                Ok(Ok(())) if last => return Ok(()),
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(WriteEnd::Broken),
                Err(_) => {
                    metrics::counter!("baton_slow_consumer_disconnects_total").increment(1);
                    // A close already requested keeps its code.
                    shared.request_close(CloseCode::SlowConsumer);
                    return Err(WriteEnd::SlowConsumer);
                }
            },
            () = shared.abort.notified() => return Err(WriteEnd::SlowConsumer),
        }
    }
}

/// When a session whose token expires at `exp` (Unix seconds) must close:
/// at `exp + leeway`, as an instant measured from (`now`, `unix_now`).
pub(super) fn expiry_deadline(
    exp: Option<u64>,
    leeway: Duration,
    now: Instant,
    unix_now: Duration,
) -> Option<Instant> {
    let close_at = Duration::from_secs(exp?).saturating_add(leeway);
    now.checked_add(close_at.saturating_sub(unix_now))
}

fn unix_now() -> Duration {
    Duration::from_millis(crate::clock::wall_ms())
}

/// A deadline that never comes (about thirty years away).
fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};

    use bytes::Bytes;

    /// Records what the session does to its socket: frames handed over, and
    /// how many frames each flush carried.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<(Vec<WireOut>, Vec<usize>)>>);

    impl futures_util::Sink<WireOut> for Recorder {
        type Error = crate::protocol::SocketError;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
        fn start_send(self: Pin<&mut Self>, out: WireOut) -> Result<(), Self::Error> {
            if let Ok(mut r) = self.0.lock() {
                r.0.push(out);
            }
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            if let Ok(mut r) = self.0.lock() {
                let flushed: usize = r.1.iter().sum();
                let carried = r.0.len() - flushed;
                r.1.push(carried);
            }
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn queued_frames_go_out_in_order_with_one_flush() {
        let link = DeviceLink::new(QueueBounds {
            frames: 16,
            bytes: 1024,
            catch_up_bytes: 0,
        });
        for frame in ["a", "b", "c"] {
            assert!(link.push(Bytes::from_static(frame.as_bytes())).is_ok());
        }
        let rec = Recorder::default();
        let mut sink: BoxSink = Box::pin(rec.clone());
        assert!(flush(&mut sink, link.shared(), Duration::from_secs(5))
            .await
            .is_ok());
        let (frames, flushes) = rec.0.lock().map(|r| r.clone()).unwrap_or_default();
        let texts: Vec<_> = frames
            .iter()
            .map(|f| match f {
                WireOut::Text(b) => b.clone(),
                _ => Bytes::new(),
            })
            .collect();
        assert_eq!(texts, ["a", "b", "c"]);
        assert_eq!(flushes, [3], "three frames, one flush");
        assert!(flush(&mut sink, link.shared(), Duration::from_secs(5))
            .await
            .is_ok());
        assert_eq!(
            rec.0.lock().map(|r| r.1.len()).unwrap_or_default(),
            1,
            "nothing queued: no flush"
        );
    }

    #[test]
    fn the_session_ends_at_exp_plus_leeway() {
        let now = Instant::now();
        let unix = Duration::from_secs(1_000);
        let leeway = Duration::from_secs(30);
        assert_eq!(
            expiry_deadline(Some(1_100), leeway, now, unix),
            Some(now + Duration::from_secs(130))
        );
        assert_eq!(
            expiry_deadline(Some(900), leeway, now, unix),
            Some(now),
            "already past exp + leeway: close at once"
        );
        assert_eq!(expiry_deadline(None, leeway, now, unix), None);
    }
}
