//! `[pubnub]`: the PubNub bridge. Off unless both `publish-key` and
//! `subscribe-key` are set.

use std::time::Duration;

use baton_bridge::{BridgeConfig, RetryPolicy};
use serde::{Deserialize, Serialize};

use super::check::Checker;

/// PubNub bridge settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct PubnubSection {
    /// PubNub publish key.
    pub publish_key: Option<String>,
    /// PubNub subscribe key.
    pub subscribe_key: Option<String>,
    /// PubNub secret key (requests are signed when set).
    pub secret_key: Option<String>,
    /// Host (`ps.pndsn.com`, HTTPS) or base URL of the PubNub origin.
    pub origin: String,
    /// Prepended to every channel name.
    pub channel_prefix: String,
    /// The bridge's PubNub uuid; default `baton-bridge-{node-id}`.
    pub bridge_uuid: Option<String>,
    /// Outbound messages queued before the oldest is dropped.
    pub publish_queue: usize,
    /// Publisher lanes (users in parallel, each user in order).
    pub publish_lanes: usize,
    /// One publish request times out after this long.
    pub request_timeout_ms: u64,
    /// First retry delay while PubNub is unreachable.
    pub retry_initial_ms: u64,
    /// Largest retry delay.
    pub retry_max_ms: u64,
    /// A publish still failing after this long is dropped (counted).
    pub retry_give_up_secs: u64,
    /// A PubNub device's virtual session ends after this long without a message.
    pub session_idle_secs: u64,
}

impl PubnubSection {
    /// The defaults (bridge off).
    pub const fn new() -> Self {
        PubnubSection {
            publish_key: None,
            subscribe_key: None,
            secret_key: None,
            origin: String::new(),
            channel_prefix: String::new(),
            bridge_uuid: None,
            publish_queue: 10_000,
            publish_lanes: 8,
            request_timeout_ms: 10_000,
            retry_initial_ms: 200,
            retry_max_ms: 30_000,
            retry_give_up_secs: 600,
            session_idle_secs: 120,
        }
    }

    /// The bridge's settings when both keys are set.
    pub fn bridge_config(&self, node_id: &str) -> Option<BridgeConfig> {
        let (Some(publish), Some(subscribe)) = (&self.publish_key, &self.subscribe_key) else {
            return None;
        };
        let mut cfg = BridgeConfig::new(publish, subscribe, node_id);
        cfg.secret_key = self.secret_key.clone();
        if !self.origin.is_empty() {
            cfg.origin = self.origin.clone();
        }
        cfg.channel_prefix = self.channel_prefix.clone();
        if let Some(uuid) = &self.bridge_uuid {
            cfg.bridge_uuid = uuid.clone();
        }
        cfg.publish_queue = self.publish_queue;
        cfg.publish_lanes = self.publish_lanes;
        cfg.request_timeout = Duration::from_millis(self.request_timeout_ms);
        cfg.retry = RetryPolicy {
            initial: Duration::from_millis(self.retry_initial_ms),
            max: Duration::from_millis(self.retry_max_ms),
            give_up_after: Duration::from_secs(self.retry_give_up_secs),
        };
        cfg.session_idle = Duration::from_secs(self.session_idle_secs);
        Some(cfg)
    }

    pub(super) fn check(&self, c: &mut Checker) {
        let set = |k: &Option<String>| k.as_deref().is_some_and(|k| !k.is_empty());
        let (p, s) = (set(&self.publish_key), set(&self.subscribe_key));
        c.ensure(
            p || !s,
            "pubnub.publish-key",
            "is required when pubnub.subscribe-key is set",
        );
        c.ensure(
            s || !p,
            "pubnub.subscribe-key",
            "is required when pubnub.publish-key is set",
        );
        c.ensure(
            self.publish_key.as_deref() != Some(""),
            "pubnub.publish-key",
            "must not be empty",
        );
        c.ensure(
            self.subscribe_key.as_deref() != Some(""),
            "pubnub.subscribe-key",
            "must not be empty",
        );
        c.ensure(
            self.bridge_uuid.as_deref() != Some(""),
            "pubnub.bridge-uuid",
            "must not be empty",
        );
        c.ensure(
            !self.channel_prefix.contains([',', '/', '\\', '*', ':']),
            "pubnub.channel-prefix",
            "must not contain , / \\ * or :",
        );
        c.at_least("pubnub.publish-queue", self.publish_queue, 1);
        c.at_least("pubnub.publish-lanes", self.publish_lanes, 1);
        c.at_least("pubnub.request-timeout-ms", self.request_timeout_ms, 1);
        c.at_least("pubnub.retry-initial-ms", self.retry_initial_ms, 1);
        c.at_least(
            "pubnub.retry-max-ms",
            self.retry_max_ms,
            self.retry_initial_ms,
        );
        c.at_least("pubnub.session-idle-secs", self.session_idle_secs, 1);
    }
}

impl Default for PubnubSection {
    fn default() -> Self {
        Self::new()
    }
}
