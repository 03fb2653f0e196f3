//! What one device connection may cost the node: field lengths of its frames,
//! its per-device rate limits, and the bytes its outbound queue may hold.
//! Enforced by the device session before anything reaches the user actor.

use std::time::Duration;

/// Per-device limits (`[limits]` in the node configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceLimits {
    /// Frames queued for one device before it is disconnected as a slow consumer.
    pub outbound_queue: usize,
    /// Unacknowledged ops one device may have in flight.
    pub max_inflight_ops: usize,
    /// Largest frame accepted (announced in `welcome`; enforced by the transport).
    pub max_message_bytes: usize,
    /// Longest `hello.device.name`, in bytes.
    pub max_name_bytes: usize,
    /// Longest `hello.device.kind`, in bytes.
    pub max_kind_bytes: usize,
    /// Most entries in `hello.device.capabilities`.
    pub max_capabilities: usize,
    /// Longest capability string, in bytes.
    pub max_capability_bytes: usize,
    /// Longest `handoff.request_id`, in bytes.
    pub max_request_id_bytes: usize,
    /// `handoff` frames per device per minute (also the burst).
    pub handoffs_per_minute: u32,
    /// `resync` frames per device per minute (also the burst).
    pub resyncs_per_minute: u32,
    /// `heartbeat` frames per device per minute (also the burst).
    pub heartbeats_per_minute: u32,
    /// `interaction` frames per device per minute (also the burst).
    pub interactions_per_minute: u32,
    /// `rate_limited` refusals per device per minute (also the burst) before
    /// the socket is closed with 4029.
    pub refusals_per_minute: u32,
    /// Bytes of live frames (acks, deltas, presence, ...) queued towards one
    /// device before it is disconnected as a slow consumer (4008).
    pub outbound_queue_bytes: usize,
    /// Extra bytes the catch-up after `welcome` or a `resync` (deltas or a
    /// snapshot) may add to the queue before the device is disconnected (4008).
    pub catch_up_queue_bytes: usize,
}

impl DeviceLimits {
    /// The rate-limit window of the per-device buckets.
    pub const WINDOW: Duration = Duration::from_secs(60);

    /// The largest `presence` frame `devices` devices can produce, in bytes:
    /// every string at its limit and made of control characters (which JSON
    /// writes as six-byte `\u00XX` escapes), every number at its widest.
    pub const fn presence_frame_bound(&self, devices: usize) -> usize {
        /// The frame's envelope: `{"type":"presence","devices":[` ... `]}`.
        const ENVELOPE: usize = 64;
        /// One entry's keys, punctuation, `online`, `state` and two u64s.
        const ENTRY: usize = 192;
        let escaped =
            6 * (baton_crdt::MAX_DEVICE_ID_LEN + self.max_kind_bytes + self.max_name_bytes);
        ENVELOPE + devices * (ENTRY + escaped + baton_crdt::MAX_CONTENT_ID_LEN + 1)
    }
}

impl Default for DeviceLimits {
    /// The limits announced in `welcome` are the protocol's defaults
    /// ([`Limits::default`](crate::protocol::Limits)); the rest are the node's own.
    fn default() -> Self {
        let l = crate::protocol::Limits::default();
        Self {
            outbound_queue: 256,
            max_inflight_ops: l.max_inflight_ops,
            max_message_bytes: l.max_message_bytes,
            max_name_bytes: l.max_name_bytes,
            max_kind_bytes: l.max_kind_bytes,
            max_capabilities: l.max_capabilities,
            max_capability_bytes: l.max_capability_bytes,
            max_request_id_bytes: l.max_request_id_bytes,
            handoffs_per_minute: l.handoffs_per_minute,
            resyncs_per_minute: l.resyncs_per_minute,
            heartbeats_per_minute: l.heartbeats_per_minute,
            interactions_per_minute: l.interactions_per_minute,
            refusals_per_minute: 60,
            outbound_queue_bytes: 1024 * 1024,
            catch_up_queue_bytes: 32 * 1024 * 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Activity, PresenceEntry, ServerFrame};

    #[test]
    fn the_presence_bound_holds_for_the_worst_entries() {
        let limits = DeviceLimits::default();
        let devices = 32;
        let nasty = |n: usize| "\u{1}".repeat(n);
        let entry = PresenceEntry {
            device: nasty(baton_crdt::MAX_DEVICE_ID_LEN),
            kind: nasty(limits.max_kind_bytes),
            name: nasty(limits.max_name_bytes),
            online: false,
            activity: Some(Activity {
                content: baton_crdt::ContentId::try_from(
                    "c".repeat(baton_crdt::MAX_CONTENT_ID_LEN),
                )
                .expect("id"),
                state: baton_crdt::PlayState::Playing,
                position_ms: u64::MAX,
            }),
            last_seen_ms: u64::MAX,
        };
        let frame = ServerFrame::Presence {
            devices: vec![entry; devices],
        }
        .to_text();
        let bound = limits.presence_frame_bound(devices);
        assert!(frame.len() <= bound, "{} > {bound}", frame.len());
        assert!(
            bound - frame.len() < 2048,
            "the bound is tight: {} vs {bound}",
            frame.len()
        );
        assert!(
            bound <= 65_536,
            "fits in the default max-message-bytes: {bound}"
        );
    }
}
