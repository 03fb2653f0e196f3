//! # baton-bridge
//!
//! The PubNub bridge: devices on platforms that speak PubNub instead of a
//! WebSocket to Baton. It owns:
//!
//! - **outbound** ([`outbound`]): a [`FanoutObserver`](baton_actors::FanoutObserver)
//!   on the hub that copies every committed delta and control event (lease,
//!   handoff, presence) into bounded per-user-ordered lanes, and publishes
//!   each as a PubNub message (`watchlist_update`, `watch_progress`,
//!   `playback_control`, `device_handoff`, ...) to `user.{id}.sync` and the
//!   typed channel, retrying with backoff while PubNub is unreachable;
//! - **inbound** ([`inbound`]): one subscription to `{prefix}user.*` that
//!   takes device envelopes from the users' `.sync` channels, skips the
//!   bridge's own messages, verifies each envelope's Baton token and feeds its
//!   protocol frame to the device's virtual session;
//! - **virtual sessions** ([`sessions`]): one [`baton_actors::run_session`]
//!   per PubNub device over in-memory pipes, so validation, idempotency, rate
//!   limits and acks are exactly the WebSocket path's; what the session sends
//!   is published to `user.{id}.device.{device}`.
//!
//! How an op from a PubNub device flows: device publishes
//! `{"token","device","frame":{"type":"op",...}}` on `user.alice.sync` ->
//! subscription -> token verified -> session input pipe -> `run_session`
//! parses and casts it to the user actor -> commit -> `ack` into the session's
//! output pipe -> published on `user.alice.device.phone` -> the user actor's
//! fan-out also reaches the observer -> `watchlist_update` on
//! `user.alice.sync` and `user.alice.watchlist` (which the bridge's own
//! subscription sees again and skips: publisher uuid and `origin: "baton"`).

pub mod channels;
mod client;
pub mod config;
pub mod envelope;
mod error;
pub mod inbound;
pub mod message;
pub mod outbound;
mod retry;
pub mod sessions;

use std::sync::Arc;

use baton_actors::Hub;
use baton_auth::Verifier;
use tokio::task::JoinHandle;

pub use channels::Channels;
pub use config::{BridgeConfig, RetryPolicy};
pub use error::BridgeError;
pub use outbound::OutboundStats;

/// A running bridge. Dropping it stops its tasks.
pub struct Bridge {
    outbound: Arc<outbound::Outbound>,
    tasks: Vec<JoinHandle<()>>,
}

/// A bridge whose publisher lanes run, before the hub starts: hand its
/// [`observer`](PendingBridge::observer) to the hub's builder, then
/// [`start`](PendingBridge::start) it with the hub.
pub struct PendingBridge {
    cfg: Arc<BridgeConfig>,
    client: client::Client,
    channels: Channels,
    bridge: Bridge,
}

impl Bridge {
    /// Validate `cfg` and start the publisher lanes.
    pub fn prepare(cfg: BridgeConfig) -> Result<PendingBridge, BridgeError> {
        cfg.validate()?;
        let cfg = Arc::new(cfg);
        let client = client::build(&cfg)?;
        let channels = Channels::new(&cfg.channel_prefix);
        let (outbound, tasks) = outbound::Outbound::start(&cfg, client.clone(), channels.clone());
        Ok(PendingBridge {
            cfg,
            client,
            channels,
            bridge: Bridge { outbound, tasks },
        })
    }

    /// Counters of the outbound side (published, retried, dropped).
    pub fn outbound_stats(&self) -> OutboundStats {
        self.outbound.stats()
    }

    /// Stop every task of the bridge (queued publishes are abandoned).
    pub fn stop(self) {
        drop(self);
    }

    /// Graceful stop: wait until every queued publish went out (or was given
    /// up), at most `within`, then stop. Call after the hub has flushed, so
    /// the last deltas are queued.
    pub async fn shutdown(self, within: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.outbound.pending() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let left = self.outbound.pending();
        if left > 0 {
            tracing::warn!(left, "pubnub bridge stopped with publishes still queued");
        }
    }
}

impl PendingBridge {
    /// The hub's fan-out observer: every committed delta and control event
    /// becomes a PubNub publish.
    pub fn observer(&self) -> Arc<dyn baton_actors::FanoutObserver> {
        self.bridge.outbound.clone()
    }

    /// Start the subscription and the virtual sessions on `hub` (started
    /// with [`PendingBridge::observer`]). A message is ingested only by the
    /// user's owner ([`Hub::route`]): in a cluster every node receives every
    /// PubNub message.
    pub fn start(self, hub: Hub, verifier: Verifier) -> Bridge {
        let PendingBridge {
            cfg,
            client,
            channels,
            mut bridge,
        } = self;
        let sessions =
            sessions::Sessions::new(hub.clone(), client.clone(), channels.clone(), cfg.clone());
        bridge
            .tasks
            .push(tokio::spawn(sessions::sweep(Arc::downgrade(&sessions))));
        let inbound = inbound::Inbound {
            client,
            channels,
            sessions,
            verifier,
            hub,
            cfg,
        };
        bridge.tasks.push(tokio::spawn(inbound.run()));
        bridge
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
