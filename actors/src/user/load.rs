//! Reading a user from the store for activation: the stored snapshot and the
//! log around it, or a warm handover the store proves current. The replay
//! itself is `baton_sync::recover`.

use baton_store::{LogBounds, LogEntry, Store};
use baton_sync::{Record, Recovered, Stored, WarmState};

use crate::error::ActorError;

/// A stored log entry as the state machine reads it.
pub(crate) fn record_of(entry: LogEntry) -> Record {
    Record {
        version: entry.version,
        device: entry.device,
        seq: entry.seq,
        at_ms: u64::try_from(entry.at_ms).unwrap_or(0),
        payload: entry.payload,
    }
}

/// A record of the state machine as the store writes it.
pub(crate) fn entry_of(user: &str, record: Record) -> LogEntry {
    LogEntry {
        user: user.to_owned(),
        version: record.version,
        device: record.device,
        seq: record.seq,
        at_ms: i64::try_from(record.at_ms).unwrap_or(i64::MAX),
        payload: record.payload,
    }
}

/// Load a user's durable state: the snapshot, the log after it, and up to
/// `retention` older entries for the catch-up window.
pub(crate) async fn load(
    store: &Store,
    user: &str,
    retention: u64,
) -> Result<Recovered, ActorError> {
    let stored = store.load(user).await?;
    let snapshot = stored.snapshot.map(|s| (s.version, s.bytes));
    let snapshot_version = snapshot.as_ref().map_or(0, |(v, _)| *v);
    let before_snapshot = if snapshot_version > 0 && retention > 0 {
        let from = snapshot_version.saturating_sub(retention);
        store.log_since(user, from, retention as usize).await?
    } else {
        Vec::new()
    };
    let stored = Stored {
        snapshot,
        before_snapshot: before_snapshot.into_iter().map(record_of).collect(),
        tail: stored.log.into_iter().map(record_of).collect(),
    };
    Ok(baton_sync::recover(user, stored, retention)?)
}

/// Start from state handed over by the previous owner, but only if the store
/// proves it at least as new as everything durable: its version is not below
/// the stored snapshot's, not above the durable log, and the log after it
/// replays contiguously up to the store's last version. Call it after the
/// claim (appends of any earlier owner are fenced from then on, so the check
/// cannot be overtaken). `None`: the state is stale or unprovable, and the
/// caller loads cold (counted in `baton_warm_states_rejected_total`).
pub(crate) async fn load_warm(
    store: &Store,
    warm: &WarmState,
    retention: u64,
) -> Result<Option<Recovered>, ActorError> {
    let user = warm.user.as_str();
    let bounds = store.log_bounds(user).await?;
    let tail = store.log_since(user, warm.version, usize::MAX).await?;
    if let Some(why) = warm_staleness(warm.version, &bounds, &tail) {
        return Ok(reject(warm, why));
    }
    let tail: Vec<Record> = tail.into_iter().map(record_of).collect();
    match baton_sync::recover_warm(warm, &tail, retention)? {
        Some(recovered) => Ok(Some(recovered)),
        None => Ok(reject(warm, "undecodable")),
    }
}

/// Why a warm state at `version` cannot be proven current against the store
/// (its `bounds` and the log `tail` after `version`), or `None` if it can.
pub(crate) fn warm_staleness(
    version: u64,
    bounds: &LogBounds,
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

fn reject<T>(warm: &WarmState, why: &'static str) -> Option<T> {
    tracing::warn!(
        user = %warm.user,
        version = warm.version,
        why,
        "warm state not provably current; loading cold"
    );
    metrics::counter!("baton_warm_states_rejected_total", "reason" => why).increment(1);
    None
}

#[cfg(test)]
mod tests;
