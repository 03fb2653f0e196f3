//! Presence (who is online, doing what), the active-player lease, and handoff.

use baton_crdt::ContentId;
use bytes::Bytes;

use super::actor::{UserActor, UserState};
use super::attach::{lease_view, now_ms};
use crate::observer::ControlEvent;
use crate::protocol::{Activity, HandoffOutcome, PresenceEntry, ServerFrame};

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

    pub(crate) fn broadcast_lease(&self, state: &UserState) {
        let lease = lease_view(state);
        if let Some(obs) = &self.observer {
            obs.control(&state.user, ControlEvent::Lease(lease.clone()));
        }
        let frame = Bytes::from(ServerFrame::Lease(lease).to_text());
        for dev in state.devices.values() {
            let _ = dev.link.push(frame.clone());
        }
    }

    /// Move playback from `device` to `target`: the target gets
    /// `playback_control` and the lease; the source gets the outcome.
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
            HandoffOutcome::Delivered
        };
        if outcome == HandoffOutcome::Delivered {
            let lease = state.doc.handoff_lease(target);
            state.snapshot_due = true;
            let control = ServerFrame::PlaybackControl {
                request_id: request_id.clone(),
                from: device.to_owned(),
                content,
                position_ms,
                lease: lease.token,
            };
            if let Some(dev) = state.devices.get(target) {
                let _ = dev.link.push_frame(&control);
            }
            if let Some(obs) = &self.observer {
                obs.control(
                    &state.user,
                    ControlEvent::Handoff {
                        target: target.to_owned(),
                        frame: control,
                    },
                );
            }
            self.broadcast_lease(state);
        }
        metrics::counter!("baton_handoffs_total", "outcome" => format!("{outcome:?}")).increment(1);
        if let Some(dev) = state.devices.get(device) {
            let _ = dev.link.push_frame(&ServerFrame::HandoffResult {
                request_id,
                outcome,
            });
        }
    }
}

/// Presence entries for every registered device, sorted by id.
pub(crate) fn presence(state: &UserState) -> Vec<PresenceEntry> {
    state
        .doc
        .devices()
        .iter()
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
