//! `[limits]`: what one user, device or message may cost the node.

use serde::{Deserialize, Serialize};

use super::check::Checker;

/// Resource limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Largest accepted frame, in bytes.
    pub max_message_bytes: usize,
    /// Frames queued towards one device before it is disconnected as slow.
    pub outbound_queue: usize,
    /// Events one user may send per window.
    pub rate_limit_events: u32,
    /// The rate-limit window, in seconds.
    pub rate_limit_window_secs: u64,
    /// Largest accepted distance between a device's clock and ours, in ms.
    pub max_clock_skew_ms: u64,
    /// Size of one snapshot chunk sent to a device, in bytes.
    pub snapshot_chunk_bytes: usize,
    /// Unacknowledged operations one device may have in flight.
    pub max_inflight_ops: usize,
    /// Open device connections on this node.
    pub max_connections: usize,
    /// Devices one user may register.
    pub max_devices_per_user: usize,
}

impl LimitsSection {
    /// Smallest accepted `max-message-bytes`.
    pub const MIN_MESSAGE_BYTES: usize = 1024;

    /// The defaults.
    pub const fn new() -> Self {
        LimitsSection {
            max_message_bytes: 65_536,
            outbound_queue: 256,
            rate_limit_events: 100,
            rate_limit_window_secs: 60,
            max_clock_skew_ms: 5_000,
            snapshot_chunk_bytes: 32_768,
            max_inflight_ops: 64,
            max_connections: 200_000,
            max_devices_per_user: 32,
        }
    }

    pub(super) fn check(&self, c: &mut Checker) {
        c.at_least(
            "limits.max-message-bytes",
            self.max_message_bytes,
            Self::MIN_MESSAGE_BYTES,
        );
        c.ensure(
            self.outbound_queue > self.max_inflight_ops,
            "limits.outbound-queue",
            format_args!(
                "must exceed limits.max-inflight-ops ({}): a device's acks for one window of ops must fit in its queue (got {})",
                self.max_inflight_ops, self.outbound_queue
            ),
        );
        c.at_least("limits.rate-limit-events", self.rate_limit_events, 1);
        c.at_least(
            "limits.rate-limit-window-secs",
            self.rate_limit_window_secs,
            1,
        );
        c.at_most(
            "limits.max-clock-skew-ms",
            self.max_clock_skew_ms,
            3_600_000,
        );
        c.at_least(
            "limits.snapshot-chunk-bytes",
            self.snapshot_chunk_bytes,
            256,
        );
        c.ensure(
            self.snapshot_chunk_bytes <= self.max_message_bytes,
            "limits.snapshot-chunk-bytes",
            format_args!(
                "must fit in limits.max-message-bytes ({})",
                self.max_message_bytes
            ),
        );
        c.at_least("limits.max-inflight-ops", self.max_inflight_ops, 1);
        c.at_least("limits.max-connections", self.max_connections, 1);
        c.at_least("limits.max-devices-per-user", self.max_devices_per_user, 1);
    }
}

impl Default for LimitsSection {
    fn default() -> Self {
        Self::new()
    }
}
