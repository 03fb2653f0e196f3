//! The read half of a device connection: waits for `hello`, attaches the
//! device to its user actor, then parses and routes every frame, pings the
//! device and enforces the liveness and heartbeat timeouts.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::time::Instant;

use futures_util::{Stream, StreamExt};
use ractor::{Actor, ActorRef, ActorStatus};

use super::actor::{BoxSink, DeviceActor, DeviceMsg};
use super::socket::WireIn;
use crate::hub::{ConnPermit, Hub};
use crate::link::{DeviceLink, LinkShared};
use crate::protocol::{ClientFrame, CloseCode, ErrorFrame, ServerFrame, PROTOCOL_VERSION};
use crate::user::UserMsg;
use crate::wire::parse_client_frame;

/// The read half of a device socket.
pub type BoxStream = Pin<Box<dyn Stream<Item = WireIn> + Send>>;

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

/// Serve one device connection until it ends. Never fails: every problem is
/// reported to the device as an error frame or close code.
pub async fn run_session(
    hub: Hub,
    permit: ConnPermit,
    ident: DeviceIdentity,
    mut stream: BoxStream,
    sink: BoxSink,
) {
    let cfg = hub.config().clone();
    let shared = LinkShared::new(cfg.outbound_queue);
    let actor = DeviceActor {
        write_timeout: cfg.write_timeout,
    };
    let Ok((device_ref, _join)) = Actor::spawn(None, actor, (sink, shared.clone())).await else {
        return;
    };
    let link = DeviceLink::new(device_ref.clone(), shared.clone());
    let conn = permit.id();
    let span = tracing::info_span!("device", user = %ident.user, device = %ident.device, conn);
    let _enter = span.enter();

    let user = match handshake(&hub, &ident, conn, &link, &mut stream).await {
        Some(user) => user,
        // The reason is queued behind any error frame; the device actor
        // flushes both and stops.
        None => return,
    };
    tracing::info!("device attached");
    if let Some(jti) = &ident.jti {
        hub.register_token(jti, conn, &link).await;
    }

    let mut session = Session {
        ident: &ident,
        conn,
        link: &link,
        user: &user,
        max_inflight: cfg.max_inflight_ops,
        max_bytes: cfg.max_message_bytes,
    };
    let tick = cfg.pong_timeout.min(cfg.ping_interval);
    let mut ticker = tokio::time::interval(tick);
    let mut last_rx = Instant::now();
    let mut last_ping = Instant::now();
    let mut last_heartbeat = Instant::now();
    loop {
        tokio::select! {
            frame = stream.next() => {
                last_rx = Instant::now();
                match frame {
                    None | Some(WireIn::Close) => break,
                    Some(WireIn::Pong) => {}
                    Some(WireIn::TooBig) => {
                        session.error(ErrorFrame::new("too_big", format!("frame exceeds {} bytes", session.max_bytes)));
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
                    let _ = device_ref.cast(DeviceMsg::Ping);
                }
                if matches!(user.get_status(), ActorStatus::Stopping | ActorStatus::Stopped) {
                    link.close(CloseCode::InternalError);
                }
            }
            _ = shared.stopped.notified() => break,
        }
    }
    device_ref.stop(None);
    if let Some(jti) = &ident.jti {
        hub.unregister_token(jti, conn);
    }
    let _ = user.cast(UserMsg::Detach {
        device: ident.device.clone(),
        conn,
    });
    tracing::info!(
        close = shared.close_code.load(Ordering::Acquire),
        "device detached"
    );
    drop(permit);
}

/// Wait for `hello` and attach. Returns the user actor, or `None` when the
/// connection must end (the reason was already sent to the device).
async fn handshake(
    hub: &Hub,
    ident: &DeviceIdentity,
    conn: u64,
    link: &DeviceLink,
    stream: &mut BoxStream,
) -> Option<ActorRef<UserMsg>> {
    let cfg = hub.config();
    let first = tokio::time::timeout(cfg.ping_interval + cfg.pong_timeout, stream.next()).await;
    let text = match first {
        Ok(Some(WireIn::Text(text))) => text,
        Ok(Some(WireIn::TooBig)) => {
            link.close(CloseCode::TooBig);
            return None;
        }
        Ok(_) => {
            link.close(CloseCode::Normal);
            return None;
        }
        Err(_) => {
            link.close(CloseCode::HeartbeatTimeout);
            return None;
        }
    };
    let refuse = |err: ErrorFrame, code: CloseCode| {
        count_error(&err.code);
        let _ = link.push_frame(&ServerFrame::Error(err));
        link.close(code);
        None
    };
    let (device, vv) = match parse_client_frame(&text, cfg.max_message_bytes) {
        Ok(ClientFrame::Hello {
            protocol: PROTOCOL_VERSION,
            device,
            vv,
        }) => (device, vv),
        Ok(ClientFrame::Hello { protocol, .. }) => {
            return refuse(
                ErrorFrame::new(
                    "unsupported_protocol",
                    format!(
                    "protocol {protocol} is not supported; this server speaks {PROTOCOL_VERSION}"
                ),
                ),
                CloseCode::ProtocolViolation,
            )
        }
        Ok(_) => {
            return refuse(
                ErrorFrame::new("hello_required", "the first frame must be hello"),
                CloseCode::ProtocolViolation,
            )
        }
        Err(err) => return refuse(err, CloseCode::ProtocolViolation),
    };
    match hub.attach(ident, conn, link.clone(), device, vv).await {
        Ok(user) => Some(user),
        Err(err) => {
            let code = if err.code == "overloaded" || err.code == "unavailable" {
                CloseCode::TryAgainLater
            } else {
                CloseCode::ProtocolViolation
            };
            refuse(err, code)
        }
    }
}

struct Session<'a> {
    ident: &'a DeviceIdentity,
    conn: u64,
    link: &'a DeviceLink,
    user: &'a ActorRef<UserMsg>,
    max_inflight: usize,
    max_bytes: usize,
}

impl Session<'_> {
    fn error(&self, err: ErrorFrame) {
        count_error(&err.code);
        let _ = self.link.push_frame(&ServerFrame::Error(err));
    }

    /// Handle one text frame. Returns `true` when it was a heartbeat.
    fn handle_text(&mut self, text: &str) -> bool {
        let frame = match parse_client_frame(text, self.max_bytes) {
            Ok(frame) => frame,
            Err(err) => {
                self.error(err);
                return false;
            }
        };
        let device = self.ident.device.clone();
        let conn = self.conn;
        let msg = match frame {
            ClientFrame::Hello { .. } => {
                self.error(ErrorFrame::new(
                    "unexpected_hello",
                    "hello was already received",
                ));
                return false;
            }
            ClientFrame::Op { seq, op } => {
                if !allowed(self.ident, &op) {
                    self.error(
                        ErrorFrame::new("forbidden", "the token lacks the scope for this op")
                            .for_seq(seq),
                    );
                    return false;
                }
                let shared = self.link.shared();
                if shared.inflight.load(Ordering::Acquire) >= self.max_inflight {
                    let mut err = ErrorFrame::new(
                        "too_many_inflight",
                        format!("at most {} unacknowledged ops", self.max_inflight),
                    )
                    .for_seq(seq);
                    err.retry_after_ms = Some(100);
                    self.error(err);
                    return false;
                }
                shared.inflight.fetch_add(1, Ordering::AcqRel);
                metrics::counter!("baton_ops_received_total").increment(1);
                UserMsg::Op {
                    device,
                    conn,
                    seq,
                    op,
                    received: Instant::now(),
                }
            }
            ClientFrame::Heartbeat { activity } => {
                let _ = self.user.cast(UserMsg::Heartbeat { device, activity });
                return true;
            }
            ClientFrame::Handoff {
                request_id,
                target,
                content,
                position_ms,
            } => {
                if !self.ident.playback_control {
                    self.error(ErrorFrame::new(
                        "forbidden",
                        "handoff needs the playback:control scope",
                    ));
                    return false;
                }
                UserMsg::Handoff {
                    device,
                    request_id,
                    target,
                    content,
                    position_ms,
                }
            }
            ClientFrame::Resync {} => UserMsg::Resync { device, conn },
        };
        if self.user.cast(msg).is_err() {
            self.link.close(CloseCode::InternalError);
        }
        false
    }
}

fn allowed(ident: &DeviceIdentity, op: &baton_crdt::Op) -> bool {
    use baton_crdt::Op;
    match op {
        Op::WatchlistAdd { .. } | Op::WatchlistRemove { .. } => ident.write_watchlist,
        Op::Playback { .. } => ident.playback_control,
        Op::Preferences { .. } => ident.write_preferences,
    }
}

pub(crate) fn count_error(code: &str) {
    metrics::counter!("baton_protocol_errors_total", "code" => code.to_owned()).increment(1);
}
