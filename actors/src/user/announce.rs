//! What the server tells devices about its own changes, once the control
//! record behind each is durable: the `welcome` of a newly registered device,
//! a handoff's `playback_control`, `lease` moves and `presence` after a
//! retirement. Nothing here runs before the record's commit returned.

use baton_crdt::{ContentId, UserDoc, VersionVector};
use bytes::Bytes;
use ractor::RpcReplyPort;

use super::actor::{UserActor, UserState};
use crate::link::DeviceLink;
use crate::observer::ControlEvent;
use crate::protocol::{ErrorFrame, HandoffOutcome, LeaseView, ServerFrame};

/// The announcement waiting for a control record's commit.
pub(crate) enum Announce {
    /// The device's registration is durable: finish attaching it.
    Welcome(Box<Joining>),
    /// A handoff's lease move is durable: tell the target, everyone, the source.
    Handoff(Box<HandoffDone>),
    /// The lease changed (released): tell every device.
    Lease(LeaseView),
    /// The registry changed (devices retired): send presence.
    Presence,
}

/// A device connection whose `welcome` waits for its registration record.
pub(crate) struct Joining {
    pub(crate) device: String,
    pub(crate) conn: u64,
    pub(crate) link: DeviceLink,
    pub(crate) vv: VersionVector,
    pub(crate) reply: RpcReplyPort<Result<(), ErrorFrame>>,
}

/// A handoff whose lease move is being committed.
pub(crate) struct HandoffDone {
    pub(crate) from: String,
    pub(crate) request_id: String,
    pub(crate) target: String,
    pub(crate) content: ContentId,
    pub(crate) position_ms: u64,
    pub(crate) lease: LeaseView,
}

impl UserActor {
    /// A control record is durable: make its announcement.
    pub(crate) fn announce(&self, state: &mut UserState, announce: Announce) {
        match announce {
            Announce::Welcome(joining) => self.welcome(state, *joining),
            Announce::Handoff(done) => self.handoff_done(state, *done),
            Announce::Lease(lease) => self.lease_changed(state, lease),
            Announce::Presence => self.broadcast_presence(state),
        }
    }

    /// The lease as of a durable record: remember it (what `welcome` reports)
    /// and tell every device and the observer.
    pub(crate) fn lease_changed(&self, state: &mut UserState, lease: LeaseView) {
        state.durable_lease = lease.clone();
        if let Some(obs) = &self.observer {
            obs.control(&state.user, ControlEvent::Lease(lease.clone()));
        }
        let frame = Bytes::from(ServerFrame::Lease(lease).to_text());
        for dev in state.devices.values() {
            let _ = dev.link.push(frame.clone());
        }
    }

    fn handoff_done(&self, state: &mut UserState, done: HandoffDone) {
        let control = ServerFrame::PlaybackControl {
            request_id: done.request_id.clone(),
            from: done.from.clone(),
            content: done.content,
            position_ms: done.position_ms,
            lease: done.lease.token,
        };
        // The target may have gone while the move was committed; its release
        // record follows this one.
        let outcome = match state.devices.get(&done.target) {
            Some(dev) => {
                let _ = dev.link.push_frame(&control);
                HandoffOutcome::Delivered
            }
            None => HandoffOutcome::TargetOffline,
        };
        if let Some(obs) = &self.observer {
            obs.control(
                &state.user,
                ControlEvent::Handoff {
                    target: done.target.clone(),
                    frame: control,
                },
            );
        }
        self.lease_changed(state, done.lease);
        metrics::counter!("baton_handoffs_total", "outcome" => format!("{outcome:?}")).increment(1);
        if let Some(dev) = state.devices.get(&done.from) {
            let _ = dev.link.push_frame(&ServerFrame::HandoffResult {
                request_id: done.request_id,
                outcome,
            });
        }
    }
}

/// The lease as the document holds it.
pub(crate) fn lease_of(doc: &UserDoc) -> LeaseView {
    match doc.lease() {
        Some(l) => LeaseView {
            holder: Some(l.device.clone()),
            token: l.token,
        },
        None => LeaseView {
            holder: None,
            token: doc.lease_token(),
        },
    }
}
