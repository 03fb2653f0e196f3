//! Devices joining and leaving, and the resume decision: deltas from the
//! catch-up window, a chunked snapshot, or a reset.

use baton_crdt::{hlc_id_for, DeviceInfo, VersionVector};
use baton_protocol::{
    CloseCode, DeviceHello, ErrorFrame, ResumeMode, ServerFrame, Welcome, PROTOCOL_VERSION,
};

use crate::announce::{Announce, Joining};
use crate::effect::{Effect, Lane};
use crate::machine::{Deferred, Ending, Live, UserSync};

impl UserSync {
    pub(crate) fn on_attach(
        &mut self,
        device: String,
        conn: u64,
        hello: DeviceHello,
        vv: VersionVector,
        ticket: u64,
    ) {
        let leaving = match self.ending {
            // Moving away: the device reconnects and reaches the new owner.
            Some(Ending::Release { .. }) => Some(CloseCode::Moved),
            // Being erased: the device wipes its replica.
            Some(Ending::Erase { .. }) => Some(CloseCode::UserErased),
            _ => None,
        };
        if let Some(code) = leaving {
            self.emit(Effect::Close { conn, code });
            self.emit(Effect::Attached {
                ticket,
                conn,
                result: Ok(()),
            });
            return;
        }
        let joining = Joining {
            device,
            conn,
            vv,
            ticket,
        };
        self.attach(joining, hello);
    }

    /// A device finished its `hello`. A device that is new, or describes itself
    /// differently, is registered by a control record first: its `welcome` (and
    /// the `presence` that shows it to the others) waits for that record's
    /// commit, so no device hears of a registration a crash could take back.
    fn attach(&mut self, joining: Joining, hello: DeviceHello) {
        let device = joining.device.as_str();
        if !self.doc.is_known(device) && self.doc.devices().len() >= self.cfg.max_devices_per_user {
            let refusal = ErrorFrame::new(
                "too_many_devices",
                format!(
                    "a user may register at most {} devices",
                    self.cfg.max_devices_per_user
                ),
            );
            self.emit(Effect::Attached {
                ticket: joining.ticket,
                conn: joining.conn,
                result: Err(refusal),
            });
            return;
        }
        let now = self.now.ms;
        let first_seen_ms = self
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
        let Some(change) = self.doc.registration(device, info) else {
            self.doc.touch_device(device, now);
            self.welcome(joining);
            return;
        };
        if let Err(Announce::Welcome(joining)) =
            self.stage_control(&change, Announce::Welcome(Box::new(joining)))
        {
            self.emit(Effect::Attached {
                ticket: joining.ticket,
                conn: joining.conn,
                result: Err(ErrorFrame::new(
                    "invalid_frame",
                    "this device cannot be registered",
                )),
            });
        }
    }

    /// The device's registration is durable (or needed none): make it live,
    /// queue `welcome` and its catch-up, show it to the others.
    pub(crate) fn welcome(&mut self, joining: Joining) {
        let Joining {
            device,
            conn,
            vv,
            ticket,
        } = joining;
        let live = Live {
            conn,
            activity: None,
        };
        if let Some(old) = self.devices.insert(device.clone(), live) {
            if old.conn != conn {
                self.emit(Effect::Close {
                    conn: old.conn,
                    code: CloseCode::Replaced,
                });
            }
        }
        let committed = self.committed_vv();
        // The device claims ops the server never made durable: its replica is
        // ahead of the truth (for example restored from a backup of another
        // server). It must reset to a snapshot. The device's own entry may run
        // ahead: those are its unacknowledged ops, which it resends after `welcome`.
        let reset = vv.iter().any(|(d, s)| d != device && s > committed.get(d));
        let mut vv = vv;
        if vv.get(&device) > committed.get(&device) {
            vv = without_own_ops(&vv, &device, committed.get(&device));
        }
        let deltas: Option<Vec<ServerFrame>> = if reset {
            None
        } else {
            self.window
                .missing_for(&vv)
                .map(|ops| ops.into_iter().cloned().map(ServerFrame::Delta).collect())
        };
        let welcome = ServerFrame::Welcome(Box::new(Welcome {
            protocol: PROTOCOL_VERSION,
            session: format!("{conn:x}"),
            user: self.user.clone(),
            device: device.clone(),
            version: self.durable_version,
            // Only durable state: a resend of an op still in flight is acked
            // when its commit lands.
            next_seq: committed.get(&device) + 1,
            vv: committed,
            hlc_id: hlc_id_for(&device).to_string(),
            server_time: self.now.hlc,
            resume: if deltas.is_some() {
                ResumeMode::Deltas
            } else {
                ResumeMode::Snapshot
            },
            reset,
            lease: self.durable_lease.clone(),
            limits: (*self.limits).clone(),
        }));
        self.send(conn, &welcome, Lane::CatchUp);
        match deltas {
            Some(frames) => {
                metrics::counter!("baton_resume_total", "mode" => "deltas").increment(1);
                for frame in &frames {
                    self.send(conn, frame, Lane::CatchUp);
                }
                let synced = ServerFrame::Synced {
                    version: self.durable_version,
                };
                self.send(conn, &synced, Lane::CatchUp);
            }
            None => {
                metrics::counter!("baton_resume_total", "mode" => "snapshot").increment(1);
                self.deferred.push(Deferred::Snapshot {
                    device: device.clone(),
                    conn,
                });
            }
        }
        self.broadcast_presence();
        self.emit(Effect::Attached {
            ticket,
            conn,
            result: Ok(()),
        });
    }

    /// A connection ended. Only the device's current connection counts; the
    /// lease it held is released by a logged record.
    pub(crate) fn detach(&mut self, device: &str, conn: u64) {
        if self.conn_of(device) != Some(conn) {
            return;
        }
        self.devices.remove(device);
        self.doc.touch_device(device, self.now.ms);
        self.release_lease_of(device);
        if self.devices.is_empty() {
            self.idle_since_ms = self.now.ms;
        }
        self.broadcast_presence();
    }
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
