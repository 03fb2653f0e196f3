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
    /// Longest `hello.device.name`, in bytes.
    pub max_name_bytes: usize,
    /// Longest `hello.device.kind`, in bytes.
    pub max_kind_bytes: usize,
    /// Most entries in `hello.device.capabilities`.
    pub max_capabilities: usize,
    /// Longest capability, in bytes.
    pub max_capability_bytes: usize,
    /// Longest `handoff.request_id`, in bytes.
    pub max_request_id_bytes: usize,
    /// `handoff` frames per device per minute.
    pub handoffs_per_minute: u32,
    /// `resync` frames per device per minute.
    pub resyncs_per_minute: u32,
    /// `heartbeat` frames per device per minute.
    pub heartbeats_per_minute: u32,
    /// `interaction` frames per device per minute.
    pub interactions_per_minute: u32,
    /// `rate_limited` refusals per device per minute before its socket closes (4029).
    pub refusals_per_minute: u32,
    /// Bytes of live frames queued towards one device before 4008.
    pub outbound_queue_bytes: usize,
    /// Extra bytes a catch-up (deltas or snapshot) may queue before 4008.
    pub catch_up_queue_bytes: usize,
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
            max_name_bytes: 64,
            max_kind_bytes: 32,
            max_capabilities: 16,
            max_capability_bytes: 32,
            max_request_id_bytes: 64,
            handoffs_per_minute: 30,
            resyncs_per_minute: 6,
            heartbeats_per_minute: 30,
            interactions_per_minute: 60,
            refusals_per_minute: 60,
            outbound_queue_bytes: 1_048_576,
            catch_up_queue_bytes: 33_554_432,
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
        self.check_device(c);
    }

    /// The per-device keys. Field limits are capped so that a presence frame
    /// of `max-devices-per-user` devices stays far below a message (see
    /// PROTOCOL.md section 8).
    fn check_device(&self, c: &mut Checker) {
        c.at_least("limits.max-kind-bytes", self.max_kind_bytes, 5);
        c.at_most("limits.max-kind-bytes", self.max_kind_bytes, 256);
        c.at_most("limits.max-capabilities", self.max_capabilities, 64);
        c.at_most(
            "limits.max-capability-bytes",
            self.max_capability_bytes,
            256,
        );
        c.at_least("limits.max-request-id-bytes", self.max_request_id_bytes, 1);
        c.at_most(
            "limits.max-request-id-bytes",
            self.max_request_id_bytes,
            1024,
        );
        for (key, per_minute) in [
            ("limits.handoffs-per-minute", self.handoffs_per_minute),
            ("limits.resyncs-per-minute", self.resyncs_per_minute),
            ("limits.heartbeats-per-minute", self.heartbeats_per_minute),
            (
                "limits.interactions-per-minute",
                self.interactions_per_minute,
            ),
            ("limits.refusals-per-minute", self.refusals_per_minute),
        ] {
            c.at_least(key, per_minute, 1);
        }
        c.at_least(
            "limits.outbound-queue-bytes",
            self.outbound_queue_bytes,
            self.max_message_bytes,
        );
        let presence = baton_actors::DeviceLimits {
            max_name_bytes: self.max_name_bytes,
            max_kind_bytes: self.max_kind_bytes,
            ..baton_actors::DeviceLimits::default()
        }
        .presence_frame_bound(self.max_devices_per_user);
        c.ensure(
            presence <= self.max_message_bytes,
            "limits.max-name-bytes",
            format_args!(
                "with max-kind-bytes and max-devices-per-user allows presence frames of {presence} bytes, over limits.max-message-bytes ({})",
                self.max_message_bytes
            ),
        );
    }
}

impl Default for LimitsSection {
    fn default() -> Self {
        Self::new()
    }
}
