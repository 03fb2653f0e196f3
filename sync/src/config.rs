//! The settings of the per-user rules: the one place their defaults live.

use std::time::Duration;

use baton_crdt::Rules;

/// Settings of one user's sync rules (`ActorConfig::sync` on a node).
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// A user with no connected device and nothing in flight is passivated
    /// after this long.
    pub idle_passivate: Duration,
    /// Devices not seen for this long are retired from the user's metadata.
    pub retire_devices_after: Duration,
    /// Take a snapshot after this many log records since the last one.
    pub snapshot_every_ops: u64,
    /// Keep at least this many ops in the log (and in memory) for resuming devices.
    pub log_retention_ops: u64,
    /// Ops per user allowed per `rate_limit_window`.
    pub rate_limit_events: u32,
    /// The rate-limit window.
    pub rate_limit_window: Duration,
    /// Playback timestamps further than this in the future are refused.
    pub max_clock_skew: Duration,
    /// Snapshot frames carry at most this many bytes of snapshot text each.
    pub snapshot_chunk_bytes: usize,
    /// Most devices one user may register.
    pub max_devices_per_user: usize,
}

impl SyncConfig {
    /// The CRDT rules these settings imply.
    pub fn rules(&self) -> Rules {
        Rules {
            max_clock_skew: self.max_clock_skew,
        }
    }
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            idle_passivate: Duration::from_secs(60),
            retire_devices_after: Duration::from_secs(90 * 24 * 3600),
            snapshot_every_ops: 200,
            log_retention_ops: 1000,
            rate_limit_events: 100,
            rate_limit_window: Duration::from_secs(60),
            max_clock_skew: Duration::from_secs(5),
            snapshot_chunk_bytes: 32 * 1024,
            max_devices_per_user: 32,
        }
    }
}

/// `d` in whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
