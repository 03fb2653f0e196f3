//! The bridge's settings (the binary builds them from its `[pubnub]` section).

use std::time::Duration;

use crate::error::BridgeError;

/// PubNub's public origin.
pub const DEFAULT_ORIGIN: &str = "ps.pndsn.com";

/// Backoff for publishes and for the subscription while PubNub is unreachable:
/// exponential from `initial` to `max`, with jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First delay.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
    /// A publish still failing after this long is dropped and counted
    /// (`baton_pubnub_publish_dropped_total{reason="gave_up"}`). The
    /// subscription never gives up.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(30),
            give_up_after: Duration::from_secs(600),
        }
    }
}

/// Everything the bridge needs to run.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// PubNub publish key.
    pub publish_key: String,
    /// PubNub subscribe key.
    pub subscribe_key: String,
    /// PubNub secret key: requests are signed when set.
    pub secret_key: Option<String>,
    /// PubNub origin: a host (`ps.pndsn.com`, HTTPS assumed) or a base URL
    /// (`http://127.0.0.1:8080` for a local endpoint).
    pub origin: String,
    /// Prepended to every channel name.
    pub channel_prefix: String,
    /// The bridge's own PubNub `uuid`; messages published with it are never ingested.
    pub bridge_uuid: String,
    /// Outbound messages queued (over all lanes) before the oldest is dropped.
    pub publish_queue: usize,
    /// Publisher lanes: a user always maps to the same lane, so one user's
    /// messages are published in order while users proceed in parallel.
    pub publish_lanes: usize,
    /// One publish request gives up after this long (then it is retried).
    pub request_timeout: Duration,
    /// Backoff while PubNub is unreachable.
    pub retry: RetryPolicy,
    /// A PubNub device's virtual session ends after this long without a message from it.
    pub session_idle: Duration,
    /// Frames queued for one PubNub device before its session is treated as a slow consumer.
    pub device_queue: usize,
}

impl BridgeConfig {
    /// Settings with the given keys and node id and every other value at its default.
    pub fn new(publish_key: &str, subscribe_key: &str, node_id: &str) -> Self {
        BridgeConfig {
            publish_key: publish_key.to_owned(),
            subscribe_key: subscribe_key.to_owned(),
            secret_key: None,
            origin: DEFAULT_ORIGIN.to_owned(),
            channel_prefix: String::new(),
            bridge_uuid: format!("baton-bridge-{node_id}"),
            publish_queue: 10_000,
            publish_lanes: 8,
            request_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            session_idle: Duration::from_secs(120),
            device_queue: 256,
        }
    }

    /// The origin as a base URL without a trailing slash.
    pub fn base_url(&self) -> String {
        let origin = self.origin.trim_end_matches('/');
        if origin.starts_with("http://") || origin.starts_with("https://") {
            origin.to_owned()
        } else {
            format!("https://{origin}")
        }
    }

    /// Checks every value; the error names the key.
    pub fn validate(&self) -> Result<(), BridgeError> {
        let bad = |key: &'static str, message: &str| {
            Err(BridgeError::Config {
                key,
                message: message.to_owned(),
            })
        };
        if self.publish_key.is_empty() {
            return bad("publish-key", "must not be empty");
        }
        if self.subscribe_key.is_empty() {
            return bad("subscribe-key", "must not be empty");
        }
        if self.origin.trim_end_matches('/').is_empty() {
            return bad("origin", "must not be empty");
        }
        if self.bridge_uuid.is_empty() {
            return bad("bridge-uuid", "must not be empty");
        }
        if self.channel_prefix.contains([',', '/', '\\', '*', ':']) {
            return bad("channel-prefix", "must not contain , / \\ * or :");
        }
        if self.publish_queue == 0 {
            return bad("publish-queue", "must be >= 1");
        }
        if self.publish_lanes == 0 {
            return bad("publish-lanes", "must be >= 1");
        }
        if self.device_queue < 2 {
            return bad("device-queue", "must be >= 2");
        }
        if self.retry.initial.is_zero() || self.retry.max < self.retry.initial {
            return bad("retry-initial-ms", "must be >= 1 and <= retry-max-ms");
        }
        if self.session_idle.is_zero() {
            return bad("session-idle-secs", "must be >= 1");
        }
        Ok(())
    }
}
