//! Frames from the device: the `hello` handshake, then parsing and routing
//! each frame to the user's actor, with scope and in-flight checks.

use std::sync::atomic::Ordering;
use std::time::Instant;

use futures_util::StreamExt;
use ractor::ActorRef;

use super::session::DeviceIdentity;
use super::socket::{BoxStream, WireIn};
use crate::hub::Hub;
use crate::link::DeviceLink;
use crate::protocol::{ClientFrame, CloseCode, ErrorFrame, ServerFrame, PROTOCOL_VERSION};
use crate::user::UserMsg;
use crate::wire::parse_client_frame;

/// Wait for `hello` and attach. Returns the user actor, or `None` when the
/// connection must end (the reason was already sent to the device).
pub(super) async fn handshake(
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

pub(super) struct Session<'a> {
    pub(super) ident: &'a DeviceIdentity,
    pub(super) conn: u64,
    pub(super) link: &'a DeviceLink,
    pub(super) user: &'a ActorRef<UserMsg>,
    pub(super) max_inflight: usize,
    pub(super) max_bytes: usize,
}

impl Session<'_> {
    pub(super) fn error(&self, err: ErrorFrame) {
        count_error(&err.code);
        let _ = self.link.push_frame(&ServerFrame::Error(err));
    }

    /// Handle one text frame. Returns `true` when it was a heartbeat.
    pub(super) fn handle_text(&mut self, text: &str) -> bool {
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
            ClientFrame::Interaction { content, kind } => UserMsg::Interaction {
                device,
                content: content.as_str().to_owned(),
                kind,
                at_ms: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
            },
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
