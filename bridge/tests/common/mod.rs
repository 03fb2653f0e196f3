//! Test support: a fake PubNub origin, an in-process hub on a SQLite temp
//! file with the bridge pointed at the fake (the real `pubnub` client over
//! HTTP), a "WebSocket" device as `run_session` over in-memory pipes (the
//! exact session code behind `/v1/sync`, minus the socket adapter), and a
//! PubNub device that publishes envelopes into the fake.
#![allow(dead_code)]

pub mod fake_pubnub;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use baton_actors::{
    ActorConfig, BoxSink, BoxStream, DeviceIdentity, Hub, SocketError, WireIn, WireOut,
};
use baton_auth::{AuthConfig, KeySource, Minter, Scope, Verifier};
use baton_bridge::{Bridge, BridgeConfig, Channels, RetryPolicy};
use baton_store::sqlite_harness::temp_sqlite;
use futures_channel::mpsc;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

pub use fake_pubnub::FakePubNub;

const KEY: &str = include_str!("../../../transport/tests/fixtures/test_rsa.pem");
const PUB: &str = include_str!("../../../transport/tests/fixtures/test_rsa.pub.pem");
const ISSUER: &str = "baton-test";
const AUDIENCE: &str = "baton";
/// Generous: the machine is small and shared.
pub const WAIT: Duration = Duration::from_secs(20);
pub const BRIDGE_UUID: &str = "baton-bridge-test";

pub const SCOPES: &[Scope] = &[
    Scope::ReadWatchlist,
    Scope::WriteWatchlist,
    Scope::ReadPreferences,
    Scope::WritePreferences,
    Scope::PlaybackControl,
];

pub struct Node {
    pub hub: Hub,
    pub fake: FakePubNub,
    pub bridge: Bridge,
    pub channels: Channels,
    minter: Minter,
    _dir: tempfile::TempDir,
}

pub fn bridge_config(fake: &FakePubNub) -> BridgeConfig {
    BridgeConfig {
        origin: fake.origin(),
        bridge_uuid: BRIDGE_UUID.into(),
        request_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(400),
            give_up_after: Duration::from_secs(120),
        },
        session_idle: Duration::from_secs(120),
        ..BridgeConfig::new("pub-c-test", "sub-c-test", "test")
    }
}

/// Verifies the tokens this node mints.
async fn verifier() -> Verifier {
    Verifier::new(AuthConfig::new(
        ISSUER,
        AUDIENCE,
        KeySource::Pem {
            public_pem: PUB.to_owned(),
        },
    ))
    .await
    .expect("verifier")
}

impl Node {
    pub async fn start() -> Node {
        Self::start_with(|_| {}).await
    }

    /// A node whose bridge configuration `tune` adjusts first.
    pub async fn start_with(tune: impl FnOnce(&mut BridgeConfig)) -> Node {
        let fake = FakePubNub::start().await;
        let (store, dir) = temp_sqlite().await.expect("store");
        let cfg = ActorConfig {
            sync: baton_actors::SyncConfig {
                rate_limit_events: 10_000,
                ..ActorConfig::default().sync
            },
            ..ActorConfig::default()
        };
        let mut bridge_cfg = bridge_config(&fake);
        tune(&mut bridge_cfg);
        let pending = Bridge::prepare(bridge_cfg).expect("bridge");
        let hub = Hub::builder(store, cfg)
            .max_connections(1000)
            .observer(pending.observer())
            .start()
            .await
            .expect("hub");
        let bridge = pending.start(hub.clone(), verifier().await);
        let node = Node {
            hub,
            fake,
            bridge,
            channels: Channels::new(""),
            minter: Minter::from_private_pem(KEY, ISSUER, AUDIENCE).expect("minter"),
            _dir: dir,
        };
        // Wait until the bridge's subscription is past its handshake, so
        // messages injected from now on reach it.
        let fake = node.fake.clone();
        until("bridge subscribed", || {
            fake.subscribe_polls
                .load(std::sync::atomic::Ordering::Relaxed)
                >= 2
        })
        .await;
        node
    }

    /// The `jti` of a token this node minted.
    pub async fn jti_of(&self, token: &str) -> String {
        verifier()
            .await
            .verify(token)
            .expect("valid token")
            .jti
            .expect("minted tokens carry a jti")
    }

    pub fn token(&self, user: &str, device: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.minter
            .mint(user, Some(device), SCOPES, Duration::from_secs(3600), now)
            .expect("mint")
    }

    /// A device on the WebSocket path (its session over pipes), after `hello`.
    pub async fn ws_device(&self, user: &str, device: &str) -> PipeDevice {
        let (in_tx, in_rx) = mpsc::channel::<WireIn>(64);
        let (out_tx, mut out_rx) = mpsc::channel::<WireOut>(1024);
        let frames = Arc::new(Mutex::new(Vec::new()));
        let seen = frames.clone();
        tokio::spawn(async move {
            while let Some(frame) = out_rx.next().await {
                if let WireOut::Text(b) = frame {
                    if let Ok(v) = serde_json::from_slice::<Value>(&b) {
                        seen.lock().expect("lock").push(v);
                    }
                }
            }
        });
        let stream: BoxStream = Box::pin(in_rx);
        let sink: BoxSink = Box::pin(out_tx.sink_map_err(|e| SocketError(e.to_string())));
        let ident = DeviceIdentity {
            user: user.into(),
            device: device.into(),
            write_watchlist: true,
            write_preferences: true,
            playback_control: true,
            jti: None,
            expires_at: None,
        };
        let permit = self.hub.try_admit().expect("admit");
        tokio::spawn(baton_actors::run_session(
            self.hub.clone(),
            permit,
            ident,
            stream,
            sink,
        ));
        let mut dev = PipeDevice {
            input: in_tx,
            frames,
            device: device.into(),
        };
        dev.send(json!({"type":"hello","protocol":1,"device":{"kind":"tv","name":device}}))
            .await;
        dev.wait_for("synced", |f| f["type"] == "synced").await;
        dev
    }

    /// A PubNub device of `user` (nothing sent yet).
    pub fn pn_device(&self, user: &str, device: &str) -> PnDevice {
        PnDevice {
            fake: self.fake.clone(),
            sync: self.channels.sync(user),
            own: self.channels.device(user, device),
            token: self.token(user, device),
            device: device.into(),
        }
    }

    /// The user's watchlist content ids, sorted, and the version.
    pub async fn watchlist(&self, user: &str) -> (Vec<String>, u64) {
        let view = self.hub.read(user).await.expect("read");
        let mut items: Vec<String> = view.watchlist.iter().map(|w| w.content.clone()).collect();
        items.sort();
        (items, view.version)
    }
}

pub struct PipeDevice {
    input: mpsc::Sender<WireIn>,
    frames: Arc<Mutex<Vec<Value>>>,
    pub device: String,
}

impl PipeDevice {
    pub async fn send(&mut self, frame: Value) {
        self.input
            .send(WireIn::Text(frame.to_string()))
            .await
            .expect("session input");
    }

    pub fn frames(&self) -> Vec<Value> {
        self.frames.lock().expect("lock").clone()
    }

    pub async fn wait_for(&self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        let frames = self.frames.clone();
        let mut found = None;
        until(what, || {
            found = frames.lock().expect("lock").iter().find(|v| f(v)).cloned();
            found.is_some()
        })
        .await;
        found.unwrap_or(Value::Null)
    }

    pub fn hlc_id(&self) -> String {
        self.frames()
            .iter()
            .find(|f| f["type"] == "welcome")
            .and_then(|f| f["hlc_id"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

pub struct PnDevice {
    fake: FakePubNub,
    pub sync: String,
    pub own: String,
    pub token: String,
    pub device: String,
}

impl PnDevice {
    /// Publish one client frame (in an envelope) on the user's sync channel.
    pub fn send(&self, frame: Value) {
        self.fake.inject(
            &self.sync,
            &format!("pn-{}", self.device),
            json!({"token": self.token, "device": self.device, "frame": frame}),
        );
    }

    pub fn hello(&self) {
        self.send(
            json!({"type":"hello","protocol":1,"device":{"kind":"mobile","name":self.device}}),
        );
    }

    /// Frames the bridge published on this device's channel.
    pub fn frames(&self) -> Vec<Value> {
        self.fake.on(&self.own)
    }

    pub async fn wait_for(&self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        let mut found = None;
        until(what, || {
            found = self.frames().into_iter().find(|v| f(v));
            found.is_some()
        })
        .await;
        found.unwrap_or(Value::Null)
    }
}

pub fn add(seq: u64, content: &str) -> Value {
    json!({"type":"op","seq":seq,"op":{"kind":"watchlist_add","content":content,"added_at_ms":1}})
}

/// A playback `ts` for a device with `hlc_id`, now.
pub fn ts(hlc_id: &str) -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    format!("{}/{hlc_id}", (u128::from(ms) << 32) / 1000)
}

/// Poll `f` every 20 ms until it holds, failing after [`WAIT`].
pub async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !f() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
