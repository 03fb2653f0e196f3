//! Activation from the store, and the in-memory window of recent committed
//! ops from which reconnecting devices are served deltas. The log holds device
//! ops and the server's control records (device `~server`); both are replayed,
//! only ops enter the window.

use std::collections::{BTreeMap, VecDeque};

use baton_crdt::{Control, LoggedOp, UserDoc, VersionVector, SERVER_REPLICA};
use baton_store::{LogEntry, Store};

use crate::error::ActorError;

/// The last committed ops, oldest first, and the version vector just before
/// the oldest of them. A device whose version vector dominates `base_vv` can
/// resume with deltas; any other gets a snapshot.
pub(crate) struct CatchUpWindow {
    ops: VecDeque<LoggedOp>,
    base_vv: VersionVector,
    cap: usize,
}

impl CatchUpWindow {
    pub(crate) fn new(base_vv: VersionVector, cap: usize) -> Self {
        Self {
            ops: VecDeque::new(),
            base_vv,
            cap: cap.max(1),
        }
    }

    /// Append a committed op, dropping the oldest beyond the cap.
    pub(crate) fn push(&mut self, op: LoggedOp) {
        self.ops.push_back(op);
        while self.ops.len() > self.cap {
            if let Some(old) = self.ops.pop_front() {
                self.base_vv.observe(&old.device, old.seq);
            }
        }
    }

    /// The ops a device with `vv` has not seen, or `None` if some of them are
    /// no longer in the window (the device needs a snapshot).
    pub(crate) fn missing_for(&self, vv: &VersionVector) -> Option<Vec<&LoggedOp>> {
        if !vv.dominates(&self.base_vv) {
            return None;
        }
        Some(
            self.ops
                .iter()
                .filter(|op| op.seq > vv.get(&op.device))
                .collect(),
        )
    }

    /// The ops held and the version vector before the first of them.
    pub(crate) fn export(&self) -> (baton_crdt::VersionVector, Vec<LoggedOp>) {
        (self.base_vv.clone(), self.ops.iter().cloned().collect())
    }

    /// Number of ops held.
    pub(crate) fn len(&self) -> usize {
        self.ops.len()
    }
}

/// True for a control record (logged by the server, not a device).
fn is_control(entry: &LogEntry) -> bool {
    entry.device == SERVER_REPLICA
}

/// Decode a stored control record.
fn decode_control(user: &str, entry: &LogEntry) -> Result<Control, ActorError> {
    serde_json::from_slice(&entry.payload).map_err(|e| ActorError::Corrupt {
        user: user.to_owned(),
        detail: format!("control record {}: {e}", entry.version),
    })
}

/// Decode a stored log entry into the op it records.
pub(crate) fn decode(user: &str, entry: &LogEntry) -> Result<LoggedOp, ActorError> {
    let op = serde_json::from_slice(&entry.payload).map_err(|e| ActorError::Corrupt {
        user: user.to_owned(),
        detail: format!("log entry {}: {e}", entry.version),
    })?;
    Ok(LoggedOp {
        device: entry.device.clone(),
        seq: entry.seq,
        version: entry.version,
        at_ms: u64::try_from(entry.at_ms).unwrap_or(0),
        op,
    })
}

/// Load a user's durable state: the snapshot, the log after it (replayed),
/// and up to `retention` older log entries for the catch-up window.
/// Returns the document, the window and the snapshot's version.
pub(crate) async fn load(
    store: &Store,
    user: &str,
    retention: u64,
) -> Result<(UserDoc, CatchUpWindow, u64), ActorError> {
    let record = store.load(user).await?;
    let (mut doc, snapshot_version) = match &record.snapshot {
        Some(snap) => {
            let doc =
                UserDoc::from_snapshot_bytes(&snap.bytes).map_err(|e| ActorError::Corrupt {
                    user: user.to_owned(),
                    detail: e.to_string(),
                })?;
            (doc, snap.version)
        }
        None => (UserDoc::new(), 0),
    };
    let older = if snapshot_version > 0 && retention > 0 {
        let from = snapshot_version.saturating_sub(retention);
        let mut entries = store.log_since(user, from, retention as usize).await?;
        entries.retain(|e| e.version <= snapshot_version);
        // A retirement rewrote the version vector: the window starts after it.
        if let Some(last) = entries.iter().rposition(|e| {
            is_control(e) && matches!(decode_control(user, e), Ok(Control::RetireDevices { .. }))
        }) {
            entries.drain(..=last);
        }
        entries.retain(|e| !is_control(e));
        entries
    } else {
        Vec::new()
    };
    let mut window = CatchUpWindow::new(vv_before(doc.vv(), &older), retention as usize);
    for entry in &older {
        window.push(decode(user, entry)?);
    }
    replay_tail(user, &mut doc, &mut window, &record.log)?;
    Ok((doc, window, snapshot_version))
}

/// Replay log entries that follow `doc` (contiguous versions) into it and the
/// window; a gap or a record that does not apply is corruption.
fn replay_tail(
    user: &str,
    doc: &mut UserDoc,
    window: &mut CatchUpWindow,
    entries: &[LogEntry],
) -> Result<(), ActorError> {
    for entry in entries {
        if entry.version != doc.version() + 1 {
            return Err(ActorError::Corrupt {
                user: user.to_owned(),
                detail: format!(
                    "log gap: expected version {}, found {}",
                    doc.version() + 1,
                    entry.version
                ),
            });
        }
        if is_control(entry) {
            let change = decode_control(user, entry)?;
            let at_ms = u64::try_from(entry.at_ms).unwrap_or(0);
            doc.apply_control(&change, at_ms)
                .map_err(|e| ActorError::Corrupt {
                    user: user.to_owned(),
                    detail: format!("replay of control record {}: {e}", entry.version),
                })?;
            if let Control::RetireDevices { .. } = change {
                *window = CatchUpWindow::new(doc.vv().clone(), window.cap);
            }
            continue;
        }
        let op = decode(user, entry)?;
        doc.replay(&op).map_err(|e| ActorError::Corrupt {
            user: user.to_owned(),
            detail: format!("replay of version {}: {e}", entry.version),
        })?;
        window.push(op);
    }
    Ok(())
}

/// Start from state handed over by the previous owner, but only if the store
/// proves it at least as new as everything durable: its version is not below
/// the stored snapshot's, not above the durable log, and the log after it
/// replays contiguously up to the store's last version. Call it after the
/// claim (appends of any earlier owner are fenced from then on, so the check
/// cannot be overtaken). `None`: the state is stale or unprovable, and the
/// caller loads cold (counted in `baton_warm_states_rejected_total`). The
/// catch-up window starts at the warm window; devices further behind get a
/// snapshot. The third value is 0 (no stored snapshot is known to hold this
/// state under the new claim).
pub(crate) async fn load_warm(
    store: &Store,
    warm: &crate::placement::WarmState,
    retention: u64,
) -> Result<Option<(UserDoc, CatchUpWindow, u64)>, ActorError> {
    let user = warm.user.as_str();
    let bounds = store.log_bounds(user).await?;
    let tail = store.log_since(user, warm.version, usize::MAX).await?;
    let Some(mut doc) = UserDoc::from_snapshot_bytes(&warm.snapshot)
        .ok()
        .filter(|doc| doc.version() == warm.version)
    else {
        return Ok(reject(user, warm, "undecodable"));
    };
    if let Some(why) = warm_staleness(warm.version, &bounds, &tail) {
        return Ok(reject(user, warm, why));
    }
    let mut window = CatchUpWindow::new(warm.window_base.clone(), retention as usize);
    for op in &warm.window {
        window.push(op.clone());
    }
    replay_tail(user, &mut doc, &mut window, &tail)?;
    Ok(Some((doc, window, 0)))
}

/// Why a warm state at `version` cannot be proven current against the store
/// (its `bounds` and the log `tail` after `version`), or `None` if it can.
pub(crate) fn warm_staleness(
    version: u64,
    bounds: &baton_store::LogBounds,
    tail: &[LogEntry],
) -> Option<&'static str> {
    if bounds.snapshot_version.is_some_and(|s| s > version) {
        return Some("older_than_snapshot");
    }
    let durable = bounds
        .last
        .unwrap_or(0)
        .max(bounds.snapshot_version.unwrap_or(0));
    if version > durable {
        return Some("ahead_of_store");
    }
    let contiguous = tail
        .iter()
        .zip(version + 1..)
        .all(|(entry, expected)| entry.version == expected);
    let reaches = tail.last().map_or(version, |e| e.version) >= durable;
    if !(contiguous && reaches) {
        return Some("log_gap");
    }
    None
}

fn reject<T>(user: &str, warm: &crate::placement::WarmState, why: &'static str) -> Option<T> {
    tracing::warn!(
        user,
        version = warm.version,
        why,
        "warm state not provably current; loading cold"
    );
    metrics::counter!("baton_warm_states_rejected_total", "reason" => why).increment(1);
    None
}

/// The version vector before `entries` (which end at `vv`) were applied:
/// each device's seqs are contiguous, so undoing an op sets its device back
/// to `seq - 1`.
pub(crate) fn vv_before(vv: &VersionVector, entries: &[LogEntry]) -> VersionVector {
    let mut map: BTreeMap<String, u64> = vv.iter().map(|(d, s)| (d.to_owned(), s)).collect();
    for entry in entries.iter().rev().filter(|e| !is_control(e)) {
        map.insert(entry.device.clone(), entry.seq.saturating_sub(1));
    }
    let mut out = VersionVector::new();
    for (device, seq) in map {
        if seq > 0 {
            out.observe(&device, seq);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use baton_store::{LogBounds, LogEntry};

    use super::warm_staleness;

    fn log(versions: std::ops::RangeInclusive<u64>) -> Vec<LogEntry> {
        versions
            .map(|version| LogEntry {
                user: "u".into(),
                version,
                device: "tv".into(),
                seq: version,
                at_ms: 0,
                payload: Vec::new(),
            })
            .collect()
    }

    fn bounds(first: u64, last: u64, snapshot: Option<u64>) -> LogBounds {
        LogBounds {
            first: Some(first),
            last: Some(last),
            snapshot_version: snapshot,
            len: last - first + 1,
        }
    }

    #[test]
    fn a_warm_state_is_used_only_when_the_store_proves_it_current() {
        // Exactly the store's last version, nothing after it: current.
        assert_eq!(warm_staleness(10, &bounds(1, 10, Some(8)), &[]), None);
        // Behind, with the whole tail after it in the log: current after replay.
        assert_eq!(
            warm_staleness(7, &bounds(1, 10, Some(7)), &log(8..=10)),
            None
        );
        // Behind the stored snapshot: never used, even if the log still holds the tail.
        assert_eq!(
            warm_staleness(6, &bounds(1, 10, Some(7)), &log(7..=10)),
            Some("older_than_snapshot")
        );
        // The log after it was compacted away: a gap.
        assert_eq!(
            warm_staleness(3, &bounds(6, 10, None), &log(6..=10)),
            Some("log_gap")
        );
        // The tail stops short of the last durable version (read under a race).
        assert_eq!(
            warm_staleness(7, &bounds(1, 10, None), &log(8..=9)),
            Some("log_gap")
        );
        // Ahead of everything durable: it holds ops the store never had.
        assert_eq!(
            warm_staleness(12, &bounds(1, 10, Some(10)), &[]),
            Some("ahead_of_store")
        );
        // A fully compacted log: the snapshot is the durable version.
        let compacted = LogBounds {
            snapshot_version: Some(5),
            ..LogBounds::default()
        };
        assert_eq!(warm_staleness(5, &compacted, &[]), None);
        assert_eq!(
            warm_staleness(4, &compacted, &[]),
            Some("older_than_snapshot")
        );
    }
}
