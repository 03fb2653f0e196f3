//! What the server tells devices about its own changes, once the control
//! record behind each is durable: the `welcome` of a newly registered device,
//! a handoff's `playback_control`, `lease` moves and `presence` after a
//! retirement. Nothing here runs before the record's commit returned.

use baton_crdt::{ContentId, Control, UserDoc, VersionVector};
use baton_protocol::{HandoffOutcome, LeaseView, ServerFrame};
use bytes::Bytes;

use crate::effect::{ControlEvent, Lane, Observed};
use crate::machine::UserSync;
use crate::pipeline::Staged;
use crate::record::Record;

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
    pub(crate) vv: VersionVector,
    pub(crate) ticket: u64,
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

impl UserSync {
    /// Apply a server change to the document and queue its log record, with
    /// what to announce once the record is durable. A change the document
    /// refuses is logged as a bug and handed back with its announcement.
    pub(crate) fn stage_control(
        &mut self,
        change: &Control,
        announce: Announce,
    ) -> Result<(), Announce> {
        let payload = match serde_json::to_vec(change) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::error!(user = %self.user, error = %e, "control record does not encode");
                return Err(announce);
            }
        };
        match self.doc.apply_control(change, self.now.ms) {
            Ok(logged) => {
                let record = Record {
                    version: logged.version,
                    device: baton_crdt::SERVER_REPLICA.to_owned(),
                    seq: logged.version,
                    at_ms: logged.at_ms,
                    payload,
                };
                self.commits.push(record, Staged::Control(announce));
                Ok(())
            }
            Err(e) => {
                tracing::error!(user = %self.user, error = %e, "control record refused");
                Err(announce)
            }
        }
    }

    /// Release the lease `device` holds (it went offline), by a logged record.
    pub(crate) fn release_lease_of(&mut self, device: &str) {
        if let Some(release) = self.doc.lease_release_by(device) {
            let released = Announce::Lease(LeaseView {
                holder: None,
                token: self.doc.lease_token(),
            });
            let _ = self.stage_control(&release, released);
        }
    }

    /// A control record is durable: make its announcement.
    pub(crate) fn announce(&mut self, announce: Announce) {
        match announce {
            Announce::Welcome(joining) => self.welcome(*joining),
            Announce::Handoff(done) => self.handoff_done(*done),
            Announce::Lease(lease) => self.lease_changed(lease),
            Announce::Presence => self.broadcast_presence(),
        }
    }

    /// The lease as of a durable record: remember it (what `welcome` reports)
    /// and tell every device and the observer.
    pub(crate) fn lease_changed(&mut self, lease: LeaseView) {
        self.durable_lease = lease.clone();
        self.observe(|| Observed::Control(ControlEvent::Lease(lease.clone())));
        let frame = ServerFrame::Lease(lease);
        self.check_durable(&frame);
        let text = Bytes::from(frame.to_text());
        let conns: Vec<u64> = self.devices.values().map(|d| d.conn).collect();
        for conn in conns {
            self.send_text(conn, text.clone(), Lane::Live);
        }
    }

    fn handoff_done(&mut self, done: HandoffDone) {
        // The move is durable: its token may be told from here on.
        self.durable_lease = done.lease.clone();
        let control = ServerFrame::PlaybackControl {
            request_id: done.request_id.clone(),
            from: done.from.clone(),
            content: done.content,
            position_ms: done.position_ms,
            lease: done.lease.token,
        };
        // The target may have gone while the move was committed; its release
        // record follows this one.
        let outcome = match self.conn_of(&done.target) {
            Some(conn) => {
                self.send(conn, &control, Lane::Live);
                HandoffOutcome::Delivered
            }
            None => HandoffOutcome::TargetOffline,
        };
        self.observe(|| {
            Observed::Control(ControlEvent::Handoff {
                target: done.target.clone(),
                frame: control,
            })
        });
        self.lease_changed(done.lease);
        metrics::counter!("baton_handoffs_total", "outcome" => format!("{outcome:?}")).increment(1);
        if let Some(conn) = self.conn_of(&done.from) {
            let result = ServerFrame::HandoffResult {
                request_id: done.request_id,
                outcome,
            };
            self.send(conn, &result, Lane::Live);
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
