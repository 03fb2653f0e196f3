//! Devices joining and leaving, resume with deltas or a chunked snapshot, and
//! snapshot saving.

use std::time::{SystemTime, UNIX_EPOCH};

use baton_crdt::{hlc_id_for, DeviceInfo, Hlc, VersionVector};
use bytes::Bytes;

use super::actor::{Attached, Deferred, UserActor, UserState};
use super::announce::{Announce, Joining};
use crate::protocol::{
    CloseCode, DeviceHello, ErrorFrame, LeaseView, ResumeMode, ServerFrame, Welcome,
    PROTOCOL_VERSION,
};

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl UserActor {
    /// A device finished its `hello`. A device that is new, or describes itself
    /// differently, is registered by a control record first: its `welcome` (and
    /// the `presence` that shows it to the others) waits for that record's
    /// commit, so no device hears of a registration a crash could take back.
    /// `reply` is answered once `welcome` is queued (or with the refusal).
    pub(crate) fn attach(&self, state: &mut UserState, joining: Joining, hello: DeviceHello) {
        let device = joining.device.as_str();
        if !state.doc.is_known(device) && state.doc.devices().len() >= self.cfg.max_devices_per_user
        {
            let _ = joining.reply.send(Err(ErrorFrame::new(
                "too_many_devices",
                format!(
                    "a user may register at most {} devices",
                    self.cfg.max_devices_per_user
                ),
            )));
            return;
        }
        let now = now_ms();
        let first_seen_ms = state
            .doc
            .devices()
            .get(device)
            .map_or(now, |d| d.first_seen_ms);
        let info = DeviceInfo {
            kind: hello.kind,
            name: hello.name,
            capabilities: hello.capabilities,
            first_seen_ms,
            last_seen_ms: now,
        };
        let Some(change) = state.doc.registration(device, info) else {
            state.doc.touch_device(device, now);
            self.welcome(state, joining);
            return;
        };
        if let Err(Announce::Welcome(joining)) =
            self.stage_control(state, &change, Announce::Welcome(Box::new(joining)))
        {
            let _ = joining.reply.send(Err(ErrorFrame::new(
                "invalid_frame",
                "this device cannot be registered",
            )));
        }
    }

    /// The device's registration is durable (or needed none): make it live,
    /// queue `welcome` and its catch-up, show it to the others.
    pub(crate) fn welcome(&self, state: &mut UserState, joining: Joining) {
        let Joining {
            device,
            conn,
            link,
            vv,
            reply,
        } = joining;
        if let Some(old) = state.devices.insert(
            device.clone(),
            Attached {
                conn,
                link: link.clone(),
                activity: None,
            },
        ) {
            old.link.close(CloseCode::Replaced);
        }
        let committed = committed_vv(state);
        // The device claims ops the server never made durable: its replica is
        // ahead of the truth (for example restored from a backup of another
        // server). It must reset to a snapshot.
        // The device's own entry may run ahead: those are its unacknowledged
        // ops, which it resends after `welcome`.
        let reset = vv.iter().any(|(d, s)| d != device && s > committed.get(d));
        let mut vv = vv;
        if vv.get(&device) > committed.get(&device) {
            vv = without_own_ops(&vv, &device, committed.get(&device));
        }
        let deltas = if reset {
            None
        } else {
            state.window.missing_for(&vv)
        };
        let welcome = ServerFrame::Welcome(Box::new(Welcome {
            protocol: PROTOCOL_VERSION,
            session: format!("{conn:x}"),
            user: state.user.clone(),
            device: device.clone(),
            version: committed_version(state),
            // Only durable state: a resend of an op still in flight is acked
            // when its commit lands.
            next_seq: committed.get(&device) + 1,
            vv: committed,
            hlc_id: hlc_id_for(&device).to_string(),
            server_time: Hlc(self.clock.new_timestamp()),
            resume: if deltas.is_some() {
                ResumeMode::Deltas
            } else {
                ResumeMode::Snapshot
            },
            reset,
            lease: state.durable_lease.clone(),
            limits: self.cfg.limits(),
        }));
        link.push_catch_up(Bytes::from(welcome.to_text()));
        match deltas {
            Some(ops) => {
                metrics::counter!("baton_resume_total", "mode" => "deltas").increment(1);
                for op in ops {
                    link.push_catch_up(Bytes::from(ServerFrame::Delta(op.clone()).to_text()));
                }
                link.push_catch_up(Bytes::from(
                    ServerFrame::Synced {
                        version: committed_version(state),
                    }
                    .to_text(),
                ));
            }
            None => {
                metrics::counter!("baton_resume_total", "mode" => "snapshot").increment(1);
                state.deferred.push(Deferred::Snapshot {
                    device: device.clone(),
                    conn,
                });
            }
        }
        self.broadcast_presence(state);
        let _ = reply.send(Ok(()));
    }

    /// A connection ended. Only the device's current connection counts.
    pub(crate) fn detach(&self, state: &mut UserState, device: &str, conn: u64) {
        if state.devices.get(device).is_none_or(|d| d.conn != conn) {
            return;
        }
        state.devices.remove(device);
        state.doc.touch_device(device, now_ms());
        if let Some(release) = state.doc.lease_release_by(device) {
            let released = Announce::Lease(LeaseView {
                holder: None,
                token: state.doc.lease_token(),
            });
            let _ = self.stage_control(state, &release, released);
        }
        if state.devices.is_empty() {
            state.idle_since = std::time::Instant::now();
        }
        self.broadcast_presence(state);
    }
}

/// The version vector of the durable state: the document's, with every op
/// still waiting for commit undone (each device's seqs are contiguous).
pub(crate) fn committed_vv(state: &UserState) -> VersionVector {
    let mut map: std::collections::BTreeMap<String, u64> = state
        .doc
        .vv()
        .iter()
        .map(|(d, s)| (d.to_owned(), s))
        .collect();
    for p in state
        .commits
        .uncommitted_ops()
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        map.insert(p.op.device.clone(), p.op.seq - 1);
    }
    let mut vv = VersionVector::new();
    for (d, s) in map {
        if s > 0 {
            vv.observe(&d, s);
        }
    }
    vv
}

/// The durable version: the document's minus the ops waiting for commit.
pub(crate) fn committed_version(state: &UserState) -> u64 {
    state.doc.version() - state.commits.uncommitted().count() as u64
}

/// `vv` with the device's own entry lowered to what the server has committed.
fn without_own_ops(vv: &VersionVector, device: &str, committed: u64) -> VersionVector {
    let mut out = VersionVector::new();
    for (d, s) in vv.iter() {
        let s = if d == device { s.min(committed) } else { s };
        if s > 0 {
            out.observe(d, s);
        }
    }
    out
}
