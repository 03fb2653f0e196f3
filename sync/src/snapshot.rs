//! Snapshots: a chunked snapshot for a device that resumes from too far
//! behind (or asked with `resync`), and saves to the store so recovery
//! replays a short log tail. Both read only durable state (they run when the
//! pipeline is idle).

use baton_crdt::Control;
use baton_protocol::{ErrorFrame, ServerFrame};

use crate::announce::Announce;
use crate::config::millis;
use crate::effect::{Effect, Lane, SnapshotSave};
use crate::machine::UserSync;
use crate::window::CatchUpWindow;

impl UserSync {
    /// Queue a chunked snapshot of the (durable) document, then `synced`.
    pub(crate) fn send_snapshot(&mut self, device: &str, conn: u64) {
        if self.conn_of(device) != Some(conn) {
            return;
        }
        self.emit(Effect::ResyncServed { conn });
        let text = match self.doc.to_snapshot_bytes().map(String::from_utf8) {
            Ok(Ok(text)) => text,
            Ok(Err(e)) => return self.send_internal_error(conn, e.to_string()),
            Err(e) => return self.send_internal_error(conn, e.to_string()),
        };
        let chunks = chunk_utf8(&text, self.cfg.snapshot_chunk_bytes);
        let total = u32::try_from(chunks.len()).unwrap_or(u32::MAX);
        let version = self.doc.version();
        for (index, data) in chunks.into_iter().enumerate() {
            let frame = ServerFrame::SnapshotChunk {
                version,
                index: u32::try_from(index).unwrap_or(u32::MAX),
                total,
                data: data.to_owned(),
            };
            self.send(conn, &frame, Lane::CatchUp);
        }
        self.send(conn, &ServerFrame::Synced { version }, Lane::CatchUp);
    }

    fn send_internal_error(&mut self, conn: u64, detail: String) {
        let frame = ServerFrame::Error(ErrorFrame::new("internal", detail));
        self.send(conn, &frame, Lane::Live);
    }

    /// Save a snapshot in the background when enough records accumulated
    /// since the last one. Snapshots only shorten recovery (everything a
    /// device was told is in the log already), so at most one save is in
    /// flight and saves coalesce. Long-gone devices are retired first, by a
    /// logged record; the snapshot follows when that record is durable.
    pub(crate) fn maybe_snapshot(&mut self) {
        let version = self.doc.version();
        let due = version.saturating_sub(self.snapshot_version) >= self.cfg.snapshot_every_ops;
        if !(due || self.snapshot_due) || self.snapshot_saving {
            return;
        }
        if self.retire() {
            return;
        }
        let Ok(bytes) = self.doc.to_snapshot_bytes() else {
            return;
        };
        self.snapshot_version = version;
        self.snapshot_due = false;
        self.snapshot_saving = true;
        metrics::histogram!("baton_user_state_bytes").record(bytes.len() as f64);
        metrics::histogram!("baton_user_vv_width").record(self.doc.vv().len() as f64);
        metrics::histogram!("baton_user_catch_up_window_ops").record(self.window.len() as f64);
        metrics::histogram!("baton_user_live_devices").record(self.devices.len() as f64);
        self.emit(Effect::SaveSnapshot(SnapshotSave {
            version,
            bytes,
            compact_through: version.saturating_sub(self.cfg.log_retention_ops),
        }));
    }

    /// A background save ended: a failed one is due again.
    pub(crate) fn snapshot_saved(&mut self, version: u64, ok: bool) {
        self.snapshot_saving = false;
        if !ok && self.snapshot_version == version {
            self.snapshot_version = 0;
            self.snapshot_due = true;
        }
    }

    /// The snapshot to save before the activation ends, if anything changed
    /// since the last one.
    pub(crate) fn final_snapshot(&self) -> Option<SnapshotSave> {
        if self.doc.version() <= self.snapshot_version && !self.snapshot_due {
            return None;
        }
        let bytes = self.doc.to_snapshot_bytes().ok()?;
        Some(SnapshotSave {
            version: self.doc.version(),
            bytes,
            compact_through: 0,
        })
    }

    /// Causal-stability housekeeping: retire devices gone longer than the
    /// configured time, so per-user metadata does not grow with every device
    /// ever seen. Stages the retirement record; returns whether it did.
    fn retire(&mut self) -> bool {
        let online: Vec<&str> = self.devices.keys().map(String::as_str).collect();
        let after = millis(self.cfg.retire_devices_after);
        let stale = self.doc.stale_devices(self.now.ms, after, &online);
        if stale.is_empty() {
            return false;
        }
        let count = stale.len() as u64;
        let change = Control::RetireDevices { devices: stale };
        if self.stage_control(&change, Announce::Presence).is_err() {
            return false;
        }
        metrics::counter!("baton_devices_retired_total").increment(count);
        // The retired devices' ops are no longer named by the version vector:
        // the window starts again here (devices further behind get a snapshot).
        self.window = CatchUpWindow::new(self.doc.vv().clone(), self.window.cap());
        true
    }
}

/// Split text into pieces of at most `max` bytes on character boundaries.
pub fn chunk_utf8(text: &str, max: usize) -> Vec<&str> {
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
