//! Snapshots: sending a chunked snapshot to a device that resumes from too far
//! behind (or asked with `resync`), and saving one to the store so recovery
//! replays a short log tail. Both read only durable state (the pipeline is
//! idle when they run).

use baton_crdt::Control;
use bytes::Bytes;
use ractor::ActorRef;

use super::actor::{UserActor, UserState};
use super::announce::Announce;
use super::attach::now_ms;
use super::msg::UserMsg;
use crate::protocol::{ErrorFrame, ServerFrame};

impl UserActor {
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

    /// Save a snapshot in the background when enough records accumulated
    /// since the last one. Snapshots only shorten recovery (everything a device
    /// was told is in the log already), so at most one save per user is in
    /// flight and saves coalesce: a save due while one runs waits for it.
    /// Long-gone devices are retired first, by a logged record; the snapshot
    /// follows when that record is durable. Only called when the pipeline is idle.
    pub(crate) fn maybe_snapshot(&self, myself: &ActorRef<UserMsg>, state: &mut UserState) {
        let version = state.doc.version();
        let due = version.saturating_sub(state.snapshot_version) >= self.cfg.snapshot_every_ops;
        if !(due || state.snapshot_due) || state.snapshot_saving {
            return;
        }
        if self.retire(state) {
            self.submit(myself, state);
            return;
        }
        let Ok(bytes) = state.doc.to_snapshot_bytes() else {
            return;
        };
        state.snapshot_version = version;
        state.snapshot_due = false;
        state.snapshot_saving = true;
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
    /// ever seen. Stages the retirement record; returns whether it did.
    fn retire(&self, state: &mut UserState) -> bool {
        let online: Vec<&str> = state.devices.keys().map(String::as_str).collect();
        let retire_after =
            u64::try_from(self.cfg.retire_devices_after.as_millis()).unwrap_or(u64::MAX);
        let stale = state.doc.stale_devices(now_ms(), retire_after, &online);
        if stale.is_empty() {
            return false;
        }
        let count = stale.len() as u64;
        let change = Control::RetireDevices { devices: stale };
        if self
            .stage_control(state, &change, Announce::Presence)
            .is_err()
        {
            return false;
        }
        metrics::counter!("baton_devices_retired_total").increment(count);
        // The retired devices' ops are no longer named by the version vector:
        // the window starts again here (devices further behind get a snapshot).
        state.window = super::catch_up::CatchUpWindow::new(
            state.doc.vv().clone(),
            self.cfg.log_retention_ops as usize,
        );
        true
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

/// Per-user visibility: size figures as histograms (per-user labels would
/// explode cardinality; `/v1/admin/users/{user}/stats` reads one user).
fn record_size(state: &UserState, snapshot_bytes: usize) {
    metrics::histogram!("baton_user_state_bytes").record(snapshot_bytes as f64);
    metrics::histogram!("baton_user_vv_width").record(state.doc.vv().len() as f64);
    metrics::histogram!("baton_user_catch_up_window_ops").record(state.window.len() as f64);
    metrics::histogram!("baton_user_live_devices").record(state.devices.len() as f64);
}
