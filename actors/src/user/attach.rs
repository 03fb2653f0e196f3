//! Devices joining and leaving, resume with deltas or a chunked snapshot, and
//! snapshot saving.

use std::time::{SystemTime, UNIX_EPOCH};

use baton_crdt::{hlc_id_for, DeviceInfo, Hlc, VersionVector};
use bytes::Bytes;
use ractor::ActorRef;

use super::actor::{Attached, Deferred, UserActor, UserState};
use super::msg::UserMsg;
use crate::link::DeviceLink;
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
    /// Register a device connection, queue `welcome` and its catch-up.
    pub(crate) fn attach(
        &self,
        state: &mut UserState,
        device: String,
        conn: u64,
        link: DeviceLink,
        hello: DeviceHello,
        vv: VersionVector,
    ) -> Result<(), ErrorFrame> {
        if !state.doc.is_known(&device)
            && state.doc.devices().len() >= self.cfg.max_devices_per_user
        {
            return Err(ErrorFrame::new(
                "too_many_devices",
                format!(
                    "a user may register at most {} devices",
                    self.cfg.max_devices_per_user
                ),
            ));
        }
        let now = now_ms();
        let first_seen_ms = state
            .doc
            .devices()
            .get(&device)
            .map_or(now, |d| d.first_seen_ms);
        state.doc.register_device(
            &device,
            DeviceInfo {
                kind: hello.kind,
                name: hello.name,
                capabilities: hello.capabilities,
                first_seen_ms,
                last_seen_ms: now,
            },
        );
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
            vv: committed,
            next_seq: state.doc.next_seq(&device),
            hlc_id: hlc_id_for(&device).to_string(),
            server_time: Hlc(self.clock.new_timestamp()),
            resume: if deltas.is_some() {
                ResumeMode::Deltas
            } else {
                ResumeMode::Snapshot
            },
            reset,
            lease: lease_view(state),
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
        Ok(())
    }

    /// A connection ended. Only the device's current connection counts.
    pub(crate) fn detach(&self, state: &mut UserState, device: &str, conn: u64) {
        if state.devices.get(device).is_none_or(|d| d.conn != conn) {
            return;
        }
        state.devices.remove(device);
        state.doc.touch_device(device, now_ms());
        if state.doc.release_lease(device) {
            self.broadcast_lease(state);
            state.snapshot_due = true;
        }
        if state.devices.is_empty() {
            state.idle_since = std::time::Instant::now();
        }
        self.broadcast_presence(state);
    }

    /// Queue a chunked snapshot of the (durable) document, then `synced`.
    /// Runs only when no commit is in flight.
    pub(crate) fn send_snapshot(&self, state: &UserState, device: &str, conn: u64) {
        let Some(dev) = state.devices.get(device).filter(|d| d.conn == conn) else {
            return;
        };
        dev.link.snapshot_queued();
        let text = match state.doc.to_snapshot_bytes().map(String::from_utf8) {
            Ok(Ok(text)) => text,
            Ok(Err(e)) => {
                let _ = dev.link.push_frame(&ServerFrame::Error(ErrorFrame::new(
                    "internal",
                    e.to_string(),
                )));
                return;
            }
            Err(e) => {
                let _ = dev.link.push_frame(&ServerFrame::Error(ErrorFrame::new(
                    "internal",
                    e.to_string(),
                )));
                return;
            }
        };
        let chunks = chunk_utf8(&text, self.cfg.snapshot_chunk_bytes);
        let total = u32::try_from(chunks.len()).unwrap_or(u32::MAX);
        let version = state.doc.version();
        for (index, data) in chunks.into_iter().enumerate() {
            let frame = ServerFrame::SnapshotChunk {
                version,
                index: u32::try_from(index).unwrap_or(u32::MAX),
                total,
                data: data.to_owned(),
            };
            dev.link.push_catch_up(Bytes::from(frame.to_text()));
        }
        dev.link
            .push_catch_up(Bytes::from(ServerFrame::Synced { version }.to_text()));
    }

    /// Save a snapshot in the background when enough ops accumulated (or
    /// the lease moved). Only called when the pipeline is idle.
    pub(crate) fn maybe_snapshot(&self, myself: &ActorRef<UserMsg>, state: &mut UserState) {
        let version = state.doc.version();
        let due = version.saturating_sub(state.snapshot_version) >= self.cfg.snapshot_every_ops;
        if !(due || state.snapshot_due) {
            return;
        }
        self.retire(state);
        let Ok(bytes) = state.doc.to_snapshot_bytes() else {
            return;
        };
        state.snapshot_version = version;
        state.snapshot_due = false;
        record_size(state, bytes.len());
        let store = self.store.clone();
        let user = state.user.clone();
        let keep_after = version.saturating_sub(self.cfg.log_retention_ops);
        let me = myself.clone();
        let epoch = state.epoch;
        tokio::spawn(async move {
            let ok = match store.save_snapshot(&user, version, epoch, &bytes).await {
                Ok(()) => {
                    if keep_after > 0 {
                        let _ = store.compact(&user, keep_after).await;
                    }
                    true
                }
                Err(e) if e.is_stale_writer() => {
                    let _ = me.cast(UserMsg::Fenced);
                    false
                }
                Err(e) => {
                    tracing::warn!(user, error = %e, "snapshot save failed");
                    false
                }
            };
            let _ = me.cast(UserMsg::SnapshotSaved(version, ok));
        });
    }

    /// Save a snapshot now if anything changed since the last one (before
    /// passivation and shutdown). Only called when the pipeline is idle.
    pub(crate) async fn save_snapshot_now(&self, state: &mut UserState) {
        if state.doc.version() <= state.snapshot_version && !state.snapshot_due {
            return;
        }
        if let Ok(bytes) = state.doc.to_snapshot_bytes() {
            match self
                .store
                .save_snapshot(&state.user, state.doc.version(), state.epoch, &bytes)
                .await
            {
                Ok(()) => {
                    state.snapshot_version = state.doc.version();
                    state.snapshot_due = false;
                }
                Err(e) => tracing::warn!(user = %state.user, error = %e, "snapshot save failed"),
            }
        }
    }

    /// Causal-stability housekeeping: retire devices gone longer than the
    /// configured time, so per-user metadata does not grow with every device
    /// ever seen. Runs just before a snapshot, which then records it.
    fn retire(&self, state: &mut UserState) {
        let online: Vec<&str> = state.devices.keys().map(String::as_str).collect();
        let retire_after =
            u64::try_from(self.cfg.retire_devices_after.as_millis()).unwrap_or(u64::MAX);
        let retired = state
            .doc
            .retire_stale_devices(now_ms(), retire_after, &online);
        if !retired.is_empty() {
            metrics::counter!("baton_devices_retired_total").increment(retired.len() as u64);
            state.window = super::catch_up::CatchUpWindow::new(
                state.doc.vv().clone(),
                self.cfg.log_retention_ops as usize,
            );
        }
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
        .uncommitted()
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

pub(crate) fn lease_view(state: &UserState) -> LeaseView {
    match state.doc.lease() {
        Some(l) => LeaseView {
            holder: Some(l.device.clone()),
            token: l.token,
        },
        None => LeaseView {
            holder: None,
            token: state.doc.lease_token(),
        },
    }
}

/// Split text into pieces of at most `max` bytes on character boundaries.
pub(crate) fn chunk_utf8(text: &str, max: usize) -> Vec<&str> {
    let max = max.max(4);
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (head, tail) = rest.split_at(end);
        out.push(head);
        rest = tail;
    }
    if out.is_empty() {
        out.push("");
    }
    out
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

/// Per-user visibility: size figures as histograms (per-user labels would
/// explode cardinality; `/v1/admin/users/{user}/stats` reads one user).
fn record_size(state: &UserState, snapshot_bytes: usize) {
    metrics::histogram!("baton_user_state_bytes").record(snapshot_bytes as f64);
    metrics::histogram!("baton_user_vv_width").record(state.doc.vv().len() as f64);
    metrics::histogram!("baton_user_catch_up_window_ops").record(state.window.len() as f64);
    metrics::histogram!("baton_user_live_devices").record(state.devices.len() as f64);
}
