//! One connected session of a virtual device: `hello`, catch-up (deltas or
//! snapshot) until `synced`, then frames from the server, commands from the
//! workload and heartbeats, until the socket is lost or a command ends it.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use baton_actors::protocol::{
    Activity, ClientFrame, DeviceHello, HandoffOutcome, LeaseView, ServerFrame,
};
use baton_crdt::{ContentId, PlayState, UserDoc};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::{Cmd, Device, End};
use crate::metrics::{Lat, Recorder};
use crate::net::Ws;

/// Error codes after which the refused op is retried (after the hint).
const RETRYABLE: &[&str] = &["rate_limited", "too_many_inflight", "unavailable"];

#[derive(Default)]
struct Catchup {
    synced: bool,
    next_seq: u64,
    snapshot: String,
}

enum Ev {
    Frame(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Cmd(Option<Cmd>),
    Beat,
}

impl Device {
    /// Run one session on `ws`; `intended` is when the connection was meant
    /// to start (connect latency is measured from it).
    pub(super) async fn session(
        &mut self,
        mut ws: Ws,
        rx: &mut mpsc::Receiver<Cmd>,
        intended: Instant,
        _first: bool,
    ) -> End {
        let end = self.session_inner(&mut ws, rx, intended).await;
        if self.started {
            self.env.rec.counters.online.fetch_sub(1, Ordering::Relaxed);
        }
        match end {
            // Abrupt: drop the TCP stream without a close handshake.
            End::Dropped(_) => drop(ws),
            End::Lost(_) => {}
            _ => {
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
            }
        }
        end
    }

    async fn session_inner(
        &mut self,
        ws: &mut Ws,
        rx: &mut mpsc::Receiver<Cmd>,
        intended: Instant,
    ) -> End {
        let slot = &self.user.devices[self.idx];
        let hello = ClientFrame::Hello {
            protocol: 1,
            device: DeviceHello {
                kind: slot.kind.to_owned(),
                name: slot.id.clone(),
                capabilities: vec!["playback".into()],
            },
            vv: self.doc.vv().clone(),
        };
        if send(ws, serde_json::to_string(&hello).unwrap_or_default())
            .await
            .is_err()
        {
            return End::Lost(None);
        }
        let mut cu = Catchup::default();
        let period = self.env.heartbeat;
        let mut beat = tokio::time::interval_at((Instant::now() + period).into(), period);
        loop {
            let ev = tokio::select! {
                msg = ws.next() => Ev::Frame(msg),
                cmd = rx.recv() => Ev::Cmd(cmd),
                _ = beat.tick() => Ev::Beat,
            };
            let result = match ev {
                Ev::Frame(Some(Ok(Message::Text(t)))) => {
                    match serde_json::from_str::<ServerFrame>(&t) {
                        Ok(f) => self.on_frame(f, &mut cu, intended),
                        Err(_) => {
                            self.env.rec.error("unparsed_server_frame");
                            Ok(Vec::new())
                        }
                    }
                }
                Ev::Frame(Some(Ok(Message::Close(c)))) => {
                    let code = c.map(|f| u16::from(f.code));
                    Err(if code == Some(4001) {
                        End::Stop
                    } else {
                        End::Lost(code)
                    })
                }
                Ev::Frame(Some(Ok(_))) => Ok(Vec::new()),
                Ev::Frame(Some(Err(_)) | None) => Err(End::Lost(None)),
                Ev::Cmd(cmd) => self.on_cmd(cmd, cu.synced),
                Ev::Beat => Ok(self.heartbeat(cu.synced)),
            };
            match result {
                Ok(frames) => {
                    for f in frames {
                        if send(ws, f).await.is_err() {
                            return End::Lost(None);
                        }
                    }
                }
                Err(end) => return end,
            }
            if cu.synced {
                self.check_waiters();
            }
        }
    }

    fn on_frame(
        &mut self,
        frame: ServerFrame,
        cu: &mut Catchup,
        intended: Instant,
    ) -> Result<Vec<String>, End> {
        match frame {
            ServerFrame::Welcome(w) => {
                self.q.max_inflight = w.limits.max_inflight_ops.max(1);
                if w.reset {
                    self.doc = UserDoc::new();
                }
                self.lease = w.lease;
                cu.next_seq = w.next_seq;
            }
            ServerFrame::Delta(op) => {
                if cu.synced {
                    Recorder::inc(&self.env.rec.counters.deltas);
                    if op.device != self.id() {
                        if let Some(t) = self
                            .user
                            .index_of(&op.device)
                            .and_then(|d| self.user.intended(d, op.seq))
                        {
                            self.env.rec.record(Lat::Propagation, t.elapsed());
                        }
                    }
                }
                if self.doc.replay(&op).is_err() {
                    self.env.rec.error("replica_apply");
                }
            }
            ServerFrame::SnapshotChunk {
                index, total, data, ..
            } => {
                cu.snapshot.push_str(&data);
                if index + 1 >= total {
                    match UserDoc::from_snapshot_bytes(cu.snapshot.as_bytes()) {
                        Ok(doc) => self.doc = doc,
                        Err(_) => self.env.rec.error("snapshot_parse"),
                    }
                    cu.snapshot.clear();
                }
            }
            ServerFrame::Synced { .. } => {
                cu.synced = true;
                self.started = true;
                self.synced_at = Some(Instant::now());
                self.env.rec.counters.online.fetch_add(1, Ordering::Relaxed);
                Recorder::inc(&self.env.rec.counters.connects);
                self.record_connect(intended);
                let mut out = self.resume(cu.next_seq);
                out.extend(self.pump());
                return Ok(out);
            }
            ServerFrame::Ack { seq, version, .. } => {
                self.acked(seq, version);
                return Ok(self.pump());
            }
            ServerFrame::Lease(l) => self.set_lease(l),
            ServerFrame::PlaybackControl {
                request_id, lease, ..
            } => {
                let me = self.id().to_owned();
                self.set_lease(LeaseView {
                    holder: Some(me),
                    token: lease,
                });
                if let Some(t) = self.user.handoff_done(&request_id) {
                    self.env.rec.record(Lat::Handoff, t.elapsed());
                }
            }
            ServerFrame::HandoffResult { outcome, .. } => {
                self.handing_off = false;
                if outcome == HandoffOutcome::Delivered {
                    Recorder::inc(&self.env.rec.counters.handoffs_delivered);
                    if self.lease.holder.as_deref() == Some(self.id())
                        || self.lease.holder.is_none()
                    {
                        self.lease.holder = Some("~other".into());
                    }
                } else {
                    self.env
                        .rec
                        .error(&format!("handoff_{outcome:?}").to_lowercase());
                }
            }
            ServerFrame::Error(e) => {
                self.env.rec.error(&e.code);
                if let Some(seq) = e.seq {
                    let retry = RETRYABLE.contains(&e.code.as_str());
                    if self.refused(seq, retry) {
                        let wait = Duration::from_millis(e.retry_after_ms.unwrap_or(0));
                        return Err(End::Resync(wait));
                    }
                }
            }
            ServerFrame::Presence { .. } => {}
        }
        Ok(Vec::new())
    }

    fn set_lease(&mut self, l: LeaseView) {
        if l.holder.as_deref() == Some(self.id()) {
            self.user.set_player(self.idx);
        }
        self.lease = l;
    }

    fn on_cmd(&mut self, cmd: Option<Cmd>, synced: bool) -> Result<Vec<String>, End> {
        match cmd {
            None | Some(Cmd::Stop) => Err(End::Stop),
            Some(Cmd::Op(kind, t)) => {
                self.q.queue(kind, Some(t));
                Ok(if synced { self.pump() } else { Vec::new() })
            }
            Some(Cmd::Handoff(target, t)) => Ok(self.handoff(target, t, synced)),
            Some(Cmd::Drop(window)) => Err(End::Dropped(window)),
            Some(Cmd::Offline(d)) => Err(End::Offline(Instant::now() + d)),
            Some(Cmd::Settle(tx)) => {
                self.settle.push(tx);
                Ok(Vec::new())
            }
            Some(Cmd::Report(vv, tx)) => {
                self.report = Some((vv, tx));
                Ok(Vec::new())
            }
        }
    }

    fn handoff(&mut self, target: usize, t: Instant, synced: bool) -> Vec<String> {
        let me = self.id().to_owned();
        let holds = self.lease.holder.as_deref() == Some(me.as_str());
        let Some(target_id) = self.user.devices.get(target).map(|d| d.id.clone()) else {
            return Vec::new();
        };
        if !synced || !holds || self.handing_off || target == self.idx {
            self.env.rec.error("handoff_not_sent");
            return Vec::new();
        }
        self.handoff_n += 1;
        let request_id = format!("{}.{}.{}", self.user.name, me, self.handoff_n);
        let Ok(content) = ContentId::parse(&format!("c:{}", self.idx)) else {
            return Vec::new();
        };
        let frame = ClientFrame::Handoff {
            request_id: request_id.clone(),
            target: target_id,
            content,
            position_ms: 600_000,
        };
        self.handing_off = true;
        self.user.handoff_sent(request_id, t);
        Recorder::inc(&self.env.rec.counters.handoffs);
        vec![serde_json::to_string(&frame).unwrap_or_default()]
    }

    fn heartbeat(&mut self, synced: bool) -> Vec<String> {
        if !synced {
            return Vec::new();
        }
        let playing = self.lease.holder.as_deref() == Some(self.id());
        let activity = if playing {
            ContentId::parse(&format!("c:{}", self.idx))
                .ok()
                .map(|content| Activity {
                    content,
                    state: PlayState::Playing,
                    position_ms: 600_000,
                })
        } else {
            None
        };
        let frame = ClientFrame::Heartbeat { activity };
        vec![serde_json::to_string(&frame).unwrap_or_default()]
    }

    fn check_waiters(&mut self) {
        if self.q.is_idle() {
            for tx in self.settle.drain(..) {
                let _ = tx.send(());
            }
        }
        if let Some((vv, _)) = &self.report {
            if self.doc.vv().dominates(vv) {
                if let Some((_, tx)) = self.report.take() {
                    let _ = tx.send(self.doc.clone());
                }
            }
        }
    }
}

async fn send(ws: &mut Ws, text: String) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    ws.send(Message::Text(text.into())).await
}
