//! One connected session of a virtual device: `hello`, then every server
//! frame through the client core ([`baton_client::Core`]: catch-up, acks,
//! refusals and renumbering), commands from the workload and heartbeats,
//! until the socket is lost or a command ends it.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use baton_client::{Action, Event, PlayState};
use baton_crdt::ContentId;
use baton_protocol::{Activity, ClientFrame, HandoffOutcome};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::{Cmd, Device, End};
use crate::metrics::{Lat, Recorder};
use crate::net::Ws;

enum Ev {
    Frame(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Cmd(Option<Cmd>),
    Beat,
    Resume,
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
        self.core.disconnected();
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

    fn live(&self) -> bool {
        self.core.phase() == baton_client::Phase::Live
    }

    async fn session_inner(
        &mut self,
        ws: &mut Ws,
        rx: &mut mpsc::Receiver<Cmd>,
        intended: Instant,
    ) -> End {
        let hello = self.core.connected();
        if send(ws, &[hello]).await.is_err() {
            return End::Lost(None);
        }
        let period = self.env.heartbeat;
        let mut beat = tokio::time::interval_at((Instant::now() + period).into(), period);
        let mut resume_at: Option<Instant> = None;
        loop {
            let resume = tokio::time::sleep_until(resume_at.unwrap_or_else(Instant::now).into());
            let ev = tokio::select! {
                msg = ws.next() => Ev::Frame(msg),
                cmd = rx.recv() => Ev::Cmd(cmd),
                _ = beat.tick() => Ev::Beat,
                () = resume, if resume_at.is_some() => Ev::Resume,
            };
            let result = match ev {
                Ev::Frame(Some(Ok(Message::Text(t)))) => {
                    self.on_text(t.as_str(), intended, &mut resume_at)
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
                Ev::Cmd(cmd) => self.on_cmd(cmd),
                Ev::Beat => Ok(self.heartbeat()),
                Ev::Resume => {
                    resume_at = None;
                    let mut out = self.core.resume_sending().send;
                    out.extend(self.pump());
                    Ok(out)
                }
            };
            match result {
                Ok(frames) => {
                    if send(ws, &frames).await.is_err() {
                        return End::Lost(None);
                    }
                }
                Err(end) => return end,
            }
            if self.live() {
                self.check_waiters();
            }
        }
    }

    fn on_text(
        &mut self,
        text: &str,
        intended: Instant,
        resume_at: &mut Option<Instant>,
    ) -> Result<Vec<ClientFrame>, End> {
        let was_live = self.live();
        let out = match self.core.handle_text(text, crate::clock::ntp64_now()) {
            Ok(out) => out,
            Err(_) => {
                self.env.rec.error("unparsed_server_frame");
                return Ok(Vec::new());
            }
        };
        for e in out.events {
            self.on_event(e, was_live, intended);
        }
        match out.action {
            Some(Action::Reconnect) => return Err(End::Resync(Duration::ZERO)),
            Some(Action::RetryAfter(d)) => *resume_at = Some(Instant::now() + d),
            None => {}
        }
        let mut frames = out.send;
        if self.live() {
            frames.extend(self.pump());
        }
        Ok(frames)
    }

    fn on_event(&mut self, e: Event, was_live: bool, intended: Instant) {
        match e {
            Event::Synced { .. } => {
                self.started = true;
                self.synced_at = Some(Instant::now());
                self.env.rec.counters.online.fetch_add(1, Ordering::Relaxed);
                Recorder::inc(&self.env.rec.counters.connects);
                self.record_connect(intended);
            }
            Event::DeltaApplied { device, seq, .. } => {
                if was_live {
                    Recorder::inc(&self.env.rec.counters.deltas);
                    if device != self.id() {
                        if let Some(t) = self
                            .user
                            .index_of(&device)
                            .and_then(|d| self.user.intended(d, seq))
                        {
                            self.env.rec.record(Lat::Propagation, t.elapsed());
                        }
                    }
                }
            }
            Event::Acked { seq, .. } => self.acked(seq),
            Event::LeaseChanged(l) => {
                if l.holder.as_deref() == Some(self.id()) {
                    self.user.set_player(self.idx);
                }
            }
            Event::PlaybackControl { request_id, .. } => {
                self.user.set_player(self.idx);
                if let Some(t) = self.user.handoff_done(&request_id) {
                    self.env.rec.record(Lat::Handoff, t.elapsed());
                }
            }
            Event::HandoffResult { outcome, .. } => {
                self.handing_off = false;
                if outcome == HandoffOutcome::Delivered {
                    Recorder::inc(&self.env.rec.counters.handoffs_delivered);
                } else {
                    self.env
                        .rec
                        .error(&format!("handoff_{outcome:?}").to_lowercase());
                }
            }
            Event::OpRefused(err) | Event::ServerError(err) => {
                self.env.rec.error(&err.wire_code);
            }
            Event::Connection(_)
            | Event::StateChanged
            | Event::SnapshotAdopted { .. }
            | Event::Presence(_) => {}
        }
    }

    fn on_cmd(&mut self, cmd: Option<Cmd>) -> Result<Vec<ClientFrame>, End> {
        match cmd {
            None | Some(Cmd::Stop) => Err(End::Stop),
            Some(Cmd::Op(kind, t)) => {
                self.q.queue(kind, Some(t));
                Ok(if self.live() { self.pump() } else { Vec::new() })
            }
            Some(Cmd::Handoff(target, t)) => Ok(self.handoff(target, t)),
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

    fn holds_lease(&self) -> bool {
        self.core.lease().holder.as_deref() == Some(self.id())
    }

    fn handoff(&mut self, target: usize, t: Instant) -> Vec<ClientFrame> {
        let me = self.id().to_owned();
        let Some(target_id) = self.user.devices.get(target).map(|d| d.id.clone()) else {
            return Vec::new();
        };
        if !self.live() || !self.holds_lease() || self.handing_off || target == self.idx {
            self.env.rec.error("handoff_not_sent");
            return Vec::new();
        }
        self.handoff_n += 1;
        let request_id = format!("{}.{}.{}", self.user.name, me, self.handoff_n);
        let Ok(content) = ContentId::parse(&format!("c:{}", self.idx)) else {
            return Vec::new();
        };
        self.handing_off = true;
        self.user.handoff_sent(request_id.clone(), t);
        Recorder::inc(&self.env.rec.counters.handoffs);
        vec![ClientFrame::Handoff {
            request_id,
            target: target_id,
            content,
            position_ms: 600_000,
        }]
    }

    fn heartbeat(&mut self) -> Vec<ClientFrame> {
        if !self.live() {
            return Vec::new();
        }
        let activity = if self.holds_lease() {
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
        vec![ClientFrame::Heartbeat { activity }]
    }

    fn check_waiters(&mut self) {
        if self.is_idle() {
            for tx in self.settle.drain(..) {
                let _ = tx.send(());
            }
        }
        if let Some((vv, _)) = &self.report {
            if self.core.vv().dominates(vv) {
                if let Some((_, tx)) = self.report.take() {
                    let _ = tx.send(self.core.replica().doc().clone());
                }
            }
        }
    }
}

async fn send(
    ws: &mut Ws,
    frames: &[ClientFrame],
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    for f in frames {
        let text = serde_json::to_string(f).unwrap_or_default();
        ws.send(Message::Text(text.into())).await?;
    }
    Ok(())
}
