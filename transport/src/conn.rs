//! One accepted HTTP connection, from `accept` until it ends or upgrades.
//!
//! Three limits ([`HttpLimits`]) keep connections that never become devices
//! from holding the node's descriptors:
//! - **header-read timeout**: hyper's own timer (`header_read_timeout` with
//!   `TokioTimer`) closes a connection whose request head is not complete in
//!   time, counted from when the server starts waiting for it (the accept, or
//!   the end of the previous response): slowloris and silent connections alike.
//! - **idle timeout**: a connection with no request being handled that moves
//!   no byte either way for this long is closed (a client that stops reading
//!   its response, a keep-alive connection left open).
//! - **pre-upgrade slots**: at most `max_pending_connections` connections may
//!   be open and not upgraded. One past the cap is answered `503
//!   too_many_connections` with one non-blocking write and closed at accept,
//!   before anything is read or spawned for it.
//!
//! Once a connection upgrades to a WebSocket, hyper hands the socket over, its
//! task ends and its slot is released: none of these apply to a device, whose
//! liveness the session's pings and heartbeats own.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio::time::Instant;
use tower::ServiceExt as _;

/// Limits of HTTP connections that have not upgraded.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Time to receive a complete request head, from when one is awaited.
    pub header_read_timeout: Duration,
    /// Time a connection may move no byte while no request is being handled.
    pub idle_timeout: Duration,
    /// Connections open and not upgraded; more are refused with 503 at accept.
    pub max_pending_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_pending_connections: 1024,
        }
    }
}

/// Written to a connection refused at accept; stable code `too_many_connections`.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 91\r\n\r\n\
{\"error\":{\"code\":\"too_many_connections\",\"message\":\"too many connections not yet upgraded\"}}";

/// Refuse a connection past the pre-upgrade cap: one non-blocking write of a
/// 503, then close. Nothing is read and no task is spawned.
pub(crate) fn refuse(tcp: TcpStream) {
    metrics::counter!("baton_http_connections_refused_total").increment(1);
    // Best effort: a full send buffer just means the client sees the close.
    let _ = tcp.try_write(REFUSED);
}

/// Serve one connection on its own task. `slot` is released when the
/// connection ends or upgrades; `stop` asks it to finish its current request
/// and close; `done` is held until the task ends (the server waits for all).
pub(crate) fn spawn(
    tcp: TcpStream,
    slot: OwnedSemaphorePermit,
    app: Router,
    limits: HttpLimits,
    mut stop: watch::Receiver<bool>,
    done: watch::Receiver<()>,
) {
    tokio::spawn(async move {
        let _slot = slot;
        let _done = done;
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Tracked {
            tcp,
            activity: activity.clone(),
        });
        let handler = activity.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let busy = Busy::new(handler.clone());
            let app = app.clone();
            async move {
                let response = app.oneshot(req).await;
                drop(busy);
                response
            }
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout);
        let conn = builder.serve_connection(io, service).with_upgrades();
        tokio::pin!(conn);
        let mut stopping = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        if e.is_timeout() {
                            closed("header_timeout");
                        } else {
                            tracing::trace!(error = %e, "connection ended");
                        }
                    }
                    break;
                }
                () = idle(&activity, limits.idle_timeout) => {
                    closed("idle");
                    break;
                }
                _ = stop.changed(), if !stopping => {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    });
}

fn closed(reason: &'static str) {
    metrics::counter!("baton_http_connections_timed_out_total", "reason" => reason).increment(1);
    tracing::debug!(reason, "closing an HTTP connection");
}

/// When the connection last moved a byte or finished a request, and how many
/// requests it is handling.
struct Activity {
    opened: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_since(&self) -> Instant {
        self.opened + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// Resolves once no request is being handled and no byte has moved for `timeout`.
async fn idle(activity: &Activity, timeout: Duration) {
    loop {
        let deadline = activity.idle_since() + timeout;
        let now = Instant::now();
        if now >= deadline {
            if activity.in_flight.load(Ordering::Acquire) == 0 {
                return;
            }
            // A handler is running; it touches the activity when it ends.
            tokio::time::sleep_until(now + timeout).await;
        } else {
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A request being handled (the idle timer does not run meanwhile).
struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The TCP stream, noting every byte that moves.
struct Tracked {
    tcp: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        poll
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.tcp).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::REFUSED;

    #[test]
    fn refusal_is_a_well_formed_response() {
        let text = std::str::from_utf8(REFUSED).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).expect("json body");
        assert_eq!(json["error"]["code"], "too_many_connections");
    }
}
