//! Presence (who is online, doing what), the active-player lease, and handoff.

use baton_crdt::{ContentId, Control};
use bytes::Bytes;

use super::actor::{UserActor, UserState};
use super::announce::{Announce, HandoffDone};
use super::attach::now_ms;
use crate::observer::ControlEvent;
use crate::protocol::{Activity, HandoffOutcome, LeaseView, PresenceEntry, ServerFrame};

impl UserActor {
    pub(crate) fn heartbeat(
        &self,
        state: &mut UserState,
        device: &str,
        activity: Option<Activity>,
    ) {
        state.doc.touch_device(device, now_ms());
        let Some(dev) = state.devices.get_mut(device) else {
            return;
        };
        if dev.activity != activity {
            dev.activity = activity;
            self.broadcast_presence(state);
        }
    }

    /// Send every connected device the presence of all registered devices.
    pub(crate) fn broadcast_presence(&self, state: &UserState) {
        let devices = presence(state);
        self.shared.publish_presence(&state.user, devices.clone());
        if let Some(obs) = &self.observer {
            obs.control(&state.user, ControlEvent::Presence(devices.clone()));
        }
        let frame = Bytes::from(ServerFrame::Presence { devices }.to_text());
        for dev in state.devices.values() {
            let _ = dev.link.push(frame.clone());
        }
    }

    /// Move playback from `device` to `target`: the lease move is logged,
    /// and once it is durable the target gets `playback_control` and the
    /// lease, everyone the `lease`, the source `handoff_result`. Outcomes
    /// that move nothing are answered at once.
    pub(crate) fn handoff(
        &self,
        state: &mut UserState,
        device: &str,
        request_id: String,
        target: &str,
        content: ContentId,
        position_ms: u64,
    ) {
        let outcome = if target == device {
            HandoffOutcome::SameDevice
        } else if !state.doc.is_known(target) {
            HandoffOutcome::UnknownDevice
        } else if !state.devices.contains_key(target) {
            HandoffOutcome::TargetOffline
        } else {
            let change = state.doc.lease_move_to(target);
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
                .stage_control(state, &change, Announce::Handoff(Box::new(done)))
                .is_ok()
            {
                return;
            }
            HandoffOutcome::TargetOffline
        };
        metrics::counter!("baton_handoffs_total", "outcome" => format!("{outcome:?}")).increment(1);
        if let Some(dev) = state.devices.get(device) {
            let _ = dev.link.push_frame(&ServerFrame::HandoffResult {
                request_id,
                outcome,
            });
        }
    }
}

/// Presence entries for every registered device, sorted by id. A device whose
/// registration is still being committed is not shown yet (its `welcome` and
/// the presence that shows it follow the commit).
pub(crate) fn presence(state: &UserState) -> Vec<PresenceEntry> {
    state
        .doc
        .devices()
        .iter()
        .filter(|(id, _)| state.devices.contains_key(*id) || !state.commits.registering(id))
        .map(|(id, info)| {
            let live = state.devices.get(id);
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
