//! Runtime settings of the actor layer. The binary builds this from its
//! configuration file; tests build it with [`ActorConfig::default`] and
//! struct-update syntax.

use std::time::Duration;

mod device;

pub use baton_sync::SyncConfig;
pub use device::DeviceLimits;

/// Settings for user and device actors, grouped by concern; each group's
/// `Default` is the one source of its defaults.
#[derive(Debug, Clone, Default)]
pub struct ActorConfig {
    /// The per-user sync rules (snapshots, retention, rate limit, registry).
    pub sync: SyncConfig,
    /// What one device connection may cost: queue, in-flight ops, frame size,
    /// field lengths, per-device rates and byte budgets.
    pub device: DeviceLimits,
    /// The clocks of a device socket: heartbeats, pings, write and close timeouts.
    pub timers: SessionTimers,
    /// This node in a cluster: its name, ownership claims and moves.
    pub ownership: OwnershipConfig,
    /// The hub: live-actor cap and how long a caller waits for a user actor.
    pub hub: HubConfig,
}

/// The clocks of a device socket.
#[derive(Debug, Clone)]
pub struct SessionTimers {
    /// How often devices are asked to heartbeat (announced in `welcome`).
    pub heartbeat_interval: Duration,
    /// A device with no heartbeat for this long is offline and its socket closed.
    pub heartbeat_timeout: Duration,
    /// WebSocket ping interval.
    pub ping_interval: Duration,
    /// Close the socket when nothing (not even a pong) arrives for `ping_interval + pong_timeout`.
    pub pong_timeout: Duration,
    /// A write to a socket taking longer than this closes it (4008).
    pub write_timeout: Duration,
    /// How long closing waits for the close frame (behind the frames already
    /// written) to reach the device and for the device's close frame.
    pub close_timeout: Duration,
    /// A socket stays open until its token's `exp` plus this leeway (the
    /// verifier's leeway), then closes with 1008.
    pub token_leeway: Duration,
}

impl Default for SessionTimers {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(10),
            heartbeat_timeout: Duration::from_secs(300),
            ping_interval: Duration::from_secs(30),
            pong_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
            token_leeway: Duration::from_secs(30),
        }
    }
}

/// This node's part in a cluster.
#[derive(Debug, Clone)]
pub struct OwnershipConfig {
    /// This node's name, recorded with ownership claims.
    pub node_id: String,
    /// Claim each user in the store before activating it (a cluster): snapshots of a
    /// node that lost the user are then fenced. Off on a single node.
    pub claim_ownership: bool,
    /// How long a warm handoff's state waits to be picked up by an activation.
    pub warm_state_ttl: Duration,
    /// How long a connection or read for a user that is moving to another node waits
    /// for the move to finish before it is routed.
    pub move_wait: Duration,
}

impl Default for OwnershipConfig {
    fn default() -> Self {
        Self {
            node_id: "node-1".to_owned(),
            claim_ownership: false,
            warm_state_ttl: Duration::from_secs(30),
            move_wait: Duration::from_secs(2),
        }
    }
}

/// The hub's own settings.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// At most this many user actors live at once; least recently used idle ones are passivated first.
    pub max_live_users: usize,
    /// How long a REST read or a device registration waits for a user actor.
    pub call_timeout: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            max_live_users: 100_000,
            call_timeout: Duration::from_secs(5),
        }
    }
}

impl ActorConfig {
    /// The limits announced to devices in `welcome`.
    pub fn limits(&self) -> crate::protocol::Limits {
        let d = &self.device;
        crate::protocol::Limits {
            max_message_bytes: d.max_message_bytes,
            rate_limit_events: self.sync.rate_limit_events,
            rate_limit_window_secs: self.sync.rate_limit_window.as_secs(),
            max_inflight_ops: d.max_inflight_ops,
            heartbeat_interval_secs: self.timers.heartbeat_interval.as_secs(),
            heartbeat_timeout_secs: self.timers.heartbeat_timeout.as_secs(),
            max_name_bytes: d.max_name_bytes,
            max_kind_bytes: d.max_kind_bytes,
            max_capabilities: d.max_capabilities,
            max_capability_bytes: d.max_capability_bytes,
            max_request_id_bytes: d.max_request_id_bytes,
            handoffs_per_minute: d.handoffs_per_minute,
            resyncs_per_minute: d.resyncs_per_minute,
            heartbeats_per_minute: d.heartbeats_per_minute,
            interactions_per_minute: d.interactions_per_minute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ActorConfig;

    #[test]
    fn the_default_configuration_announces_the_protocol_default_limits() {
        assert_eq!(
            ActorConfig::default().limits(),
            crate::protocol::Limits::default()
        );
    }
}
