//! Frames from the device: the `hello` handshake, then parsing and routing
//! each frame to the user's actor, with scope and in-flight checks.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ractor::ActorRef;

use super::bounds;
use super::rates::{DeviceRates, Rated, Verdict};
use crate::config::ActorConfig;
use crate::hub::Hub;
use crate::link::DeviceLink;
use crate::protocol::DeviceIdentity;
use crate::protocol::{BoxStream, WireIn};
use crate::protocol::{ClientFrame, CloseCode, ErrorFrame, ServerFrame, PROTOCOL_VERSION};
use crate::user::{DeviceMsg, PersonalMsg, UserMsg};
use crate::wire::parse_client_frame;

/// Wait for `hello` and attach. Returns the user actor, or `None` when the
/// connection must end (the reason was already sent to the device).
/// Control frames (ping, pong) may come first; `hello` must still arrive
/// within `ping_interval + pong_timeout` of the upgrade.
pub(super) async fn handshake(
    hub: &Hub,
    ident: &DeviceIdentity,
    conn: u64,
    link: &DeviceLink,
    stream: &mut BoxStream,
) -> Option<ActorRef<UserMsg>> {
    let cfg = hub.config();
    let refuse = |err: ErrorFrame, code: CloseCode| {
        count_error(&err.code);
        let _ = link.push_frame(&ServerFrame::Error(err));
        link.close(code);
        None
    };
    let deadline = tokio::time::Instant::now() + cfg.timers.ping_interval + cfg.timers.pong_timeout;
    let text = loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(WireIn::Text(text))) => break text,
            Ok(Some(WireIn::Pong)) => {}
            Ok(Some(WireIn::TooBig)) => {
                link.close(CloseCode::TooBig);
                return None;
            }
            Ok(Some(WireIn::Binary(_))) => {
                return refuse(
                    ErrorFrame::new(
                        "hello_required",
                        "the first frame must be a hello text frame",
                    ),
                    CloseCode::ProtocolViolation,
                )
            }
            Ok(None | Some(WireIn::Close(_))) => {
                link.close(CloseCode::Normal);
                return None;
            }
            Err(_) => {
                link.close(CloseCode::HeartbeatTimeout);
                return None;
            }
        }
    };
    let hello = parse_client_frame(&text, cfg.device.max_message_bytes)
        .and_then(|frame| bounds::check(&frame, &cfg.device).map(|()| frame));
    let (device, vv) = match hello {
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
    pub(super) cfg: &'a ActorConfig,
    pub(super) rates: DeviceRates,
}

impl Session<'_> {
    pub(super) fn error(&self, err: ErrorFrame) {
        count_error(&err.code);
        let _ = self.link.push_frame(&ServerFrame::Error(err));
    }

    /// Handle one text frame received at `now`. Returns `true` when it was a
    /// heartbeat.
    pub(super) fn handle_text(&mut self, text: &str, now: Instant) -> bool {
        let parsed = parse_client_frame(text, self.cfg.device.max_message_bytes)
            .and_then(|frame| bounds::check(&frame, &self.cfg.device).map(|()| frame));
        let frame = match parsed {
            Ok(frame) => frame,
            Err(err) => {
                self.error(err);
                return false;
            }
        };
        let heartbeat = matches!(frame, ClientFrame::Heartbeat { .. });
        if let Some(kind) = rated(&frame) {
            if !self.admit(kind, now) {
                return heartbeat;
            }
        }
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
                let max_inflight = self.cfg.device.max_inflight_ops;
                if shared.inflight.load(Ordering::Acquire) >= max_inflight {
                    let mut err = ErrorFrame::new(
                        "too_many_inflight",
                        format!("at most {max_inflight} unacknowledged ops"),
                    )
                    .for_seq(seq);
                    err.retry_after_ms = Some(100);
                    self.error(err);
                    return false;
                }
                shared.inflight.fetch_add(1, Ordering::AcqRel);
                metrics::counter!("baton_ops_received_total").increment(1);
                UserMsg::Device(DeviceMsg::Op {
                    device,
                    conn,
                    seq,
                    op,
                    received: now,
                })
            }
            ClientFrame::Heartbeat { activity } => {
                UserMsg::Device(DeviceMsg::Heartbeat { device, activity })
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
                UserMsg::Device(DeviceMsg::Handoff {
                    device,
                    request_id,
                    target,
                    content,
                    position_ms,
                })
            }
            ClientFrame::Resync {} => {
                if !self.link.shared().request_snapshot() {
                    // A snapshot is already on its way; it answers this one too.
                    metrics::counter!("baton_resyncs_merged_total").increment(1);
                    return false;
                }
                UserMsg::Device(DeviceMsg::Resync { device, conn })
            }
            ClientFrame::Interaction { content, kind } => {
                UserMsg::Personal(PersonalMsg::Interaction {
                    device,
                    content: content.as_str().to_owned(),
                    kind,
                    at_ms: crate::clock::wall_ms(),
                })
            }
        };
        if self.user.cast(msg).is_err() {
            self.link.close(CloseCode::InternalError);
        }
        heartbeat
    }

    /// Apply the device's rate for `kind`: `false` (and a refusal sent, or
    /// the socket closed) when the frame must be dropped.
    fn admit(&mut self, kind: Rated, now: Instant) -> bool {
        let refusal = |wait: Duration| {
            let mut err = ErrorFrame::new(
                "rate_limited",
                format!("too many `{}` frames from this device", kind.frame_type()),
            );
            err.retry_after_ms = Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1));
            err
        };
        match self.rates.admit(kind, now) {
            Verdict::Allow => true,
            Verdict::Refuse(wait) => {
                self.error(refusal(wait));
                false
            }
            Verdict::Disconnect => {
                metrics::counter!("baton_rate_limit_disconnects_total").increment(1);
                self.error(ErrorFrame::new(
                    "rate_limited",
                    "too many refused frames; closing",
                ));
                self.link.close(CloseCode::RateLimited);
                false
            }
        }
    }
}

/// The per-device rate a frame is held to, if any.
fn rated(frame: &ClientFrame) -> Option<Rated> {
    match frame {
        ClientFrame::Handoff { .. } => Some(Rated::Handoff),
        ClientFrame::Resync {} => Some(Rated::Resync),
        ClientFrame::Heartbeat { .. } => Some(Rated::Heartbeat),
        ClientFrame::Interaction { .. } => Some(Rated::Interaction),
        ClientFrame::Hello { .. } | ClientFrame::Op { .. } => None,
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
