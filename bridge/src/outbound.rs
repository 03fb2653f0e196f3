//! The fan-out observer and the publisher lanes. The observer runs on user
//! actors' threads: it maps the event to a message and pushes it into the
//! user's lane (a bounded queue; when full the oldest message is dropped and
//! counted), never blocking. Each lane's task publishes its messages one at a
//! time, retrying with backoff, so one user's messages keep their order.

use std::collections::hash_map::DefaultHasher;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use baton_actors::{ControlEvent, FanoutObserver};
use baton_crdt::LoggedOp;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::channels::Channels;
use crate::client::{publish, Client, PublishError};
use crate::config::BridgeConfig;
use crate::message::{from_control, from_delta, Outbound as Message};
use crate::retry::{is_permanent, Backoff};

/// Outbound counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboundStats {
    /// Messages published (each channel counts once).
    pub published: u64,
    /// Publish attempts that failed and were retried.
    pub retries: u64,
    /// Messages dropped: queue full, refused by PubNub, or retried past `give_up_after`.
    pub dropped: u64,
}

struct Lane {
    queue: Mutex<VecDeque<Message>>,
    wake: Notify,
    cap: usize,
}

/// The observer side and its lanes.
pub struct Outbound {
    lanes: Vec<Arc<Lane>>,
    channels: Channels,
    published: AtomicU64,
    retries: AtomicU64,
    dropped: AtomicU64,
    /// Messages queued or being published.
    pending: AtomicU64,
}

impl Outbound {
    /// Create the lanes and spawn one publisher task per lane.
    pub(crate) fn start(
        cfg: &Arc<BridgeConfig>,
        client: Client,
        channels: Channels,
    ) -> (Arc<Outbound>, Vec<JoinHandle<()>>) {
        let cap = cfg.publish_queue.div_ceil(cfg.publish_lanes).max(1);
        let lanes: Vec<Arc<Lane>> = (0..cfg.publish_lanes)
            .map(|_| {
                Arc::new(Lane {
                    queue: Mutex::new(VecDeque::new()),
                    wake: Notify::new(),
                    cap,
                })
            })
            .collect();
        let out = Arc::new(Outbound {
            lanes,
            channels,
            published: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            pending: AtomicU64::new(0),
        });
        let tasks = out
            .lanes
            .iter()
            .map(|lane| {
                tokio::spawn(run_lane(
                    lane.clone(),
                    Arc::downgrade(&out),
                    client.clone(),
                    cfg.clone(),
                ))
            })
            .collect();
        (out, tasks)
    }

    /// The counters.
    pub fn stats(&self) -> OutboundStats {
        OutboundStats {
            published: self.published.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    /// Messages queued or being published right now.
    pub(crate) fn pending(&self) -> u64 {
        self.pending.load(Ordering::Acquire)
    }

    fn push(&self, msg: Message) {
        let mut h = DefaultHasher::new();
        msg.user.hash(&mut h);
        let lane = &self.lanes[(h.finish() % self.lanes.len() as u64) as usize];
        {
            let mut q = lane
                .queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if q.len() >= lane.cap {
                q.pop_front();
                self.drop_one("queue_full");
            } else {
                self.pending.fetch_add(1, Ordering::AcqRel);
            }
            q.push_back(msg);
            metrics::gauge!("baton_pubnub_publish_queue").increment(1.0);
        }
        lane.wake.notify_one();
    }

    fn drop_one(&self, reason: &'static str) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("baton_pubnub_publish_dropped_total", "reason" => reason).increment(1);
    }
}

impl FanoutObserver for Outbound {
    fn delta(&self, user: &str, op: &LoggedOp) {
        self.push(from_delta(&self.channels, user, op));
    }

    fn control(&self, user: &str, event: ControlEvent) {
        self.push(from_control(&self.channels, user, event));
    }
}

async fn run_lane(
    lane: Arc<Lane>,
    out: std::sync::Weak<Outbound>,
    client: Client,
    cfg: Arc<BridgeConfig>,
) {
    loop {
        let next = lane
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop_front();
        let Some(msg) = next else {
            lane.wake.notified().await;
            continue;
        };
        metrics::gauge!("baton_pubnub_publish_queue").decrement(1.0);
        for channel in &msg.channels {
            let Some(out) = out.upgrade() else { return };
            publish_retrying(&out, &client, &cfg, channel, &msg.body, msg.store).await;
        }
        if let Some(out) = out.upgrade() {
            out.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Publish with backoff until it succeeds, is refused, or `give_up_after` passes.
async fn publish_retrying(
    out: &Outbound,
    client: &Client,
    cfg: &BridgeConfig,
    channel: &str,
    body: &serde_json::Value,
    store: bool,
) {
    let mut backoff = Backoff::new(&cfg.retry);
    loop {
        let err = match publish(client, cfg, channel, body, store).await {
            Ok(()) => {
                out.published.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("baton_pubnub_published_total").increment(1);
                return;
            }
            Err(err) => err,
        };
        if matches!(&err, PublishError::PubNub(e) if is_permanent(e)) {
            tracing::warn!(%channel, error = %err, "pubnub refused a publish; dropped");
            out.drop_one("refused");
            return;
        }
        let Some(delay) = backoff.next_delay(true) else {
            tracing::warn!(%channel, error = %err, "pubnub unreachable for too long; publish dropped");
            out.drop_one("gave_up");
            return;
        };
        out.retries.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("baton_pubnub_publish_retries_total").increment(1);
        tracing::debug!(%channel, error = %err, ?delay, "publish failed; retrying");
        tokio::time::sleep(delay).await;
    }
}

/// Publish one frame to a device channel with the same retry policy (used by sessions).
pub(crate) async fn publish_frame(
    client: &Client,
    cfg: &BridgeConfig,
    channel: &str,
    body: &serde_json::Value,
) -> bool {
    let mut backoff = Backoff::new(&cfg.retry);
    loop {
        match publish(client, cfg, channel, body, false).await {
            Ok(()) => {
                metrics::counter!("baton_pubnub_published_total").increment(1);
                return true;
            }
            Err(PublishError::PubNub(e)) if is_permanent(&e) => return false,
            Err(_) => {}
        }
        let Some(delay) = backoff.next_delay(true) else {
            return false;
        };
        metrics::counter!("baton_pubnub_publish_retries_total").increment(1);
        tokio::time::sleep(delay).await;
    }
}
