//! Virtual sessions: one [`baton_actors::run_session`] per PubNub device,
//! over in-memory pipes. The device's frames go into the session's input
//! pipe; what the session writes (welcome, acks, deltas, errors, ...) is
//! published, in order, to the device's channel `user.{id}.device.{device}`.
//! A session ends when the device sends a new `hello` (it replaces the old
//! one), when it was idle for `session-idle-secs`, or as a WebSocket session
//! would (heartbeat timeout, slow consumer, user actor restart).
//!
//! Pings of the session are answered by the bridge itself (a PubNub device
//! has no socket to ping); liveness is the protocol's heartbeat plus the
//! idle timeout.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use baton_actors::protocol::{ErrorFrame, ServerFrame};
use baton_actors::{BoxSink, BoxStream, DeviceIdentity, Hub, SocketError, WireIn, WireOut};
use futures_channel::mpsc;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

use crate::channels::Channels;
use crate::client::Client;
use crate::config::BridgeConfig;
use crate::outbound::publish_frame;

type Key = (String, String);

struct Handle {
    id: u64,
    input: mpsc::Sender<WireIn>,
    last_rx: Arc<Mutex<Instant>>,
}

/// The live virtual sessions of this node.
pub struct Sessions {
    hub: Hub,
    client: Client,
    channels: Channels,
    cfg: Arc<BridgeConfig>,
    live: Mutex<HashMap<Key, Handle>>,
    next_id: AtomicU64,
}

impl Sessions {
    pub(crate) fn new(
        hub: Hub,
        client: Client,
        channels: Channels,
        cfg: Arc<BridgeConfig>,
    ) -> Arc<Sessions> {
        Arc::new(Sessions {
            hub,
            client,
            channels,
            cfg,
            live: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
        })
    }

    /// Live sessions.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Handle>> {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Publish an error frame to a device's channel (in the background).
    pub(crate) fn send_error(&self, user: &str, device: &str, err: ErrorFrame) {
        let body = frame_value(&ServerFrame::Error(err));
        self.publish_detached(user, device, body);
    }

    fn publish_detached(&self, user: &str, device: &str, body: Value) {
        let (client, cfg) = (self.client.clone(), self.cfg.clone());
        let channel = self.channels.device(user, device);
        tokio::spawn(async move {
            publish_frame(&client, &cfg, &channel, &body).await;
        });
    }

    /// A `hello` from a device: start its session (replacing a live one).
    pub(crate) fn open(self: &Arc<Self>, ident: DeviceIdentity, hello: String) {
        let key = (ident.user.clone(), ident.device.clone());
        if let Some(mut old) = self.lock().remove(&key) {
            old.input.close_channel();
        }
        let permit = match self.hub.try_admit() {
            Ok(p) => p,
            Err(e) => {
                let mut err = ErrorFrame::new("unavailable", e.to_string());
                err.retry_after_ms = Some(1000);
                self.send_error(&key.0, &key.1, err);
                return;
            }
        };
        let (mut in_tx, in_rx) = mpsc::channel::<WireIn>(64);
        let (out_tx, out_rx) = mpsc::channel::<WireOut>(self.cfg.device_queue);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let last_rx = Arc::new(Mutex::new(Instant::now()));
        if in_tx.try_send(WireIn::Text(hello)).is_err() {
            return;
        }
        self.lock().insert(
            key.clone(),
            Handle {
                id,
                input: in_tx.clone(),
                last_rx,
            },
        );
        metrics::gauge!("baton_pubnub_sessions").increment(1.0);
        let stream: BoxStream = Box::pin(in_rx);
        let sink: BoxSink = Box::pin(out_tx.sink_map_err(|e| SocketError(e.to_string())));
        let channel = self.channels.device(&key.0, &key.1);
        tokio::spawn(write_device(
            out_rx,
            in_tx,
            self.client.clone(),
            self.cfg.clone(),
            channel,
        ));
        let me = Arc::downgrade(self);
        let hub = self.hub.clone();
        tokio::spawn(async move {
            baton_actors::run_session(hub, permit, ident, stream, sink).await;
            metrics::gauge!("baton_pubnub_sessions").decrement(1.0);
            if let Some(me) = me.upgrade() {
                let mut live = me.lock();
                if live.get(&key).is_some_and(|h| h.id == id) {
                    live.remove(&key);
                }
            }
        });
    }

    /// Any other frame: into the device's live session, or `hello_required`.
    pub(crate) fn feed(&self, user: &str, device: &str, text: String) {
        let key = (user.to_owned(), device.to_owned());
        let full = {
            let mut live = self.lock();
            let Some(handle) = live.get_mut(&key) else {
                drop(live);
                self.send_error(
                    user,
                    device,
                    ErrorFrame::new(
                        "hello_required",
                        "no session for this device (new or idle): send hello first",
                    ),
                );
                return;
            };
            *handle
                .last_rx
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
            handle.input.try_send(WireIn::Text(text)).is_err()
        };
        if full {
            let mut err = ErrorFrame::new("unavailable", "the device's session is busy; resend");
            err.retry_after_ms = Some(1000);
            self.send_error(user, device, err);
        }
    }

    /// End sessions idle for longer than `session_idle`.
    fn expire_idle(&self) {
        let idle = self.cfg.session_idle;
        let mut ended = Vec::new();
        self.lock().retain(|key, h| {
            let last = *h
                .last_rx
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.elapsed() < idle {
                return true;
            }
            h.input.close_channel();
            ended.push(key.clone());
            false
        });
        for (user, device) in ended {
            metrics::counter!("baton_pubnub_sessions_idle_total").increment(1);
            self.publish_detached(
                &user,
                &device,
                json!({"type": "close", "code": 1000, "reason": "idle"}),
            );
        }
    }
}

/// Every quarter of the idle time (between 50 ms and 5 s), end idle sessions.
pub(crate) async fn sweep(sessions: Weak<Sessions>) {
    let period = match sessions.upgrade() {
        Some(s) => {
            (s.cfg.session_idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(5))
        }
        None => return,
    };
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let Some(s) = sessions.upgrade() else { return };
        s.expire_idle();
    }
}

/// Publish what the session writes, in order; answer its pings.
async fn write_device(
    mut out: mpsc::Receiver<WireOut>,
    mut input: mpsc::Sender<WireIn>,
    client: Client,
    cfg: Arc<BridgeConfig>,
    channel: String,
) {
    while let Some(frame) = out.next().await {
        let body = match frame {
            WireOut::Ping => {
                let _ = input.try_send(WireIn::Pong);
                continue;
            }
            WireOut::Text(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => v,
                Err(_) => continue,
            },
            WireOut::Close(code) => json!({"type": "close", "code": code.code()}),
            // A session never sends binary frames (only a relay passes them on).
            WireOut::Binary(_) => continue,
        };
        if !publish_frame(&client, &cfg, &channel, &body).await {
            metrics::counter!("baton_pubnub_publish_dropped_total", "reason" => "device_frame")
                .increment(1);
        }
    }
}

fn frame_value(frame: &ServerFrame) -> Value {
    serde_json::to_value(frame).unwrap_or_else(|_| json!({"type": "error", "code": "internal"}))
}
