//! The warm-state proof against the store, at its edges.

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
