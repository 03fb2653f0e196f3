//! Presence (who is online, doing what), heartbeats, and handoff.

use baton_crdt::{ContentId, Control};
use baton_protocol::{Activity, HandoffOutcome, LeaseView, PresenceEntry, ServerFrame};
use bytes::Bytes;

use crate::announce::{Announce, HandoffDone};
use crate::effect::{ControlEvent, Effect, Lane, Observed};
use crate::machine::UserSync;

impl UserSync {
    pub(crate) fn heartbeat(&mut self, device: &str, activity: Option<Activity>) {
        self.doc.touch_device(device, self.now.ms);
        let Some(live) = self.devices.get_mut(device) else {
            return;
        };
        if live.activity != activity {
            live.activity = activity;
            self.broadcast_presence();
        }
    }

    /// Send every connected device the presence of all registered devices.
    pub(crate) fn broadcast_presence(&mut self) {
        let devices = self.presence();
        self.emit(Effect::PublishPresence(devices.clone()));
        self.observe(|| Observed::Control(ControlEvent::Presence(devices.clone())));
        let frame = Bytes::from(ServerFrame::Presence { devices }.to_text());
        let conns: Vec<u64> = self.devices.values().map(|d| d.conn).collect();
        for conn in conns {
            self.send_text(conn, frame.clone(), Lane::Live);
        }
    }

    /// Move playback from `device` to `target`: the lease move is logged, and
    /// once it is durable the target gets `playback_control` and the lease,
    /// everyone the `lease`, the source `handoff_result`. Outcomes that move
    /// nothing are answered at once.
    pub(crate) fn handoff(
        &mut self,
        device: &str,
        request_id: String,
        target: &str,
        content: ContentId,
        position_ms: u64,
    ) {
        let outcome = if target == device {
            HandoffOutcome::SameDevice
        } else if !self.doc.is_known(target) {
            HandoffOutcome::UnknownDevice
        } else if !self.devices.contains_key(target) {
            HandoffOutcome::TargetOffline
        } else {
            let change = self.doc.lease_move_to(target);
            let Control::LeaseMove { token, .. } = change else {
                return;
            };
            let done = HandoffDone {
                from: device.to_owned(),
                request_id: request_id.clone(),
                target: target.to_owned(),
                content,
                position_ms,
                lease: LeaseView {
                    holder: Some(target.to_owned()),
                    token,
                },
            };
            if self
                .stage_control(&change, Announce::Handoff(Box::new(done)))
                .is_ok()
            {
                return;
            }
            HandoffOutcome::TargetOffline
        };
        metrics::counter!("baton_handoffs_total", "outcome" => format!("{outcome:?}")).increment(1);
        if let Some(conn) = self.conn_of(device) {
            let result = ServerFrame::HandoffResult {
                request_id,
                outcome,
            };
            self.send(conn, &result, Lane::Live);
        }
    }

    /// Presence entries for every registered device, sorted by id. A device
    /// whose registration is still being committed is not shown yet (its
    /// `welcome` and the presence that shows it follow the commit).
    pub fn presence(&self) -> Vec<PresenceEntry> {
        self.doc
            .devices()
            .iter()
            .filter(|(id, _)| self.devices.contains_key(id) || !self.commits.registering(id))
            .map(|(id, info)| {
                let live = self.devices.get(id);
                PresenceEntry {
                    device: id.clone(),
                    kind: info.kind.clone(),
                    name: info.name.clone(),
                    online: live.is_some(),
                    activity: live.and_then(|d| d.activity.clone()),
                    last_seen_ms: info.last_seen_ms,
                }
            })
            .collect()
    }
}
